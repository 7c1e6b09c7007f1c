"""`hantu strategy check`: a strategy that peeks at tomorrow or depends on the history it was handed is
flagged; the built-in strategies pass."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hantu.strategy as _strategy_package
from hantu.backtest.lookahead import check_strategy, future_changed, sample_days
from hantu.market.panel import DailyPanel
from hantu.strategy.base import ScreenResult
from hantu.strategy.builtin.momentum import MomentumStrategy

from helpers import run_hantu

MOMENTUM_DEFAULTS = Path(_strategy_package.__file__).parent / "defaults" / "momentum.toml"


class PeekingMomentum(MomentumStrategy):
    """Momentum that sorts its watchlist by tomorrow's return: the classic look-ahead bug (the full panel is
    indexed past the screening day)."""

    name = "peeking"
    defaults_file = MOMENTUM_DEFAULTS

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        result = super().screen(panel, on, instruments)
        row = int(np.searchsorted(panel.dates, np.datetime64(on, "D"), side="right"))
        if row >= panel.shape[0]:
            return result
        tomorrow = panel.close[row] / panel.close[row - 1]
        column = {code: i for i, code in enumerate(panel.codes.tolist())}
        ranked = sorted(result.watchlist, key=lambda code: -np.nan_to_num(tomorrow[column[code]]))
        return ScreenResult(on=result.on, scores=result.scores, watchlist=ranked, figures=result.figures)


class EmaOfEverything(MomentumStrategy):
    """Momentum whose scores get an EMA seeded at the first row it was handed, not its declared window: the
    value depends on how much history there was."""

    name = "ema_everything"
    defaults_file = MOMENTUM_DEFAULTS

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        from dataclasses import replace

        result = super().screen(panel, on, instruments)
        view = panel.upto(on)
        ema = np.nan_to_num(view.close[0])
        for row in view.close[1:]:
            ema = 0.9 * ema + 0.1 * np.nan_to_num(row, nan=0.0)
        scores = [replace(s, factors={**s.factors, "ema_all": float(ema[i])}) for i, s in enumerate(result.scores)]
        return ScreenResult(on=result.on, scores=scores, watchlist=result.watchlist, figures=result.figures)


def test_future_changed_keeps_the_past_and_changes_the_future(research_panel: DailyPanel) -> None:
    row = 100
    variant = future_changed(research_panel, row, np.random.default_rng(1))
    for name in ("open", "high", "low", "close", "volume", "amount"):
        past, new_past = getattr(research_panel, name)[: row + 1], getattr(variant, name)[: row + 1]
        assert np.array_equal(past, new_past, equal_nan=True), name
    changed = ~np.isclose(variant.close[row + 1:], research_panel.close[row + 1:], equal_nan=True)
    assert changed.mean() > 0.9
    assert np.all((variant.high[row + 1:] >= variant.close[row + 1:]) & (variant.low[row + 1:] <= variant.close[row + 1:]))


def test_builtins_pass_the_check(research_panel: DailyPanel) -> None:
    from hantu.strategy.registry import create_strategy

    for name in ("momentum", "volatility_breakout", "rsi2"):
        strategy = create_strategy(name, {})
        report = check_strategy(strategy, research_panel, samples=3)
        assert report.compared > 1000, name
        assert report.passed, (name, [f.describe() for f in report.findings[:5]])


def test_a_strategy_peeking_at_tomorrow_is_flagged(research_panel: DailyPanel) -> None:
    report = check_strategy(PeekingMomentum(), research_panel, samples=3)
    assert report.lookahead, "the peeking strategy was not flagged"
    assert {f.what for f in report.lookahead} >= {"watchlist"}
    assert not report.recursion
    assert "future bars changed" in report.lookahead[0].describe() or "cut after" in report.lookahead[0].describe()


def test_a_strategy_depending_on_the_history_it_was_given_is_flagged(research_panel: DailyPanel) -> None:
    report = check_strategy(EmaOfEverything(), research_panel, samples=2)
    assert not report.lookahead
    assert report.recursion
    assert {f.name for f in report.recursion} == {"ema_all"}


def test_sample_days_leave_a_lookback_behind_and_a_day_ahead(research_panel: DailyPanel) -> None:
    days = sample_days(research_panel, 60, 4)
    rows = [research_panel.row(d) for d in days]
    assert len(days) == 4 and rows[0] >= 60 and rows[-1] <= research_panel.shape[0] - 2


def test_builtin_passes_on_the_real_window(krx_2024_root: Path) -> None:
    """On real KRX data (33 trading days, so a 20-day history): momentum is free of look-ahead and
    recursion."""
    from hantu.market.store import MarketStore

    panel = MarketStore(krx_2024_root).load(1000)
    strategy = MomentumStrategy({"indicators.history_days": 20})
    report = check_strategy(strategy, panel, samples=3)
    assert report.compared > 10_000
    assert report.passed, [f.describe() for f in report.findings[:5]]


def test_cli_check_passes_builtins_and_prints_json(research_store_root: Path, tmp_path: Path) -> None:
    env = {"HANTU_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    store = tmp_path / "home" / "market"
    import shutil

    shutil.copytree(research_store_root, store)
    done = run_hantu("strategy", "check", "momentum", "--samples", "2", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] is True and report["lookahead"] == 0 and report["recursion"] == 0
    unknown = run_hantu("strategy", "check", "momentun", env=env)
    assert unknown.returncode == 2 and "momentum" in (unknown.stderr + unknown.stdout)


@pytest.mark.parametrize("bad", ["0", "-1"])
def test_cli_check_refuses_bad_samples(bad: str, tmp_path: Path) -> None:
    done = run_hantu("strategy", "check", "momentum", "--samples", bad, env={"HANTU_HOME": str(tmp_path)})
    assert done.returncode == 2
