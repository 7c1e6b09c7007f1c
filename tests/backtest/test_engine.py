"""The engine: decisions see only the past, fills follow the shared fill model, cash and costs add up."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from backtest.toys import ToyBreakout, make_panel
from hantu.backtest.engine import BacktestConfig, BacktestEngine
from hantu.backtest.screens import WindowScreens
from hantu.broker.fill_model import FillParams, trade_costs
from hantu.domain.orders import Side
from hantu.market import rules
from hantu.trading.risk import RiskConfig


def random_panel(days: int = 60, stocks: int = 6, seed: int = 1):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    closes = np.round(10_000 * np.cumprod(1 + rng.normal(0, 0.02, (days, stocks)), axis=0) / 10) * 10
    opens = np.round(closes * (1 + rng.normal(0, 0.005, closes.shape)) / 10) * 10
    highs = np.round(np.maximum(opens, closes) * 1.03 / 10) * 10
    lows = np.round(np.minimum(opens, closes) * 0.97 / 10) * 10
    return make_panel(closes, opens=opens, highs=highs, lows=lows)


def test_future_spike_cannot_be_used() -> None:
    """A spike planted after day k changes nothing the engine did up to day k, and no screening call ever
    sees a row after its decision day."""
    panel = random_panel()
    k = 30
    spiked = make_panel(panel.close.copy(), opens=panel.open.copy(), highs=panel.high.copy(),
                        lows=panel.low.copy())
    # stock 3 doubles over the next days: a look-ahead engine would buy it on day k
    for t in range(k + 1, panel.shape[0]):
        for arr in (spiked.open, spiked.high, spiked.low, spiked.close):
            arr[t, 2] = arr[t, 2] * (1.0 + 0.25 * min(t - k, 4))
    start, cut = panel.date_at(5), panel.date_at(k)
    plain_strategy, spiked_strategy = ToyBreakout(), ToyBreakout()
    plain = BacktestEngine(plain_strategy, panel).run(start, panel.date_at(panel.shape[0] - 1))
    future = BacktestEngine(spiked_strategy, spiked).run(start, panel.date_at(panel.shape[0] - 1))

    def upto(fills):  # type: ignore[no-untyped-def]
        return [(f.day, f.code, f.side, f.quantity, f.price) for f in fills if f.day <= cut]

    assert upto(plain.fills) == upto(future.fills)
    assert len(upto(plain.fills)) > 5
    np.testing.assert_array_equal(plain.equity[: k - 5 + 1], future.equity[: k - 5 + 1])
    # ...and the spike does change what happens after it (the test would notice a blind engine)
    assert [f for f in plain.fills if f.day > cut] != [f for f in future.fills if f.day > cut]
    # every screening call saw data up to its decision day only
    decision_days = [panel.date_at(r) for r in range(4, panel.shape[0] - 1)]
    assert spiked_strategy.seen_last_dates == decision_days


def test_window_screens_hand_the_strategy_views_ending_at_the_decision_day() -> None:
    panel = random_panel(days=40)
    strategy = ToyBreakout()
    screens = WindowScreens(strategy, panel, lookback=10)
    screens.candidates_after(20)
    assert strategy.seen_last_dates == [panel.date_at(20)]
    assert screens.candidates_after(-1) == []


def one_stock_day(o: float, h: float, lo: float, c: float, volume: float = 1_000_000.0):  # type: ignore[no-untyped-def]
    """Day 0 closes at 10,000 up from 9,900 (the toy selects the stock); day 1 trades the given bar."""
    closes = np.array([[9_900.0], [10_000.0], [c]])
    return make_panel(closes, opens=np.array([[9_900.0], [10_000.0], [o]]),
                      highs=np.array([[9_900.0], [10_000.0], [h]]), lows=np.array([[9_900.0], [10_000.0], [lo]]),
                      volume=volume)


def test_breakout_fills_at_the_trigger_plus_slippage_with_the_models_costs() -> None:
    panel = one_stock_day(10_050, 10_500, 9_950, 10_400)
    outcome = BacktestEngine(ToyBreakout(k=0.02), panel).run(panel.date_at(2), panel.date_at(2))
    (fill,) = outcome.fills
    day = panel.date_at(2)
    tick = rules.tick_size(10_200, day, "KOSPI")
    assert fill.side == "buy"
    assert fill.price == 10_200 + tick  # trigger inside the range, one tick of slippage (FillParams default)
    assert fill.at.hour >= 9 and fill.at.date() == day
    costs = trade_costs(Side.BUY, fill.quantity, fill.price, day, "KOSPI")
    assert (fill.commission, fill.tax) == (costs.commission, costs.tax)
    # sized like the live session: 10 % of 100 M at the upper price limit (a market order), commission room
    upper = rules.limit_prices(10_000, day, "KOSPI")[1]
    assert fill.quantity == int(100_000_000 * 0.1 // (upper * (1 + rules.commission_rate())))
    assert outcome.cash[-1] == 100_000_000 - fill.quantity * fill.price - fill.commission


def test_gap_above_the_trigger_fills_at_the_open() -> None:
    panel = one_stock_day(10_300, 10_500, 10_250, 10_400)
    outcome = BacktestEngine(ToyBreakout(k=0.02), panel).run(panel.date_at(2), panel.date_at(2))
    (fill,) = outcome.fills
    assert fill.price == 10_300 + rules.tick_size(10_300, panel.date_at(2), "KOSPI")
    assert fill.at.hour == 9 and fill.at.minute == 0


def test_no_trigger_no_trade() -> None:
    panel = one_stock_day(10_050, 10_150, 9_950, 10_100)
    outcome = BacktestEngine(ToyBreakout(k=0.02), panel).run(panel.date_at(2), panel.date_at(2))
    assert outcome.fills == []
    assert outcome.equity[-1] == 100_000_000


def test_stop_sells_at_the_stop_level_minus_slippage_and_pays_the_sell_tax() -> None:
    # day 1: entry at 10,200 (+tick); day 2: falls through the stop (9,500 = 10,000 × 0.95)
    closes = np.array([[9_900.0], [10_000.0], [10_300.0], [9_300.0]])
    opens = np.array([[9_900.0], [10_000.0], [10_050.0], [10_200.0]])
    highs = np.array([[9_900.0], [10_000.0], [10_400.0], [10_250.0]])
    lows = np.array([[9_900.0], [10_000.0], [10_000.0], [9_200.0]])
    panel = make_panel(closes, opens=opens, highs=highs, lows=lows)
    outcome = BacktestEngine(ToyBreakout(k=0.02, stop=0.05, target=0.5), panel).run(panel.date_at(2),
                                                                                   panel.date_at(3))
    buy, sell = outcome.fills[:2]
    day = panel.date_at(3)
    assert (buy.side, sell.side) == ("buy", "sell")
    assert sell.reason == "stop_loss"  # the position's own stop, checked by the risk rules
    assert sell.price == 9_500 - rules.tick_size(9_499, day, "KOSPI")
    costs = trade_costs(Side.SELL, sell.quantity, sell.price, day, "KOSPI")
    assert sell.tax == costs.tax > 0
    (trade,) = [t for t in outcome.trades if t.closed]
    assert trade.pnl == pytest.approx(sell.cash_flow + buy.cash_flow)
    assert trade.exit_reason == "stop_loss" and trade.holding_days == 1


def test_partial_fill_by_share_of_volume() -> None:
    panel = one_stock_day(10_050, 10_500, 9_950, 10_400, volume=3_000.0)
    config = BacktestConfig(fill=FillParams(volume_share=0.1))
    outcome = BacktestEngine(ToyBreakout(k=0.02), panel, config).run(panel.date_at(2), panel.date_at(2))
    (fill,) = outcome.fills
    assert fill.quantity == 300  # floor(3,000 × 0.1) of the ~760 shares wanted


def test_cash_never_negative_and_equity_is_cash_plus_holdings() -> None:
    panel = random_panel(days=80, stocks=12, seed=7)
    config = BacktestConfig(initial_cash=5_000_000, risk=RiskConfig(max_open_positions=8, max_position_weight=0.5))
    outcome = BacktestEngine(ToyBreakout(k=0.01), panel, config).run(panel.date_at(3), date(2030, 1, 1))
    assert outcome.fills
    assert (outcome.cash >= 0).all()
    np.testing.assert_allclose(outcome.equity, outcome.cash + outcome.holdings_value)
    assert outcome.cash[-1] == 5_000_000 + sum(f.cash_flow for f in outcome.fills)


def test_empty_range_is_a_clear_error() -> None:
    panel = random_panel(days=10)
    with pytest.raises(ValueError, match="no trading day"):
        BacktestEngine(ToyBreakout(), panel).run(date(2030, 1, 1), date(2030, 2, 1))


def test_the_risk_managers_exit_rules_fire_before_the_strategys() -> None:
    """A trailing stop from the live RiskConfig sells though the toy strategy would hold."""
    closes = np.array([[9_900.0], [10_000.0], [10_900.0], [10_000.0]])
    opens = np.array([[9_900.0], [10_000.0], [10_050.0], [10_900.0]])
    highs = np.array([[9_900.0], [10_000.0], [11_000.0], [10_950.0]])
    lows = np.array([[9_900.0], [10_000.0], [10_000.0], [9_990.0]])
    panel = make_panel(closes, opens=opens, highs=highs, lows=lows)
    risk = RiskConfig(trailing_stop_pct=0.05)
    outcome = BacktestEngine(ToyBreakout(k=0.02, stop=0.5, target=0.5, hold=99), panel,
                             BacktestConfig(risk=risk)).run(panel.date_at(2), panel.date_at(3))
    sell = outcome.fills[-1]
    assert sell.side == "sell" and sell.reason == "trailing_stop"
    level = 11_000 * 0.95  # high since entry 11,000
    assert level - 2 * rules.tick_size(level, sell.day, "KOSPI") <= sell.price <= level
