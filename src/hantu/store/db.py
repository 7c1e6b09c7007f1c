"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, through the same code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
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
        engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                             "check_same_thread": False})
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


def get_database(url: str | None = None) -> Database:
    """The process-wide `Database` for `url` (default: the configured one)."""
    if url is None:
        from hantu.config import get_settings

        url = get_settings().resolved_database_url
    if url not in _databases:
        _databases[url] = Database(url)
    return _databases[url]


def reset_databases() -> None:
    """Dispose every cached engine (tests, and `hantu demo` switching homes)."""
    for database in _databases.values():
        database.dispose()
    _databases.clear()
