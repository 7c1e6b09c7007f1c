"""Schema upgrades: `hantu db upgrade`, and at the start of every long-running process; `hantu db downgrade`
when a deployment is rolled back.

Two processes starting together must not both migrate: SQLite upgrades run under an exclusive file lock next
to the database, PostgreSQL upgrades under a transaction-scoped advisory lock. Upgrading an up-to-date
database is a no-op.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from hantu.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK_ID = 0x48414E5455  # "HANTU"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_REVISION_RE = re.compile(r"^revision\s*=\s*[\"'](\w+)[\"']", re.M)
_DOWN_RE = re.compile(r"^down_revision\s*=\s*[\"'](\w+)[\"']", re.M)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision, read from the scripts' text (no Alembic import: every process start asks)."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text_ = script.read_text(encoding="utf-8")
        found = _REVISION_RE.search(text_)
        if found:
            revisions.add(found.group(1))
        down = _DOWN_RE.search(text_)
        if down:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations must form one chain; heads: {sorted(heads)}")
    return heads.pop()


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
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(database: Database, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; safe to call from several processes at once. Returns the revision."""
    return _migrate(database, "upgrade", revision)


def downgrade(database: Database, revision: str) -> str | None:
    """Take the schema back to `revision` (what a rolled-back deployment's code expects). The tables and
    columns that later migrations added are dropped with their data. Returns the revision reached."""
    return _migrate(database, "downgrade", revision)


def _migrate(database: Database, direction: str, revision: str) -> str | None:
    """One Alembic run in one transaction (both databases have transactional DDL: a failure changes nothing),
    under the cross-process lock."""
    from alembic import command

    run = command.upgrade if direction == "upgrade" else command.downgrade
    config = alembic_config(database.url)
    if database.is_sqlite:
        with _sqlite_file_lock(database), database.engine.begin() as connection:
            config.attributes["connection"] = connection
            run(config, revision)
    else:
        with database.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATION_LOCK_ID})
            config.attributes["connection"] = connection
            run(config, revision)
    return current_revision(database)


def ensure_schema(database: Database) -> None:
    """Upgrade only when behind: the common case (already at head) costs one query, no lock."""
    if current_revision(database) != head_revision():
        upgrade(database)
