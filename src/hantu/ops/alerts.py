"""Operations alerts through the durable Telegram outbox (`hantu.notify.outbox.enqueue`).

A deploy must not fail because its alert could not be queued (the database may be the very thing that is
broken), so `send_alert` reports the problem and returns False instead of raising. Thresholds live here,
once: a failure streak alerts from 2 (high) and becomes critical from 5; low memory is high for the first two
retries and critical from the third.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FAILURE_ALERT_FROM = 2
FAILURE_CRITICAL_FROM = 5
LOW_MEMORY_CRITICAL_FROM_RETRY = 3


@dataclass(frozen=True)
class Alert:
    kind: str
    data: dict[str, Any]
    priority: str
    dedupe_key: str | None = None  # each alert here is raised once per event: no dedupe needed


AlertSink = Callable[[Alert], bool]


def failure_priority(consecutive_failures: int) -> str | None:
    """None below the alert threshold; `high` from 2, `critical` from 5 consecutive failures."""
    if consecutive_failures >= FAILURE_CRITICAL_FROM:
        return "critical"
    if consecutive_failures >= FAILURE_ALERT_FROM:
        return "high"
    return None


def low_memory_priority(retry: int) -> str:
    return "critical" if retry >= LOW_MEMORY_CRITICAL_FROM_RETRY else "high"


def deploy_failure_alert(consecutive_failures: int, data: dict[str, Any]) -> Alert | None:
    priority = failure_priority(consecutive_failures)
    if priority is None:
        return None
    payload = {**data, "consecutive_failures": consecutive_failures}
    return Alert("deploy_failures", payload, priority)


def low_memory_alert(available_mb: int, threshold_mb: int, total_mb: int, retries: int, at: str) -> Alert:
    return Alert("low_memory", {"available_mb": available_mb, "threshold_mb": threshold_mb,
                                "total_mb": total_mb, "retries": retries, "at": at},
                 low_memory_priority(retries))


def env_validation_alert(missing: list[str], invalid: list[str], at: str, project_dir: str | None = None) -> Alert:
    data: dict[str, Any] = {"missing": missing, "invalid": invalid, "at": at}
    if project_dir:
        data["project_dir"] = project_dir
    return Alert("env_validation_failed", data, "critical")


def disk_usage_alert(path: str, used_percent: float, threshold_percent: float, free: str) -> Alert:
    """No dedicated template: an `error` of kind `disk_usage_high` (the outbox rate-limits repeats)."""
    return Alert("error", {"error_kind": "disk_usage_high", "where": "log_rotate",
                           "message": f"disk usage {used_percent:.1f}% on {path} is above {threshold_percent:.0f}% "
                                      f"({free} free)"}, "high")


def preload() -> None:
    """Import what `send_alert` needs now, before a deploy swaps the code under this process."""
    try:
        import hantu.notify.outbox
        import hantu.store.db
        import hantu.store.migrate  # noqa: F401
    except ImportError:
        pass


def send_alert(alert: Alert) -> bool:
    """Queue the alert in the outbox of the configured database; False (with a message) when impossible."""
    try:
        from hantu.notify.outbox import enqueue
        from hantu.store.db import get_database
    except ImportError as error:
        sys.stderr.write(f"alert not queued ({alert.kind}): the outbox is unavailable: {error}\n")
        return False
    try:
        from hantu.config.settings import load_settings

        database = get_database(load_settings().resolved_database_url)
        try:
            _enqueue(database, enqueue, alert)
        except Exception:
            # A fresh host has no tables before its first migration: create them, then try once more.
            from hantu.store.migrate import ensure_schema

            ensure_schema(database)
            _enqueue(database, enqueue, alert)
        return True
    except Exception as error:  # the alert must never break the operation that raises it
        sys.stderr.write(f"alert not queued ({alert.kind}): {type(error).__name__}: {error}\n")
        return False


def _enqueue(database: Any, enqueue: Callable[..., Any], alert: Alert) -> None:
    with database.session() as session:
        enqueue(session, alert.kind, alert.data, priority=alert.priority, dedupe_key=alert.dedupe_key)
