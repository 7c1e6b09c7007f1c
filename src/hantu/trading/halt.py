"""The kill switch: one persisted flag that stops new orders, set from the CLI, the API or Telegram.

Stored in the key-value table so it survives restarts; every change is audited in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.clock import KST
from hantu.store.audit import audit
from hantu.store.kv import kv_get, kv_set

HALT_KEY = "trading.halt"


@dataclass(frozen=True)
class HaltState:
    halted: bool
    reason: str = ""
    by: str = ""
    at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"halted": self.halted, "reason": self.reason, "by": self.by,
                "at": self.at.isoformat() if self.at else None}


def halt_state(session: Session) -> HaltState:
    raw = kv_get(session, HALT_KEY) or {}
    at = raw.get("at")
    return HaltState(bool(raw.get("halted", False)), raw.get("reason", ""), raw.get("by", ""),
                     datetime.fromisoformat(at) if at else None)


def is_halted(session: Session) -> bool:
    return halt_state(session).halted


def set_halt(session: Session, halted: bool, reason: str, source: str, actor: str,
             now: datetime | None = None) -> HaltState:
    """Halt or resume new entries; `source` is cli | api | telegram | risk | scheduler."""
    moment = now or datetime.now(KST)
    state = HaltState(halted, reason, f"{source}:{actor}", moment)
    kv_set(session, HALT_KEY, state.as_dict())
    audit(session, source, actor, "halt" if halted else "resume", {"reason": reason}, at=moment)
    return state
