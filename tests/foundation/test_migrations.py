from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hantu.store.db import Database
from hantu.store.migrate import current_revision, head_revision, upgrade
from hantu.store.models import Base


def test_migrations_from_empty_reach_head(db_url: str) -> None:
    database = Database(db_url)
    assert current_revision(database) is None
    assert upgrade(database) == head_revision()
    tables = set(inspect(database.engine).get_table_names())
    assert {"instruments", "job_runs", "kv_settings", "audit_log"} <= tables
    # A second upgrade is a no-op.
    assert upgrade(database) == head_revision()
    database.dispose()


def test_models_match_migrations(db_url: str) -> None:
    """The ORM models and the migration scripts describe the same schema (no drift)."""
    database = Database(db_url)
    upgrade(database)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    database.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(db_url: str) -> None:
    database = Database(db_url)
    upgrade(database)
    upgrade_down = __import__("hantu.store.migrate", fromlist=["alembic_config"])
    from alembic import command

    config = upgrade_down.alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "job_runs" not in inspect(database.engine).get_table_names()
    assert upgrade(database) == head_revision()
    database.dispose()


def test_two_processes_upgrading_together(db_url: str, tmp_path: Path) -> None:
    script = (
        "import sys; from hantu.store.db import Database; from hantu.store.migrate import upgrade; "
        "print(upgrade(Database(sys.argv[1])))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, db_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == head_revision()
