"""Telegram commands: only the configured chat is obeyed, answers come from the database, fast."""

from __future__ import annotations

import threading
import time
from datetime import date

from notify_support import CHAT, START, TOKEN
from sqlalchemy import select

from hantu.bot.commands import OFFSET_KEY, CommandPoller, parse_command
from hantu.clock import SystemClock
from hantu.notify.sender import OutboxSender
from hantu.notify.telegram import TelegramClient
from hantu.store.kv import kv_get
from hantu.store.models import AuditEntry, Instrument
from hantu.store.models.notify import OutboxMessage
from hantu.store.models.scheduler import DailyReport
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun
from hantu.store.models.trading import TradeAccount, TradeFill, TradeOrder, TradePosition
from hantu.trading.halt import halt_state, set_halt

STRANGER = "999000111"


def pair(database, clock, sandbox):  # type: ignore[no-untyped-def]
    sender = OutboxSender(database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT, per_chat_interval=1.0)
    poller = CommandPoller(database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT, long_poll_seconds=0,
                           wake_sender=sender.wake)
    return sender, poller


def ask(sandbox, sender, poller, clock, text: str, chat: str = CHAT) -> str | None:  # type: ignore[no-untyped-def]
    before = len(sandbox.messages(CHAT))
    sandbox.inject_update(chat, text)
    assert poller.run_once(timeout=0) == 1
    clock.advance(2)
    sender.run_once()
    got = sandbox.messages(CHAT)[before:]
    return "\n".join(m.plain for m in got) if got else None


def seed_trading(database) -> None:  # type: ignore[no-untyped-def]
    now = START
    today = START.date()
    with database.session() as s:
        s.add_all([Instrument(code="005930", name="삼성전자", market="KOSPI"),
                   Instrument(code="035720", name="카카오", market="KOSPI")])
        s.add(TradeAccount(broker="paper", base_cash=10_000_000, base_positions={}, base_at=now, cash=8_123_456,
                           updated_at=now))
        s.add(TradePosition(broker="paper", code="005930", quantity=17, avg_price=71_200.0, entry_date=today,
                            high_since_entry=72_000.0, updated_at=now))
        s.add(TradeOrder(client_order_id="c1", broker="paper", trading_date=today, code="035720", side="buy",
                         order_type="limit", quantity=30, limit_price=41_950, status="submitted", filled_quantity=0,
                         avg_fill_price=0.0, purpose="entry", reason="", source="engine", message="",
                         created_at=now, updated_at=now))
        fill = {"broker": "paper", "fill_id": "f1", "broker_order_id": "b1", "trading_date": today, "code": "005930",
                "side": "buy", "quantity": 17, "price": 71_200, "amount": 17 * 71_200, "commission": 182, "tax": 0,
                "filled_at": now, "recorded_at": now}
        # (only the columns the trading tables have: they are still evolving)
        s.add(TradeFill(**{k: v for k, v in fill.items() if k in TradeFill.__table__.c}))


