"""The scheduler's published state (`scheduler.heartbeat` in the kv table), read by the API and `status`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hantu.store.kv import kv_get, kv_set

HEARTBEAT_KEY = "scheduler.heartbeat"
REQUESTS_KEY = "scheduler.requests"
STALE_AFTER = timedelta(seconds=90)


def publish(session: Session, payload: dict[str, Any]) -> None:
    kv_set(session, HEARTBEAT_KEY, payload)


def read(session: Session) -> dict[str, Any] | None:
    return kv_get(session, HEARTBEAT_KEY)


def is_fresh(beat: dict[str, Any] | None, now: datetime) -> bool:
    if not beat or beat.get("state") == "stopped":
        return False
    return now - datetime.fromisoformat(beat["at"]) <= STALE_AFTER


def request_job(session: Session, job: str, day: str | None, by: str, at: datetime) -> None:
    """Ask the running scheduler to run `job` (the API and CLI never run jobs in their own process)."""
    pending = list(kv_get(session, REQUESTS_KEY) or [])
    pending.append({"job": job, "date": day, "by": by, "at": at.isoformat()})
    kv_set(session, REQUESTS_KEY, pending)


def take_requests(session: Session) -> list[dict[str, Any]]:
    pending = list(kv_get(session, REQUESTS_KEY) or [])
    if pending:
        kv_set(session, REQUESTS_KEY, [])
    return pending
