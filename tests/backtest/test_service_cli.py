"""`run_backtest` (the scheduler's call), grids, walk-forward and the `hantu backtest` command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hantu.backtest.service import (
    folds,
    grid_points,
    parse_walk_forward,
    reports_dir,
    run_backtest,
    run_grid,
    run_walk_forward,
)
from hantu.backtest.storage import get_backtest, list_backtests
from hantu.store.db import Database
from hantu.store.migrate import upgrade

from helpers import run_hantu


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'bt.db'}")
    upgrade(database)
    return database


def test_run_backtest_stores_figures_and_report(sqlite_db: Database, sample_store, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    days = sample_store.trading_dates()
    result = run_backtest(sqlite_db, sample_store, "momentum", days[60], days[-1],
                          reports=reports_dir(isolated_env))
    assert result.id > 0 and result.kind == "single"
    assert result.metrics["trades"] > 5
    assert result.metrics["days"] == len(days) - 60
    assert Path(result.report_path).parent == isolated_env / "reports"
    assert Path(result.report_path).exists() and Path(result.json_path).exists()
    report = json.loads(Path(result.json_path).read_text(encoding="utf-8"))
    assert report["metrics"] == result.metrics
    with sqlite_db.session() as session:
        stored = get_backtest(session, result.id)
    assert stored is not None and stored["final_equity"] == pytest.approx(result.final_equity)
    assert len(stored["trades"]) == len(report["trades"])


def test_grid_runs_every_point_and_keeps_the_best(sqlite_db: Database, sample_store) -> None:  # type: ignore[no-untyped-def]
    days = sample_store.trading_dates()
    grid = {"selection.stop_atr": [1.5, 3.0], "exits.max_hold_days": [3]}
    assert len(grid_points(grid)) == 2
    result = run_grid(sqlite_db, sample_store, "momentum", days[60], days[-1], grid)
    assert result.kind == "grid" and len(result.members) == 2
    sharpes = [m["metrics"]["sharpe"] for m in result.members]
    assert result.metrics["sharpe"] == max(s for s in sharpes if s is not None)
    assert {json.dumps(m["params"], sort_keys=True) for m in result.members} == \
        {json.dumps(p, sort_keys=True) for p in grid_points(grid)}
    with sqlite_db.session() as session:
        assert [r["id"] for r in list_backtests(session)] == [result.id]
        assert len(get_backtest(session, result.id)["members"]) == 2  # type: ignore[index]


def test_walk_forward_chains_out_of_sample_folds(sqlite_db: Database, sample_store) -> None:  # type: ignore[no-untyped-def]
    days = sample_store.trading_dates()
    assert parse_walk_forward("6m/1m") == (6, 1)
    with pytest.raises(ValueError, match="6m/1m"):
        parse_walk_forward("six months")
    windows = folds(days[0], days[-1], 4, 2)
    assert windows and all(w[2] > w[1] for w in windows)
    result = run_walk_forward(sqlite_db, sample_store, "momentum", days[0], days[-1], "4m/2m",
                              {"selection.stop_atr": [1.5, 3.0]})
    assert result.kind == "walk_forward"
    assert len(result.members) == len(windows)
    # the folds are consecutive, out of sample, and each starts with the previous one's final equity
    for before, after in zip(result.members, result.members[1:], strict=False):
        assert after["start"] > before["end"]
        assert after["initial_cash"] == int(before["final_equity"])
    assert result.final_equity == pytest.approx(result.members[-1]["final_equity"])
    assert result.start >= windows[0][2]


def _sample_home(home: Path) -> list[date]:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(home / "market")
    write_sample_market(store, stocks=120, days=130, seed=2)
    return store.trading_dates()


def test_cli_runs_lists_and_shows(isolated_env: Path) -> None:
    """The real command in a subprocess, then `list` and `show` in process."""
    days = _sample_home(isolated_env)
    result = run_hantu("backtest", "--strategy", "momentum", "--from", days[60].isoformat(), "--to",
                       days[-1].isoformat(), "--param", "selection.stop_atr=2.5", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["strategy"] == "momentum" and payload["params"] == {"selection.stop_atr": 2.5}
    assert payload["start"] == days[60].isoformat()
    assert Path(payload["report_path"]).is_file()
    listed = cli("backtest", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == [payload["id"]]
    shown = cli("backtest", "show", str(payload["id"]), "--json")
    assert json.loads(shown.stdout)["metrics"] == payload["metrics"]
    human = cli("backtest", "-s", "momentum", "--from", days[80].isoformat())
    assert human.exit_code == 0, human.output
    assert "total return" in human.stdout and "report:" in human.stdout
    assert "market (cap-weighted): KOSPI " in human.stdout  # the sample market has share counts


def cli(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from hantu.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_cli_errors_are_clear(isolated_env: Path) -> None:
    empty = cli("backtest", "-s", "momentum")
    assert empty.exit_code == 1 and "market store is empty" in empty.stderr
    _sample_home(isolated_env)
    unknown = cli("backtest", "-s", "nope")
    assert unknown.exit_code == 2 and "unknown strategy 'nope'" in unknown.stderr and "momentum" in unknown.stderr
    bad_param = cli("backtest", "-s", "momentum", "--param", "oops")
    assert bad_param.exit_code == 2 and "key=value" in bad_param.stderr
    bad_setting = cli("backtest", "-s", "momentum", "--param", "selection.nope=1")
    assert bad_setting.exit_code != 0 and "nope" in bad_setting.stderr
    missing = cli("backtest", "show", "999")
    assert missing.exit_code == 1 and "no backtest with id 999" in missing.stderr
