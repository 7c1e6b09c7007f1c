"""Market orders at the open priced for all their stocks at once (`BacktestEngine(open_batch=True)`, the
default) give the fills, costs, curves and round trips of one order at a time through `fill_model.match`
(`open_batch=False`): on real KRX windows and on the generated market, with cash, volume, position limits,
slippage and risk exits binding; and the array rules they use give the scalar rules' answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.crosscheck import SmaCross as PlainSmaCross
from hantu.backtest.engine import BacktestConfig, BacktestEngine
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.screens import screen_source_for
from hantu.backtest.single import MarketData, make_strategy
from hantu.broker.fill_model import Bar, FillParams, market_fill_price, market_fill_prices
from hantu.domain.orders import Side
from hantu.market import rules
from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, Decision, DecisionAction
from hantu.trading.risk import RiskConfig

from helpers import KRX_WINDOWS as WINDOWS

DAYS = [date(2022, 6, 2), date(2023, 1, 25), date(2024, 3, 4), date(2025, 6, 2)]  # both tick tables, 3 tax rates
MARKETS = ["KOSPI", "KOSDAQ", "KONEX", "ETF"]


class ExitsAtOpenCross(PlainSmaCross):
    """The cross-check's SMA cross, declaring its exits as a daily signal (`ExitsAtOpen`), optionally sized by
    weight instead of a share count."""

    def __init__(self, fast: int = 3, slow: int = 8, quantity: int | None = 10, weight: float = 0.0) -> None:
        super().__init__(fast, slow, quantity or 0)
        self.quantity, self.weight = quantity, weight

    def select(self, panel: DailyPanel, screen: Any, on: date) -> list[Candidate]:
        return [replace(c, weight=self.weight) for c in super().select(panel, screen, on)]

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        return Decision(DecisionAction.BUY, candidate.code, "sma cross up", quantity=self.quantity)

    def exits_at_open(self) -> dict[str, str]:
        return dict.fromkeys(self.sell_signals, "sma cross down")


def config(cash: int, *, volume_share: float = 0.1, slippage: int = 1, positions: int = 10_000,
           entries: int = 10_000, stop: float | None = None, target: float | None = None) -> BacktestConfig:
    risk = RiskConfig(max_open_positions=positions, max_new_entries_per_day=entries, max_position_weight=0.2,
                      stop_loss_pct=stop, take_profit_pct=target)
    return BacktestConfig(initial_cash=cash, risk=risk,
                          fill=FillParams(volume_share=volume_share, slippage_ticks=slippage))


CONFIGS = {
    "plain": config(1_000_000_000),
    "cash binds": config(3_000_000),
    "volume binds": config(1_000_000_000, volume_share=0.0005),
    "limits and slippage": config(50_000_000, slippage=3, positions=6, entries=2),
    "risk exits": config(100_000_000, stop=0.03, target=0.05),
}


def facts(outcome: BacktestOutcome) -> tuple[Any, ...]:
    """Everything a run produced that the two paths must agree on, in order."""
    fills = [(f.day, f.at, f.code, f.side, f.quantity, f.price, f.commission, f.tax, f.reason)
             for f in outcome.fills]
    trades = [(t.code, t.entry_row, t.quantity, t.entry_cost, t.exit_quantity, t.exit_proceeds, t.fees, t.taxes,
               t.exit_row, t.exit_reason, t.mark_price) for t in outcome.trades]
    return (fills, trades, outcome.equity.tolist(), outcome.cash.tolist(), outcome.metrics["intraday"])


def both(strategy: Any, panel: DailyPanel, settings: BacktestConfig) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    start, end = panel.date_at(0), panel.date_at(panel.shape[0] - 1)
    runs = []
    for batch in (True, False):
        fresh = strategy()
        runs.append(facts(BacktestEngine(fresh, panel, settings, screens=screen_source_for(fresh, panel),
                                         open_batch=batch).run(start, end)))
    return runs[0], runs[1]


STRATEGIES = {
    "exits at open": lambda: ExitsAtOpenCross(),
    "sized by weight": lambda: ExitsAtOpenCross(quantity=None, weight=0.05),
    "exits on the path": lambda: PlainSmaCross(),
}


@pytest.fixture
def windows(real_windows: dict[str, MarketData]) -> dict[str, DailyPanel]:
    return {window: market.panel for window, market in real_windows.items()}


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("case", list(CONFIGS))
def test_real_windows_fill_the_same_at_once_as_one_by_one(windows: dict[str, DailyPanel], window: str,
                                                          case: str) -> None:
    panel = windows[window]
    for name, strategy in STRATEGIES.items():
        batched, single = both(strategy, panel, CONFIGS[case])
        assert batched == single, (window, case, name)
        assert batched[0], (window, case, name)  # the case traded


@pytest.mark.parametrize("strategy", ["momentum", "volatility_breakout", "rsi2"])
def test_built_in_strategies_fill_the_same_at_once_on_a_real_window(windows: dict[str, DailyPanel],
                                                                   strategy: str) -> None:
    panel = windows["2024q1"]  # 079370's 1:3 bonus issue on 2024-01-16 and limit days
    params = {"rules.trend_days": 10} if strategy == "rsi2" else {}
    batched, single = both(lambda: make_strategy(strategy, params), panel, BacktestConfig())
    assert batched == single


def test_the_generated_market_fills_the_same_at_once(sample_panel: DailyPanel) -> None:
    for case, setup in CONFIGS.items():
        for name, strategy in STRATEGIES.items():
            batched, single = both(strategy, sample_panel, setup)
            assert batched == single, (case, name)
            assert batched[0], (case, name)


# --- the array rules against the scalar ones ------------------------------------------------------------

prices = st.one_of(st.integers(1, 3_000), st.integers(1, 600_000), st.integers(1, 5_000_000))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(prices, min_size=1, max_size=40), day=st.sampled_from(DAYS), market=st.sampled_from(MARKETS))
def test_array_tick_rounding_is_the_scalar_rule(values: list[int], day: date, market: str) -> None:
    raw = np.array(values, dtype=np.float64) + np.array([0.0, 0.5, 0.25, 0.75] * 10)[: len(values)]
    for direction in ("up", "down", "nearest"):
        got = rules.round_to_ticks(raw, day, market, direction).astype(np.int64).tolist()
        assert got == [rules.round_to_tick(float(p), direction, day, market) for p in raw.tolist()], direction


@settings(max_examples=300, deadline=None)
@given(bases=st.lists(prices, min_size=1, max_size=40), day=st.sampled_from(DAYS), market=st.sampled_from(MARKETS))
def test_array_price_limits_are_the_scalar_rule(bases: list[int], day: date, market: str) -> None:
    lower, upper = rules.limit_price_arrays(np.array(bases, dtype=np.int64), day, market)
    assert list(zip(lower.tolist(), upper.tolist(), strict=True)) == [rules.limit_prices(b, day, market) for b in bases]


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(st.one_of(st.integers(0, 10**9), st.integers(0, 10**15), st.integers(0, 10**18)),
                        min_size=1, max_size=30),
       side=st.sampled_from([Side.BUY, Side.SELL]), day=st.sampled_from(DAYS), market=st.sampled_from(MARKETS),
       rate=st.sampled_from([0.0, 0.00015, 0.0001405, 0.0025]))
def test_array_costs_are_the_scalar_rule(amounts: list[int], side: Side, day: date, market: str,
                                         rate: float) -> None:
    commission, tax = rules.cost_arrays(side, np.array(amounts, dtype=np.int64), market, day, rate=rate)
    expected = [rules.costs(side, a, market, day, rate=rate) for a in amounts]
    assert commission.tolist() == [c.commission for c in expected]
    assert tax.tolist() == [c.tax for c in expected]


@st.composite
def bars(draw: st.DrawFn) -> tuple[int, int, int, int, tuple[int, int] | None]:
    """(open, low, high, volume, price limits or None) of a daily bar, limits around a previous close."""
    previous = draw(prices)
    low = draw(st.integers(max(1, previous * 6 // 10), previous * 14 // 10 + 1))
    high = draw(st.integers(low, low * 13 // 10 + 1))
    open_ = draw(st.integers(low, high))
    volume = draw(st.sampled_from([0, 1, 1_000]))
    return open_, low, high, volume, draw(st.sampled_from([None, (previous, previous)]))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(bars(), min_size=1, max_size=30), side=st.sampled_from([Side.BUY, Side.SELL]),
       slippage=st.integers(0, 3), day=st.sampled_from(DAYS), market=st.sampled_from(MARKETS))
def test_array_market_fill_prices_are_the_scalar_rule(rows: list[tuple[int, int, int, int, Any]], side: Side,
                                                      slippage: int, day: date, market: str) -> None:
    params = FillParams(slippage_ticks=slippage)
    limits = [rules.limit_prices(r[4][0], day, market) if r[4] else None for r in rows]
    o, lo, hi, v = (np.array([r[k] for r in rows], dtype=np.float64) for k in range(4))
    lower = np.array([lim[0] if lim else 0 for lim in limits], dtype=np.float64)
    upper = np.array([lim[1] if lim else 2**62 for lim in limits], dtype=np.float64)
    got = market_fill_prices(side, o, lo, hi, v, day, market, params, lower, upper).tolist()
    expected = [market_fill_price(side, Bar(r[0], r[2], r[1], r[0], r[3]), day, market, params, lim) or 0
                for r, lim in zip(rows, limits, strict=True)]
    assert got == expected
