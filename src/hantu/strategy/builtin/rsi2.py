"""`rsi2` (Connors): short-term mean reversion. In an uptrend (close above its long SMA), buy a stock whose 2-day
RSI fell below `entry_rsi`; sell when the price reaches its short SMA (the level at selection), at an ATR stop,
or after `max_hold_days`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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


class Indicators(Section):
    history_days: int = Field(ge=20, le=1000)
    atr_days: int = Field(ge=2, le=250)


class Weights(Section):
    oversold: float = Field(ge=0)
    trend: float = Field(ge=0)


class Rules(Section):
    rsi_days: int = Field(ge=2, le=50)
    entry_rsi: float = Field(gt=0, lt=100)
    trend_days: int = Field(ge=2, le=500)
    exit_sma: int = Field(ge=2, le=100)
    stop_atr: float = Field(gt=0, le=20)
    max_hold_days: int = Field(ge=1, le=100)


class Rsi2Config(Section):
    filters: Filters
    indicators: Indicators
    weights: Weights
    watchlist: Watchlist
    selection: Selection
    rules: Rules


@dataclass(frozen=True)
class Rsi2Handover(Handover):
    """What Phase 2 reads from Phase 1: the ATR (stop), the exit SMA (target) and the RSI (reason)."""

    atr: float
    exit_sma: float
    rsi: float


class Rsi2Strategy(ScreeningStrategy):
    name = "rsi2"
    description = "Connors RSI(2) mean reversion in an uptrend; exit at the short SMA, an ATR stop or after a few days."
    config_model = Rsi2Config
    handover_type = Rsi2Handover

    @property
    def lookback_days(self) -> int:
        return max(int(self.config.indicators.history_days), self.config.rules.trend_days + 1)

    @property
    def required_history_days(self) -> int:
        """The trend SMA needs `trend_days` closes: before that no stock is in an uptrend."""
        return max(int(self.config.filters.min_history_days), self.config.rules.trend_days)

    def factors(self, panel: DailyPanel, prices: ind.Prices, eligibility: Eligibility,
                rows: DayRows) -> FactorTable:
        r = self.config.rules
        close, last = prices.close, rows.at_day(prices.close)
        rsi = rows.at_day(ind.rsi(close, r.rsi_days))
        trend_sma = rows.at_day(ind.sma(close, r.trend_days)) if close.shape[0] >= r.trend_days else np.full(last.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            above = last / trend_sma - 1.0
            values = {
                "close": last, f"rsi{r.rsi_days}": rsi, f"sma{r.trend_days}": trend_sma,
                f"sma{r.exit_sma}": rows.at_day(ind.sma(close, r.exit_sma)),
                f"atr{self.config.indicators.atr_days}": rows.at_day(ind.atr(prices.high, prices.low, close,
                                                                             self.config.indicators.atr_days)),
                "avg_traded_value": eligibility.avg_traded_value, "history_days": eligibility.history.astype(float),
            }
            in_trend = above > 0
            oversold = rsi < r.entry_rsi
        rule = np.asarray(in_trend & oversold)
        reasons: list[str | None] = []
        for i in range(0 if rows.every_day else last.shape[0]):
            if rule[i]:
                reasons.append(None)
            elif np.isnan(trend_sma[i]):
                reasons.append(f"no SMA{r.trend_days} yet (history {int(eligibility.history[i])} days)")
            elif not in_trend[i]:
                reasons.append(f"close below SMA{r.trend_days}: not an uptrend")
            else:
                reasons.append(f"RSI{r.rsi_days} {rsi[i]:.0f} not below {r.entry_rsi:g}")
        components = {"oversold": {"low_rsi": -rsi}, "trend": {"above_trend": above}}
        handover = Rsi2Handover.columns(atr=values[f"atr{self.config.indicators.atr_days}"],
                                        exit_sma=values[f"sma{r.exit_sma}"], rsi=rsi)
        return FactorTable(indicators=values, components=components, rule_passed=rule, rule_reasons=reasons,
                           handover=handover)

    def candidate(self, i: int, rank: int, stock: StockScore, view: DailyPanel, prices: ind.Prices, on: date,
                  regime: MarketRegime) -> Candidate | str:
        r, s = self.config.rules, self.config.selection
        close = float(prices.close[-1, i])
        levels = handover_of(stock, Rsi2Handover)
        atr, exit_level = levels.atr, levels.exit_sma
        if not (np.isfinite(close) and np.isfinite(atr) and atr > 0 and np.isfinite(exit_level)):
            return "no ATR or exit SMA (not enough history)"
        market = str(view.markets[i])
        entry = tick_round(close, "down", on, market)
        stop_level = entry - r.stop_atr * atr
        if stop_level <= 0:
            return "stop below zero"
        stop = tick_round(stop_level, "down", on, market)
        target = max(tick_round(exit_level, "up", on, market), tick_round(entry * 1.001 + 1, "up", on, market))
        weight = min(s.max_weight, 1.0 / max(regime.max_candidates, 1))
        reason = (f"RSI{r.rsi_days} {levels.rsi:.0f} < {r.entry_rsi:g} above "
                  f"SMA{r.trend_days}; regime {regime.describe()}; limit {entry:,}, exit at SMA{r.exit_sma} {target:,}, "
                  f"stop {stop:,} ({r.stop_atr:g}×ATR)")
        return Candidate(code=stock.code, name=stock.name, rank=rank, entry_price=entry, stop_price=stop,
                         target_price=target, weight=round(weight, 6), reason=reason, score=stock.score,
                         atr=round(atr, 4), sector=stock.sector, extra={"close": close, "exit_sma": exit_level})

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        if candidate.stop_price < price <= candidate.entry_price:
            return Decision(DecisionAction.BUY, candidate.code, f"oversold entry: {price:,.0f} <= {candidate.entry_price:,}",
                            limit_price=candidate.entry_price)
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        r = self.config.rules
        if position.stop_price is not None and price <= position.stop_price:
            return f"stop: {price:,.0f} <= {position.stop_price:,}"
        if position.target_price is not None and price >= position.target_price:
            return f"mean reverted: {price:,.0f} >= SMA{r.exit_sma} {position.target_price:,}"
        held = trading_days_held(position.entry_date, kst_date(now))
        if held >= r.max_hold_days:
            return f"time: held {held} trading days (max {r.max_hold_days})"
        return None
