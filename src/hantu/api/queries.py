"""Read-side queries the routes share; each takes a session and returns plain values or response models.

Tables owned by other areas are read through their models; nothing here writes except the control helpers in
`hantu.api.controls`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hantu.api.schemas import JobRequestOut, JobRunOut, RiskHalt
from hantu.domain.order_state import OPEN
from hantu.scheduler.heartbeat import REQUESTS_KEY as JOB_REQUESTS_KEY
from hantu.store.kv import kv_get
from hantu.store.models import JobRun
from hantu.trading.risk import daily_block

T = TypeVar("T")



def paged(session: Session, query: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """Rows `offset`..`offset+limit` of `query` and the total count (one extra COUNT query)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.limit(limit).offset(offset)))
    return rows, int(total)


def job_runs(session: Session, job: str | None, status: str | None, limit: int, offset: int
             ) -> tuple[list[JobRunOut], int]:
    query = select(JobRun)
    if job:
        query = query.where(JobRun.job == job)
    if status:
        query = query.where(JobRun.status == status)
    rows, total = paged(session, query.order_by(JobRun.started_at.desc(), JobRun.id.desc()), limit, offset)
    out = []
    for row in rows:
        item = JobRunOut.model_validate(row)
        if row.finished_at is not None:
            item.duration_seconds = round((row.finished_at - row.started_at).total_seconds(), 3)
        out.append(item)
    return out, total


def job_requests(session: Session) -> list[JobRequestOut]:
    raw = kv_get(session, JOB_REQUESTS_KEY) or []
    out = []
    for item in raw if isinstance(raw, list) else []:
        try:
            out.append(JobRequestOut.model_validate(item))
        except ValueError:
            continue
    return out




def risk_halts(session: Session, broker: str, today: date) -> list[RiskHalt]:
    """Halts besides the kill switch: the book's daily loss limit blocks its new entries for the rest of its day.

    (A max-drawdown breach sets the kill switch itself, with source `risk`: it shows in `halt`.)"""
    block = daily_block(session, broker)
    if not block.get("day"):
        return [RiskHalt(name="daily_loss", active=False)]
    loss = block.get("loss")
    reason = f"daily loss {loss:.1%}" if isinstance(loss, int | float) else "daily loss limit"
    return [RiskHalt(name="daily_loss", active=block["day"] == today.isoformat(), reason=reason,
                     day=date.fromisoformat(block["day"]))]


def known_jobs(session: Session, hantu_home: Path) -> set[str]:
    """The scheduler's jobs: its timetable (the one source of the names), plus any it announced or ran."""
    from hantu.api.heartbeat import read_heartbeat

    names = set(session.scalars(select(JobRun.job).distinct()))
    try:
        from hantu.scheduler.timetable import load_timetable

        names.update(load_timetable(hantu_home).by_name)
    except Exception:  # a broken user timetable is the scheduler's to report; fall back to what ran
        pass
    heartbeat = read_heartbeat(session)
    if heartbeat is not None:
        names.update(job["job"] for job in heartbeat.next_jobs)
        names.update(heartbeat.running)
    return names


def order_is_open(order: Any) -> bool:
    return order.status in OPEN
