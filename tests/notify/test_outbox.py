"""The outbox: rendered at enqueue time, stored in the caller's transaction, deduplicated, validated."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hantu.clock import KST
from hantu.config import reset_settings_cache
from hantu.notify.outbox import ERROR_RATE_WINDOW, enqueue
from hantu.notify.templates import TEMPLATES, TemplateDataError, UnknownKindError
from hantu.store.models.notify import PENDING, OutboxMessage

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=KST)
FILL = {"code": "005930", "name": "삼성전자", "side": "buy", "quantity": 10, "price": 71200}


def _count(database) -> int:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return int(s.scalar(select(func.count(OutboxMessage.id))))


def test_enqueue_renders_in_korean_and_stores_in_callers_transaction(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        msg = enqueue(s, "order_filled", FILL, priority="high", now=T0)
        assert msg is not None and msg.id is not None
    with database.session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.status == PENDING and row.priority == "high" and row.language == "ko"
    assert "체결" in row.text and "삼성전자(005930)" in row.text and "712,000원" in row.text
    assert row.created_at == T0 and row.data["price"] == 71200

    # The caller's rollback takes the message with it.
    with pytest.raises(RuntimeError), database.session() as s:
        enqueue(s, "order_filled", FILL)
        raise RuntimeError("the event failed")
    assert _count(database) == 1


def test_english_by_setting(database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANTU_LANGUAGE", "en")
    reset_settings_cache()
    with database.session() as s:
        msg = enqueue(s, "order_filled", FILL)
    assert msg is not None and msg.language == "en" and "Filled" in msg.text and "₩712,000" in msg.text


def test_dedupe_key_makes_second_enqueue_a_noop(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        assert enqueue(s, "order_filled", FILL, dedupe_key="fill:1") is not None
        assert enqueue(s, "order_filled", FILL, dedupe_key="fill:1") is None
    with database.session() as s:
        assert enqueue(s, "order_filled", FILL, dedupe_key="fill:1") is None
        assert enqueue(s, "order_filled", FILL, dedupe_key="fill:2") is not None
    assert _count(database) == 2


def test_concurrent_dedupe_race_keeps_callers_transaction_usable(database) -> None:  # type: ignore[no-untyped-def]
    """Two transactions with the same key: the second hits the unique constraint and returns None."""
    from hantu.store.kv import kv_get, kv_set

    with database.session() as s1:
        assert enqueue(s1, "order_filled", FILL, dedupe_key="fill:race") is not None
    # Simulate "checked before the other committed": drop the pre-check by enqueueing a new row directly.
    with database.session() as s2:
        kv_set(s2, "probe", 1)
        row = OutboxMessage(kind="text", priority="low", text="x", parse_mode=None, language="ko",
                            dedupe_key="fill:race", status=PENDING, attempts=0, parts_total=1, parts_sent=0,
                            created_at=T0)
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError), s2.begin_nested():
            s2.add(row)
        assert kv_get(s2, "probe") == 1  # the outer transaction survived the savepoint rollback
    assert _count(database) == 1


def test_unknown_kind_and_missing_keys_are_clear_errors(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        with pytest.raises(UnknownKindError, match="known kinds"):
            enqueue(s, "order_exploded", {})
        with pytest.raises(TemplateDataError, match=r"missing required keys \['price'\]"):
            enqueue(s, "order_filled", {k: v for k, v in FILL.items() if k != "price"})
        with pytest.raises(ValueError, match="priority"):
            enqueue(s, "order_filled", FILL, priority="urgent")  # type: ignore[arg-type]


def test_priority_floor_deploy_failures(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        two = enqueue(s, "deploy_failures", {"consecutive_failures": 2, "reason": "Memory check failed"})
        five = enqueue(s, "deploy_failures", {"consecutive_failures": 5, "branch": "main"})
        halt = enqueue(s, "risk_halt", {"reason": "daily loss"}, priority="low")
    assert two is not None and two.priority == "high" and "연속 실패: 2회" in two.text and "⚠️" in two.text
    assert five is not None and five.priority == "critical" and five.text.startswith("🚨🚨🚨")
    assert halt is not None and halt.priority == "critical"


def test_errors_rate_limited_per_kind(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        first = enqueue(s, "error", {"error_kind": "kis_timeout", "message": "timeout"}, now=T0)
        held = [enqueue(s, "error", {"error_kind": "kis_timeout", "message": "timeout"},
                        now=T0 + timedelta(minutes=i)) for i in (1, 2, 3)]
        other = enqueue(s, "error", {"error_kind": "db", "message": "locked"}, now=T0 + timedelta(minutes=1))
    assert first is not None and other is not None and held == [None, None, None]
    with database.session() as s:
        later = enqueue(s, "error", {"error_kind": "kis_timeout", "message": "again"},
                        now=T0 + ERROR_RATE_WINDOW + timedelta(seconds=1))
    assert later is not None and "3건은 생략" in later.text


def test_every_template_documents_its_data() -> None:
    for kind, tpl in TEMPLATES.items():
        assert tpl.doc, f"{kind} has no docstring describing its data"
