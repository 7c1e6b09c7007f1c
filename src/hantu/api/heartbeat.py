"""The scheduler's heartbeat as the API sees it: parsed from the key-value table, judged fresh by a clock.

The scheduler publishes its state every few seconds under `scheduler.heartbeat`; the API never talks to the
scheduler process directly, so this row is the whole contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.clock import to_kst
from hantu.scheduler.heartbeat import HEARTBEAT_KEY, STALE_AFTER
from hantu.store.kv import kv_get

FRESH_SECONDS = STALE_AFTER.total_seconds()
STOPPED = "stopped"  # the state a scheduler publishes on a clean shutdown


@dataclass(frozen=True)
class Heartbeat:
    at: datetime | None
    pid: int | None = None
    clock: str | None = None
    sim_now: datetime | None = None
    state: str | None = None
    next_jobs: list[dict[str, Any]] = field(default_factory=list)
    running: list[str] = field(default_factory=list)

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.at is None else (now - self.at).total_seconds()

    def is_fresh(self, now: datetime) -> bool:
        """Written within `FRESH_SECONDS` of `now` by a scheduler that has not announced it stopped
        (a heartbeat from the future by more than that is stale too)."""
        if self.state == STOPPED:
            return False
        age = self.age_seconds(now)
        return age is not None and abs(age) <= FRESH_SECONDS


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return to_kst(datetime.fromisoformat(value))
    except ValueError:
        return None


def read_heartbeat(session: Session) -> Heartbeat | None:
    """The last published heartbeat, or None when the scheduler never ran (malformed fields read as absent)."""
    raw = kv_get(session, HEARTBEAT_KEY)
    if not isinstance(raw, dict):
        return None
    pid = raw.get("pid")
    next_jobs = []
    for item in raw.get("next_jobs") or []:
        if isinstance(item, dict) and isinstance(item.get("job"), str):
            at = _parse_time(item.get("at"))
            next_jobs.append({"job": item["job"], "at": at})
    running = [str(name) for name in raw.get("running") or [] if isinstance(name, str | int)]
    return Heartbeat(
        at=_parse_time(raw.get("at")),
        pid=pid if isinstance(pid, int) else None,
        clock=str(raw["clock"]) if raw.get("clock") else None,
        sim_now=_parse_time(raw.get("sim_now")),
        state=str(raw["state"]) if raw.get("state") is not None else None,
        next_jobs=next_jobs,
        running=running,
    )
