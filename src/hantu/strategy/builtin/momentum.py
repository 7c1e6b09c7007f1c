"""`momentum` (the default): trend, momentum, volume and calm volatility, ranked across the market; entries at a
limit just above the last close, exits by ATR stop, target, trailing stop and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from pydantic import Field, model_validator

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
from hantu.strategy.config import Filters, Section, Watchlist
from hantu.strategy.config import Selection as BaseSelection
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


class Indicators(Section):
    history_days: int = Field(ge=20, le=1000)
    sma_short: int = Field(ge=2, le=250)
    sma_long: int = Field(ge=2, le=250)
    rsi_days: int = Field(ge=2, le=250)
    atr_days: int = Field(ge=2, le=250)
    volatility_days: int = Field(ge=2, le=250)
    return_days: int = Field(ge=1, le=250)
    volume_short: int = Field(ge=1, le=250)
    volume_long: int = Field(ge=2, le=250)
    slope_days: int = Field(ge=2, le=250)
    high_low_days: int = Field(ge=2, le=250)
    rsi_sweet_spot: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Indicators:
        if self.sma_short >= self.sma_long:
            raise ValueError(f"sma_short ({self.sma_short}) must be shorter than sma_long ({self.sma_long})")
        if self.volume_short >= self.volume_long:
            raise ValueError(f"volume_short ({self.volume_short}) must be shorter than volume_long ({self.volume_long})")
        return self


class Weights(Section):
    trend: float = Field(ge=0)
    momentum: float = Field(ge=0)
    volume: float = Field(ge=0)
    volatility: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive(self) -> Weights:
        if self.trend + self.momentum + self.volume + self.volatility <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class Selection(BaseSelection):
    entry_buffer: float = Field(ge=0, le=0.1)
    stop_atr: float = Field(gt=0, le=20)
    target_atr: float = Field(gt=0, le=50)
    risk_per_trade: float = Field(gt=0, le=0.2)


class Exits(Section):
    trailing_atr: float = Field(gt=0, le=20)
    trailing_activation_atr: float = Field(ge=0, le=20)
    max_hold_days: int = Field(ge=1, le=250)


class MomentumConfig(Section):
    filters: Filters
    indicators: Indicators
    weights: Weights
    watchlist: Watchlist
    selection: Selection
    exits: Exits


@dataclass(frozen=True)
class MomentumHandover(Handover):
    """What Phase 2 reads from Phase 1: the ATR at the screening day."""

    atr: float


class MomentumStrategy(ScreeningStrategy):
    name = "momentum"
    description = ("Trend + momentum + volume + calm volatility ranked across the market; limit entry near the "
                   "last close; exits by ATR stop, target, trailing stop and time.")
    config_model = MomentumConfig
    handover_type = MomentumHandover

    def factors(self, panel: DailyPanel, prices: ind.Prices, eligibility: Eligibility,
                rows: DayRows) -> FactorTable:
        c = self.config.indicators
        close, last = prices.close, rows.at_day(prices.close)
        t = rows.tail  # window indicators need only their window's rows (recursive ones need the history)
        sma_s = rows.at_day(ind.sma(t(close, c.sma_short), c.sma_short))
        sma_l = rows.at_day(ind.sma(t(close, c.sma_long), c.sma_long))
        rsi = rows.at_day(ind.rsi(close, c.rsi_days))
        atr = rows.at_day(ind.atr(prices.high, prices.low, close, c.atr_days))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_close = np.log(t(close, c.slope_days))
            values = {
                "close": last, f"sma{c.sma_short}": sma_s, f"sma{c.sma_long}": sma_l, f"rsi{c.rsi_days}": rsi,
                f"atr{c.atr_days}": atr, "atr_pct": atr / last,
                f"volatility{c.volatility_days}": rows.at_day(ind.volatility(t(close, c.volatility_days + 1), c.volatility_days)),
                "volume_ratio": rows.at_day(ind.volume_ratio(t(prices.volume, c.volume_long), c.volume_short,
                                                              c.volume_long)),
                f"return{c.return_days}": rows.at_day(ind.n_day_return(t(close, c.return_days + 1), c.return_days)),
                "distance_to_high": rows.at_day(ind.distance_to_high(t(close, c.high_low_days), t(prices.high, c.high_low_days),
                                                                  c.high_low_days)),
                "distance_to_low": rows.at_day(ind.distance_to_low(t(close, c.high_low_days), t(prices.low, c.high_low_days),
                                                                c.high_low_days)),
                "avg_traded_value": eligibility.avg_traded_value,
                "slope_pct_per_day": rows.at_day(ind.regression_slope(log_close, c.slope_days)) * 100.0,
                "bollinger_pct_b": rows.at_day(ind.bollinger(t(close, c.sma_long), c.sma_long).percent_b),
                "history_days": eligibility.history.astype(float),
            }
            components = {
                "trend": {"close_vs_sma_long": last / sma_l - 1.0, "sma_short_vs_long": sma_s / sma_l - 1.0,
                          "slope": values["slope_pct_per_day"]},
                "momentum": {"return": values[f"return{c.return_days}"], "rsi_fit": -np.abs(rsi - c.rsi_sweet_spot),
                             "near_high": values["distance_to_high"]},
                "volume": {"volume_ratio": values["volume_ratio"],
                           "traded_value": np.log(np.where(eligibility.avg_traded_value > 0,
                                                           eligibility.avg_traded_value, np.nan))},
                "volatility": {"calm": -values[f"volatility{c.volatility_days}"], "tight_range": -values["atr_pct"]},
            }
        return FactorTable(indicators=values, components=components, handover=MomentumHandover.columns(atr=atr))

    def score_reasons(self, factors: dict[str, float]) -> list[str]:
        c = self.config.indicators
        out = super().score_reasons(factors)
        figures = []
        sma_long, ret = factors.get(f"sma{c.sma_long}"), factors.get(f"return{c.return_days}")
        if sma_long:
            figures.append(f"close {factors['close'] / sma_long - 1:+.1%} vs SMA{c.sma_long}")
        if ret is not None:
            figures.append(f"{ret:+.1%} over {c.return_days} days")
        if "volume_ratio" in factors:
            figures.append(f"volume ×{factors['volume_ratio']:.2f} ({c.volume_short}/{c.volume_long} days)")
        if f"rsi{c.rsi_days}" in factors:
            figures.append(f"RSI{c.rsi_days} {factors[f'rsi{c.rsi_days}']:.0f}")
        if figures:
            out.append(", ".join(figures))
        return out

    def candidate(self, i: int, rank: int, stock: StockScore, view: DailyPanel, prices: ind.Prices, on: date,
                  regime: MarketRegime) -> Candidate | str:
        s = self.config.selection
        close = float(prices.close[-1, i])
        atr = handover_of(stock, MomentumHandover).atr
        if not (np.isfinite(close) and np.isfinite(atr) and atr > 0):
            return "no ATR (not enough history)"
        market = str(view.markets[i])
        entry = tick_round(close * (1.0 + s.entry_buffer), "down", on, market)
        stop_level = entry - s.stop_atr * atr
        if stop_level <= 0:
            return f"stop {s.stop_atr}×ATR below zero"
        stop = tick_round(stop_level, "down", on, market)
        if stop >= entry:
            return "stop not below the entry"
        target = tick_round(entry + s.target_atr * atr, "up", on, market)
        weight = min(s.max_weight, s.risk_per_trade * entry / (entry - stop))
        reason = (f"momentum score {stock.score:.1f}; regime {regime.describe()}; limit {entry:,} "
                  f"(close {close:,.0f} +{s.entry_buffer:.1%}), stop {stop:,} ({s.stop_atr:g}×ATR {atr:,.0f}), "
                  f"target {target:,} ({s.target_atr:g}×ATR)")
        return Candidate(code=stock.code, name=stock.name, rank=rank, entry_price=entry, stop_price=stop,
                         target_price=target, weight=round(weight, 6), reason=reason, score=stock.score,
                         atr=round(atr, 4), sector=stock.sector, extra={"close": close})

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        """Buy at the limit when the price trades at or below it (but still above the stop)."""
        if candidate.stop_price < price <= candidate.entry_price:
            return Decision(DecisionAction.BUY, candidate.code, f"price {price:,.0f} at or below limit {candidate.entry_price:,}",
                            limit_price=candidate.entry_price)
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        e = self.config.exits
        if position.stop_price is not None and price <= position.stop_price:
            return f"stop: {price:,.0f} <= {position.stop_price:,}"
        if position.target_price is not None and price >= position.target_price:
            return f"target: {price:,.0f} >= {position.target_price:,}"
        atr = position.atr
        if atr > 0 and position.high_since_entry >= position.avg_price + e.trailing_activation_atr * atr:
            trail = position.high_since_entry - e.trailing_atr * atr
            if price <= trail:
                return f"trailing stop: {price:,.0f} <= {trail:,.0f} ({e.trailing_atr:g}×ATR below the high)"
        held = trading_days_held(position.entry_date, kst_date(now))
        if held >= e.max_hold_days:
            return f"time: held {held} trading days (max {e.max_hold_days})"
        return None
