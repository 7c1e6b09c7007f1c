"""Fixtures for the API tests: a seeded database (SQLite and PostgreSQL) and a client on a frozen clock."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_seed import API_KEY, NOW, seed
from fastapi.testclient import TestClient

from hantu.clock import FrozenClock

from helpers import unique_db_name


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def seeded(database, isolated_env):  # type: ignore[no-untyped-def]
    from api_seed import seed_market

    seed(database)
    seed_market(isolated_env)
    return database


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> Iterator[Callable[..., TestClient]]:
    """Build a client for an app made from the environment (plus `env`), on the frozen clock."""
    clients: list[TestClient] = []

    def make(env: dict[str, str] | None = None, key: str | None = None) -> TestClient:
        from hantu.api.app import create_app
        from hantu.config import load_settings, reset_settings_cache

        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        if key is not None:
            monkeypatch.setenv("API_SERVER_KEY", key)
        reset_settings_cache()
        client = TestClient(create_app(load_settings(), clock), base_url="http://127.0.0.1:8000")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(seeded, make_client) -> TestClient:  # type: ignore[no-untyped-def]
    """A keyless client (loopback) on the seeded database."""
    return make_client()


@pytest.fixture
def keyed(seeded, make_client) -> TestClient:  # type: ignore[no-untyped-def]
    """A client of a server with API_SERVER_KEY set, sending the key."""
    c = make_client(key=API_KEY)
    c.headers["X-API-Key"] = API_KEY
    return c


PG_ADMIN = os.environ.get("HANTU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, Path]]:
    """One migrated, seeded database per test module and backend, for tests that only read.

    (Creating and migrating a PostgreSQL database per test would cost seconds each.)"""
    from api_seed import seed_market

    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    home = tmp_path_factory.mktemp("home")
    seed_market(home)
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'ro.db'}"
        drop = None
    else:
        import psycopg

        admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
                name = unique_db_name("hantu_api")
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as error:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI requires PostgreSQL: {error}")
            pytest.skip(f"PostgreSQL not reachable: {error}")
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    database = Database(url)
    upgrade(database)
    seed(database)
    database.dispose()
    yield url, home
    if drop is not None:
        drop()


@pytest.fixture
def ro_client(shared_url: tuple[str, Path], make_client) -> TestClient:  # type: ignore[no-untyped-def]
    """A keyless client on the module's shared seeded database and market store: do not write through it."""
    url, home = shared_url
    return make_client({"DATABASE_URL": url, "HANTU_HOME": str(home)})
