"""Read and write the key-value settings table (one transaction per change)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hantu.clock import KST
from hantu.store.models import KeyValue


def kv_get(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(KeyValue, key)
    return default if row is None else row.value


def kv_set(session: Session, key: str, value: Any) -> None:
    from datetime import datetime

    now = datetime.now(KST)
    row = session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
