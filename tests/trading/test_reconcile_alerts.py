"""Reconciliation alerts name their differences and list each one once (issues 17.22 and 24.7).

Two false-alarm / duplicate paths, both reproduced here: fills the session had not synced yet were logged as
`fill_missing` differences (every reconnect and restart has some), and an alert listed every row written since
the reconciliation's clock time, so a clock that went back (a restarted simulated day) re-listed older rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_session_faults import (  # noqa: F401 (fixture)
    Rig,
    assert_exact_books,
    kis,
    run_session,
    session_through_a_socket_drop,
    traded,
)

from hantu.broker.paper import PaperBroker
from hantu.broker.paper.feed import PaperFeed
from hantu.clock import FrozenClock
from hantu.store.models import OutboxMessage, PaperHolding, Reconciliation
from hantu.trading.reconcile import reconcile

CODES = ("100010", "100020")


def mismatch_alerts(database) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "reconciliation_mismatch")
                .order_by(OutboxMessage.id)
            )
        )


def reconciliation_rows(database) -> list[Reconciliation]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(session.scalars(select(Reconciliation).order_by(Reconciliation.id)))


def transfer_in(rig, code: str, quantity: int) -> None:  # type: ignore[no-untyped-def]
    """Shares appear at the broker with no fill: a real difference the next reconciliation must report."""
    with rig.database.session() as session:
        session.add(PaperHolding(account="paper", code=code, quantity=quantity, avg_price=50_000.0))


def test_each_difference_is_alerted_once_with_its_id_even_when_the_clock_goes_back(rig) -> None:  # type: ignore[no-untyped-def]
    reconcile(rig.database, rig.broker, rig.clock)  # the account's first sight: its base
    transfer_in(rig, CODES[0], 3)
    rig.clock.advance(timedelta(hours=1))
    assert reconcile(rig.database, rig.broker, rig.clock).rebased
    first = reconciliation_rows(rig.database)[-1]
    # a restart on a simulated clock that resumes earlier than the last reconciliation
    restarted = rig.restart()
    earlier = FrozenClock(rig.clock.now() - timedelta(minutes=30))
    rig = replace(
        restarted,
        clock=earlier,
        broker=PaperBroker(restarted.database, PaperFeed(rig.panel), earlier, params=rig.broker.params),
    )
    transfer_in(rig, CODES[1], 4)
    assert reconcile(rig.database, rig.broker, rig.clock).rebased
    second = reconciliation_rows(rig.database)[-1]
    assert reconcile(rig.database, rig.broker, rig.clock).mismatches == []

    alerts = mismatch_alerts(rig.database)
    assert len(alerts) == 2
    assert [[item["code"] for item in a.data["items"]] for a in alerts] == [[CODES[0]], [CODES[1]]]
    assert [[item["id"] for item in a.data["items"]] for a in alerts] == [[first.id], [second.id]]
    assert f"#{first.id} " in alerts[0].text and f"#{first.id} " not in alerts[1].text
    assert f"#{second.id} " in alerts[1].text
    assert alerts[0].text != alerts[1].text
    assert len({a.dedupe_key for a in alerts}) == 2


def test_overlapping_reconciliations_never_list_a_row_twice(rig) -> None:  # type: ignore[no-untyped-def]
    """Two reconciliations running at once (a `trade reconcile` beside the session) both see the rows written
    since either began; the one that alerts second lists only what the first did not."""
    from hantu.trading.reconcile import ReconcileReport, _alert_differences

    reconcile(rig.database, rig.broker, rig.clock)
    with rig.database.session() as session:
        session.add(
            Reconciliation(
                at=rig.clock.now(),
                broker="paper",
                kind="quantity_mismatch",
                code=CODES[0],
                details={"code": CODES[0], "field": "quantity", "ours": 0, "broker": 3},
                action="took the broker's figures as the new base",
            )
        )
    row = reconciliation_rows(rig.database)[-1]
    for _ in range(2):
        with rig.database.session() as session:
            _alert_differences(session, "paper", ReconcileReport(at=rig.clock.now(), rebased=True), row.id)
    alerts = mismatch_alerts(rig.database)
    assert len(alerts) == 1 and [item["id"] for item in alerts[0].data["items"]] == [row.id]


def test_fills_after_a_socket_reconnect_are_fills_not_mismatches(kis: Rig) -> None:  # noqa: F811
    """The session's WebSocket drops mid-session; the reconciliation after the reconnect records the fills the
    session had not synced yet as ordinary fills: no `fill_missing` rows, no "Reconciliation mismatch"."""
    feed, report = session_through_a_socket_drop(kis)
    assert feed.drops >= 1 and len(report.reconciliations) >= 2
    assert sum(r.new_fills for r in report.reconciliations) >= 1  # the reconnect did find unsynced fills
    assert traded(kis) >= 4
    assert [r.kind for r in reconciliation_rows(kis.database)] == []
    assert mismatch_alerts(kis.database) == []
    with kis.database.session() as session:
        filled = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "order_filled")).all()
    assert len(filled) >= 4  # each fill announced once, as a fill
    assert_exact_books(kis)


@pytest.mark.xdist_group("sigkill")
@pytest.mark.slow
def test_sigkills_mid_day_leave_no_false_or_repeated_mismatch_alerts(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The crash loop of `test_crash` (SIGKILL at random moments, restart, reconcile), shortened: the restarts'
    reconciliations record the fills the killed runs had not synced as fills, and no alert repeats a row."""
    import time

    from test_crash import child_env, crash_loop

    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    database = Database(db_url)
    upgrade(database)
    loop = crash_loop(
        db_url,
        "paper",
        child_env(tmp_path / "home"),
        time.monotonic(),
        runs=20,
        seed=3,
        max_delay=1.6 if database.is_sqlite else 4.0,
    )  # PostgreSQL start-ups take longer
    assert loop.killed >= 16 and loop.started >= 6
    rows = reconciliation_rows(database)
    assert [r.kind for r in rows if r.kind == "fill_missing"] == []
    listed = [item["id"] for a in mismatch_alerts(database) for item in a.data["items"]]
    assert len(listed) == len(set(listed)) and set(listed) <= {r.id for r in rows}
    texts = [a.text for a in mismatch_alerts(database)]
    assert len(texts) == len(set(texts))
    database.dispose()
