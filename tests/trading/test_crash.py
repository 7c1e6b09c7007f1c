"""Quality bar R1: SIGKILL the engine at random moments of a simulated trading day, restart it, and check that
nothing was sent twice, every broker fill is recorded exactly once, and positions and cash equal the broker's.

The engine runs in a child process (`crash_child.py`) on a simulated clock shared with this process (anchored
on the system-wide monotonic clock). Each run is killed with SIGKILL after a random delay (a tenth
during start-up, the rest mid-session, timed from the loop's start); the next run starts where the clock is
then. A last run only reconciles.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from simkit import DAY, at, make_panel
from sqlalchemy import select

from hantu.store.db import Database
from hantu.store.models import (
    PaperFill,
    PaperHolding,
    PaperOrder,
    Reconciliation,
    TradeAccount,
    TradeFill,
    TradeOrder,
    TradePosition,
)
from hantu.trading import ledger

CHILD = Path(__file__).with_name("crash_child.py")
RUNS = 50
SPEED = 500.0  # simulated seconds per wall second: 50 runs cover most of the day
KIS_SPEED = 300.0  # HTTP round trips make KIS engine runs slower: longer runs, slower clock
START_UP_KILLS = 0.1  # the share of runs killed before their session loop starts


@dataclass
class CrashLoop:
    started: int = 0  # runs that got as far as the session loop before the kill
    killed: int = 0
    final: str = ""
    errors: list[str] = field(default_factory=list)


class Zygote:
    """The forking engine launcher (`crash_child.py`), read line by line through a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("READY", timeout=120)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float = 60) -> tuple[str, list[str]]:
        """The first line starting with `prefix`, and the other lines seen meanwhile."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {prefix!r} line; saw {seen[-20:]}; stderr: {self._stderr()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line, seen
            seen.append(line)

    def drain(self) -> list[str]:
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return out

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-3000:]

    def close(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def crash_loop(db_url: str, mode: str, env: dict[str, str], anchor_mono: float, kis: dict[str, Any] | None = None,
               runs: int = RUNS, seed: int = 1, speed: float = SPEED, max_delay: float = 1.6) -> CrashLoop:
    rng = random.Random(seed)
    result = CrashLoop()
    zygote = Zygote(["--db", db_url, "--mode", mode, "--anchor-sim", at("08:58").isoformat(),
                     "--anchor-mono", repr(anchor_mono), "--speed", str(speed), "--kis", json.dumps(kis or {})],
                    env)
    try:
        for _ in range(runs):
            zygote.send("run")
            pid = int(zygote.expect("PID")[0].split()[1])
            before: list[str] = []
            if rng.random() < START_UP_KILLS:
                time.sleep(rng.uniform(0.0, 0.3))  # during start-up: reconciliation, the account, the lock
            else:
                # mid-session, timed from the loop's start: on a starved machine (a parallel test run) a timer
                # from the fork would kill most runs before they trade, and the day would pass with no orders
                line, before = zygote.expect(f"STARTED {pid}")
                before.append(line)
                time.sleep(rng.uniform(0.02, max_delay))
            os.kill(pid, signal.SIGKILL)
            zygote.send(f"wait {pid}")
            line, seen = zygote.expect(f"EXIT {pid}")
            seen = before + seen
            status = int(line.split()[2])
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                result.killed += 1
            elif status != 0:
                result.errors.append(f"engine {pid} exited with status {status}")
            result.started += sum(1 for s in seen if s.startswith(f"STARTED {pid}"))
        zygote.send("final")
        pid = int(zygote.expect("PID")[0].split()[1])
        result.final = zygote.expect("FINAL", timeout=120)[0]
        assert json.loads(result.final.split(" ", 1)[1])["compared"], result.final
        zygote.send(f"wait {pid}")
        zygote.expect(f"EXIT {pid}")
    finally:
        stderr = zygote.close()
    assert not result.errors, (result.errors, stderr[-5000:])
    assert "Traceback" not in stderr, stderr[-5000:]
    return result


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HANTU_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return env


def assert_engine_book_is_consistent(database: Database, broker: str) -> None:
    """The book derived from fills equals the incrementally kept positions and cash rows."""
    with database.session() as session:
        book = ledger.derive_book(session, broker)
        rows = {p.code: p for p in session.scalars(select(TradePosition).where(TradePosition.broker == broker))}
        assert {c: h.quantity for c, h in book.positions.items()} == {c: p.quantity for c, p in rows.items()}
        assert session.get(TradeAccount, broker).cash == book.cash  # type: ignore[union-attr]
        bad = session.scalars(select(Reconciliation).where(
            Reconciliation.kind.in_(("quantity_mismatch", "cash_mismatch")))).all()
        assert bad == [], [(r.kind, r.details) for r in bad]


def assert_no_economic_duplicates(database: Database) -> None:
    """At most one entry per stock reached the broker (re-pricings of it excepted)."""
    with database.session() as session:
        entries = session.scalars(select(TradeOrder).where(
            TradeOrder.purpose == "entry", TradeOrder.replaces_id.is_(None),
            TradeOrder.broker_order_id.is_not(None))).all()
        per_code = Counter(o.code for o in entries)
        assert all(n == 1 for n in per_code.values()), per_code


@pytest.mark.xdist_group("sigkill")
@pytest.mark.slow
def test_sigkill_at_random_moments_with_the_paper_broker(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    database = Database(db_url)
    from hantu.store.migrate import upgrade

    upgrade(database)
    loop = crash_loop(db_url, "paper", child_env(tmp_path / "home"), time.monotonic())
    assert loop.killed >= RUNS * 0.8, loop.killed
    assert loop.started >= RUNS * 0.5, f"only {loop.started} runs reached trading before the kill"

    with database.session() as session:
        broker_orders = session.scalars(select(PaperOrder)).all()
        engine_orders = session.scalars(select(TradeOrder)).all()
        broker_fills = session.scalars(select(PaperFill)).all()
        engine_fills = session.scalars(select(TradeFill)).all()
        holdings = {h.code: h.quantity for h in session.scalars(select(PaperHolding)) if h.quantity}
        paper_cash = session.scalars(select(TradeAccount)).one().cash
        from hantu.store.models import PaperAccount

        broker_cash = session.get(PaperAccount, "paper").cash  # type: ignore[union-attr]
        book = ledger.derive_book(session, "paper")

    # Enough happened for the test to mean something.
    assert len(broker_orders) >= 6 and len(broker_fills) >= 15, (len(broker_orders), len(broker_fills))
    # Zero duplicate orders: each intent reached the broker at most once, each broker order is one intent.
    sent_ids = Counter(o.client_order_id for o in broker_orders)
    assert max(sent_ids.values()) == 1, sent_ids.most_common(3)
    by_broker_id = {o.broker_order_id: o for o in engine_orders if o.broker_order_id}
    assert set(by_broker_id) == {o.broker_order_id for o in broker_orders}
    for order in broker_orders:
        assert by_broker_id[order.broker_order_id].client_order_id == order.client_order_id
        assert by_broker_id[order.broker_order_id].filled_quantity == order.filled_quantity
    assert_no_economic_duplicates(database)
    # Every broker fill in the database exactly once.
    assert Counter(f.fill_id for f in engine_fills) == Counter(f.fill_id for f in broker_fills)
    # Positions and cash equal the broker's.
    assert {c: h.quantity for c, h in book.positions.items()} == holdings
    assert book.cash == broker_cash == paper_cash
    assert_engine_book_is_consistent(database, "paper")


@pytest.mark.xdist_group("sigkill")
@pytest.mark.slow
def test_sigkill_at_random_moments_with_kis_sandbox(tmp_path: Path) -> None:
    pytest.importorskip("hantu.sandbox.kis.app")
    from hantu.clock import SimClock
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions
    from hantu.store.migrate import upgrade

    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    database = Database(db_url)
    upgrade(database)
    anchor_mono = time.monotonic()
    clock = SimClock(at("08:58"), KIS_SPEED)
    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, participation=0.02)
    home = tmp_path / "home"
    with start_kis_sandbox(make_panel(), clock, options) as sandbox:
        account = sandbox.create_account("virtual", cash=10_000_000)
        kis = {"app_key": account.app_key, "app_secret": account.app_secret, "server": "virtual",
               "account": account.cano + account.product_code, "hts_id": account.hts_id,
               "base_url": sandbox.base_url, "ws_url": sandbox.ws_url, "rate_limit": 1000.0, "home": str(home),
               "timeout": 2.0, "backoff_initial": 0.01, "backoff_max": 0.05}
        loop = crash_loop(db_url, "kis", child_env(home), anchor_mono, kis, seed=2, speed=KIS_SPEED,
                          max_delay=2.8)
        exchange = sandbox.state.exchange
        sandbox_orders = [o for o in exchange.orders_of(account, DAY, DAY) if o.kind != "cancel"]
        holdings = {c: p.quantity for c, p in account.positions.items() if p.quantity}
        sandbox_cash = account.cash
    assert loop.killed >= RUNS * 0.8, loop.killed
    assert loop.started >= RUNS * 0.5, f"only {loop.started} runs reached trading before the kill"
    with database.session() as session:
        engine_orders = session.scalars(select(TradeOrder)).all()
        engine_fills = session.scalars(select(TradeFill)).all()
        book = ledger.derive_book(session, "kis")
    assert len(sandbox_orders) >= 6, len(sandbox_orders)
    # Zero duplicate orders at the sandbox: every sandbox order is exactly one engine intent.
    linked = Counter(o.broker_order_id for o in engine_orders if o.broker_order_id)
    assert max(linked.values()) == 1
    assert set(linked) == {o.odno for o in sandbox_orders}
    assert_no_economic_duplicates(database)
    # Every sandbox fill in the database exactly once: per order, recorded quantity and amount equal the
    # sandbox's executions, and no fill id twice.
    assert max(Counter(f.fill_id for f in engine_fills).values()) == 1
    for order in sandbox_orders:
        mine = [f for f in engine_fills if f.broker_order_id == order.odno]
        assert sum(f.quantity for f in mine) == order.filled, order.odno
        assert sum(f.amount for f in mine) == order.fill_value, order.odno
    executions = sum(len(o.fills) for o in sandbox_orders)
    assert executions >= 15
    # Cash: the sandbox rounds costs per execution, KIS reports fills per order; the engine takes the
    # difference (a won or two per execution, never more) from the broker at reconciliation.
    with database.session() as session:
        drift = sum(r.details["diff"] for r in session.scalars(
            select(Reconciliation).where(Reconciliation.kind == "cash_rounding")))
    assert abs(drift) <= 2 * executions, (drift, executions)
    # Positions and cash equal the sandbox's.
    assert {c: h.quantity for c, h in book.positions.items()} == holdings
    assert book.cash == sandbox_cash
    assert_engine_book_is_consistent(database, "kis")
