"""The cross-check against an established engine: one simple strategy (an SMA crossover, market orders at the
next open) run through our engine and through backtrader on the same bars, with backtrader's commission set
to our fee and tax rules (`hantu.market.rules.costs`, truncated to the won as KIS does).

Used by `tests/backtest/test_crosscheck.py` and `bench/backtest.py` (backtrader is a test-only dependency).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hantu.backtest.engine import BacktestConfig, BacktestEngine
from hantu.backtest.result import BacktestOutcome
from hantu.broker.fill_model import FillParams
from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, Decision, HeldPosition, ScreenResult, StockScore
from hantu.strategy.indicators import sma
from hantu.trading.risk import RiskConfig


class SmaCross:
    """Buy `quantity` shares at the open after the fast SMA crosses above the slow one; sell everything at the
    open after it crosses below. Signals come from the decision day's closes only."""

    name = "sma_cross"

    def __init__(self, fast: int = 3, slow: int = 8, quantity: int = 10) -> None:
        self.params: dict[str, Any] = {"fast": fast, "slow": slow, "quantity": quantity}
        self.sell_signals: set[str] = set()

    def screen(self, panel: DailyPanel, on: date) -> ScreenResult:
        fast, slow = sma(panel.close, self.params["fast"]), sma(panel.close, self.params["slow"])
        codes = panel.codes.tolist()
        up, down = np.zeros(len(codes), bool), np.zeros(len(codes), bool)
        if panel.shape[0] >= 2:
            with np.errstate(invalid="ignore"):
                up = (fast[-1] > slow[-1]) & (fast[-2] <= slow[-2])
                down = (fast[-1] < slow[-1]) & (fast[-2] >= slow[-2])
        self.sell_signals = {codes[i] for i in np.flatnonzero(down)}
        scores = [StockScore(c, str(panel.names[i]), float(up[i]), bool(up[i]), ()) for i, c in enumerate(codes)]
        return ScreenResult(on=on, scores=scores, watchlist=[codes[i] for i in np.flatnonzero(up)])

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        return [Candidate(code=c, name=c, rank=k + 1, entry_price=0, stop_price=0, target_price=0, weight=0.0,
                          reason="sma cross up") for k, c in enumerate(screen.watchlist)]

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        return Decision("buy", candidate.code, "sma cross up", quantity=self.params["quantity"])

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return "sma cross down" if position.code in self.sell_signals else None


def ours_config(cash: int) -> BacktestConfig:
    """Our engine set up like backtrader's defaults: whole-volume fills, no slippage, no extra risk exits."""
    risk = RiskConfig(max_open_positions=10_000, max_new_entries_per_day=10_000, max_position_weight=1.0,
                      stop_loss_pct=None)
    return BacktestConfig(initial_cash=cash, risk=risk, fill=FillParams(volume_share=1.0, slippage_ticks=0))


@dataclass
class CrossCheck:
    ours: BacktestOutcome
    ours_fills: list[tuple[date, str, str, int, int]]
    theirs_fills: list[tuple[date, str, str, int, int]]
    theirs_value: float
    theirs_fees: float
    ours_seconds: float
    theirs_seconds: float


def run_ours(panel: DailyPanel, cash: int, **params: int) -> tuple[BacktestOutcome, float]:
    began = time.perf_counter()
    outcome = BacktestEngine(SmaCross(**params), panel, ours_config(cash)).run(panel.date_at(0),
                                                                               panel.date_at(panel.shape[0] - 1))
    return outcome, time.perf_counter() - began


