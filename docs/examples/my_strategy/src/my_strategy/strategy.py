"""`near_high`: buy a stock in an uptrend when it trades through its recent high.

Phase 1 keeps stocks whose close sits within `max_gap` of their `high_days`-day high and whose
`return_days`-day return is positive, ranked by closeness to the high and by that return. Phase 2 turns each
watchlist stock into a candidate whose entry trigger is the recent high (one tick up), with an ATR stop and
target. Intraday, the strategy buys when the price reaches the trigger (but not far above it) and sells at
the stop, at the target, or after `max_hold_days` trading days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from pydantic import Field

from hantu.market.panel import DailyPanel
from hantu.strategy import indicators as ind
from hantu.strategy.base import (
    Candidate,
    Decision,
    DecisionAction,
    Handover,
    HeldPosition,
    StockScore,
    handover_of,
)
from hantu.strategy.config import Filters, Section, Selection, Watchlist
from hantu.strategy.framework import (
    DayRows,
    FactorTable,
    ScreeningStrategy,
    kst_date,
    tick_round,
    trading_days_held,
)
from hantu.strategy.regime import MarketRegime
from hantu.strategy.universe import Eligibility


# --- configuration: types and ranges here, default values in defaults.toml -------------------------------
class Indicators(Section):
    history_days: int = Field(ge=20, le=1000)
    high_days: int = Field(ge=2, le=250)
    return_days: int = Field(ge=1, le=250)
    atr_days: int = Field(ge=2, le=250)


class Weights(Section):
    proximity: float = Field(ge=0)
    momentum: float = Field(ge=0)


class Rules(Section):
    max_gap: float = Field(gt=0, lt=1)
    chase: float = Field(ge=0, lt=0.3)
    stop_atr: float = Field(gt=0, le=20)
    target_atr: float = Field(gt=0, le=50)
    max_hold_days: int = Field(ge=1, le=250)


class NearHighConfig(Section):
    filters: Filters
    indicators: Indicators
    weights: Weights
    watchlist: Watchlist
    selection: Selection
    rules: Rules


# --- what Phase 1 hands to Phase 2: typed fields, stored with the watchlist ------------------------------
@dataclass(frozen=True)
class NearHighHandover(Handover):
    recent_high: float
    atr: float
    gap: float


class NearHighStrategy(ScreeningStrategy):
    name = "near_high"
    description = "Buy stocks in an uptrend as they trade through their recent high; ATR stop and target."
    config_model = NearHighConfig
    defaults_file = Path(__file__).with_name("defaults.toml")
    handover_type = NearHighHandover

    @property
    def lookback_days(self) -> int:
        c = self.config.indicators
        return max(c.history_days, c.high_days, c.return_days + 1)

    # --- Phase 1: raw values and rank components at the screening day --------------------------------
    def factors(self, panel: DailyPanel, prices: ind.Prices, eligibility: Eligibility,
                rows: DayRows) -> FactorTable:
        c, r = self.config.indicators, self.config.rules
        # Every indicator is a (days × stocks) array whose row t uses rows <= t only; `at_day` takes the
        # screening day's row (or, inside a backtest's whole-panel pass, keeps every row).
        recent_high = rows.at_day(ind.rolling_max(prices.high, c.high_days))
        last = rows.at_day(prices.close)
        change = rows.at_day(ind.n_day_return(prices.close, c.return_days))
        atr = rows.at_day(ind.atr(prices.high, prices.low, prices.close, c.atr_days))
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = last / recent_high - 1.0  # <= 0: how far under the recent high
        values = {"close": last, f"high{c.high_days}": recent_high, f"return{c.return_days}": change,
                  f"atr{c.atr_days}": atr, "gap": gap, "avg_traded_value": eligibility.avg_traded_value}
        components = {"proximity": {"gap": gap}, "momentum": {"return": change}}
        near, rising = gap >= -r.max_gap, change > 0
        rule = np.asarray(near & rising)
        reasons: list[str | None] = []
        if not rows.every_day:  # readable reasons only for a live screen (one row)
            for i in range(last.shape[0]):
                if rule[i]:
                    reasons.append(None)
                elif not near[i]:
                    reasons.append(f"{-gap[i]:.1%} under the {c.high_days}-day high (max {r.max_gap:.0%})"
                                   if np.isfinite(gap[i]) else "no recent high yet")
                else:
                    reasons.append(f"{c.return_days}-day return not positive")
        handover = NearHighHandover.columns(recent_high=recent_high, atr=atr, gap=gap)
        return FactorTable(indicators=values, components=components, rule_passed=rule, rule_reasons=reasons,
                           handover=handover)

    # --- Phase 2: one candidate per watchlist stock ---------------------------------------------------
    def candidate(self, i: int, rank: int, stock: StockScore, view: DailyPanel, prices: ind.Prices, on: date,
                  regime: MarketRegime) -> Candidate | str:
        c, r, s = self.config.indicators, self.config.rules, self.config.selection
        levels = handover_of(stock, NearHighHandover)  # typed: what `factors` handed over
        high, atr = levels.recent_high, levels.atr
        if not (np.isfinite(high) and np.isfinite(atr) and atr > 0):
            return "no recent high or ATR (not enough history)"
        market = str(view.markets[i])
        trigger = tick_round(high * 1.0001, "up", on, market)  # the first tick above the recent high
        stop_level = trigger - r.stop_atr * atr
        if stop_level <= 0:
            return "stop below zero"
        stop = tick_round(stop_level, "down", on, market)
        target = tick_round(trigger + r.target_atr * atr, "up", on, market)
        weight = min(s.max_weight, 1.0 / max(regime.max_candidates, 1))
        reason = (f"{-levels.gap:.1%} under the {c.high_days}-day high; regime "
                  f"{regime.describe()}; buy at {trigger:,}, stop {stop:,}, target {target:,}")
        return Candidate(code=stock.code, name=stock.name, rank=rank, entry_price=trigger, stop_price=stop,
                         target_price=target, weight=round(weight, 6), reason=reason, score=stock.score,
                         atr=round(atr, 4), sector=stock.sector, extra={"recent_high": high})

    # --- intraday: the same code in the live session and in the backtest -----------------------------
    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        ceiling = candidate.entry_price * (1 + self.config.rules.chase)
        if candidate.entry_price <= price <= ceiling:  # through the trigger, but not chasing a gap up
            return Decision(DecisionAction.BUY, candidate.code, f"through the recent high: {price:,.0f} >= "
                            f"{candidate.entry_price:,}")  # no limit_price: a marketable order, sized by weight
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        if position.stop_price is not None and price <= position.stop_price:
            return f"stop: {price:,.0f} <= {position.stop_price:,}"
        if position.target_price is not None and price >= position.target_price:
            return f"target: {price:,.0f} >= {position.target_price:,}"
        held = trading_days_held(position.entry_date, kst_date(now))
        if held >= self.config.rules.max_hold_days:
            return f"time: held {held} trading days (max {self.config.rules.max_hold_days})"
        return None
