"""`hantu screen` loads only what it needs (issue 19: the whole command ≤ 1 s, most of it was start-up).

One subprocess runs the command as a user does and reports, at exit, which modules it imported and the
collector's state; the in-process tests pin `hantu.cli.oneshot`'s contract."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import atexit, gc, json, runpy, sys
def report():  # registered first, so it runs after the command's own exit hook (atexit is last-in first-out)
    sys.stderr.write("REPORT " + json.dumps({"modules": sorted(sys.modules), "frozen": gc.get_freeze_count()}) + "\\n")
atexit.register(report)
sys.argv = ["hantu", *sys.argv[1:]]
runpy.run_module("hantu", run_name="__main__")
"""

# the tables `hantu screen` writes: hantu.store.models.strategy; every other model module is not its business
NOT_NEEDED = ("hantu.store.models.backtest", "hantu.store.models.control", "hantu.store.models.core",
              "hantu.store.models.drift", "hantu.store.models.notify", "hantu.store.models.research",
              "hantu.store.models.scheduler", "hantu.store.models.trading",
              "alembic",  # the schema is at head: one query, no migration machinery
              "typer._adapters",  # typer's pydantic coercion of option values (hantu.cli.lean)
              "rich",  # --json prints no table
              "pandas", "pyarrow", "matplotlib", "httpx", "fastapi", "uvicorn",
              "hantu.broker", "hantu.trading", "hantu.scheduler", "hantu.api", "hantu.notify", "hantu.backtest")


def test_screen_imports_only_what_it_needs(tmp_path: Path, isolated_env: Path) -> None:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(isolated_env / "market")
    write_sample_market(store, stocks=60, days=80, seed=3)
    day = store.trading_dates()[-1].isoformat()
    runs = [subprocess.run([sys.executable, "-c", CHILD, "screen", "--date", day, "--json"], capture_output=True,
                           text=True, timeout=120) for _ in range(2)]  # the first one creates the schema
    done = runs[-1]
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["universe"] > 50
    report = json.loads(next(line for line in done.stderr.splitlines() if line.startswith("REPORT "))[7:])
    modules = set(report["modules"])
    assert "hantu.store.models.strategy" in modules and "numpy" in modules
    loaded = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_NEEDED))
    assert loaded == []
    assert report["frozen"] > 10_000  # the start-up objects are frozen before the interpreter's last collection


@pytest.fixture
def unfrozen() -> None:
    """In-process tests share a worker with the API app, whose start-up freezes its objects (api/app.py):
    start these from an unfrozen collector."""
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_one_shot_command_pauses_the_collector_until_started_and_restores_it() -> None:
    from hantu.cli.oneshot import command, started

    seen: list[tuple[bool, int]] = []

    @command
    def job(value: int) -> int:
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        started()
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return value * 2

    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert job(21) == 42
    assert seen[0] == (False, 0) and seen[1][0] and seen[1][1] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0  # in-process (a test, CliRunner): nothing stays frozen
    started()  # outside a command: nothing
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("unfrozen")
def test_a_failing_one_shot_command_restores_the_collector() -> None:
    from hantu.cli.oneshot import command, started

    @command
    def job() -> None:
        started()
        raise SystemExit(7)

    try:
        job()
    except SystemExit as stop:
        assert stop.code == 7
    assert gc.isenabled() and gc.get_freeze_count() == 0
