"""The runner: puts the timetable into action on any clock, one trading date at a time.

Why not APScheduler: jobs here are *per trading date* and must survive restarts (idempotent, caught up when
missed, never rerun when finished), and the demo and the tests run the same timetable on a simulated clock. The
state that matters lives in `job_runs`; the loop below is small enough to read in one sitting.

Rules:
- A job runs once per trading date: a `success` or `skipped` row settles it; `failed` rows are retried after
  `retry_delay` up to `retries` times; `interrupted` rows (stopped or killed mid-run) run again.
- Market jobs of one day run in timetable order: a job starts only when every earlier market job of that day is
  settled (screening waits for the data, trading waits for the selection).
- A run whose catch-up window (`until`) has passed is recorded as `skipped`, with the reason.
- A (job, date) never runs twice at once: a manual request (API, CLI) for a run that is under way is recorded as
  `refused`, with the reason, and starts nothing (two trading sessions would both cancel and re-price the same
  orders). `refused` rows count for nothing else.
- Every job runs in its own thread, so a slow report or backtest never blocks the trading loop.
- SIGTERM/SIGINT set `stop`: running jobs finish their in-flight work and return, the runner records them,
  publishes a final heartbeat and returns 0.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hantu.clock import KST, Clock, SimClock
from hantu.log import mask_secrets
from hantu.market import calendar
from hantu.scheduler import heartbeat, memory
from hantu.scheduler.timetable import PlannedRun, Timetable
from hantu.store.db import Database
from hantu.store.lock import InstanceLock, running_pid
from hantu.store.models import JobRun

if TYPE_CHECKING:
    from hantu.notify.kit import Priority

log = logging.getLogger("hantu.scheduler")

SETTLED = ("success", "skipped")
REFUSED = "refused"  # a request for a run already under way: a record of the answer, not an attempt


class JobInterrupted(Exception):
    """Raised by a job that stopped early because `stop` was set: it must run again after a restart."""


class JobBusy(RuntimeError):
    """`run_one` refused: the same job for the same date is running in the scheduler right now."""


@dataclass
class JobContext:
    """What a job gets: its date, the clock, the database, a stop event, and the shared services."""

    job: str
    day: date
    clock: Clock
    db: Database
    stop: threading.Event
    services: Any = None
    manual: bool = False
    figures: dict[str, Any] = field(default_factory=dict)


JobFunc = Callable[[JobContext], Mapping[str, Any] | None]
AlertFunc = Callable[[str, dict[str, Any], "Priority"], None]


MANUAL = "#manual"  # the `running` key suffix of a manual run


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


@dataclass
class _Running:
    thread: threading.Thread
    row_id: int
    run: PlannedRun


class Runner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        timetable: Timetable,
        jobs: Mapping[str, JobFunc],
        home: Path,
        services: Any = None,
        *,
        skip_idle: bool = False,
        stop_at: datetime | None = None,
        heartbeat_every: float = 15.0,
        poll: float = 0.2,
        alert: AlertFunc | None = None,
        describe: Mapping[str, Any] | None = None,
    ) -> None:
        missing = [job.name for job in timetable.jobs if job.name not in jobs]
        if missing:
            raise ValueError(f"timetable names jobs with no implementation: {missing}")
        self.db = db
        self.clock = clock
        self.timetable = timetable
        self.jobs = jobs
        self.services = services
        self.home = home
        self.lock = InstanceLock(home / "scheduler.pid")
        self.stop = threading.Event()
        self.skip_idle = skip_idle and isinstance(clock, SimClock)
        self.stop_at = stop_at
        self.heartbeat_every = heartbeat_every
        self.poll = poll
        self.alert = alert or (lambda kind, data, priority: None)
        self.describe = dict(describe or {"mode": "unknown"})
        self.stop_reason = "stop requested"
        self._started_wall = time.monotonic()
        self.running: dict[tuple[str, date], _Running] = {}
        self._settled: set[tuple[str, date]] = set()  # settled runs never unsettle: no need to ask again
        self._last_beat = 0.0
        self._state = "starting"

    # ----- public -------------------------------------------------------------------------------------
    def run(self) -> int:
        """Hold the instance lock and run until stopped (signal, `stop_at`, or `request_stop`)."""
        self.lock.acquire()
        try:
            self._on_start()
            self._loop()
        finally:
            self._shutdown()
            self.lock.release()
        return 0

    def run_one(self, job: str, day: date, force: bool = False) -> dict[str, Any]:
        """Run `job` for `day` in this thread, recorded like a scheduled run (`hantu jobs run`).

        A run already settled for that date, or a market job on a day without trading, is not run unless `force`.
        Raises what the job raised, and `JobBusy` (recording a `refused` row) while the scheduler runs the same
        job for that date.
        """
        spec = self.timetable.by_name.get(job)
        if spec is None:
            raise KeyError(f"unknown job {job!r}; jobs: {', '.join(self.timetable.by_name)}")
        if spec.market and not calendar.is_trading_day(day) and not force:  # R6: holidays run no market jobs
            return {"job": job, "date": day.isoformat(), "status": "skipped", "ran": False,
                    "reason": f"{day} is not a KRX trading day: market jobs run on trading days only "
                              "(--force runs it anyway)"}
        now = self.clock.now()
        busy = self._running_elsewhere(job, day)
        if busy is not None:
            self._refuse(job, day, busy, {"manual": True})
            raise JobBusy(busy)
        settled, _, _ = self._state_of(PlannedRun(spec, day, now, now))
        if settled and not force:
            return {"job": job, "date": day.isoformat(), "status": "already done", "ran": False}
        row_id = self._insert(job, day, "running", 1, figures={"manual": True})
        ctx = JobContext(job, day, self.clock, self.db, self.stop, self.services, manual=True)
        try:
            figures = dict(self.jobs[job](ctx) or {})
        except JobInterrupted as error:
            self._finish(row_id, "interrupted", str(error), ctx.figures)
            raise
        except Exception as error:
            self._finish(row_id, "failed", repr(error), ctx.figures)
            raise
        figures["manual"] = True
        self._finish(row_id, "success", None, figures)
        return {"job": job, "date": day.isoformat(), "status": "success", "ran": True, "figures": figures}

    def request_stop(self, reason: str = "stop requested") -> None:
        self.stop_reason = reason
        self.stop.set()

    # ----- job_runs bookkeeping -----------------------------------------------------------------------
    def _rows(self, job: str, day: date) -> list[JobRun]:
        with self.db.session() as session:
            return list(session.scalars(
                select(JobRun).where(JobRun.job == job, JobRun.trading_date == day).order_by(JobRun.id)))

    def _running_elsewhere(self, job: str, day: date) -> str | None:
        """Why `job` for `day` must not start here: a live scheduler holds a `running` row of it, else None.

        A live scheduler turned every `running` row it found at its start into `interrupted`, so a `running` row
        now is its own or a hand run's; a hand run's row counts only while that process lives (a crashed one
        must not block the job for the rest of the day).
        """
        scheduler = running_pid(self.lock.path)
        if scheduler is None or scheduler == os.getpid():
            return None
        for row in self._rows(job, day):
            if row.status == "running" and (row.pid in (None, scheduler) or _alive(row.pid)):
                return (f"{job} for {day} is already running (run {row.id}, pid {row.pid}, "
                        f"scheduler pid {scheduler}): not started twice")
        return None

    def _refuse(self, job: str, day: date, reason: str, figures: dict[str, Any]) -> None:
        log.warning("refused to run %s for %s: %s", job, day, reason)
        self._insert(job, day, REFUSED, 1, error=reason, figures=figures)

    def _state_of(self, run: PlannedRun) -> tuple[bool, datetime | None, int]:
        """(settled, earliest retry time, failed attempts so far) for one planned run."""
        key = (run.job.name, run.day)
        if key in self._settled:
            return True, None, 0
        rows = [r for r in self._rows(run.job.name, run.day) if r.status != REFUSED]
        if any(r.status in SETTLED for r in rows):
            self._settled.add(key)
            return True, None, 0
        failures = [r for r in rows if r.status == "failed"]
        if len(failures) > run.job.retries:
            self._settled.add(key)
            return True, None, len(failures)
        last = rows[-1] if rows else None
        if last is not None and last.status == "failed" and last.finished_at is not None:
            return False, last.finished_at + timedelta(seconds=run.job.retry_delay), len(failures)
        return False, None, len(failures)

    def _insert(self, job: str, day: date, status: str, attempt: int, error: str | None = None,
                figures: dict[str, Any] | None = None) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            row = JobRun(job=job, trading_date=day, status=status, attempt=attempt, started_at=now,
                         finished_at=None if status == "running" else now, error=error, figures=figures,
                         pid=os.getpid())
            session.add(row)
            session.flush()
            return row.id

    def _finish(self, row_id: int, status: str, error: str | None, figures: Mapping[str, Any] | None) -> None:
        with self.db.session() as session:
            row = session.get(JobRun, row_id)
            assert row is not None
            row.status = status
            row.finished_at = self.clock.now()
            row.error = mask_secrets(error)[:4000] if error else None
            row.figures = dict(figures) if figures else None

    # ----- lifecycle ----------------------------------------------------------------------------------
    def _on_start(self) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            previous = heartbeat.read(session)
            stale = session.scalars(select(JobRun).where(JobRun.status == "running")).all()
            for row in stale:  # we hold the lock: whoever ran these is gone
                row.status = "interrupted"
                row.finished_at = now
                row.error = "interrupted: the scheduler stopped while this job ran"
        if previous and previous.get("state") not in ("stopped", None):
            last = datetime.fromisoformat(previous["at"])
            silent = max(0.0, (datetime.now(KST) - last).total_seconds())
            self.alert("heartbeat_missed", {"process": "scheduler", "last_seen": last.isoformat(),
                                            "missed_seconds": round(silent)}, "high")
        self._state = "running"
        self.alert("scheduler_started", {**self.describe, "pid": os.getpid(),
                                         "jobs": [job.name for job in self.timetable.jobs]}, "normal")
        log.info("scheduler started at %s (pid %d)", now.isoformat(timespec="seconds"), os.getpid())
        self._beat(force=True)

    def _shutdown(self) -> None:
        self._state = "stopping"
        self.stop.set()
        self._beat(force=True)
        deadline = time.monotonic() + 50
        for key, item in list(self.running.items()):
            item.thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if item.thread.is_alive():
                log.error("job %s did not stop in time", key[0])
        self._reap()
        self._state = "stopped"
        self.alert("scheduler_stopped", {"reason": self.stop_reason,
                                         "uptime_seconds": round(time.monotonic() - self._started_wall)}, "normal")
        self._beat(force=True)
        log.info("scheduler stopped")

    # ----- the loop -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stop.is_set():
            now = self.clock.now()
            if self.stop_at is not None and now >= self.stop_at:
                log.info("reached stop time %s", self.stop_at.isoformat(timespec="minutes"))
                self.stop_reason = f"reached --until {self.stop_at:%Y-%m-%d %H:%M}"
                break
            self._reap()
            self._take_requests(now)
            wake = self._dispatch_due(now)
            self._beat()
            if not self.running and self.skip_idle and wake is not None and wake > now:
                target = min(wake, self.stop_at) if self.stop_at else wake
                assert isinstance(self.clock, SimClock)
                self.clock.set(target)
                continue
            self.stop.wait(self.poll)

    def _dispatch_due(self, now: datetime) -> datetime | None:
        """Start every run that is due and unblocked; return when the loop next has something to do."""
        wake: datetime | None = None
        blocked = False
        for run in self.timetable.plan(now.date()):
            key = (run.job.name, run.day)
            if key in self.running:
                blocked = blocked or run.job.market
                continue
            if run.due > now:
                wake = run.due if wake is None else min(wake, run.due)
                blocked = blocked or run.job.market
                continue
            settled, retry_at, failures = self._state_of(run)
            if settled:
                continue
            if (run.job.name + MANUAL, run.day) in self.running:  # a manual run of it is under way
                blocked = blocked or run.job.market
                continue
            if now > run.deadline:
                reason = (f"missed: its window closed at {run.deadline:%H:%M}"
                          + (f" after {failures} failed attempt(s)" if failures else ""))
                self._insert(run.job.name, run.day, "skipped", failures + 1, error=reason)
                log.warning("%s for %s skipped (%s)", run.job.name, run.day, reason)
                continue
            if blocked and run.job.market:
                continue
            if retry_at is not None and now < retry_at:
                wake = retry_at if wake is None else min(wake, retry_at)
                blocked = blocked or run.job.market
                continue
            self._start(run, failures + 1)
            blocked = blocked or run.job.market
        if wake is None:
            upcoming = self.timetable.next_runs(now)
            wake = upcoming[0].due if upcoming else None
        return wake

    def _start(self, run: PlannedRun, attempt: int, manual: bool = False) -> None:
        row_id = self._insert(run.job.name, run.day, "running", attempt,
                              figures={"manual": True} if manual else None)
        ctx = JobContext(run.job.name, run.day, self.clock, self.db, self.stop, self.services, manual)
        thread = threading.Thread(target=self._execute, args=(ctx, row_id, run, attempt),
                                  name=f"job-{run.job.name}", daemon=True)
        self.running[(run.job.name, run.day) if not manual else (run.job.name + MANUAL, run.day)] = \
            _Running(thread, row_id, run)
        log.info("starting %s for %s (attempt %d)", run.job.name, run.day, attempt)
        thread.start()
        self._beat(force=True)

    def _execute(self, ctx: JobContext, row_id: int, run: PlannedRun, attempt: int) -> None:
        try:
            self._execute_job(ctx, row_id, run, attempt)
        finally:
            memory.release()  # the job's thread arena holds what it freed until trimmed

    def _execute_job(self, ctx: JobContext, row_id: int, run: PlannedRun, attempt: int) -> None:
        started = time.monotonic()
        try:
            figures = dict(self.jobs[run.job.name](ctx) or {})
        except JobInterrupted as stop:
            self._finish(row_id, "interrupted", str(stop) or "stopped", ctx.figures)
            log.info("%s for %s interrupted", run.job.name, run.day)
            return
        except Exception as error:  # a failed job is recorded and alerted, never fatal to the runner
            text = "".join(traceback.format_exception_only(type(error), error)).strip()
            self._finish(row_id, "failed", text + "\n" + traceback.format_exc(limit=8), ctx.figures)
            log.exception("%s for %s failed (attempt %d)", run.job.name, run.day, attempt)
            final = attempt > run.job.retries
            self.alert("error", {"error_kind": f"job:{run.job.name}", "message": text, "final": final,
                                 "where": f"{run.job.name} {run.day} (attempt {attempt})"},
                       "high" if final else "normal")
            return
        figures.setdefault("wall_seconds", round(time.monotonic() - started, 3))
        if ctx.manual:
            figures["manual"] = True
        self._finish(row_id, "success", None, figures)
        log.info("%s for %s done", run.job.name, run.day)

    def _reap(self) -> None:
        for key, item in list(self.running.items()):
            if not item.thread.is_alive():
                del self.running[key]

    def _take_requests(self, now: datetime) -> None:
        with self.db.session() as session:
            requests = heartbeat.take_requests(session)
        for request in requests:
            name = request.get("job")
            spec = self.timetable.by_name.get(name or "")
            if spec is None:
                log.warning("ignoring a request for unknown job %r", name)
                continue
            day = date.fromisoformat(request["date"]) if request.get("date") else now.date()
            under_way = [k for k in ((spec.name, day), (spec.name + MANUAL, day)) if k in self.running]
            if under_way:
                item = self.running[under_way[0]]
                self._refuse(spec.name, day, f"{spec.name} for {day} is already running (run {item.row_id}, "
                             f"pid {os.getpid()}): the request of {request.get('by') or 'someone'} starts nothing",
                             {"manual": True, "requested_by": request.get("by")})
                continue
            run = PlannedRun(spec, day, now, now)
            self._start(run, 1, manual=True)

    def _beat(self, force: bool = False) -> None:
        wall = time.monotonic()
        if not force and wall - self._last_beat < self.heartbeat_every:
            return
        self._last_beat = wall

        now = self.clock.now()
        upcoming = [{"job": r.job.name, "at": r.due.isoformat()} for r in self.timetable.next_runs(now)[:5]]
        payload = {
            "at": datetime.now(KST).isoformat(),
            "pid": os.getpid(),
            "clock": "sim" if isinstance(self.clock, SimClock) else "system",
            "sim_now": now.isoformat(),
            "state": self._state,
            "next_jobs": upcoming,
            "running": sorted(name for name, _ in self.running),
        }
        try:
            with self.db.session() as session:
                heartbeat.publish(session, payload)
        except Exception:  # the database may be briefly unavailable; the next beat tries again
            log.exception("could not publish the heartbeat")
