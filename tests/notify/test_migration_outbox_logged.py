"""Migration 0010: log-only deliveries, counted as `sent` before, become `logged`; the downgrade undoes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from hantu.clock import KST
from hantu.store.db import Database
from hantu.store.migrate import downgrade, upgrade

AT = datetime(2024, 3, 4, 10, 0, tzinfo=KST)


def _message(conn, status: str, via: str | None) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO notify_outbox (kind, priority, text, language, status, attempts, parts_total, parts_sent,"
            " created_at, delivered_via) VALUES ('text', 'normal', 'hi', 'ko', :s, 1, 1, 1, :at, :v)"
        ),
        {"s": status, "v": via, "at": AT},
    )


def _states(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT status FROM notify_outbox ORDER BY id"))]


def test_0010_log_only_messages_become_logged(db_url: str) -> None:
    database = Database(db_url)
    upgrade(database, "0009")
    with database.engine.begin() as conn:
        _message(conn, "sent", "telegram")
        _message(conn, "sent", "log")
        _message(conn, "pending", None)
    upgrade(database, "0010")
    assert _states(database) == ["sent", "logged", "pending"]
    downgrade(database, "0009")
    assert _states(database) == ["sent", "sent", "pending"]
    database.dispose()
