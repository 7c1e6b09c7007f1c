from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hantu.store.db import Database
from hantu.store.migrate import MIGRATIONS_DIR, current_revision, downgrade, head_revision, upgrade
from hantu.store.models import all_metadata


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
        diff = compare_metadata(context, all_metadata())
    database.dispose()
    assert diff == []


def test_every_downgrade_steps_back_and_up_again(db_url: str) -> None:
    """Each migration's downgrade undoes it (a deployment rollback relies on it), down to an empty database."""
    database = Database(db_url)
    upgrade(database)
    chain = sorted(p.stem.split("_")[0] for p in (MIGRATIONS_DIR / "versions").glob("0*.py"))
    assert chain[-1] == head_revision()
    for previous in reversed(chain[:-1]):
        assert downgrade(database, previous) == previous
    assert downgrade(database, "base") is None
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    assert upgrade(database) == head_revision()
    database.dispose()


def test_db_downgrade_command(tmp_path: Path) -> None:
    from helpers import run_hantu

    assert run_hantu("db", "upgrade").returncode == 0
    done = run_hantu("db", "downgrade", "0005", "--yes")
    assert done.returncode == 0 and "database at revision 0005" in done.stdout, done.stderr
    assert json.loads(run_hantu("db", "current", "--json").stdout) == {"current": "0005", "head": head_revision()}
    wrong = run_hantu("db", "downgrade", "0006", "--yes")  # above the current revision: not a downgrade
    assert wrong.returncode == 1 and "cannot downgrade to '0006'" in wrong.stderr
    assert run_hantu("db", "downgrade", "0005", "--yes").stdout.strip() == "database already at revision 0005"


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


def test_the_process_wide_risk_marks_become_the_one_books(db_url: str) -> None:
    """0020: with one book the old marks are its own (its drawdown peak survives the upgrade); with two they cannot
    be attributed and restart."""
    from datetime import datetime

    from hantu.clock import KST
    from hantu.store.kv import kv_get, kv_set
    from hantu.store.models import TradeAccount
    from hantu.trading.risk import PEAK_KEY, RiskManager, book_key

    database = Database(db_url)
    upgrade(database, "0019")
    moment = datetime(2026, 11, 6, 9, 0, tzinfo=KST)
    with database.session() as session:
        session.add(TradeAccount(broker="kis", base_cash=10_000_000, base_positions={}, base_at=moment,
                                 cash=10_000_000, updated_at=moment))
        kv_set(session, PEAK_KEY, 12_000_000)
        kv_set(session, "trading.risk.daily_block", {"day": "2026-11-06", "loss": 0.04})
    assert upgrade(database) == head_revision()
    with database.session() as session:
        assert kv_get(session, PEAK_KEY) is None
        assert kv_get(session, book_key(PEAK_KEY, "kis")) == 12_000_000
        assert RiskManager("kis").entries_blocked(session, moment) == "daily loss limit reached (4.0%)"
    downgrade(database, "0019")
    with database.session() as session:
        session.add(TradeAccount(broker="shadow", base_cash=5_000_000, base_positions={}, base_at=moment,
                                 cash=5_000_000, updated_at=moment))
    upgrade(database)
    with database.session() as session:
        assert kv_get(session, PEAK_KEY) is None and kv_get(session, book_key(PEAK_KEY, "shadow")) is None
        assert kv_get(session, book_key(PEAK_KEY, "kis")) is None  # two books: the old mark is nobody's
    database.dispose()
