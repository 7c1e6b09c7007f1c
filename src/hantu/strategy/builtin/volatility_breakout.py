"""`volatility_breakout` (Larry Williams): buy when the price crosses today's open + k × the previous day's range;
sell at the next day's open (or at today's close). Phase 1 prefers liquid stocks whose days trend cleanly
(a low noise ratio) and that trade above their SMA."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import Field

from hantu.market.calendar import session
from hantu.market.panel import DailyPanel
from hantu.strategy import indicators as ind
from hantu.strategy.base import Candidate, Decision, HeldPosition, StockScore
from hantu.strategy.config import Filters, Section, Selection, Watchlist
from hantu.strategy.framework import FactorTable, ScreeningStrategy, kst_date, tick_round
from hantu.strategy.regime import MarketRegime
from hantu.strategy.universe import Eligibility


class Indicators(Section):
    history_days: int = Field(ge=20, le=1000)
    noise_days: int = Field(ge=2, le=250)
    atr_days: int = Field(ge=2, le=250)
    sma_long: int = Field(ge=2, le=250)


class Weights(Section):
    liquidity: float = Field(ge=0)
    noise: float = Field(ge=0)
    trend: float = Field(ge=0)


class Rules(Section):
    k: float = Field(gt=0, le=2)
    exit: Literal["next_open", "close"]
    close_exit_minutes: int = Field(ge=0, le=120)
    last_entry_minutes: int = Field(ge=0, le=400)
    stop_range: float = Field(ge=0, le=5)


class BreakoutConfig(Section):
    filters: Filters
    indicators: Indicators
    weights: Weights
    watchlist: Watchlist
    selection: Selection
    rules: Rules


def _session(day: date):  # type: ignore[no-untyped-def]

    try:
        return session(day)
    except ValueError:
        return None


class VolatilityBreakoutStrategy(ScreeningStrategy):
    name = "volatility_breakout"
    description = ("Larry Williams' breakout: buy above today's open + k × yesterday's range; exit at the next "
                   "open (or the close).")
    config_model = BreakoutConfig

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.flatten_at_close = self.config.rules.exit == "close"

    def factors(self, panel: DailyPanel, prices: ind.Prices, eligibility: Eligibility) -> FactorTable:
        c = self.config.indicators
        close, last = prices.close, self.at_day(prices.close)
        day_range = prices.high - prices.low
        with np.errstate(divide="ignore", invalid="ignore"):
            noise = np.where(day_range > 0, 1.0 - np.abs(close - prices.open) / day_range, np.nan)
            noise = np.where(np.isnan(noise) & ~np.isnan(close), 1.0, noise)  # an untraded day is all noise
            avg_noise = self.at_day(ind.sma(noise, c.noise_days))
            sma_l = self.at_day(ind.sma(close, c.sma_long))
            values = {
                "close": last, "previous_range": self.at_day(day_range), f"noise{c.noise_days}": avg_noise,
                f"sma{c.sma_long}": sma_l, f"atr{c.atr_days}": self.at_day(ind.atr(prices.high, prices.low, close, c.atr_days)),
                "avg_traded_value": eligibility.avg_traded_value, "history_days": eligibility.history.astype(float),
            }
            components = {
                "liquidity": {"traded_value": np.log(np.where(eligibility.avg_traded_value > 0,
                                                              eligibility.avg_traded_value, np.nan))},
                "noise": {"low_noise": -avg_noise},
                "trend": {"close_vs_sma": last / sma_l - 1.0},
            }
        last_range = self.at_day(day_range)
        has_range = np.isfinite(last_range) & (last_range > 0)
        reasons = [] if self.all_days else [None if ok else "no range on the last day (nothing to break out of)"
                                            for ok in has_range.tolist()]
        return FactorTable(indicators=values, components=components, rule_passed=has_range, rule_reasons=reasons)

    def candidate(self, i: int, rank: int, stock: StockScore, view: DailyPanel, prices: ind.Prices, on: date,
                  regime: MarketRegime) -> Candidate | str:
        r, s = self.config.rules, self.config.selection
        close = float(prices.close[-1, i])
        day_range = float(stock.factors.get("previous_range", np.nan))
        if not (np.isfinite(close) and np.isfinite(day_range) and day_range > 0):
            return "no previous-day range"
        market = str(view.markets[i])
        trigger = tick_round(close + r.k * day_range, "up", on, market)  # estimate: the real open replaces close
        stop = tick_round(max(trigger - r.stop_range * day_range, 1.0), "down", on, market) if r.stop_range else 1
        target = tick_round(trigger + 2.0 * day_range, "up", on, market)  # a cap; the exit is by time
        weight = min(s.max_weight, 1.0 / max(regime.max_candidates, 1))
        reason = (f"breakout score {stock.score:.1f}; regime {regime.describe()}; buy above open + {r.k:g} × "
                  f"range {day_range:,.0f} (≈{trigger:,} if it opens at {close:,.0f}); exit {r.exit.replace('_', ' ')}")
        return Candidate(code=stock.code, name=stock.name, rank=rank, entry_price=trigger, stop_price=stop,
                         target_price=target, weight=round(weight, 6), reason=reason, score=stock.score,
                         atr=float(stock.factors.get(f"atr{self.config.indicators.atr_days}", 0.0)),
                         sector=stock.sector, extra={"range": day_range, "k": r.k, "close": close})

    def trigger(self, candidate: Candidate, day_open: float | None, on: date, market: str = "KOSPI") -> int:
        """Today's trigger: open + k × previous range, rounded up to a tick (the candidate's estimate without an open)."""
        day_range = candidate.extra.get("range")
        if day_open is None or not day_range:
            return candidate.entry_price
        return tick_round(day_open + candidate.extra.get("k", self.config.rules.k) * day_range, "up", on, market)

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        today = kst_date(now)
        times = _session(today)
        if times is not None and now >= times.close_auction - timedelta(minutes=self.config.rules.last_entry_minutes):
            return None
        level = self.trigger(candidate, day_open, today)
        if price >= level:
            return Decision("buy", candidate.code, f"breakout: {price:,.0f} >= open {day_open or 0:,.0f} + "
                            f"{candidate.extra.get('k', self.config.rules.k):g} × range = {level:,}")
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        today = kst_date(now)
        if position.stop_price is not None and price <= position.stop_price:
            return f"stop: {price:,.0f} <= {position.stop_price:,}"
        if today > position.entry_date:
            return "next open: the breakout trade lasts one day"
        if self.config.rules.exit == "close":
            times = _session(today)
            if times is not None and now >= times.close_auction - timedelta(minutes=self.config.rules.close_exit_minutes):
                return "close: the breakout trade ends with the day"
        return None
