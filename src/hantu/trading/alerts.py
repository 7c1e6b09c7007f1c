"""Alerts of the trading engine: written to the notification outbox in the caller's transaction.

The outbox (`hantu.notify.outbox`) delivers them later (Telegram), in order, once each; writing them in the same
transaction as the event means an event is never recorded without its alert, nor alerted without being recorded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hantu.market.names import display_name

if TYPE_CHECKING:
    from hantu.notify.outbox import Priority

log = logging.getLogger(__name__)

KINDS = ("order_placed", "order_filled", "order_partially_filled", "order_rejected", "order_cancelled",
         "stop_hit", "target_hit", "risk_halt", "reconciliation_mismatch", "corporate_action",
         "order_held")


def alert(session: Session, kind: str, data: dict[str, Any], priority: Priority = "normal",
          dedupe_key: str | None = None) -> None:
    """Queue one alert of `kind` (see `KINDS`) with its template data (`name` is filled in from `code`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    payload = dict(data)
    if payload.get("code") and not payload.get("name"):
        payload["name"] = display_name(session, str(payload["code"]))
    log.info("alert %s %s", kind, payload)
    # the outbox and its templates load with the first alert: readers of the trading modules (the API) skip them
    from hantu.notify.outbox import enqueue

    enqueue(session, kind, payload, priority=priority, dedupe_key=dedupe_key)
