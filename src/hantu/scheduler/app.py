"""Starting, inspecting and stopping the scheduler process; running one job by hand."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hantu import __version__
from hantu.clock import KST, Clock, SimClock, SystemClock, parse_kst
from hantu.config import Settings, require_real_money_opt_in
from hantu.scheduler import heartbeat
from hantu.scheduler.runner import AlertFunc, Runner
from hantu.scheduler.timetable import load_timetable
from hantu.store.db import Database, get_database
from hantu.store.lock import running_pid
from hantu.store.migrate import ensure_schema

if TYPE_CHECKING:
    from hantu.notify.kit import Priority

log = logging.getLogger("hantu.scheduler")


@dataclass(frozen=True)
class ClockOptions:
    kind: str = "system"  # system | sim
    start: str | None = None
    speed: float = 60.0

    def build(self) -> Clock:
        if self.kind == "system":
            return SystemClock()
        if not self.start:
            raise ValueError("--clock sim needs --start 'YYYY-MM-DD HH:MM'")
        return SimClock(parse_kst(self.start), self.speed)


def outbox_alert(db: Database, clock: Clock) -> AlertFunc:
    """An alert function that enqueues into the Telegram outbox (a template problem is logged, not raised)."""

    def alert(kind: str, data: dict[str, Any], priority: Priority) -> None:
        try:
            from hantu.notify.outbox import enqueue

            with db.session() as session:
                enqueue(session, kind, data, priority=priority, now=clock.now())
        except Exception:
            log.exception("could not enqueue %s alert", kind)

    return alert


def describe(settings: Settings) -> dict[str, Any]:
    """What `scheduler_started` says about this process."""
    return {
        "mode": settings.trading_mode,
        "server": settings.server if settings.trading_mode in ("kis", "shadow") else None,
        "shadow_strategy": settings.shadow_strategy if settings.trading_mode == "kis" else None,
        "strategy": settings.strategy,
        "version": __version__,
    }


def build_runner(
    settings: Settings,
    clock: Clock,
    *,
    stop_at: datetime | None = None,
    skip_idle: bool = True,
    services: Any = None,
) -> Runner:
    from hantu.scheduler.jobs import JOBS, Services

    if settings.trading_mode == "kis":  # refused at start-up, not at 08:30: a restart cannot fix it (exit 3)
        require_real_money_opt_in(settings.server, settings.real_trading_enabled)
    db = get_database(settings.resolved_database_url)
    ensure_schema(db)
    return Runner(
        db,
        clock,
        load_timetable(settings.hantu_home),
        JOBS,
        settings.hantu_home,
        services or Services(settings, clock, db),
        skip_idle=skip_idle,
        stop_at=stop_at,
        alert=outbox_alert(db, clock),
        describe=describe(settings),
    )


class NotifyThreads:
    """The outbox sender and the Telegram command poller, as threads of the scheduler process.

    They run on the system clock whatever the scheduler's clock is: Telegram's limits are in real seconds.
    On stop the sender thread — the only one that ever sends — gets `grace` seconds to deliver what the shutdown
    itself queued; messages it could not send stay `pending` and go out, in order, on the next start.
    """

    def __init__(self, settings: Settings, db: Database, on_delivered: Any = None, grace: float = 5.0) -> None:
        from hantu.bot.actions import ActionService
        from hantu.bot.commands import CommandPoller
        from hantu.notify.sender import OutboxSender

        self.grace = grace
        self.stop_event = threading.Event()
        self.sender = OutboxSender.from_settings(settings, db, SystemClock(), on_delivered)
        # one executor of confirmed control actions (Telegram taps and dashboard confirmations alike)
        self.actions = ActionService.from_settings(settings, db, SystemClock())
        self.poller = CommandPoller.from_settings(settings, db, SystemClock(), wake_sender=self.sender.wake,
                                                  actions=self.actions)
        self.sender_thread = threading.Thread(
            target=self.sender.run_forever, args=(self.stop_event, grace), name="outbox-sender", daemon=True
        )
        self.threads = [self.sender_thread,
                        threading.Thread(target=self.actions.run_forever, args=(db, self.stop_event),
                                         name="control-actions", daemon=True)]
        if self.poller is not None:
            self.threads.append(
                threading.Thread(
                    target=self.poller.run_forever,
                    args=(self.stop_event,),
                    name="telegram-commands",
                    daemon=True,
                )
            )

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop within `grace` plus one request in flight (bounded whatever the outbox holds)."""
        started = time.monotonic()
        self.stop_event.set()
        self.sender.wake()
        self.sender_thread.join(timeout=self.grace + self.sender.request_timeout + 1.0)
        if self.sender_thread.is_alive():
            log.error("the outbox sender did not stop in time; a message in flight will be marked uncertain")
        # The poller: a long poll in flight is abandoned (its offset is durable).
        for thread in self.threads[1:]:
            thread.join(timeout=max(0.5, started + self.grace - time.monotonic()))


def start(settings: Settings, clock: Clock, stop_at: datetime | None = None, skip_idle: bool = True) -> int:
    """Run the scheduler in the foreground until SIGTERM/SIGINT (or `stop_at`); exit code 0 on a clean stop."""
    started = time.monotonic()
    runner = build_runner(settings, clock, stop_at=stop_at, skip_idle=skip_idle)
    notify = NotifyThreads(settings, runner.db)

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        log.info("received %s: finishing in-flight work", name)
        runner.request_stop(name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    notify.start()
    log.info("scheduler ready in %.2f s", time.monotonic() - started)
    try:
        return runner.run()
    finally:
        notify.stop()


def status(settings: Settings) -> dict[str, Any]:
    """What the running instance published, and whether it is alive."""
    pid = running_pid(settings.hantu_home / "scheduler.pid")
    db = get_database(settings.resolved_database_url)
    ensure_schema(db)
    with db.session() as session:
        beat = heartbeat.read(session)
    now = datetime.now(KST)
    return {
        "running": pid is not None,
        "pid": pid,
        "heartbeat": beat,
        "heartbeat_fresh": heartbeat.is_fresh(beat, now),
    }


def stop(settings: Settings, timeout: float = 90.0) -> bool:
    """SIGTERM the running instance and wait for it to release its lock. False when it did not stop."""
    lock_path = settings.hantu_home / "scheduler.pid"
    pid = running_pid(lock_path)
    if pid is None:
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(lock_path) is None:
            return True
        time.sleep(0.2)
    return False


def run_job_once(
    settings: Settings, clock: Clock, job: str, day: date, force: bool = False
) -> dict[str, Any]:
    """Run one job for one date in this process (records a job_runs row like the scheduler does)."""
    from hantu.scheduler.jobs import JOBS, Services

    db = get_database(settings.resolved_database_url)
    ensure_schema(db)
    runner = Runner(
        db,
        clock,
        load_timetable(settings.hantu_home),
        JOBS,
        settings.hantu_home,
        Services(settings, clock, db),
    )
    return runner.run_one(job, day, force)
