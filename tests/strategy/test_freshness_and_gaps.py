"""Issue 16 on the real KRX windows: stale data is refused (CLI exit code, scheduler job `failed` + alert), and an
older window imported before a later one changes no indicator, rank, stop or backtest trade of the later one."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import SHARED_DATA, run_hantu

EXIT_STALE = 7  # hantu.exitcodes.STALE_DATA


@pytest.fixture(scope="module")
def combined_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2023q1 and 2024q1 in one store: a gap of ten months between 2023-02-14 and 2024-01-02."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("krx-2023-2024")
    store = MarketStore(root)
    for window in ("2024q1", "2023q1"):  # the older window imported after the later one, as a user would
        store.write_days(
            KrxCsvSource(SHARED_DATA / f"krx-daily-{window}.csv.gz").read_all(), source="krx-csv"
        )
    return root


@pytest.fixture
def store_2024(krx_stores) -> Path:  # type: ignore[no-untyped-def]
    return dict(krx_stores)["2024q1"]


def _home_with(store_root: Path, home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(store_root, home / "market")
    return home


# --- freshness ---------------------------------------------------------------------------------------------


def test_screen_without_date_refuses_a_stale_store(store_2024: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hantu.clock import SystemClock
    from hantu.market.calendar import required_close

    home = _home_with(store_2024, tmp_path / "home")
    env = {"HANTU_HOME": str(home), "DATABASE_URL": ""}
    refused = run_hantu("screen", env=env)
    today = SystemClock().today()
    assert refused.returncode == EXIT_STALE, refused.stderr
    assert f"needs the close of {required_close(today)}" in refused.stderr
    assert "the market data ends on 2024-02-13" in refused.stderr and "--allow-stale" in refused.stderr
    assert refused.stdout == ""
    # research on the old data: explicitly allowed, or a date the data covers
    allowed = run_hantu("screen", "--allow-stale", "--json", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["data_date"] == "2024-02-13"

    from hantu.cli.main import app
    from hantu.config import reset_settings_cache
    from hantu.store.db import reset_databases

    monkeypatch.setenv("HANTU_HOME", str(home))
    reset_settings_cache()
    reset_databases()
    cli = CliRunner()
    for args in (["select"], ["explain", "005930"], ["select", "--date", "2024-02-20"]):
        result = cli.invoke(app, args)
        assert result.exit_code == EXIT_STALE, (args, result.output)
        assert "2024-02-13" in result.output
    status = json.loads(cli.invoke(app, ["data", "status", "--json"]).stdout)
    assert status["fresh"] is False and status["required_close"] == required_close(today).isoformat()
    assert cli.invoke(app, ["screen", "--date", "2024-02-14"]).exit_code == 0  # needs 2024-02-13: fresh
    assert cli.invoke(app, ["select", "--date", "2024-02-14", "--json"]).exit_code == 0
    assert cli.invoke(app, ["explain", "005930", "--date", "2024-02-14", "--json"]).exit_code == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scheduler_screening_fails_and_alerts_on_stale_data(
    store_2024: Path,
    isolated_env: Path,  # type: ignore[no-untyped-def]
    database,
) -> None:
    """The store ends 2024-02-13; the scheduler wakes on 2024-02-20 (needs 2024-02-19's close)."""
    from sqlalchemy import select

    from hantu.clock import KST, SimClock
    from hantu.config import get_settings, reset_settings_cache
    from hantu.scheduler.app import build_runner
    from hantu.store.models import JobRun, OutboxMessage, ScreenRun

    shutil.copytree(store_2024, isolated_env / "market")
    reset_settings_cache()
    day = date(2024, 2, 20)
    clock = SimClock(datetime(2024, 2, 20, 5, 59, tzinfo=KST), speed=120)
    runner = build_runner(get_settings(), clock, stop_at=datetime(2024, 2, 20, 6, 40, tzinfo=KST))
    runner.poll = 0.02
    assert runner.run() == 0
    with database.session() as session:
        rows = session.scalars(select(JobRun).where(JobRun.trading_date == day)).all()
        sync = [r for r in rows if r.job == "data_sync"]
        screening = [r for r in rows if r.job == "screening"]
        assert sync and {r.status for r in sync} == {"failed"}
        assert "2024-02-14" in sync[0].error and "2024-02-19" in sync[0].error
        assert screening and {r.status for r in screening} == {"failed"}
        assert "needs the close of 2024-02-19" in screening[0].error and "2024-02-13" in screening[0].error
        assert session.scalars(select(ScreenRun)).first() is None  # nothing filed for the day
        alerts = [
            m
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "error"))
            if "screening" in m.text
        ]
        assert alerts and any("2024-02-19" in m.text for m in alerts)


