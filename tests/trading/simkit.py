"""A small deterministic market and strategy for trading-engine tests (imported by tests and the crash child)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar

import numpy as np

from hantu.clock import KST
from hantu.market import calendar
from hantu.market.panel import DailyPanel
from hantu.market.rules import round_to_tick
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition, ScreenResult, Strategy

DAY = date(2026, 11, 6)  # a Friday, a normal session (09:00-15:30)


def at(hhmm: str, day: date = DAY) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=KST)


def make_panel(n_stocks: int = 6, days: int = 5, end: date = DAY, seed: int = 7,
               volume: float = 200_000.0) -> DailyPanel:
    """`days` trading days ending at `end`; stocks priced 8,000-60,000 won with ~3 % daily ranges."""
    dates: list[date] = []
    d = end
    while len(dates) < days:
        if calendar.is_trading_day(d):
            dates.append(d)
        d = date.fromordinal(d.toordinal() - 1)
    dates.reverse()
    rng = np.random.default_rng(seed)
    codes = np.array([f"{100000 + 10 * i:06d}" for i in range(n_stocks)])
    base = rng.uniform(8_000, 60_000, size=n_stocks)
    shape = (days, n_stocks)
    close = np.empty(shape)
    open_ = np.empty(shape)
    high = np.empty(shape)
    low = np.empty(shape)
    prev = base
    for t in range(days):
        o = prev * (1 + rng.normal(0, 0.005, n_stocks))
        c = o * (1 + rng.normal(0, 0.015, n_stocks))
        h = np.maximum(o, c) * (1 + rng.uniform(0.005, 0.02, n_stocks))
        lo = np.minimum(o, c) * (1 - rng.uniform(0.005, 0.02, n_stocks))
        on = dates[t]
        open_[t] = [round_to_tick(x, "nearest", on, "KOSPI") for x in o]
        close[t] = [round_to_tick(x, "nearest", on, "KOSPI") for x in c]
        high[t] = [round_to_tick(x, "down", on, "KOSPI") for x in h]
        low[t] = [round_to_tick(x, "up", on, "KOSPI") for x in lo]
        high[t] = np.maximum(high[t], np.maximum(open_[t], close[t]))
        low[t] = np.minimum(low[t], np.minimum(open_[t], close[t]))
        prev = close[t]
    vol = np.full(shape, volume)
    return DailyPanel(dates=np.array(dates, dtype="datetime64[D]"), codes=codes,
                      names=np.array([f"테스트{i}" for i in range(n_stocks)]),
                      markets=np.array(["KOSPI"] * n_stocks), open=open_, high=high, low=low, close=close,
                      volume=vol, amount=vol * close)


def candidates_for(panel: DailyPanel, day: date = DAY, weight: float = 0.15) -> list[Candidate]:
    """One candidate per stock: enter at the day's open-ish level, stop 3 % below, target 2 % above."""
    row = panel.row(day)
    out = []
    for i, code in enumerate(panel.codes):
        o = float(panel.open[row, i])
        entry = round_to_tick(o * 0.998, "down", day, "KOSPI")
        out.append(Candidate(code=str(code), name=str(panel.names[i]), rank=i + 1, entry_price=entry,
                             stop_price=round_to_tick(entry * 0.97, "down", day, "KOSPI"),
                             target_price=round_to_tick(entry * 1.02, "up", day, "KOSPI"), weight=weight,
                             reason="test candidate", atr=o * 0.02))
    return out


@dataclass
class DipBuyer(Strategy):
    """Buys a candidate with a limit at its entry price once the price is within 1 % of it; exits on the
    candidate's stop/target (through the engine's rules) or at `exit_after` (strategy exit)."""

    name: ClassVar[str] = "dip-buyer"
    params: dict[str, Any] = field(default_factory=dict)
    exit_after: str | None = "14:30"
    flatten_at_close: bool = False

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        raise NotImplementedError  # the tests hand the session its candidates

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        raise NotImplementedError

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None
                 ) -> Decision | None:
        if price <= candidate.entry_price * 1.01:
            return Decision(DecisionAction.BUY, candidate.code, "near entry", limit_price=candidate.entry_price)
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        if self.exit_after and now.strftime("%H:%M") >= self.exit_after:
            return "time to go"
        return None


def kis_broker(sandbox: Any, account: Any, clock: Any, home: Any, timeout: float) -> Any:
    """A `KisBroker` on `account` of a running KIS sandbox: the sandbox's URLs, a rate limit and back-off fast
    enough for tests, and `timeout` for its requests. The caller closes it."""
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig

    config = KisConfig(app_key=account.app_key, app_secret=account.app_secret, server=account.server,
                       account=account.cano + account.product_code, hts_id=account.hts_id,
                       base_url=sandbox.base_url, ws_url=sandbox.ws_url, rate_limit=1000.0, home=home,
                       timeout=timeout, backoff_initial=0.01, backoff_max=0.05)
    return KisBroker(KisApi(KisClient(config, clock)))
