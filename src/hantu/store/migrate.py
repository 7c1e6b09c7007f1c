"""Schema upgrades: `hantu db upgrade`, and at the start of every long-running process.

Two processes starting together must not both migrate: SQLite upgrades run under an exclusive file lock next
to the database, PostgreSQL upgrades under a transaction-scoped advisory lock. Upgrading an up-to-date
database is a no-op.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hantu.store.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK_ID = 0x48414E5455  # "HANTU"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


@contextmanager
def _sqlite_file_lock(database: Database) -> Iterator[None]:
    db_path = database.url.split("///", 1)[1] if "///" in database.url else ""
    if not db_path or db_path == ":memory:":
        yield
        return
    lock_path = Path(db_path + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; safe to call from several processes at once. Returns the revision."""
    config = alembic_config(database.url)
    if database.is_sqlite:
        with _sqlite_file_lock(database), database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        with database.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATION_LOCK_ID})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    return current_revision(database)


def ensure_schema(database: Database) -> None:
    """Upgrade only when behind: the common case (already at head) costs one query, no lock."""
    if current_revision(database) != head_revision():
        upgrade(database)
