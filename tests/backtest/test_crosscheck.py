"""Cross-check with backtrader on real KRX data: same trades, same final equity, same costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.crosscheck import cross_check, import_window, liquid_subset


@pytest.mark.parametrize("window", ["2021q1", "2024q1"])
def test_same_trades_and_final_equity_as_backtrader(shared_krx: Path, tmp_path: Path, window: str) -> None:
    panel = import_window(shared_krx / f"krx-daily-{window}.csv.gz", tmp_path / "market")
    subset = liquid_subset(panel, 60)
    assert subset.shape == (panel.shape[0], 60)
    check = cross_check(subset, fast=3, slow=8, quantity=10)
    assert len(check.ours_fills) >= 40, "the cross-check needs trades to compare"
    assert {f[2] for f in check.ours_fills} == {"buy", "sell"}
    assert check.ours_fills == check.theirs_fills
    costs = check.ours.metrics["fees_paid"] + check.ours.metrics["taxes_paid"]
    # fees are truncated to the won per fill on both sides: equal up to that rounding
    assert costs == pytest.approx(check.theirs_fees, abs=len(check.ours_fills))
    assert check.ours.final_equity == pytest.approx(check.theirs_value, abs=len(check.ours_fills))
