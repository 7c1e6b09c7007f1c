"""Backtests on every real KRX window (imported with the market importer) with every built-in strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtest.crosscheck import import_window
from hantu.backtest.single import MarketData, run_on_panel

WINDOWS = ["2021q1", "2022q1", "2023q1", "2024q1"]
# the real windows are 29–33 days long: rsi2's 200-day trend filter is shortened as its defaults suggest
PARAMS = {"momentum": {}, "volatility_breakout": {}, "rsi2": {"rules.trend_days": 10}}


@pytest.mark.parametrize("window", WINDOWS)
def test_every_strategy_runs_on_the_real_window(window: str, shared_krx: Path, tmp_path: Path) -> None:
    from hantu.market.store import MarketStore

    panel = import_window(shared_krx / f"krx-daily-{window}.csv.gz", tmp_path / "market")
    market = MarketData(panel, MarketStore(tmp_path / "market").instruments())
    start, end = panel.date_at(0), panel.date_at(panel.shape[0] - 1)
    traded = {}
    for name, params in PARAMS.items():
        outcome = run_on_panel(name, market, start, end, params)
        assert len(outcome.equity) == panel.shape[0]
        assert np.isfinite(outcome.equity).all() and (outcome.cash >= 0).all()
        assert np.isfinite(outcome.benchmark).all()
        # the figures add up from the trade list
        m = outcome.metrics
        assert outcome.final_equity == pytest.approx(outcome.initial_cash + sum(t.pnl for t in outcome.trades))
        assert m["fees_paid"] == sum(t.fees for t in outcome.trades) == sum(f.commission for f in outcome.fills)
        assert m["taxes_paid"] == sum(t.taxes for t in outcome.trades) == sum(f.tax for f in outcome.fills)
        # every fill is at a price the day traded (within its low..high, slippage included)
        for fill in outcome.fills:
            row, col = panel.row(fill.day), panel.column(fill.code)
            assert panel.low[row, col] * 0.99 <= fill.price <= panel.high[row, col] * 1.01, fill
        traded[name] = len(outcome.fills)
    assert traded["volatility_breakout"] > 0 and traded["momentum"] > 0, traded
