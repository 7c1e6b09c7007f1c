"""Telegram trading commands round-trip against the Telegram sandbox and the KIS sandbox: nothing reaches the
broker before a confirmation; a confirmation sends exactly one order, however often it is tapped and across a
restart; a "no", an expired confirmation or another chat send nothing."""

from __future__ import annotations

import pytest
from control_kit import CHAT, KAKAO, SAMSUNG
from control_support import chat_for
from sqlalchemy import select

from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.store.models import AuditEntry, TradeOrder
from hantu.store.models.control import ControlAction
from hantu.trading.halt import set_halt

STRANGER = "999000111"
BOTH = pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)  # row locks and claims on both


@BOTH
def test_sell_confirmed_sends_one_order_and_more_taps_send_none(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = chat.say(f"/sell {SAMSUNG} 5")
    assert "매도" in ask.plain and "삼성전자(005930) 5주 시장가" in ask.plain and "확인 전에는" in ask.plain
    assert [b["text"] for b in ask.buttons()] == ["✅ 확인", "❌ 취소"]
    assert desk.broker_orders("sell") == []  # nothing sent before the confirmation
    replies = chat.yes(ask)
    assert any("매도 완료" in m.plain for m in replies), [m.plain for m in replies]
    sells = desk.broker_orders("sell")
    assert [(o.code, o.quantity) for o in sells] == [(SAMSUNG, 5)]
    again = chat.yes(ask)  # a second tap
    assert any("이미 처리된" in m.plain for m in again)
    restarted = chat_for(desk, telegram, control_store_root)  # a new process: only the database remembers
    assert any("이미 처리된" in m.plain for m in restarted.yes(ask))
    assert len(desk.broker_orders("sell")) == 1
    with desk.database.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.source == "telegram"))]
    assert {"propose_sell", "confirm_sell", "execute_sell", "order_sell"} <= set(actions)
    assert telegram.callback_answers  # every tap got its spinner stopped


def test_no_sends_nothing(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = chat.say(f"/buy {KAKAO} 3 40000")
    assert "매수 카카오(035720) 3주 지정가 40,000원" in ask.plain and "약 120,000원" in ask.plain
    (reply,) = chat.no(ask)
    assert "취소했습니다" in reply.plain
    assert any("이미 처리된" in m.plain for m in chat.yes(ask))  # the yes after the no does nothing
    assert desk.broker_orders("buy") == []
    with desk.database.session() as s:
        assert s.scalar(select(TradeOrder.id)) is None


def test_an_expired_confirmation_sends_nothing(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = chat.say(f"/sell {SAMSUNG} all")
    assert "20주" in ask.plain
    desk.clock.advance(61)
    (reply,) = chat.yes(ask)
    assert "만료" in reply.plain
    assert desk.broker_orders("sell") == []
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.status)) == "expired"


def test_another_chat_gets_nothing_done(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    assert chat.say(f"/sell {SAMSUNG} 5", chat=STRANGER) == []
    assert telegram.messages(STRANGER) == []
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.id)) is None
    (ask,) = chat.say(f"/sell {SAMSUNG} 5")
    yes = next(b["callback_data"] for b in ask.buttons() if not b["callback_data"].endswith(":n"))
    telegram.inject_callback(STRANGER, ask.message_id, yes)  # the right button, from the wrong chat
    assert chat.pump() == []
    assert desk.broker_orders("sell") == []
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.status)) == "pending"
        denied = s.scalars(select(AuditEntry.action).where(AuditEntry.outcome == "denied")).all()
    assert sorted(denied) == ["callback_rejected", "command_rejected"]


