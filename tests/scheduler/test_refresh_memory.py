"""The nightly backtest refresh is bounded: the child runs under HANTU_REFRESH_MAX_MB (refused up front when its
panel would not fit, stopped when it grows past it), its peak RSS is measured, and its result is the result of an
ordinary backtest over the same range."""

from __future__ import annotations

import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from hantu.backtest.footprint import PanelTooLarge, check_fits, estimated_mb, loaded_days
from hantu.clock import KST, SimClock
from hantu.config import get_settings, reset_settings_cache
from hantu.scheduler import memory
from hantu.scheduler.jobs import BACKTEST_REFRESH_DAYS, Services, backtest_refresh
from hantu.scheduler.runner import JobContext

DAY = date(2026, 11, 27)


@pytest.fixture
def sample_home(isolated_env: Path) -> Path:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    reset_settings_cache()
    write_sample_market(open_market_store(get_settings()), stocks=300, days=300, seed=7, end=DAY)
    return isolated_env


def _context(database) -> JobContext:  # type: ignore[no-untyped-def]
    clock = SimClock(datetime(2026, 11, 27, 18, 0, tzinfo=KST), speed=1)
    return JobContext("backtest_refresh", DAY, clock, database, threading.Event(),
                      Services(get_settings(), clock, database))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_refresh_child_stays_under_its_estimate_and_gives_the_ordinary_result(sample_home, database):  # type: ignore[no-untyped-def]
    from hantu.backtest.service import run_backtest
    from hantu.market.store import open_market_store

    figures = backtest_refresh(_context(database))
    store = open_market_store(get_settings())
    start, end = date.fromisoformat(figures["start"]), date.fromisoformat(figures["end"])
    days = loaded_days(store.trading_dates(), start, end)
    # a real child process, measured by the kernel (ru_maxrss): under the estimate the ceiling is checked with
    assert 0 < figures["child_peak_rss_mb"] <= estimated_mb(days, len(store.instruments()))
    assert figures["child_peak_rss_mb"] <= figures["child_ceiling_mb"] == get_settings().refresh_max_mb
    assert figures["scheduler_rss_mb"] is not None

    # the lean, bounded child computes what an ordinary (prefetching) run computes on the same range
    from hantu.backtest.engine import BacktestConfig
    from hantu.backtest.service import saved_risk_limits

    config = BacktestConfig(initial_cash=get_settings().paper_starting_cash, risk=saved_risk_limits(database)[0])
    plain = run_backtest(database, store, get_settings().strategy, start, end, config=config)
    assert start == max(store.trading_dates()[0], DAY - timedelta(days=BACKTEST_REFRESH_DAYS))
    assert figures["final_equity"] == plain.final_equity
    assert figures["total_return"] == plain.metrics["total_return"]
    assert figures["sharpe"] == plain.metrics["sharpe"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_panel_over_the_ceiling_is_refused_with_its_figures(sample_home, database, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANTU_REFRESH_MAX_MB", "100")
    reset_settings_cache()
    with pytest.raises(RuntimeError) as refused:
        backtest_refresh(_context(database))
    message = str(refused.value)
    assert "backtest exited 1" in message and "days × 300 stocks needs about" in message
    assert "over the memory ceiling of 100 MB (HANTU_REFRESH_MAX_MB" in message


def test_the_estimate_refuses_only_over_the_ceiling() -> None:
    assert check_fits(100, 300, 200) == pytest.approx(estimated_mb(100, 300))
    with pytest.raises(PanelTooLarge, match=r"400 days × 2900 stocks needs about \d+ MB, over the memory ceiling"):
        check_fits(400, 2900, 200)
    stored = [date(2026, 1, 1) + timedelta(days=i) for i in range(800)]
    assert loaded_days(stored, date(2027, 1, 1), date(2027, 2, 1), warmup_days=10) == 42


def test_a_child_over_its_ceiling_is_stopped() -> None:
    grow = "import time; b = bytearray(160 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"
    with pytest.raises(memory.OverCeiling, match=r"over its ceiling of 80 MB"):
        memory.run_bounded([sys.executable, "-c", grow], ceiling_mb=80, timeout=60, poll=0.02)


def test_a_bounded_child_reports_its_output_and_peak() -> None:
    code = ("import sys, time; b = bytearray(60 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5); "
            "print('out'); print('err', file=sys.stderr); sys.exit(3)")
    done = memory.run_bounded([sys.executable, "-c", code], ceiling_mb=400, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert done.peak_mb >= 60


def test_releasing_memory_keeps_the_process_working() -> None:
    before = memory.rss_mb()
    memory.release()
    memory.release(collect=True)
    assert before is not None and memory.rss_mb() is not None
