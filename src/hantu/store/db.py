"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, through the same code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite files get their directory created and the pragmas set per connection."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """An engine and its session factory; one per process and database URL."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


# pg_advisory_xact_lock keys of the sections that `lock_section` serialises (the migration lock is separate)
SECTION_LOCK_IDS = {"orders": 0x68616E7501}


def lock_section(session: Session, name: str) -> None:
    """Serialise a read-check-write section across threads and processes until `session`'s transaction ends.

    Call it first in the transaction. Risk checks read positions and open orders, then write an intent; two
    processes (the engine and a manual CLI order) doing that at once could both pass a limit meant for one.
    PostgreSQL takes a transaction-scoped advisory lock. SQLite has one writer at a time: an empty write makes
    this transaction the writer at once (waiting up to the busy timeout), and in WAL mode a transaction whose
    first statement is a write reads the latest committed data."""
    lock_id = SECTION_LOCK_IDS[name]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    else:
        session.execute(text("UPDATE kv_settings SET key = key WHERE 0 = 1"))


_databases: dict[str, Database] = {}


def get_database(url: str) -> Database:
    """The process-wide `Database` for `url` (the entry points pass `settings.resolved_database_url`)."""
    if url not in _databases:
        _databases[url] = Database(url)
    return _databases[url]


def reset_databases() -> None:
    """Dispose every cached engine (tests, and `hantu demo` switching homes)."""
    for database in _databases.values():
        database.dispose()
    _databases.clear()


# What SQLite says when the file itself is damaged (not when it is busy, missing or read-only).
_SQLITE_DAMAGE = (
    "file is not a database",
    "database disk image is malformed",
    "malformed database schema",
    "file is encrypted or is not a database",
)


class DatabaseCorruptError(Exception):
    """The database file is damaged: it cannot be used, and nothing was written to it."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(
            f"the database {location} is damaged ({reason}); nothing was written to it. Restore it "
            "from a backup, or move it aside to start an empty one (see docs/operations.md)"
        )


def damage_of(error: BaseException, url: str | None = None) -> DatabaseCorruptError | None:
    """`error` as a `DatabaseCorruptError` when it is SQLite reporting a damaged file, else None."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        original = current.orig if isinstance(current, DBAPIError) else None  # the driver's own error
        for candidate in (current, original):
            if isinstance(candidate, sqlite3.DatabaseError):
                message = str(candidate).lower()
                reason = next((d for d in _SQLITE_DAMAGE if d in message), None)
                if reason is not None:
                    return DatabaseCorruptError(_location(url), reason)
        current = current.__cause__ or current.__context__
    return None


def _location(url: str | None) -> str:
    if url is None:
        return "file"
    return url.split("///", 1)[1] if url.startswith("sqlite") and "///" in url else "file"


def integrity_problem(database: Database) -> str | None:
    """SQLite's `PRAGMA quick_check` (None when it passes, else its first complaint); None on PostgreSQL, whose
    server checks its own pages."""
    if not database.is_sqlite:
        return None
    with database.engine.connect() as connection:
        rows = [str(r[0]) for r in connection.execute(text("PRAGMA quick_check"))]
    return None if rows == ["ok"] else "; ".join(rows[:3])[:300]
