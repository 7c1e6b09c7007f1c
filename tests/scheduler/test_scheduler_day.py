"""The real jobs end to end: a simulated trading day in paper mode over a sample market."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hantu.clock import KST, SimClock
from hantu.config import get_settings, reset_settings_cache
from hantu.scheduler.app import build_runner
from hantu.store.models import (
    DailyReport,
    DriftReport,
    JobRun,
    OutboxMessage,
    ScreenRun,
    SelectionRun,
    TradeAccount,
    TradeFill,
    TradeOrder,
)

DAY = date(2026, 11, 27)  # a Friday


def kst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KST)


@pytest.fixture
def sample_home(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sample market that ends on DAY (the paper feed replays DAY; jobs see data up to the day before)."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    reset_settings_cache()
    write_sample_market(open_market_store(get_settings()), stocks=300, days=300, seed=7, end=DAY)
    return isolated_env


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_full_paper_day(sample_home: Path, database) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    clock = SimClock(kst(f"{DAY} 05:55"), speed=3000)
    runner = build_runner(settings, clock, stop_at=kst(f"{DAY} 18:30"))
    runner.poll = 0.02
    assert runner.run() == 0
    with database.session() as session:
        runs = Counter((r.job, r.status) for r in session.scalars(select(JobRun)))
        errors = [(r.job, r.error) for r in session.scalars(select(JobRun).where(JobRun.status != "success"))]
        assert not errors, errors
        for job in ("data_sync", "screening", "selection", "trading_session", "close_out", "drift_report",
                    "daily_report", "performance", "backtest_refresh"):
            assert runs[(job, "success")] == 1, (job, runs)
        screen = session.scalars(select(ScreenRun)).one()
        assert screen.run_date == DAY and screen.data_date < DAY  # no look-ahead into the replayed day
        assert 0 < screen.watchlist_size < screen.universe
        assert session.scalars(select(SelectionRun)).one().run_date == DAY
        orders = session.scalar(select(func.count(TradeOrder.id)))
        fills = session.scalar(select(func.count(TradeFill.id)))
        assert orders and orders > 0
        assert fills and fills > 0
        drift = session.scalars(select(DriftReport)).one()  # live vs the backtest engine on the replayed day
        assert drift.trading_date == DAY and drift.broker == "paper" and drift.trades
        assert drift.drift == pytest.approx(sum(drift.causes.values()), abs=0.01)
        report = session.scalars(select(DailyReport)).one()
        assert report.trading_date == DAY and report.trades == fills
        account = session.scalars(select(TradeAccount)).one()  # the first day is measured from the base
        assert account.base_positions == {}
        assert report.day_return_pct == round((report.equity / account.base_cash - 1) * 100, 3)
        kinds = Counter(m.kind for m in session.scalars(select(OutboxMessage)))
        for kind in ("scheduler_started", "data_sync_done", "screening_done", "selection_done", "daily_report",
                     "scheduler_stopped"):
            assert kinds[kind] == 1, kind
        # the reasons in the Korean messages (selection, orders) read in Korean: the real producers' phrases
        reasons = [line for m in session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(
            ("selection_done", "order_placed", "order_cancelled")))) for line in m.text.splitlines()
                   if "사유" in line or "모멘텀" in line]
        assert reasons
        for line in reasons:
            assert not re.search(r"\b(price|limit|stop|target|regime|score|close|open)\b", line), line


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_simulated_week_with_holidays_runs_every_real_job_once_per_trading_day(  # type: ignore[no-untyped-def]
        isolated_env: Path, database) -> None:
    """Mon Oct 5 2026 (substitute holiday) .. Sat Oct 10; Fri Oct 9 is 한글날. The real jobs, paper broker."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    reset_settings_cache()
    write_sample_market(open_market_store(get_settings()), stocks=150, days=300, seed=11, end=date(2026, 10, 8))
    clock = SimClock(kst("2026-10-05 05:00"), speed=6000)
    runner = build_runner(get_settings(), clock, stop_at=kst("2026-10-10 23:00"))
    runner.poll = 0.02
    assert runner.run() == 0
    with database.session() as session:
        rows = session.scalars(select(JobRun)).all()
    failed = [(r.job, r.trading_date, r.error) for r in rows if r.status != "success"]
    assert not failed, failed
    per_day = Counter((r.job, r.trading_date) for r in rows)
    market_jobs = ("data_sync", "screening", "selection", "trading_session", "close_out", "drift_report",
                   "daily_report", "performance", "backtest_refresh")
    for day in (date(2026, 10, 6), date(2026, 10, 7), date(2026, 10, 8)):
        for job in market_jobs:
            assert per_day[(job, day)] == 1, (job, day)
    assert not [r for r in rows if r.trading_date in (date(2026, 10, 5), date(2026, 10, 9))]
    assert per_day[("weekly_maintenance", date(2026, 10, 10))] == 1
    assert len(rows) == 3 * len(market_jobs) + 1