def test_command_from_another_chat_changes_nothing_and_is_audited(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender, poller = pair(database, clock, sandbox)
    assert ask(sandbox, sender, poller, clock, "/halt now", chat=STRANGER) is None
    assert ask(sandbox, sender, poller, clock, "/status", chat=STRANGER) is None
    with database.session() as s:
        assert halt_state(s).halted is False
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert s.scalar(select(OutboxMessage.id)) is None  # no answer queued
        assert kv_get(s, OFFSET_KEY) == 3  # handled once, never again
    assert [(e.source, e.action, e.outcome, e.details["chat_id"]) for e in entries] == [
        ("telegram", "command_rejected", "denied", STRANGER)] * 2
    assert entries[0].details["text"] == "/halt now"
    assert sandbox.messages() == []


def test_halt_and_resume_from_the_configured_chat(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender, poller = pair(database, clock, sandbox)
    reply = ask(sandbox, sender, poller, clock, "/halt 시장 급락")
    assert reply is not None and "신규 진입을 중단했습니다" in reply and "시장 급락" in reply
    with database.session() as s:
        state = halt_state(s)
        assert state.halted and state.reason == "시장 급락" and state.by.startswith("telegram:")
        actions = [(e.source, e.action) for e in s.scalars(select(AuditEntry))]
    assert ("telegram", "halt") in actions
    assert "이미 중단된 상태" in (ask(sandbox, sender, poller, clock, "/halt") or "")
    assert "거래를 재개했습니다" in (ask(sandbox, sender, poller, clock, "/resume@hantu_bot") or "")
    with database.session() as s:
        assert halt_state(s).halted is False


def test_read_commands_answer_from_the_database(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    database = sqlite_database
    seed_trading(database)
    sender, poller = pair(database, clock, sandbox)
    balance = ask(sandbox, sender, poller, clock, "/balance") or ""
    assert "8,123,456원" in balance and "1,210,400원" in balance and "9,333,856원" in balance
    positions = ask(sandbox, sender, poller, clock, "/positions") or ""
    assert "삼성전자(005930) 17주 @ 71,200원" in positions
    orders = ask(sandbox, sender, poller, clock, "/orders") or ""
    assert "매수 카카오(035720) 0/30 @ 41,950원 [submitted]" in orders
    today = ask(sandbox, sender, poller, clock, "/today") or ""
    assert "주문: 1건" in today and "체결: 1건" in today and "수수료 182원" in today
    assert "스크리닝: 데이터 없음" in today
    day = START.date()
    with database.session() as s:
        s.add(ScreenRun(run_date=day, strategy="momentum", data_date=day, created_at=START, universe=2871,
                        eligible=2500, passed=42, watchlist_size=42, config_hash="x", params={}, figures={}))
        run = SelectionRun(run_date=day, strategy="momentum", data_date=day, created_at=START, regime="bull",
                           max_candidates=5, config_hash="x", figures={})
        s.add(run)
        s.flush()
        s.add(SelectionCandidate(run_id=run.id, rank=1, code="005930", name="삼성전자", sector=None,
                                 entry_price=71_200, stop_price=68_000, target_price=78_000, weight=0.2, score=3.1,
                                 atr=1200.0, reason="", extra={}))
    today = ask(sandbox, sender, poller, clock, "/today") or ""
    assert "스크리닝: 2,871개 중 42개 통과" in today and "선정: 1개 — 삼성전자(005930)" in today
    with database.session() as s:
        set_halt(s, True, "일일 손실 한도", source="risk", actor="risk")
    status = ask(sandbox, sender, poller, clock, "/status") or ""
    assert "중단됨 — 일일 손실 한도" in status and "보유 종목: 1개" in status and "미체결 주문: 1건" in status
    assert "데이터가 아직 없습니다" in (ask(sandbox, sender, poller, clock, "/report") or "")
    with database.session() as s:
        s.add(DailyReport(trading_date=date(2024, 3, 4), broker="paper", equity=9_333_856, cash=8_123_456,
                          realized_pnl=12_000, unrealized_pnl=-3_400, fees=182, taxes=0, trades=1,
                          day_return_pct=0.09, positions=[{"code": "005930", "name": "삼성전자", "quantity": 17,
                                                           "avg_price": 71_200}], created_at=START))
    report = ask(sandbox, sender, poller, clock, "/report") or ""
    assert "일일 리포트" in report and "+8,600원" in report and "삼성전자(005930) 17주" in report
    help_text = ask(sandbox, sender, poller, clock, "/help") or ""
    assert all(f"/{c}" in help_text for c in ("status", "balance", "positions", "orders", "today", "report",
                                               "halt", "resume", "help"))
    assert "알 수 없는 명령" in (ask(sandbox, sender, poller, clock, "/frobnicate") or "")


def test_offset_persists_across_restarts(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender, poller = pair(sqlite_database, clock, sandbox)
    ask(sandbox, sender, poller, clock, "/help")
    _, again = pair(sqlite_database, clock, sandbox)
    assert again.offset() == 2
    assert again.run_once(timeout=0) == 0  # the new poller does not see /help again


def test_answer_within_two_seconds_with_threads(sqlite_database, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Sender and poller as the scheduler runs them (threads, real clock): the reply arrives in < 2 s."""
    clock = SystemClock()
    sandbox.clock = clock
    sender = OutboxSender(sqlite_database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT)
    poller = CommandPoller(sqlite_database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT,
                           long_poll_seconds=1, wake_sender=sender.wake)
    stop = threading.Event()
    threads = [threading.Thread(target=sender.run_forever, args=(stop,), daemon=True),
               threading.Thread(target=poller.run_forever, args=(stop,), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        started = time.monotonic()
        sandbox.inject_update(CHAT, "/status")
        while not sandbox.messages(CHAT) and time.monotonic() - started < 5:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        assert sandbox.messages(CHAT), "no answer"
        assert elapsed < 2.0, elapsed
        assert "상태" in sandbox.messages(CHAT)[0].plain
    finally:
        stop.set()
        sender.wake()
        for thread in threads:
            thread.join(timeout=5)


def test_parse_command() -> None:
    assert parse_command("/halt@hantu_bot big loss") == ("halt", "big loss")
    assert parse_command("hello") is None
    assert parse_command("/STATUS") == ("status", "")



def test_resume_after_a_drawdown_halt_does_not_halt_again_at_the_next_mark(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    from hantu.trading.risk import RiskManager, load_config, save_config

    risk = RiskManager("paper")
    with database.session() as s:
        save_config(s, load_config(s).with_values(max_drawdown=0.1, daily_loss_limit=0.5), "cli", "test")
        risk.update_equity(s, 12_000_000, clock.now())  # the peak
        assert risk.update_equity(s, 10_700_000, clock.now()) == ["max_drawdown"]
        assert halt_state(s).by.startswith("risk")
    sender, poller = pair(database, clock, sandbox)
    assert "거래를 재개했습니다" in (ask(sandbox, sender, poller, clock, "/resume checked") or "")
    with database.session() as s:
        assert risk.update_equity(s, 10_700_000, clock.now()) == []  # measured from here on
        state = halt_state(s)
        assert not state.halted and state.by.startswith("telegram:") and state.reason == "checked"
        actions = [(a.source, a.action) for a in s.scalars(select(AuditEntry))]
    assert ("telegram", "resume") in actions
