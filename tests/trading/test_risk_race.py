"""Two processes placing orders at once (the engine and a manual CLI order) cannot both pass a limit meant for
one: the risk check and the intent are one serialised step (`hantu.store.db.lock_section`).

Each side has its own `Database` (its own connections, as two processes would), and the check is slowed so
that without the lock both would read the book before either wrote its intent."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from test_risk import CODES, buy, configure, engine_for

from hantu.store.models import TradeOrder
from hantu.trading.engine import TradingEngine
from hantu.trading.risk import RiskManager


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every risk check takes 0.3 s after reading the book; returns when each check started."""
    started: list[float] = []
    original = RiskManager.check_order

    def slow(self, session, check, now, equity):  # type: ignore[no-untyped-def]
        started.append(time.monotonic())
        verdict = original(self, session, check, now, equity)
        time.sleep(0.3)
        return verdict

    monkeypatch.setattr(RiskManager, "check_order", slow)
    return started


def test_concurrent_entries_respect_max_open_positions(rig, slow_checks) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_open_positions=1, max_new_entries_per_day=10)
    engine_for(rig)  # the book starts reconciled
    other = rig.restart()  # a second process: its own database handle and broker
    engines = [TradingEngine(rig.database, rig.broker, rig.clock),
               TradingEngine(other.database, other.broker, rig.clock)]
    results: dict[str, object] = {}

    def place(engine: TradingEngine, code: str) -> None:
        results[code] = buy(engine, code)

    threads = [threading.Thread(target=place, args=(engine, code)) for engine, code in zip(engines, CODES[:2], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other.database.dispose()

    allowed = [code for code, result in results.items() if result.ok]  # type: ignore[attr-defined]
    refused = [result.verdict.reason for result in results.values() if not result.ok]  # type: ignore[attr-defined]
    assert len(results) == 2 and len(allowed) == 1, results
    assert refused and "max open positions" in refused[0]
    assert abs(slow_checks[1] - slow_checks[0]) >= 0.25  # the second check waited for the first to finish
    with rig.database.session() as session:
        assert session.scalars(select(TradeOrder.code)).all() == allowed


def test_a_reconciliation_elsewhere_leaves_an_order_in_flight_alone(rig) -> None:  # type: ignore[no-untyped-def]
    """While the engine's order is on its way to the broker, another process reconciles (a manual order, a
    start-up): the intent is not closed as never-arrived, so it still counts as today's entry and no second
    entry for the stock goes out."""
    from hantu.trading.reconcile import reconcile

    configure(rig, max_open_positions=5, max_new_entries_per_day=10)
    engine = engine_for(rig)
    other = rig.restart()
    seen: dict[str, object] = {}
    place = rig.broker.place

    def place_slowly(request):  # type: ignore[no-untyped-def]
        reconcile(other.database, other.broker, rig.clock)  # the other process, mid-flight
        with other.database.session() as session:
            row = session.scalar(select(TradeOrder).where(TradeOrder.client_order_id == request.client_order_id))
            seen["status"] = row.status
            seen["entries"] = RiskManager(other.broker.name).entries_today(session, rig.clock.now().date())
        return place(request)

    rig.broker.place = place_slowly
    assert buy(engine, CODES[0]).ok
    other.database.dispose()
    assert seen == {"status": "new", "entries": {CODES[0]}}
    with rig.database.session() as session:
        statuses = session.scalars(select(TradeOrder.status)).all()
    assert statuses == ["submitted"]
