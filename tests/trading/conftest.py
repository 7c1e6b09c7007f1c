"""Fixtures of the trading-engine tests: a paper broker over a small deterministic market on a frozen clock."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from simkit import at, make_panel

from hantu.clock import FrozenClock

from helpers import unique_db_name

PG_ADMIN_URL = os.environ.get("HANTU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_unavailable_reason() -> str | None:
    """The root conftest's answer (one check per session, the same CI rule)."""
    import importlib.util

    module = sys.modules.get("hantu_tests_root_conftest")
    if module is None:
        spec = importlib.util.spec_from_file_location("hantu_tests_root_conftest",
                                                      Path(__file__).resolve().parents[1] / "conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module.pg_unavailable_reason()


# --- migrated databases, fast: migrate once per test session, then copy (SQLite) or clone (PostgreSQL) -------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    path = tmp_path_factory.mktemp("trading-template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str | None]:
    if pg_unavailable_reason():
        yield None
        return
    import psycopg

    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    name = unique_db_name("hantu_trading_tmpl")
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = Database(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    upgrade(database)
    database.dispose()
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             _sqlite_template: Path) -> Iterator[Any]:
    """A migrated database on SQLite and on PostgreSQL (this area's faster version of the root fixture: the
    schema is migrated once and copied, `tests/foundation/test_migrations.py` covers the migrations)."""
    # this module's PG_ADMIN_URL and pg_unavailable_reason (a bare `from conftest import` would pick whichever
    # area's conftest was imported last when several areas run in one session)
    from hantu.config import reset_settings_cache
    from hantu.store.db import get_database, reset_databases

    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(_sqlite_template, target)
        url, dropper = f"sqlite:///{target}", None
    else:
        reason = pg_unavailable_reason()
        if reason:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI requires PostgreSQL: {reason}")
            pytest.skip(reason)
        import psycopg

        template = request.getfixturevalue("_pg_template")
        name = unique_db_name("hantu_test")
        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"

        def dropper() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings_cache()
    try:
        yield get_database(url)
    finally:
        reset_databases()
        if dropper is not None:
            dropper()


@dataclass
class PaperRig:
    database: Any
    broker: Any
    clock: FrozenClock
    panel: Any

    def restart(self) -> PaperRig:
        """A new broker and database handle over the same storage: what a process restart sees."""
        from hantu.broker.paper import PaperBroker
        from hantu.broker.paper.feed import PaperFeed
        from hantu.store.db import Database

        self.database.dispose()
        database = Database(self.database.url)
        broker = PaperBroker(database, PaperFeed(self.panel), self.clock, params=self.broker.params)
        return PaperRig(database, broker, self.clock, self.panel)


@pytest.fixture
def rig(database) -> PaperRig:  # type: ignore[no-untyped-def]
    from hantu.broker.paper import PaperBroker
    from hantu.broker.paper.feed import PaperFeed

    panel = make_panel()
    clock = FrozenClock(at("09:30"))
    return PaperRig(database, PaperBroker(database, PaperFeed(panel), clock), clock, panel)