# --- gaps: an older window changes nothing of a later one ----------------------------------------------------


def _screens(root: Path, days: list[date]) -> dict[date, tuple[dict, list, list]]:  # type: ignore[type-arg]
    from hantu.market.store import MarketStore
    from hantu.strategy.registry import create_strategy
    from hantu.strategy.runs import _instrument_rows

    store = MarketStore(root)
    strategy = create_strategy("momentum")
    out = {}
    for day in days:
        panel = store.load(strategy.lookback_days, end=day)
        result = strategy.screen(panel, day, instruments=_instrument_rows(store))
        selected = strategy.select_detailed(panel, result, day)
        scores = {
            s.code: (s.score, s.passed, s.reasons, s.factors)
            for s in result.scores
            if "not listed" not in " ".join(s.reasons)
        }
        stops = [
            (c.code, c.entry_price, c.stop_price, c.target_price, c.atr, c.weight)
            for c in selected.candidates
        ]
        out[day] = (scores, result.watchlist, stops)
    return out


def test_an_older_window_changes_no_indicator_rank_or_stop(store_2024: Path, combined_store: Path) -> None:
    from hantu.market.store import MarketStore

    days = MarketStore(store_2024).trading_dates()
    checked = [*days[::7], days[-1]]
    alone, both = _screens(store_2024, checked), _screens(combined_store, checked)
    for day in checked:
        assert alone[day][0] == both[day][0], day  # every score, pass/fail, reason and indicator value
        assert alone[day][1] == both[day][1], day  # the watchlist, in rank order
        assert alone[day][2] == both[day][2], day  # entries, stops, targets, ATR and weights
    assert alone[days[-1]][2], "the last day selects candidates: the comparison covers stops"
    # the issue's figures: bridging 2023-02-14 → 2024-01-02 as one day made 005930's ATR14 1,676 and RSI14 58.2
    samsung = both[days[-1]][0]["005930"][3]
    assert round(samsung["atr14"]) == 1539 and round(samsung["rsi14"], 1) == 51.4


def test_a_backtest_does_not_trade_on_a_signal_from_before_the_gap(
    store_2024: Path, combined_store: Path
) -> None:
    from hantu.backtest.single import load_market, run_on_panel
    from hantu.market.store import MarketStore

    start, end = date(2024, 1, 2), date(2024, 2, 13)
    alone = run_on_panel("volatility_breakout", load_market(MarketStore(store_2024), start, end), start, end)
    both = run_on_panel(
        "volatility_breakout", load_market(MarketStore(combined_store), start, end), start, end
    )
    assert alone.fills, "the window trades"
    assert [(f.day, f.code, f.side, f.quantity, f.price) for f in both.fills] == [
        (f.day, f.code, f.side, f.quantity, f.price) for f in alone.fills
    ]
    assert np.array_equal(both.equity, alone.equity)
    assert np.array_equal(both.benchmark, alone.benchmark)  # the first day's return over the gap is 0
    assert both.benchmark_gap_days == [start] and alone.benchmark_gap_days == []
    assert alone.warnings == []
    [warning] = both.warnings
    assert (
        "no data between 2023-02-14 and 2024-01-02" in warning and "warm up again from 2024-01-02" in warning
    )
    assert both.metrics["warnings"] == [warning]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_session_trades_no_entry_of_a_stale_selection(isolated_env: Path, database) -> None:  # type: ignore[no-untyped-def]
    """A selection for 2026-11-27 made with --allow-stale on data ending 2026-11-20: the session refuses its
    entries (exits would still run), says why in its figures and alerts."""
    import threading

    from sqlalchemy import select

    from hantu.clock import KST, FrozenClock
    from hantu.config import get_settings, reset_settings_cache
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store
    from hantu.scheduler.jobs import Services, trading_session
    from hantu.scheduler.runner import JobContext
    from hantu.store.models import OutboxMessage
    from hantu.strategy.runs import run_selection

    reset_settings_cache()
    day = date(2026, 11, 27)
    store = open_market_store(get_settings())
    write_sample_market(store, stocks=120, days=200, seed=5, end=date(2026, 11, 20))
    clock = FrozenClock(datetime(2026, 11, 27, 15, 35, tzinfo=KST))
    chosen = run_selection(database, store, "momentum", on=day, clock=clock, allow_stale=True)
    assert chosen.candidates and chosen.data_date == date(2026, 11, 20)
    stop = threading.Event()
    stop.set()
    ctx = JobContext("trading_session", day, clock, database, stop, Services(get_settings(), clock, database))
    figures = trading_session(ctx)
    assert figures["candidates"] == 0
    assert "needs the close of 2026-11-26" in figures["entries_refused"]
    with database.session() as session:
        [alert] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "error")).all()
        assert "2026-11-20" in alert.text
