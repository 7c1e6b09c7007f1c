"""The runner's rules on a simulated clock, with jobs that only record that they ran.

The jobs here are stand-ins on purpose: these tests are about *when* jobs run (ordering, idempotency, catch-up,
retries, holidays); the real jobs are exercised end to end in test_scheduler_day.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hantu.clock import KST, SimClock
from hantu.scheduler.runner import JobContext, JobInterrupted, Runner
from hantu.scheduler.timetable import Timetable
from hantu.store.models import JobRun


def kst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KST)


class Recorder:
    """Job functions that note (job, date, clock time) and simulate the session's length."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[str, date, datetime]] = []
        self.fail = dict(fail or {})
        self.lock = threading.Lock()

    def job(self, name: str):  # type: ignore[no-untyped-def]
        def run(ctx: JobContext) -> dict[str, object]:
            with self.lock:
                self.calls.append((name, ctx.day, ctx.clock.now()))
                if self.fail.get(name, 0) > 0:
                    self.fail[name] -= 1
                    raise RuntimeError(f"{name} failed on purpose")
            if name == "trading_session":
                from hantu.market.calendar import session

                close = session(ctx.day).close
                while ctx.clock.now() < close:
                    if ctx.stop.is_set():
                        raise JobInterrupted("stopped during the session")
                    ctx.clock.sleep(60)
            return {"ok": True}

        return run

    def registry(self, table: Timetable):  # type: ignore[no-untyped-def]
        return {job.name: self.job(job.name) for job in table.jobs}


def make_runner(database, home: Path, recorder: Recorder, start: str, stop_at: str,  # type: ignore[no-untyped-def]
                speed: float = 300) -> Runner:
    """Idle time is skipped; only running jobs consume clock time, at `speed`."""
    table = Timetable.load()
    clock = SimClock(kst(start), speed)
    return Runner(database, clock, table, recorder.registry(table), home, skip_idle=True, stop_at=kst(stop_at),
                  poll=0.01)


