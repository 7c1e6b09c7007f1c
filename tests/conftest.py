"""Shared fixtures: an isolated environment per test, and databases on SQLite and PostgreSQL.

PostgreSQL tests use the server at `HANTU_TEST_PG` (default: postgres@127.0.0.1:5432, trust auth) and create a
fresh database per test, named after the xdist worker (`hantu_test_gw0_<random>`): workers never share one.
Without a server they skip with the reason — except under CI (`CI=true`), where a missing PostgreSQL is a
failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SHARED_DATA, unique_db_name

PG_ADMIN_URL = os.environ.get("HANTU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# Keys a developer's shell or `.env` might carry that would change what a test sees.
HANTU_ENV_KEYS = (
    "APP_KEY", "APP_SECRET", "ACCOUNT_NUMBER", "KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT_NO", "SERVER",
    "KIS_SERVER", "KIS_HTS_ID", "HTS_ID", "KIS_BASE_URL", "KIS_WS_URL", "KIS_RATE_LIMIT", "TRADING_MODE",
    "REAL_TRADING_ENABLED", "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_BASE", "API_HOST",
    "API_PORT", "API_SERVER_KEY", "API_CORS_ORIGINS", "HANTU_HOME", "DATABASE_URL", "DB_HOST", "DB_PORT",
    "DB_USER", "DB_NAME", "DB_PASSWORD", "LOG_LEVEL", "PGPASSFILE", "HANTU_ENV_FILE", "HANTU_LANGUAGE",
    "HANTU_STRATEGY", "HANTU_COMMISSION_RATE", "HANTU_STRATEGY_CONFIG", "PAPER_STARTING_CASH",
)
# What an xdist worker's environment adds (execnet starts workers with these): children of a test must see what
# they see in a serial run. Unbuffered, a child's `print` is two writes, and a SIGKILL between them runs its
# line into the parent's next one (the crash tests read such lines).
XDIST_ENV_KEYS = ("PYTHONUNBUFFERED",)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test runs in its own HANTU_HOME with no user configuration leaking in."""
    for key in (*HANTU_ENV_KEYS, *XDIST_ENV_KEYS):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HANTU_HOME", str(home))
    monkeypatch.setenv("HANTU_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent.pgpass"))
    from hantu.config import reset_settings_cache
    from hantu.store.db import reset_databases

    reset_settings_cache()
    reset_databases()
    yield home
    reset_settings_cache()
    reset_databases()


def _pg_available() -> str | None:
    """None when the PostgreSQL server answers, else the reason it does not."""
    try:
        import psycopg

        dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except Exception as error:  # any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}"


_PG_REASON: str | bool | None = False


def pg_unavailable_reason() -> str | None:
    global _PG_REASON
    if _PG_REASON is False:
        _PG_REASON = _pg_available()
    return _PG_REASON  # type: ignore[return-value]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    reason = pg_unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    import psycopg

    name = unique_db_name("hantu_test")
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from hantu.store.db import reset_databases

        reset_databases()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL, once on SQLite and once on PostgreSQL: storage tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def database(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A migrated database on both backends, also set as the process's configured database."""
    from hantu.config import reset_settings_cache
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade

    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    db = get_database(db_url)
    upgrade(db)
    return db


@pytest.fixture
def shared_krx() -> Path:
    """The real KRX windows in ../shared/data/krx (read-only, never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
