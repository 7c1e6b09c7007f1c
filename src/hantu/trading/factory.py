"""The one place that builds the trading stack from one `Settings`: broker, engine (with its risk guard), session.

`TRADING_MODE=paper` (default): the paper broker over the replayed market in `$HANTU_HOME/market`, with the
configured starting cash and commission. `TRADING_MODE=shadow`: the same paper broker and fill model on today's
live KIS prices, in its own book `shadow` (`open_shadow_broker`; KIS keys needed for the prices, no order
reaches KIS, so no real-money opt-in is involved; `SHADOW_STRATEGY` runs one beside a KIS account). `TRADING_MODE=kis`: `KisBroker` over the KIS client; `SERVER=prod` (a
real account) is refused unless `REAL_TRADING_ENABLED=true` as well — `hantu.config.require_real_money_opt_in`
raises `RealMoneyNotConfirmed` here before any client is built, and `KisBroker` asks it again itself (quality
bar S5). The CLI, the scheduler's jobs and the demo all build their brokers here; nothing else constructs one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from hantu.broker.base import Broker
from hantu.clock import Clock
from hantu.config import Settings, require_real_money_opt_in
from hantu.market import instruments, rules
from hantu.store.db import Database

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.paper.shadow import ShadowBroker
    from hantu.market.store import MarketStore
    from hantu.trading.engine import TradingEngine
    from hantu.trading.feed import PriceFeed
    from hantu.trading.session import SessionConfig, TradingSession


def instrument_market_lookup(database: Database) -> Callable[[str], str]:
    """A code's market from the `instruments` table (`market.instruments.market_of`), for brokers that do not
    report it."""

    def stored_market(code: str) -> str:
        with database.session() as session:
            return instruments.market_of(session, code)

    return stored_market


def instrument_name_lookup(database: Database) -> Callable[[str], str]:
    """A code's name from the instrument master (`market.names`), "" when unknown."""
    from hantu.market.names import stock_names

    def stored_name(code: str) -> str:
        with database.session() as session:
            return stock_names(session, [code]).get(code, "")

    return stored_name


def open_shadow_broker(settings: Settings, database: Database, clock: Clock, *, kis_api: KisApi | None = None,
                       market_of: Callable[[str], str] | None = None) -> ShadowBroker:
    """The shadow book: the paper broker with the configured starting cash and commission on live KIS prices
    through `kis_api` (default: a new client from the settings; the scheduler shares its own). Only prices are
    read from KIS, so `SERVER=prod` needs no opt-in here; a KIS account traded beside it is built by
    `open_broker` with its guard."""
    from hantu.broker.fill_model import FillParams
    from hantu.broker.kis.broker import KisQuotes
    from hantu.broker.paper.live import LiveMarket
    from hantu.broker.paper.shadow import ShadowBroker

    api = kis_api or _new_kis_api(settings, clock)
    market = LiveMarket(KisQuotes(api), clock, market_of or instrument_market_lookup(database),
                        instrument_name_lookup(database))
    return ShadowBroker(database, market, api, clock, starting_cash=settings.paper_starting_cash,
                        params=FillParams(commission_rate=rules.commission_rate(settings.commission_rate)))


def _new_kis_api(settings: Settings, clock: Clock) -> KisApi:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig

    return KisApi(KisClient(KisConfig.from_settings(settings), clock))


def open_broker(settings: Settings, database: Database, clock: Clock, *, day: date | None = None,
                store: MarketStore | None = None, kis_api: KisApi | None = None,
                market_of: Callable[[str], str] | None = None) -> Broker:
    """The configured broker for trading date `day` (default: the clock's today).

    Paper: replays `store` (default: the configured market store). KIS: over `kis_api` when given (the scheduler
    shares one client between market data and trading), else a new client; `market_of` names a code's market
    (default: the `instruments` table). Shadow: `open_shadow_broker`. Raises `RealMoneyNotConfirmed` for a prod
    account without the opt-in."""
    if settings.trading_mode == "shadow":
        return open_shadow_broker(settings, database, clock, kis_api=kis_api, market_of=market_of)
    if settings.trading_mode == "paper":
        from hantu.broker.fill_model import FillParams
        from hantu.broker.paper import PaperBroker
        from hantu.broker.paper.feed import PaperFeed
        from hantu.market.store import open_market_store

        feed = PaperFeed.from_store(store or open_market_store(settings), day or clock.today())
        return PaperBroker(database, feed, clock, starting_cash=settings.paper_starting_cash,
                           params=FillParams(commission_rate=rules.commission_rate(settings.commission_rate)))
    require_real_money_opt_in(settings.server, settings.real_trading_enabled)
    from hantu.broker.kis.broker import KisBroker

    return KisBroker(kis_api or _new_kis_api(settings, clock), market_of=market_of or instrument_market_lookup(database),
                     commission_rate=rules.commission_rate(settings.commission_rate))


def open_engine(settings: Settings, database: Database, clock: Clock,
                broker: Broker | None = None) -> TradingEngine:
    """The engine (the one door for orders, with its risk guard) over `broker` (default: the configured one)."""
    from hantu.trading.engine import TradingEngine

    return TradingEngine(database, broker or open_broker(settings, database, clock), clock)


def open_session(settings: Settings, database: Database, clock: Clock, broker: Broker,
                 feed: PriceFeed | None = None, config: SessionConfig | None = None) -> TradingSession:
    """A trading session over `broker`, holding its lock under the configured `HANTU_HOME` and reconciling with
    the configured market store's corporate actions."""
    from hantu.market.store import open_market_store
    from hantu.trading.reconcile import known_actions
    from hantu.trading.session import TradingSession

    return TradingSession(database, broker, clock, feed, config, home=settings.hantu_home,
                          actions=known_actions(open_market_store(settings)))
