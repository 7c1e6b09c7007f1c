"""The outbox: how every other area sends a Telegram message.

    from hantu.notify.outbox import enqueue
    with database.session() as session:
        ...record the fill...
        enqueue(session, "order_filled", {"code": "005930", "name": "삼성전자", "side": "buy",
                                          "quantity": 10, "price": 71200}, priority="high",
                dedupe_key=f"fill:{fill_id}")

The message is rendered now (so it reads as of the event, in the configured language) and stored in the
caller's transaction: if the event rolls back, so does its message; if it commits, the sender will deliver it
even if Telegram is down for hours. `TEMPLATES` in `hantu.notify.templates` documents each kind's data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hantu.clock import KST
from hantu.notify.formatting import PARSE_MODE, split_message
from hantu.notify.kit import PRIORITY_RANK, Language, Priority
from hantu.notify.templates import TEMPLATES, UnknownKindError, render, validate
from hantu.store.kv import kv_get, kv_set
from hantu.store.models.notify import PENDING, OutboxMessage

__all__ = ["ERROR_RATE_WINDOW", "TEMPLATES", "OutboxMessage", "Priority", "UnknownKindError", "enqueue"]

# At most one `error` message per error kind in this window; the ones held back are counted in the next.
ERROR_RATE_WINDOW = timedelta(minutes=10)
_SUPPRESSED_KEY = "notify.error_suppressed."


def _language() -> Language:
    from hantu.config import get_settings

    return get_settings().language


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """The data as stored JSON (dates and Decimals become strings)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def effective_priority(kind: str, data: dict[str, Any], priority: Priority) -> Priority:
    """The caller's priority, raised to the template's floor (a risk halt always sounds)."""
    floor = TEMPLATES[kind].floor_for(data)
    return floor if PRIORITY_RANK[floor] > PRIORITY_RANK[priority] else priority


def enqueue(
    session: Session,
    kind: str,
    data: dict[str, Any],
    priority: Literal["critical", "high", "normal", "low"] = "normal",
    dedupe_key: str | None = None,
    *,
    chat_id: str | None = None,
    now: datetime | None = None,
    language: Language | None = None,
) -> OutboxMessage | None:
    """Render the template for `kind` with `data` and add the message to `session` (the caller's transaction).

    Returns the new row, or None when nothing was queued: `dedupe_key` already used (a second enqueue of the
    same event is a no-op), or an `error` of the same `error_kind` already sent within `ERROR_RATE_WINDOW`.
    Priorities critical/high notify with sound, normal/low silently; a template may raise the priority (see
    its `floor`). `chat_id` defaults to `TELEGRAM_CHAT_ID` at send time. Raises `UnknownKindError` for an
    unknown kind and `TemplateDataError` for missing data.
    """
    if priority not in PRIORITY_RANK:
        raise ValueError(f"priority must be one of {list(PRIORITY_RANK)}, got {priority!r}")
    validate(kind, data)
    moment = now or datetime.now(KST)
    lang = language or _language()
    if dedupe_key is not None and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ) is not None:
        return None
    rate_key = None
    if kind == "error":
        rate_key = str(data["error_kind"])[:120]
        if _rate_limited(session, rate_key, moment):
            counter = _SUPPRESSED_KEY + rate_key
            kv_set(session, counter, int(kv_get(session, counter, 0) or 0) + 1)
            return None
        held_back = int(kv_get(session, _SUPPRESSED_KEY + rate_key, 0) or 0)
        if held_back:
            data = {**data, "suppressed": held_back}
            kv_set(session, _SUPPRESSED_KEY + rate_key, 0)
    text = render(kind, data, lang)
    message = OutboxMessage(
        kind=kind, priority=effective_priority(kind, data, priority), chat_id=chat_id, text=text,
        parse_mode=PARSE_MODE, language=lang, data=_json_safe(data), dedupe_key=dedupe_key, rate_key=rate_key,
        status=PENDING, attempts=0, parts_total=len(split_message(text)), parts_sent=0, created_at=moment,
        next_attempt_at=None,
    )
    if dedupe_key is None:
        session.add(message)
        session.flush()
        return message
    # A concurrent transaction may have taken the same key since our check: the savepoint keeps the
    # caller's transaction usable when the unique constraint says so.
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


def _rate_limited(session: Session, rate_key: str, moment: datetime) -> bool:
    recent = session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == "error", OutboxMessage.rate_key == rate_key,
            OutboxMessage.created_at > moment - ERROR_RATE_WINDOW,
        )
    )
    return bool(recent)


def outbox_counts(session: Session) -> dict[str, int]:
    """Messages per delivery state (for /status and `hantu notify status`)."""
    rows = session.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                           .group_by(OutboxMessage.status)).all()
    return {status: int(count) for status, count in rows}
