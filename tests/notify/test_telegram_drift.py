"""/drift in Telegram: the newest drift report of the configured account, answered to the configured chat only."""

from __future__ import annotations

from datetime import date, timedelta

from notify_support import CHAT, START
from sqlalchemy import select
from test_telegram_commands import STRANGER, ask, pair

from hantu.store.models import AuditEntry, DriftReport
from hantu.store.models.notify import OutboxMessage


def _report(day: date, drift: float, bps: float, causes: dict[str, float], broker: str = "paper") -> DriftReport:
    return DriftReport(trading_date=day, broker=broker, strategy="momentum", created_at=START, equity_base=10_000_000,
                       live_pnl=10_000 + drift, model_pnl=10_000, drift=drift, drift_bps=bps, causes=causes,
                       trades=[{"code": "005930"}], slippage_ticks=[], alerted=False)


def test_drift_answers_the_configured_chat_from_the_newest_report(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender, poller = pair(database, clock, sandbox)
    assert "리포트가 아직 없습니다" in (ask(sandbox, sender, poller, clock, "/drift") or "")
    day = START.date()
    with database.session() as s:
        s.add(_report(day - timedelta(days=1), -1_000.0, -1.0, {"slippage": -1_000.0}))
        s.add(_report(day, -12_345.0, -12.3, {"slippage": -2_345.0, "missed_fill": -10_000.0, "signal": 0.0}))
        s.add(_report(day, 99_999.0, 100.0, {"manual": 99_999.0}, broker="kis"))  # another account: not shown
    reply = ask(sandbox, sender, poller, clock, "/drift") or ""
    assert "실거래-모델 차이" in reply and "-12,345원" in reply and "-12.3bp" in reply
    assert "미체결: -10,000원" in reply and "체결가 차이(슬리피지): -2,345원" in reply
    assert "신호 차이" not in reply  # a zero cause is not listed
    assert "누적 2일: -13,345원" in reply and "99,999" not in reply
    before = len(sandbox.messages())
    assert ask(sandbox, sender, poller, clock, "/drift", chat=STRANGER) is None
    assert len(sandbox.messages()) == before
    with database.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        answers = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "cmd_drift")).all()
    assert [e.details["text"] for e in denied] == ["/drift"]
    assert len(answers) == 2 and all(m.chat_id in (None, CHAT) for m in answers)
