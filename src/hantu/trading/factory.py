"""Which broker the configuration asks for, with the real-money guard.

`TRADING_MODE=paper` (default): the paper broker over the replayed market in `$HANTU_HOME/market`.
`TRADING_MODE=kis`: `KisBroker` over the KIS client; `SERVER=prod` (a real account) is refused unless
`REAL_TRADING_ENABLED=true` as well (`settings.is_real_money`) — quality bar S5.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hantu.broker.base import Broker, BrokerError
from hantu.clock import Clock, SystemClock
from hantu.store.db import Database


class RealMoneyRefused(BrokerError):
    """A real (prod) KIS account without the explicit opt-in."""


def check_real_money(settings: Any) -> None:
    """Refuse a prod KIS broker unless real-money trading was explicitly enabled."""
    if settings.trading_mode == "kis" and settings.server == "prod" and not settings.is_real_money:
        raise RealMoneyRefused("SERVER=prod trades real money: set REAL_TRADING_ENABLED=true to allow it "
                               "(or use SERVER=virtual)")


def open_broker(database: Database, clock: Clock | None = None, settings: Any = None,
                day: date | None = None) -> Broker:
    """The configured broker for `day` (default: the clock's today)."""
    from hantu.config.settings import get_settings

    settings = settings or get_settings()
    clock = clock or SystemClock()
    if settings.trading_mode == "paper":
        from hantu.broker.paper import PaperBroker
        from hantu.broker.paper.feed import PaperFeed

        return PaperBroker(database, PaperFeed.from_store(day or clock.today()), clock)
    check_real_money(settings)
    from hantu.broker.kis.broker import KisBroker
    from hantu.store.models import Instrument

    def market_of(code: str) -> str:
        with database.session() as session:
            row = session.get(Instrument, code)
            return row.market if row is not None else "KOSPI"

    return KisBroker.from_settings(settings, clock, market_of=market_of)
