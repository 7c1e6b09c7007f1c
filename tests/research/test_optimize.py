"""`hantu backtest optimize`: the space and objective parsers, folds, a study stored and resumed in the
database (SQLite and PostgreSQL), and a real-data run killed with SIGKILL that resumes without repeating a
finished trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from hantu.backtest.objectives import ObjectiveError, check_objective, objective_value
from hantu.backtest.optimize import Dimension, OptimizeError, _stability, make_folds, optimize, parse_space

SPACE = ["exits.max_hold_days=3:15", "selection.stop_atr=1.0:3.0:0.5", "selection.target_atr=2.0:4.0:0.5"]
# momentum on a 29-day window: the shortest windows its configuration allows, so that the in-sample part trades
SHORT = {"filters.min_history_days": 10, "filters.traded_value_days": 10, "indicators.sma_long": 10,
         "indicators.volatility_days": 10, "indicators.return_days": 10, "indicators.volume_long": 10,
         "indicators.slope_days": 10, "indicators.high_low_days": 10, "selection.breadth_days": 10,
         "selection.index_sma_days": 10}


def test_parse_space_kinds_and_errors() -> None:
    space = parse_space([*SPACE, "watchlist.top_n=10,20,30"])
    assert space["exits.max_hold_days"] == Dimension("exits.max_hold_days", "int", 3, 15, 1)
    assert space["selection.stop_atr"].kind == "float" and space["selection.stop_atr"].step == 0.5
    assert space["watchlist.top_n"].choices == (10, 20, 30)
    assert space["exits.max_hold_days"].neighbours(3) == [4]
    assert space["selection.stop_atr"].neighbours(2.0) == [1.5, 2.5]
    for bad in (["x"], ["k=5:1"], ["k=1:2:0"], ["k=1.0:2.0:0.3"], ["k=a"], ["k=1:2", "k=3:4"], []):
        with pytest.raises(OptimizeError):
            parse_space(bad)


def test_objectives_named_and_custom() -> None:
    metrics = {"sharpe": 1.5, "calmar": 0.7, "total_return": 0.12, "max_drawdown": -0.1}
    assert objective_value("sharpe", metrics) == 1.5
    assert objective_value("return", metrics) == 0.12
    assert objective_value("custom:sharpe - 2*abs(max_drawdown)", metrics) == pytest.approx(1.3)
    assert objective_value("sharpe", {"sharpe": None}) == float("-inf")
    assert objective_value("custom:sharpe / 0", metrics) == float("-inf")
    for bad in ("sharp", "custom:__import__('os')", "custom:sharpe.real", "custom:1 +", "custom:'a'"):
        with pytest.raises(ObjectiveError):
            check_objective(bad)


def test_folds_in_months_and_trading_days() -> None:
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(0, 400) if (date(2024, 1, 2) +
                                                                         timedelta(days=i)).weekday() < 5]
    months = make_folds(days, None)
    assert len(months) >= 6 and months[0].test_start > months[0].train_end
    short = make_folds(days[:29], None)
    assert len(short) == 1 and short[0].train_end == days[19] and short[0].test_end == days[28]
    rolling = make_folds(days[:60], "30d/10d")
    assert [(f.train_start, f.test_start) for f in rolling] == [(days[0], days[30]), (days[10], days[40]),
                                                                 (days[20], days[50])]
    for bad in ("5d/1d", "x/y", "30d/0d"):
        with pytest.raises(OptimizeError):
            make_folds(days[:60], bad)


def test_stability_plateau_needle_and_flat() -> None:
    assert _stability(2.0, [2.0, 1.9], [0.0, 1.0, 2.0, 1.9]) == pytest.approx(1 - 0.05 / 2.0, abs=1e-4)
    assert _stability(2.0, [0.0, 0.0], [0.0, 0.0, 2.0]) == 0.0
    assert _stability(2.0, [1.0, float("-inf")], [0.0, 2.0]) == pytest.approx(0.25)
    assert _stability(1.0, [1.0], [1.0, 1.0]) == 1.0
    assert _stability(1.0, [], [1.0]) is None


def test_study_is_stored_and_resumes_without_repeating(research_store_root: Path, database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from hantu.market.store import MarketStore
    from hantu.store.models.research import OptimizationStudy, OptimizationTrial

    store = MarketStore(research_store_root)
    days = store.trading_dates()
    space = parse_space(SPACE[:2])
    first = optimize(database, store, "momentum", days[70], days[-1], space, trials=6,
                     params={"indicators.history_days": 40})
    with database.session() as session:
        rows = session.scalars(select(OptimizationTrial).order_by(OptimizationTrial.number)).all()
        before = [(r.id, r.number, r.params) for r in rows]
        study = session.scalar(select(OptimizationStudy))
        assert study is not None and study.status == "done" and study.result["recommended"]
    assert [n for _, n, _ in before] == list(range(6))
    assert first.resumed_trials == 0 and first.folds[0].trials == 6

    second = optimize(database, store, "momentum", days[70], days[-1], space, trials=10,
                      params={"indicators.history_days": 40})
    assert second.name == first.name and second.resumed_trials == 6
    with database.session() as session:
        rows = session.scalars(select(OptimizationTrial).order_by(OptimizationTrial.number)).all()
        after = [(r.id, r.number, r.params) for r in rows]
    assert after[:6] == before, "finished trials were rewritten"
    assert [n for _, n, _ in after] == list(range(10))
    assert second.folds[0].trials == 10

    with pytest.raises(OptimizeError, match="other settings"):
        optimize(database, store, "momentum", days[71], days[-1], space, trials=2, name=first.name,
                 params={"indicators.history_days": 40})


def test_optimize_refuses_bad_input(research_store_root: Path, database) -> None:  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore

    store = MarketStore(research_store_root)
    days = store.trading_dates()
    with pytest.raises(OptimizeError, match="both searched"):
        optimize(database, store, "momentum", days[70], days[-1], parse_space(SPACE[:1]), trials=2,
                 params={"exits.max_hold_days": 5})
    with pytest.raises(OptimizeError, match="no_such"):
        optimize(database, store, "momentum", days[70], days[-1], parse_space(["exits.no_such=1:3"]), trials=2)
    with pytest.raises(OptimizeError, match="objective"):
        optimize(database, store, "momentum", days[70], days[-1], parse_space(SPACE[:1]), trials=2,
                 objective="profit")


def _trial_numbers(db_path: Path) -> list[int]:
    import sqlite3

    if not db_path.exists():
        return []
    with sqlite3.connect(db_path) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT number FROM optimization_trials ORDER BY number")]
        except sqlite3.OperationalError:
            return []


@pytest.mark.slow
def test_real_window_optimisation_survives_sigkill(krx_2024_root: Path, tmp_path: Path) -> None:
    """momentum, 3 parameters × 50 trials on the real 2024 window: killed mid-study, the same command
    resumes from the database, no finished trial is run again, and in- and out-of-sample figures and the
    stability are reported."""
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(krx_2024_root, home / "market")
    env = {**os.environ, "HANTU_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    args = [sys.executable, "-m", "hantu", "backtest", "optimize", "-s", "momentum", "--trials", "50",
            *[f"--space={s}" for s in SPACE], *[f"--param={k}={v}" for k, v in SHORT.items()]]
    subprocess.run([sys.executable, "-m", "hantu", "db", "upgrade"], env=env, check=True, capture_output=True)
    db_path = home / "hantu.db"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(_trial_numbers(db_path)) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, f"the study ended before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_at = _trial_numbers(db_path)
    assert 8 <= len(killed_at) < 50 and killed_at == list(range(len(killed_at)))

    done = subprocess.run([*args, "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["resumed_trials"] == len(killed_at)
    assert _trial_numbers(db_path) == list(range(50)), "a trial was repeated or lost"
    fold = result["folds"][0]
    assert fold["trials"] == 50
    assert result["in_sample_value"] is not None and result["out_of_sample_value"] is not None
    assert set(fold["in_sample"]) >= {"sharpe", "total_return"} and fold["out_of_sample"]["trades"] >= 0
    assert fold["stability"] is not None and 0.0 <= fold["stability"] <= 1.0
    assert Path(result["report_path"]).is_file()
    page = Path(result["report_path"]).read_text(encoding="utf-8")
    assert 'class="history"' in page and "Out-of-sample equity" in page