def run_backtrader(panel: DailyPanel, cash: int, fast: int = 3, slow: int = 8,
                   quantity: int = 10) -> tuple[list[tuple[date, str, str, int, int]], float, float, float]:
    """(fills, final value, commission + tax paid, seconds) of the same strategy in backtrader."""
    import backtrader as bt
    import pandas as pd

    from hantu.domain.orders import Side
    from hantu.market import rules

    markets = {str(c): rules.normalize_market(str(m)) for c, m in zip(panel.codes, panel.markets, strict=True)}
    day0 = panel.date_at(0)

    class KrxCommission(bt.CommInfoBase):
        """Our costs: commission on both sides, the dated sell tax on sells, each truncated to the won."""

        params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED), ("market", "KOSPI"))

        def _getcommission(self, size, price, pseudoexec):  # type: ignore[no-untyped-def]
            side = Side.BUY if size > 0 else Side.SELL
            return float(rules.costs(side, round(abs(size) * price), self.p.market, day0).total)

    class Cross(bt.Strategy):
        def __init__(self) -> None:
            self.signals = {d: bt.ind.CrossOver(bt.ind.SMA(d.close, period=fast), bt.ind.SMA(d.close, period=slow))
                            for d in self.datas}
            self.fills: list[tuple[date, str, str, int, int]] = []
            self.costs = 0.0

        def next(self) -> None:
            for d, cross in self.signals.items():
                if cross[0] > 0 and not self.getposition(d).size:
                    self.buy(data=d, size=quantity)
                elif cross[0] < 0 and self.getposition(d).size:
                    self.close(data=d)

        def notify_order(self, order) -> None:  # type: ignore[no-untyped-def]
            if order.status == order.Completed:
                side = "buy" if order.isbuy() else "sell"
                self.fills.append((bt.num2date(order.executed.dt).date(), order.data._name, side,
                                   abs(int(order.executed.size)), round(order.executed.price)))
                self.costs += order.executed.comm

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(float(cash))
    index = pd.DatetimeIndex(panel.dates.astype("datetime64[ns]"))
    for j, code in enumerate(panel.codes.tolist()):
        frame = pd.DataFrame({"open": panel.open[:, j], "high": panel.high[:, j], "low": panel.low[:, j],
                              "close": panel.close[:, j], "volume": panel.volume[:, j]}, index=index)
        data = bt.feeds.PandasData(dataname=frame, openinterest=None)
        cerebro.adddata(data, name=code)
        cerebro.broker.addcommissioninfo(KrxCommission(market=markets[code]), name=code)
    cerebro.addstrategy(Cross)
    began = time.perf_counter()
    (strategy,) = cerebro.run()
    seconds = time.perf_counter() - began
    return sorted(strategy.fills), cerebro.broker.getvalue(), strategy.costs, seconds


def liquid_subset(panel: DailyPanel, stocks: int) -> DailyPanel:
    """The `stocks` stocks with the most traded value among those that traded on every day of the panel."""
    always = np.all(panel.volume > 0, axis=0) & np.all(np.isfinite(panel.close), axis=0)
    value = np.where(always, np.nansum(panel.amount, axis=0), -1.0)
    cols = np.sort(np.argsort(-value)[:stocks])
    cols = cols[always[cols]]
    return DailyPanel(dates=panel.dates, codes=panel.codes[cols], names=panel.names[cols],
                      markets=panel.markets[cols], open=panel.open[:, cols], high=panel.high[:, cols],
                      low=panel.low[:, cols], close=panel.close[:, cols], volume=panel.volume[:, cols],
                      amount=panel.amount[:, cols])


def import_window(csv_path: Path, root: Path) -> DailyPanel:
    """One real KRX window through the market helper's importer into a store at `root`, loaded back."""
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    store = MarketStore(root)
    store.write_days(KrxCsvSource(csv_path).read_all(), source="krx-csv")
    days = store.trading_dates()
    return store.load_range(days[0], days[-1])


def cross_check(panel: DailyPanel, cash: int = 1_000_000_000, **params: int) -> CrossCheck:
    ours, ours_seconds = run_ours(panel, cash, **params)
    fills, value, costs, theirs_seconds = run_backtrader(panel, cash, **params)
    mine = sorted((f.day, f.code, f.side, f.quantity, f.price) for f in ours.fills)
    return CrossCheck(ours=ours, ours_fills=mine, theirs_fills=fills, theirs_value=value, theirs_fees=costs,
                      ours_seconds=ours_seconds, theirs_seconds=theirs_seconds)
