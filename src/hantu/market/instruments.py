"""Which market a stock code is on: the one answer every layer uses, with its fallback decided here once.

The market picks the tick ladder, the price limits and the sell tax (`hantu.market.rules`). The instrument
master (`hantu data sync --master`, the `instruments` table) says which market a code is on. A code it does not
know (no master loaded yet, a code listed since) or a market KRX does not name is taken as `DEFAULT_MARKET`,
KOSPI: since 2023-01-25 KOSPI and KOSDAQ share one tick ladder, their price limits are the same ±30 % and
their sell tax is the same rate, so the guess changes nothing for a KOSDAQ stock on today's rules (before
2023-01-25 KOSDAQ's ladder differed above 5,000 won, which only a backtest of that period sees, from data that
carries its own markets). KONEX differs, and is always in the master.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from hantu.market.rules import normalize_market

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_MARKET = "KOSPI"


def market_or_default(market: str | None) -> str:
    """`market` in its canonical spelling, or `DEFAULT_MARKET` when it is missing or not a market KRX names."""
    if not market:
        return DEFAULT_MARKET
    try:
        return normalize_market(str(market))
    except ValueError:
        return DEFAULT_MARKET


def market_in(markets: Mapping[str, str | None], code: str) -> str:
    """The market of `code` in a code → market mapping (a loaded master), else `DEFAULT_MARKET`."""
    return market_or_default(markets.get(code))


def market_of(session: Session, code: str) -> str:
    """The market of `code` in the stored instrument master, else `DEFAULT_MARKET`."""
    from hantu.store.models import Instrument

    row = session.get(Instrument, code)
    return market_or_default(row.market if row is not None else None)
