"""The scheduler as systemd runs it: a real subprocess, signals, status and stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from hantu.config import get_settings, reset_settings_cache
from hantu.store.models import JobRun, TradeOrder

from helpers import REPO_ROOT, configured_database, hantu_cmd, wait_for

DAY = date(2026, 11, 27)


@pytest.fixture
def home(isolated_env: Path) -> Path:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store
    from hantu.store.migrate import upgrade

    reset_settings_cache()
    write_sample_market(open_market_store(get_settings()), stocks=200, days=300, seed=3, end=DAY)
    upgrade(configured_database())
    return isolated_env


def workflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "workflows.integrated_scheduler", *args]



def session_orders() -> int:
    db = configured_database()
    with db.session() as session:
        return len(session.scalars(select(TradeOrder)).all())


def job_status(job: str) -> str | None:
    db = configured_database()
    with db.session() as session:
        row = session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc())).first()
        return row.status if row else None

@contextmanager
def session_scheduler() -> Iterator[subprocess.Popen[str]]:
    """The scheduler in a subprocess from just before the open (simulated clock, 120× speed); stopped with
    SIGTERM at the end of the block, which must exit 0."""
    proc = subprocess.Popen(workflow("start", "--clock", "sim", "--start", f"{DAY} 08:58", "--speed", "120"),
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ))
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output[-3000:]


def test_sigterm_during_the_session_exits_0_with_no_order_in_doubt(home: Path) -> None:
    with session_scheduler() as proc:
        wait_for(lambda: job_status("trading_session") == "running" and session_orders() > 0, 120,
                 "the session to place orders", interval=0.2)
        status = subprocess.run(workflow("status", "--json"), cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        info = json.loads(status.stdout)
        assert info["running"] and info["pid"] == proc.pid
        assert "trading_session" in info["heartbeat"]["running"]
    assert job_status("trading_session") == "interrupted"
    db = configured_database()
    with db.session() as session:
        doubtful = session.scalars(select(TradeOrder).where(TradeOrder.status.in_(["new", "unknown"]))).all()
        assert doubtful == []
    after = subprocess.run(workflow("status"), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert after.returncode == 3 and "not running" in after.stdout


def test_stop_command_and_single_instance(home: Path) -> None:
    proc = subprocess.Popen(workflow("start", "--clock", "sim", "--start", f"{DAY} 05:00", "--speed", "1",
                                     "--no-skip-idle"),
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: (home / "scheduler.pid").exists() and job_status("data_sync") is None
                 and subprocess.run(workflow("status"), cwd=REPO_ROOT, capture_output=True).returncode == 0,
                 60, "the scheduler to run", interval=0.2)
        second = subprocess.run(workflow("start"), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "another scheduler" in second.stderr
        stopped = subprocess.run(workflow("stop", "--timeout", "30"), cwd=REPO_ROOT, capture_output=True,
                                 text=True, timeout=60)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_run_one_job_by_hand_is_idempotent(home: Path) -> None:
    first = subprocess.run(workflow("run", "screening", "--date", str(DAY), "--json"), cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["status"] == "success"
    again = subprocess.run(workflow("run", "screening", "--date", str(DAY), "--json"), cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["status"] == "already done"
    unknown = subprocess.run(workflow("run", "nope"), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "unknown job" in unknown.stderr


def test_running_the_session_by_hand_while_the_scheduler_runs_it_is_refused(home: Path) -> None:
    with session_scheduler() as proc:
        wait_for(lambda: job_status("trading_session") == "running", 120, "the session to run", interval=0.2)
        by_hand = subprocess.run(hantu_cmd("jobs", "run", "trading_session", "--date", str(DAY)), cwd=REPO_ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert by_hand.returncode == 1, by_hand.stdout + by_hand.stderr
        assert "refused" in by_hand.stderr and "already running" in by_hand.stderr, by_hand.stderr
        assert proc.poll() is None
        db = configured_database()
        with db.session() as session:
            rows = session.scalars(select(JobRun).where(JobRun.job == "trading_session").order_by(JobRun.id)).all()
            assert [r.status for r in rows] == ["running", "refused"]