def runs(database) -> list[JobRun]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_simulated_week_with_a_holiday(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    runner = make_runner(database, isolated_env, recorder, "2026-10-05 05:00", "2026-10-10 23:00", speed=20000)
    assert runner.run() == 0
    per_day = Counter((name, day) for name, day, _ in recorder.calls)
    # Oct 5 (substitute holiday for 개천절 on Saturday Oct 3) and Oct 9 (한글날) are holidays.
    trading_days = [date(2026, 10, d) for d in (6, 7, 8)]
    market_jobs = [j.name for j in Timetable.load().jobs if j.market]
    for day in trading_days:
        for job in market_jobs:
            assert per_day[(job, day)] == 1, (job, day)
    assert not any(day in (date(2026, 10, 5), date(2026, 10, 9)) for _, day, _ in recorder.calls)
    assert per_day[("weekly_maintenance", date(2026, 10, 10))] == 1
    # Each job started at its time, in order within each day.
    for day in trading_days:
        started = [(name, t) for name, d, t in recorder.calls if d == day]
        assert [n for n, _ in started] == market_jobs
        assert started[0][1] >= kst(f"{day} 06:00")
    assert all(r.status == "success" for r in runs(database))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restart_at_1030_catches_up_phase1_and_2_and_reruns_nothing(  # type: ignore[no-untyped-def]
        database, isolated_env: Path) -> None:
    first = Recorder()
    make_runner(database, isolated_env, first, "2026-11-27 05:50", "2026-11-27 06:10").run()
    assert [c[0] for c in first.calls] == ["data_sync"]

    second = Recorder()
    make_runner(database, isolated_env, second, "2026-11-27 10:30", "2026-11-27 10:50").run()
    names = [c[0] for c in second.calls]
    assert names == ["screening", "selection", "trading_session"]  # in this order, data_sync not rerun
    times = {c[0]: c[2] for c in second.calls}
    assert times["screening"] <= times["selection"] <= times["trading_session"] < kst("2026-11-27 10:40")
    statuses = Counter((r.job, r.status) for r in runs(database))
    assert statuses[("data_sync", "success")] == 1
    assert statuses[("screening", "success")] == 1 and statuses[("selection", "success")] == 1
    assert statuses[("trading_session", "interrupted")] == 1  # stopped at 11:00 by the test


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restart_after_close_skips_with_reasons(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    make_runner(database, isolated_env, recorder, "2026-11-27 16:10", "2026-11-27 16:20").run()
    assert [c[0] for c in recorder.calls] == ["close_out", "drift_report", "daily_report"]  # still within their windows
    skipped = {r.job: r.error for r in runs(database) if r.status == "skipped"}
    assert set(skipped) == {"data_sync", "screening", "selection", "trading_session"}
    assert "window closed at 15:30" in skipped["trading_session"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_failed_job_is_retried_then_settled(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder(fail={"data_sync": 2})  # two failures, then success on the third attempt (retries=2)
    make_runner(database, isolated_env, recorder, "2026-11-27 05:59", "2026-11-27 07:00").run()
    rows = [(r.job, r.status, r.attempt) for r in runs(database) if r.job == "data_sync"]
    assert rows == [("data_sync", "failed", 1), ("data_sync", "failed", 2), ("data_sync", "success", 3)]
    sync_times = [t for n, _, t in recorder.calls if n == "data_sync"]
    assert (sync_times[1] - sync_times[0]).total_seconds() >= 300  # retry_delay
    # Screening waited for the data; it ran at its own time (06:30), after the third attempt.
    screening = [t for n, _, t in recorder.calls if n == "screening"]
    assert screening and screening[0] > sync_times[-1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_final_failure_alerts_and_lets_the_day_go_on(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder(fail={"screening": 5})
    alerts: list[tuple[str, dict[str, object], str]] = []
    runner = make_runner(database, isolated_env, recorder, "2026-11-27 05:59", "2026-11-27 09:05")
    runner.alert = lambda kind, data, priority: alerts.append((kind, data, priority))
    runner.run()
    failures = [r for r in runs(database) if r.job == "screening"]
    assert [r.status for r in failures] == ["failed", "failed"]  # retries=1 → two attempts
    errors = [a for a in alerts if a[0] == "error"]
    assert errors[-1][1]["final"] is True and errors[-1][2] == "high"
    assert "selection" in [c[0] for c in recorder.calls]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_stop_during_session_records_interrupted_and_restart_resumes(  # type: ignore[no-untyped-def]
        database, isolated_env: Path) -> None:
    recorder = Recorder()
    make_runner(database, isolated_env, recorder, "2026-11-27 08:55", "2026-11-27 09:20").run()
    rows = {r.job: r.status for r in runs(database)}
    assert rows["trading_session"] == "interrupted"
    again = Recorder()
    make_runner(database, isolated_env, again, "2026-11-27 11:05", "2026-11-27 15:35", speed=20000).run()
    assert [c[0] for c in again.calls] == ["trading_session"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_single_instance(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    from hantu.store.lock import AlreadyRunning, InstanceLock

    holder = InstanceLock(isolated_env / "scheduler.pid")
    holder.acquire()
    try:
        with pytest.raises(AlreadyRunning):
            make_runner(database, isolated_env, Recorder(), "2026-11-27 05:00", "2026-11-27 05:01").run()
    finally:
        holder.release()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_slow_job_does_not_delay_the_trading_session(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    """A manual (API-requested) backtest that takes an hour of clock time runs beside the session."""
    from hantu.scheduler import heartbeat

    recorder = Recorder()
    table = Timetable.load()
    jobs = recorder.registry(table)
    slow_started = threading.Event()

    def slow_backtest(ctx: JobContext) -> dict[str, object]:
        slow_started.set()
        end = ctx.clock.now().timestamp() + 3600
        while ctx.clock.now().timestamp() < end and not ctx.stop.is_set():
            ctx.clock.sleep(30)
        return {}

    jobs["backtest_refresh"] = slow_backtest
    clock = SimClock(kst("2026-11-27 08:50"), 300)
    with database.session() as session:
        heartbeat.request_job(session, "backtest_refresh", "2026-11-27", "test", clock.now())
    runner = Runner(database, clock, table, jobs, isolated_env, skip_idle=True, stop_at=kst("2026-11-27 09:10"),
                    poll=0.01)
    runner.run()
    assert slow_started.is_set()
    session_start = next(t for n, _, t in recorder.calls if n == "trading_session")
    assert session_start < kst("2026-11-27 09:02")  # the slow job runs until 09:50


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_manual_request_during_the_running_session_is_refused(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    """POST /jobs/trading_session/run while the scheduled session runs: recorded as refused, nothing started."""
    from hantu.api.controls import request_job_run

    recorder = Recorder()
    table = Timetable.load()
    jobs = recorder.registry(table)
    plain = jobs["trading_session"]
    counts = {"now": 0, "most": 0, "manual": 0}
    lock = threading.Lock()

    def session(ctx: JobContext) -> dict[str, object]:
        with lock:
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])
            counts["manual"] += ctx.manual
        try:
            if not ctx.manual:
                with database.session() as s:
                    request_job_run(s, "trading_session", ctx.day, "api:test", ctx.clock.now())
            return plain(ctx)
        finally:
            with lock:
                counts["now"] -= 1

    jobs["trading_session"] = session
    clock = SimClock(kst("2026-11-27 08:55"), 300)
    Runner(database, clock, table, jobs, isolated_env, skip_idle=True, stop_at=kst("2026-11-27 09:20"),
           poll=0.01).run()
    assert counts["most"] == 1 and counts["manual"] == 0
    mine = [r for r in runs(database) if r.job == "trading_session"]
    assert [r.status for r in mine] == ["interrupted", "refused"]  # the scheduled one, stopped at 09:20
    refused = mine[1]
    assert "already running" in (refused.error or "") and "api:test" in (refused.error or "")
    assert refused.figures == {"manual": True, "requested_by": "api:test"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_one_refuses_a_run_the_live_scheduler_holds_not_a_dead_ones(  # type: ignore[no-untyped-def]
        database, isolated_env: Path) -> None:
    """`hantu jobs run` next to a live scheduler: its `running` row blocks; a row of a dead hand run does not."""
    import subprocess
    import sys

    from hantu.scheduler.runner import JobBusy

    day = date(2026, 11, 27)
    holder = subprocess.Popen(  # the scheduler, as far as the lock is concerned: another live process
        [sys.executable, "-c", "import sys; from pathlib import Path; from hantu.store.lock import InstanceLock;"
         f" InstanceLock(Path({str(isolated_env / 'scheduler.pid')!r})).acquire(); print('held', flush=True);"
         " sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        recorder = Recorder()
        runner = make_runner(database, isolated_env, recorder, "2026-11-27 07:00", "2026-11-27 07:01")
        with database.session() as s:
            s.add(JobRun(job="screening", trading_date=day, status="running", attempt=1,
                         started_at=kst("2026-11-27 06:30"), pid=int(dead.stdout)))
        assert runner.run_one("screening", day)["ran"] is True  # the dead hand run's row does not block
        with database.session() as s:
            s.add(JobRun(job="data_sync", trading_date=day, status="running", attempt=1,
                         started_at=kst("2026-11-27 06:00"), pid=holder.pid))
        with pytest.raises(JobBusy, match="already running"):
            runner.run_one("data_sync", day, force=True)
        assert [c[0] for c in recorder.calls] == ["screening"]
        assert [r.status for r in runs(database) if r.job == "data_sync"] == ["running", "refused"]
    finally:
        holder.kill()
        holder.wait()