def test_flatten_asks_twice_then_sells_everything_once(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = chat.say("/flatten")
    assert "전량 매도 확인" in ask.plain and "(1/2)" in ask.plain and "삼성전자(005930) 20주" in ask.plain
    (again,) = chat.yes(ask)
    assert "정말로" in again.plain and "2/2" in again.plain
    assert desk.broker_orders("sell") == []  # one confirmation is not enough
    assert any("이미 처리된" in m.plain for m in chat.yes(ask))  # the first button once more: still waiting
    assert desk.broker_orders("sell") == []
    replies = chat.yes(again)
    assert any("전량 매도 완료" in m.plain for m in replies)
    chat.yes(again)
    assert [(o.code, o.quantity) for o in desk.broker_orders("sell")] == [(SAMSUNG, 20)]


def test_cancel_command_cancels_the_order_at_the_broker(desk, telegram, control_store_root) -> None:
    engine = desk.engine()
    low = desk.broker.quote(KAKAO).lower_limit
    placed = engine.submit(KAKAO, Side.BUY, 2, OrderType.LIMIT, low, "manual", "test", "cli", actor="cli:test")
    assert placed.ok and placed.order is not None
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = [m for m in chat.say(f"/cancel {placed.order.client_order_id}") if m.buttons()]
    assert "주문 취소 확인" in ask.plain and "카카오(035720) 0/2" in ask.plain
    assert [o.status for o in desk.broker_orders("buy")] == [OrderStatus.SUBMITTED]
    replies = chat.yes(ask)
    assert any("주문 취소 완료" in m.plain for m in replies)
    assert [o.status for o in desk.broker_orders("buy")] == [OrderStatus.CANCELLED]


def test_a_buy_passes_the_engines_risk_checks(desk, telegram, control_store_root) -> None:
    with desk.database.session() as s:
        set_halt(s, True, "test halt", source="cli", actor="cli:test", now=desk.clock.now())
    chat = chat_for(desk, telegram, control_store_root)
    (ask,) = chat.say(f"/buy {KAKAO} 3")
    replies = chat.yes(ask)
    assert any("거부" in m.plain for m in replies), [m.plain for m in replies]
    assert desk.broker_orders("buy") == []


def test_bad_input_is_answered_and_proposes_nothing(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    (reply,) = chat.say("/sell 12")
    assert "종목코드는 6자리" in reply.plain and not reply.buttons()
    (reply,) = chat.say(f"/sell {SAMSUNG} 500")
    assert "매도 가능 수량은 20주" in reply.plain
    (reply,) = chat.say(f"/buy {KAKAO} -1")
    assert "양의 정수" in reply.plain
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.id)) is None


@BOTH
def test_a_confirmation_survives_a_crash_before_its_execution(desk, telegram, control_store_root) -> None:
    """The tap commits `confirmed`; a process that dies before executing leaves it to the next one, once."""
    cannot = chat_for(desk, telegram, control_store_root, executor=False)  # dies before executing
    (ask,) = cannot.say(f"/sell {SAMSUNG} 4")
    cannot.yes(ask)
    assert desk.broker_orders("sell") == []
    later = chat_for(desk, telegram, control_store_root)
    replies = later.pump()
    assert any("매도 완료" in m.plain for m in replies)
    later.pump()
    assert [(o.code, o.quantity) for o in desk.broker_orders("sell")] == [(SAMSUNG, 4)]


def test_rate_limited_per_user(desk, telegram, control_store_root) -> None:
    chat = chat_for(desk, telegram, control_store_root)
    for _ in range(10):
        chat.telegram.inject_update(CHAT, f"/sell {SAMSUNG} 1")
    chat.pump()
    (reply,) = chat.say(f"/sell {SAMSUNG} 1")
    assert "요청이 너무 많습니다" in reply.plain


def test_a_crash_after_the_send_is_resolved_by_the_orders_not_resent(desk, telegram, control_store_root) -> None:
    """A row left `executing` whose order reached the book becomes done without a second order."""
    from datetime import timedelta

    from hantu.bot.actions import ActionService
    from hantu.market.closes import closes_reader
    from hantu.trading.account import AccountService

    service = ActionService(AccountService("kis", closes_reader(control_store_root)), desk.clock,
                            engine=desk.engine)
    with desk.database.session() as s:
        row = service.propose(s, "sell", {"code": SAMSUNG, "quantity": 3}, source="telegram", actor="u1")
        token = row.token
        assert service.decide(s, token, 1, source="telegram", actor="u1").outcome == "confirmed"
        row.status = "executing"  # claimed, then the process died after the engine sent the order
    desk.engine().submit(SAMSUNG, Side.SELL, 3, OrderType.MARKET, None, "exit", f"telegram u1 [{token}]",
                         "telegram", actor="u1")
    assert service.run_confirmed(desk.database) == []  # young: maybe still running elsewhere, left alone
    desk.clock.advance(timedelta(minutes=3).total_seconds())
    (result,) = service.run_confirmed(desk.database)
    assert result["recovered"] is True
    assert [(o.code, o.quantity) for o in desk.broker_orders("sell")] == [(SAMSUNG, 3)]
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.status)) == "done"
