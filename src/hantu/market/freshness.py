"""The freshness guard: a decision for trading date D is refused on data that ends before D's required close.

`hantu screen`, `select`, `explain`, the scheduler's screening and selection jobs and the trading session all
decide for a date D from the market store; the close they need is `calendar.required_close(D)` (the previous
XKRX trading day). A store whose last day on or before D is older is stale: deciding on it would file today's
watchlist from a market weeks or years old. `check_fresh` raises `StaleMarketData` naming the dates; research on
old data passes `allow_stale` explicitly (`--allow-stale` on the command line).
"""

from __future__ import annotations

from datetime import date

from hantu.market import calendar


class StaleMarketData(RuntimeError):
    """The market data ends before the close a decision needs (the message names both dates)."""

    def __init__(self, on: date, required: date, last: date | None, what: str = "a decision") -> None:
        self.on, self.required, self.last = on, required, last
        if last is None:
            have = "the market store has no data on or before it"
            missing = ""
        else:
            lacking = len(calendar.trading_days(calendar.next_trading_day(last), required))
            have = f"the market data ends on {last}"
            missing = f" ({lacking} trading day{'s' if lacking != 1 else ''} missing)"
        super().__init__(
            f"stale market data: {what} for {on} needs the close of {required}, but {have}{missing}. "
            "Run `hantu data sync` (or import the missing days), or pass --allow-stale to use old data "
            "for research."
        )


def check_fresh(last: date | None, on: date, what: str = "a decision") -> None:
    """Raise `StaleMarketData` unless `last` (the data's last day on or before `on`) reaches `on`'s required
    close."""
    required = calendar.required_close(on)
    if last is None or last < required:
        raise StaleMarketData(on, required, last, what)
