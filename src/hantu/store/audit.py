"""The audit log: one row per control action, written in the same transaction as the action."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.clock import KST
from hantu.store.models import AuditEntry


def cli_user() -> str:
    """The user running the CLI (the halt state adds its own `cli:` source prefix)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def cli_actor() -> str:
    return f"cli:{cli_user()}"


def audit(
    session: Session,
    source: str,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
    outcome: str = "ok",
    at: datetime | None = None,
) -> AuditEntry:
    entry = AuditEntry(at=at or datetime.now(KST), source=source, actor=actor, action=action,
                       outcome=outcome, details=details)
    session.add(entry)
    return entry
