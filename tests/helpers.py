"""Small helpers tests import (`from helpers import ...`; `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hantu.strategy.base import Candidate, Decision, HeldPosition, ScreenResult, Strategy

REPO_ROOT = Path(__file__).resolve().parents[1]
# HANTU_TEST_SHARED_DATA points elsewhere (e.g. a missing folder, to check what runs on a bare checkout as in CI).
SHARED_DATA = Path(
    os.environ.get("HANTU_TEST_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data" / "krx"
).resolve()
KRX_WINDOWS = ["2021q1", "2022q1", "2023q1", "2024q1"]  # the real windows in SHARED_DATA (krx-daily-<w>.csv.gz)


def hantu_cmd(*args: str) -> list[str]:
    """The `hantu` CLI as a subprocess command, using this interpreter."""
    return [sys.executable, "-m", "hantu", *args]


def run_hantu(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with the test's environment (plus `env`)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        hantu_cmd(*args), capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, input=input
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` every `interval` seconds until it holds; fail naming `what` after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def outbox_rows(database):  # type: ignore[no-untyped-def]
    """Every outbox row of `database`, oldest first."""
    from sqlalchemy import select

    from hantu.store.models import OutboxMessage

    with database.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))



class IntradayOnly(Strategy):
    """A base for test strategies the trading session runs on candidates a test hands it: no screening or
    selection (those raise), no entry and no exit unless a subclass decides one."""

    def screen(self, panel: Any, on: date, instruments: Any = None) -> ScreenResult:
        raise NotImplementedError("an intraday-only test strategy does not screen")

    def select(self, panel: Any, screen: ScreenResult, on: date) -> list[Candidate]:
        raise NotImplementedError("an intraday-only test strategy does not select")

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return None


def configured_database():  # type: ignore[no-untyped-def]
    """The database the test's configuration names (what the CLI and the scheduler open)."""
    from hantu.config import get_settings
    from hantu.store.db import get_database

    return get_database(get_settings().resolved_database_url)


def configured_store():  # type: ignore[no-untyped-def]
    """The market store of the test's configuration (`$HANTU_HOME/market`)."""
    from hantu.config import get_settings
    from hantu.market.store import open_market_store

    return open_market_store(get_settings())


def hantu_home() -> Path:
    """The test's `HANTU_HOME` (set by the autouse `isolated_env` fixture)."""
    from hantu.config import get_settings

    return Path(get_settings().hantu_home)


# --- parallel runs (pytest-xdist): what several worker processes of one run share, and what they must not ----


def xdist_worker() -> str:
    """This process's xdist worker id (`gw0`, `gw1` ...), or `main` in a serial run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def unique_db_name(prefix: str) -> str:
    """A PostgreSQL database name no other test, worker or concurrent run uses (the worker id says whose it is
    when one is left behind by a killed run)."""
    import secrets

    return f"{prefix}_{xdist_worker()}_{secrets.token_hex(6)}"


def built_once(tmp_path_factory, name: str, build) -> Path:  # type: ignore[no-untyped-def]
    """`build(directory)` once per test run, shared by every xdist worker of the run (pytest-xdist's recipe,
    "Making session-scoped fixtures execute only once", with an flock instead of the filelock package).

    For big read-only fixtures (stores imported from the real KRX files): a test that writes copies it first.
    In a serial run this is a plain directory under the session's base temp."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        base = base.parent  # pytest-N/, the run's root above popen-gw0/, popen-gw1/ ...
    shared = base / "built-once"
    shared.mkdir(exist_ok=True)
    target, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(target, ignore_errors=True)  # a build a crashed worker left half-done
                target.mkdir()
                build(target)
                done.touch()
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return target


def krx_window_store(tmp_path_factory, window: str) -> Path:  # type: ignore[no-untyped-def]
    """The real KRX window `window` (e.g. `2024q1`) imported by `KrxCsvSource` into a `MarketStore`, once per
    run for all workers. Read-only: copy it (`shutil.copytree`) to write."""

    def build(root: Path) -> None:
        from hantu.market.sources.krx_csv import KrxCsvSource
        from hantu.market.store import MarketStore

        MarketStore(root).write_days(KrxCsvSource(SHARED_DATA / f"krx-daily-{window}.csv.gz").read_all(),
                                     source="krx-csv")

    return built_once(tmp_path_factory, f"krx-{window}", build)
