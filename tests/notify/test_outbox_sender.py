"""The sender against the Telegram sandbox: order, limits, retries, priorities, splitting, no duplicates."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from notify_support import CHAT, TOKEN
from sqlalchemy import select

from hantu.clock import FrozenClock
from hantu.notify.formatting import split_message, utf16_len
from hantu.notify.outbox import enqueue
from hantu.notify.sender import Delivered, OutboxSender
from hantu.notify.telegram import TelegramClient
from hantu.sandbox.telegram import TelegramSandbox
from hantu.store.models.notify import LOGGED, SENT, UNCERTAIN, OutboxMessage


def make_sender(database, clock, sandbox, **kwargs) -> OutboxSender:  # type: ignore[no-untyped-def]
    client = TelegramClient(TOKEN, sandbox.base_url, timeout=5.0)
    return OutboxSender(database, clock, client, CHAT, per_chat_interval=1.0, **kwargs)


def event(database, clock, n: int, **kw) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        enqueue(s, "text", {"text": f"event {n}"}, now=clock.now(), **kw)


def drain(sender: OutboxSender, clock: FrozenClock, max_rounds: int = 200) -> None:
    for _ in range(max_rounds):
        sender.run_once()
        with sender.database.session() as s:
            if s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "pending").limit(1)) is None:
                return
        clock.advance(sender.next_due_in() or 1.0)
    raise AssertionError("outbox did not drain")


def assert_rate_respected(sandbox: TelegramSandbox, chat: str = CHAT) -> None:
    times = [m.received_at for m in sandbox.messages(chat)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(g >= 1.0 - 1e-6 for g in gaps), min(gaps)
    assert sandbox.rate_violations == 0


@pytest.mark.parametrize("down_mode", ["error", "refuse"])
def test_telegram_down_for_an_hour_then_everything_once_in_order(
    database, clock, sandbox, raw_logs, down_mode, db_url
) -> None:  # type: ignore[no-untyped-def]
    """The acceptance scenario: an hour of outage with events every minute, then recovery.

    Both outage shapes (502s, refused connections) on SQLite; the 502 shape on PostgreSQL too."""
    if down_mode == "refuse" and not db_url.startswith("sqlite"):
        pytest.skip("the refused-connection shape is storage-independent; covered on SQLite")
    sender = make_sender(database, clock, sandbox)
    event(database, clock, 0)
    sender.run_once()
    assert [m.plain for m in sandbox.messages(CHAT)] == ["event 0"]

    sandbox.set_down(down_mode)
    for minute in range(1, 61):  # a simulated hour, an event every minute, the sender trying all along
        clock.advance(60)
        event(database, clock, minute)
        # A burst of fills in the same minute too.
        if minute % 15 == 0:
            for extra in range(3):
                event(database, clock, minute * 100 + extra)
        sender.run_once()
    with database.session() as s:
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert len(waiting) == 60 + 12 and waiting[0].attempts > 5  # retried with backoff, still waiting
    assert len(sandbox.messages(CHAT)) == 1

    sandbox.set_down(None)
    drain(sender, clock)
    expected = ["event 0"]
    for minute in range(1, 61):
        expected.append(f"event {minute}")
        if minute % 15 == 0:
            expected += [f"event {minute * 100 + extra}" for extra in range(3)]
    assert [m.plain for m in sandbox.messages(CHAT)] == expected  # every message once, in order
    assert_rate_respected(sandbox)
    with database.session() as s:
        assert {r.status for r in s.scalars(select(OutboxMessage))} == {SENT}
    assert TOKEN not in raw_logs.text()
    assert "not delivered" in raw_logs.text()  # the outage was logged (without the token)


def test_rate_limits_hold_under_a_burst(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    other = "515151"
    for n in range(40):
        event(sqlite_database, clock, n, chat_id=CHAT if n % 2 else other)
    sender = make_sender(sqlite_database, clock, sandbox, global_per_second=30)
    drain(sender, clock)
    assert len(sandbox.messages(CHAT)) == 20 and len(sandbox.messages(other)) == 20
    assert_rate_respected(sandbox, CHAT)
    assert_rate_respected(sandbox, other)


def test_global_limit_across_many_chats(sqlite_database, clock) -> None:  # type: ignore[no-untyped-def]
    box = TelegramSandbox(token=TOKEN, clock=clock, global_per_second=5).start()
    try:
        for n in range(20):
            event(sqlite_database, clock, n, chat_id=str(1000 + n))
        sender = OutboxSender(
            sqlite_database, clock, TelegramClient(TOKEN, box.base_url), CHAT, global_per_second=5
        )
        drain(sender, clock)
        assert len(box.messages()) == 20 and box.rate_violations == 0
        times = [m.received_at for m in box.messages()]
        for i in range(len(times) - 5):
            assert (times[i + 5] - times[i]).total_seconds() >= 1.0 - 1e-6
    finally:
        box.stop()


def test_429_retry_after_is_honoured(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.fail_next("sendMessage", 429, count=1, retry_after=7)
    event(sqlite_database, clock, 1)
    event(sqlite_database, clock, 2)
    sender = make_sender(sqlite_database, clock, sandbox)
    start = clock.now()
    assert sender.run_once() == 0  # 429: nothing sent, and event 2 must not overtake event 1
    assert sandbox.messages(CHAT) == []
    clock.advance(3)
    assert sender.run_once() == 0  # still inside retry_after
    clock.advance(4)
    drain(sender, clock)
    sent = sandbox.messages(CHAT)
    assert [m.plain for m in sent] == ["event 1", "event 2"]
    assert (sent[0].received_at - start).total_seconds() >= 7


def test_priorities_control_the_sound(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    with sqlite_database.session() as s:
        for priority in ("critical", "high", "normal", "low"):
            enqueue(s, "text", {"text": priority}, priority=priority)  # type: ignore[arg-type]
    drain(make_sender(sqlite_database, clock, sandbox), clock)
    silent = {m.plain: m.disable_notification for m in sandbox.messages(CHAT)}
    assert silent == {"critical": False, "high": False, "normal": True, "low": True}


def test_long_message_split_at_4096_and_delivered_in_order(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"code": f"{i:06d}", "name": f"종목<{i}>&co 📈", "quantity": i + 1, "avg_price": 1000 + i}
        for i in range(300)
    ]
    data = {
        "trading_date": "2024-03-04",
        "realized_pnl": 1,
        "unrealized_pnl": 2,
        "equity": 3,
        "cash": 4,
        "positions": rows,
        "trades": 5,
        "fees": 6,
        "taxes": 7,
    }
    with sqlite_database.session() as s:
        msg = enqueue(s, "daily_report", data)
    assert msg is not None and msg.parts_total >= 3
    drain(make_sender(sqlite_database, clock, sandbox), clock)
    got = sandbox.messages(CHAT)
    assert len(got) == msg.parts_total
    assert all(utf16_len(m.plain) <= 4096 for m in got)  # the sandbox also rejects longer ones with 400
    joined = "\n".join(m.plain for m in got)
    assert all(f"종목<{i}>&co 📈({i:06d})" in joined for i in range(300))  # nothing lost at the cuts


def test_escaping_survives_telegram_parsing(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    nasty = "A&B <b>not bold</b> 1 < 2 > 0 &amp; \"quotes\" 'x'"
    with sqlite_database.session() as s:
        enqueue(
            s,
            "order_rejected",
            {
                "code": "000660",
                "name": nasty,
                "side": "buy",
                "quantity": 1,
                "reason": "<script>alert(1)</script>",
            },
        )
    drain(make_sender(sqlite_database, clock, sandbox), clock)
    (message,) = sandbox.messages(CHAT)
    assert nasty in message.plain and "<script>alert(1)</script>" in message.plain
    assert message.parse_mode == "HTML"


def test_ambiguous_send_is_never_repeated(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Telegram records the message but the answer is lost: the sender must not send it again."""
    sandbox.fail_next("sendMessage", 200, drop=True)
    event(database, clock, 1)
    event(database, clock, 2)
    sender = make_sender(database, clock, sandbox)
    drain(sender, clock)
    for _ in range(3):
        clock.advance(600)
        sender.run_once()
    assert [m.plain for m in sandbox.messages(CHAT)] == ["event 1", "event 2"]
    with database.session() as s:
        statuses = [r.status for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert statuses == [UNCERTAIN, SENT]


def test_two_senders_never_send_the_same_message(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    for n in range(6):
        event(database, clock, n)
    a, b = make_sender(database, clock, sandbox), make_sender(database, clock, sandbox)
    b.recover()  # (b starts while a is idle; recover only touches rows left `sending`)
    for _ in range(20):
        a.run_once()
        b.run_once()
        clock.advance(2)
    plains = [m.plain for m in sandbox.messages(CHAT)]
    assert sorted(plains) == sorted(f"event {n}" for n in range(6)) and len(plains) == 6


def test_sender_killed_mid_send_does_not_resend_after_restart(
    database, clock, sandbox, db_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A real SIGKILL in the crash window (request accepted by Telegram, answer not yet back)."""
    event(database, clock, 1)
    event(database, clock, 2)
    sandbox.fail_next("sendMessage", 200, hold=30.0)  # accept the first message, answer 30 s later
    script = tmp_path / "sender.py"
    script.write_text(
        "import sys\n"
        "from hantu.clock import SystemClock\n"
        "from hantu.notify.sender import OutboxSender\n"
        "from hantu.notify.telegram import TelegramClient\n"
        "from hantu.store.db import Database\n"
        "s = OutboxSender(Database(sys.argv[1]), SystemClock(), TelegramClient(sys.argv[2], sys.argv[3], timeout=60),"
        " sys.argv[4])\n"
        "s.run_once()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), db_url, TOKEN, sandbox.base_url, CHAT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not sandbox.messages(CHAT) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [m.plain for m in sandbox.messages(CHAT)] == ["event 1"]
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with database.session() as s:
        assert s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all() == [
            "sending",
            "pending",
        ]
    restarted = make_sender(database, clock, sandbox)
    clock.advance(5)
    drain(restarted, clock)
    assert [m.plain for m in sandbox.messages(CHAT)] == ["event 1", "event 2"]  # event 1 not sent twice
    with database.session() as s:
        assert s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all() == [UNCERTAIN, SENT]


def test_without_token_messages_go_to_the_log_and_the_hook(sqlite_database, clock, raw_logs) -> None:  # type: ignore[no-untyped-def]
    printed: list[Delivered] = []
    with sqlite_database.session() as s:
        enqueue(
            s,
            "screening_done",
            {
                "trading_date": "2024-03-04",
                "universe_size": 2871,
                "passed": 42,
                "top": [{"code": "005930", "name": "삼성전자", "score": 3.5}],
            },
        )
    sender = OutboxSender(sqlite_database, clock, None, None, on_delivered=printed.append)
    assert sender.run_once() == 1
    assert len(printed) == 1 and printed[0].via == "log" and "2,871" in printed[0].plain
    assert "<b>" not in printed[0].plain
    assert "대상 종목: 2,871개" in raw_logs.text()
    with sqlite_database.session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.status == LOGGED and row.delivered_via == "log"


def test_token_never_in_logs_or_errors(sqlite_database, clock, sandbox, raw_logs) -> None:  # type: ignore[no-untyped-def]
    """Failures of every kind are logged; the token (in the URL path) must appear in none of it."""
    sender = make_sender(sqlite_database, clock, sandbox)
    sandbox.fail_next("sendMessage", 500, count=1, description=f"boom for bot{TOKEN}")
    sandbox.fail_next("sendMessage", 400, count=1, description="Bad Request: chat not found")
    for n in range(3):
        event(sqlite_database, clock, n)
    drain(sender, clock)
    sandbox.set_down("refuse")
    event(sqlite_database, clock, 9)
    sender.run_once()
    sandbox.set_down(None)
    bad = TelegramClient("1234567:wrong-token-that-is-long-enough-to-look-real", sandbox.base_url)
    with pytest.raises(Exception) as info:
        bad.get_me()
    import traceback

    rendered = "".join(traceback.format_exception(info.value))
    assert "wrong-token" not in rendered and TOKEN not in rendered
    import logging

    logging.getLogger("test").exception("while testing", exc_info=info.value)
    assert TOKEN not in raw_logs.text() and "wrong-token" not in raw_logs.text()
    assert "HTTP Request" in raw_logs.text()  # httpx did log its URLs at DEBUG/INFO — redacted
    assert "boom for bot***" in raw_logs.text()


def test_split_message_units() -> None:
    text = "<b>title</b>\n" + "\n".join(f"line {i} &amp; <i>x</i> 😀" for i in range(2000))
    parts = split_message(text)
    assert len(parts) > 1 and all(utf16_len(p) <= 4096 for p in parts)
    from hantu.sandbox.telegram import parse_html

    plain = "".join(parse_html(p) for p in parts)
    assert plain.replace("\n", "") == parse_html(text).replace("\n", "")
    one_line = "x" * 5000 + "&amp;" + "y" * 5000
    parts = split_message(one_line)
    assert all(utf16_len(p) <= 4096 for p in parts) and "".join(parts) == one_line
    assert split_message("short") == ["short"]


def test_sender_backoff_grows_and_caps(sqlite_database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender = make_sender(sqlite_database, clock, sandbox, max_backoff=60)
    sandbox.set_down("error")
    event(sqlite_database, clock, 1)
    waits = []
    for _ in range(9):
        sender.run_once()
        with sqlite_database.session() as s:
            row = s.scalars(select(OutboxMessage)).one()
        waits.append(round((row.next_attempt_at - clock.now()).total_seconds()))
        clock.advance(timedelta(seconds=waits[-1]))
    assert waits[:4] == [1, 2, 4, 8] and max(waits) == 60


SLOW_SENDER = (
    "import sys\n"
    "from hantu.clock import SystemClock\n"
    "from hantu.notify.sender import OutboxSender\n"
    "from hantu.notify.telegram import TelegramClient\n"
    "from hantu.store.db import Database\n"
    "s = OutboxSender(Database(sys.argv[1]), SystemClock(), TelegramClient(sys.argv[2], sys.argv[3]),"
    " sys.argv[4], per_chat_interval=60)\n"
    "s.run_once()\n"
)


@pytest.mark.parametrize("where", ["between messages", "between parts"])
def test_sender_killed_while_waiting_for_the_rate_limiter_loses_nothing(
    database, clock, sandbox, db_url, tmp_path, where
) -> None:  # type: ignore[no-untyped-def]
    """A real SIGKILL while the sender waits for its next slot (here 60 s): nothing is in flight, so nothing
    may be left `sending` (which a restart turns into `uncertain`, never sent)."""
    if where == "between parts":
        with database.session() as s:
            enqueue(
                s,
                "text",
                {"text": "\n".join(f"line {i:04d} " + "x" * 60 for i in range(80))},
                now=clock.now(),
            )
    else:
        event(database, clock, 1)
    event(database, clock, 2)
    script = tmp_path / "slow_sender.py"
    script.write_text(SLOW_SENDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), db_url, TOKEN, sandbox.base_url, CHAT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with database.session() as s:
                if s.scalar(select(OutboxMessage.parts_sent).order_by(OutboxMessage.id).limit(1)):
                    break
            time.sleep(0.05)
        time.sleep(0.5)  # the sender is now waiting for its next slot
        assert proc.poll() is None, proc.communicate()
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(sandbox.messages(CHAT)) == 1
    with database.session() as s:
        states = s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert states == (["pending", "pending"] if where == "between parts" else [SENT, "pending"])
    restarted = make_sender(database, clock, sandbox)
    clock.advance(5)
    drain(restarted, clock)
    with database.session() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.status for r in rows] == [SENT, SENT]
        expected = [*split_message(rows[0].text), "event 2"]
    got = [m.text for m in sandbox.messages(CHAT)]
    assert got == expected  # every part once, in order


def test_stopping_drains_within_the_grace_and_leaves_the_rest_pending(
    sqlite_database, clock, sandbox
) -> None:  # type: ignore[no-untyped-def]
    """After `stop`, no request starts (nor a rate-limit wait that would end) past the grace; the rest of each
    chat stays `pending`, in order, and another chat still gets its turn within the grace."""
    other = "515151"
    for n in range(10):
        event(sqlite_database, clock, n)
    event(sqlite_database, clock, 99, chat_id=other)
    sender = make_sender(sqlite_database, clock, sandbox)
    stop = threading.Event()
    stop.set()
    started = clock.now()
    sender.run_forever(stop, grace=3.5)  # returns by itself: the next slot (t = 4) is past the grace
    assert (clock.now() - started).total_seconds() <= 3.5
    assert [m.plain for m in sandbox.messages(CHAT)] == [f"event {n}" for n in range(4)]  # t = 0, 1, 2, 3
    assert [m.plain for m in sandbox.messages(other)] == ["event 99"]
    with sqlite_database.session() as s:
        states = s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert states == [SENT] * 4 + ["pending"] * 6 + [SENT]
    drain(make_sender(sqlite_database, clock, sandbox), clock)  # the next start sends the rest, in order
    assert [m.plain for m in sandbox.messages(CHAT)] == [f"event {n}" for n in range(10)]
