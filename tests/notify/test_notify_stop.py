"""Stopping the scheduler with a full outbox and a slow Telegram: a real `hantu run` subprocess, the sandbox.

A clean stop must be bounded (the sender's grace plus one request), keep every chat's order, and leave what it
could not send `pending` — never `sending`, which the next start would turn into `uncertain` and drop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict

import pytest
from notify_support import CHAT, TOKEN

from hantu.notify.outbox import enqueue
from hantu.sandbox.telegram import TelegramSandbox
from hantu.store.models.notify import PENDING, SENT

from helpers import hantu_cmd, outbox_rows, wait_for

SATURDAY = "2026-11-28"  # no market job runs: the outbox is all the scheduler has to do
OTHER_CHATS = ("515151", "525252", "535353")
GRACE = 5.0  # NotifyThreads' default
SLOW = 0.3  # every sendMessage is answered this late


@pytest.fixture
def slow_telegram():  # type: ignore[no-untyped-def]
    box = TelegramSandbox(token=TOKEN, per_chat_interval=1.0).start()
    box.fail_next("sendMessage", 200, count=100_000, hold=SLOW)
    try:
        yield box
    finally:
        box.stop()


def scheduler(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        hantu_cmd("run", "--clock", "sim", "--start", f"{SATURDAY} 10:00", "--no-skip-idle", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )




def per_chat(database) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """What each chat should show, in outbox order."""
    expected: dict[str, list[str]] = defaultdict(list)
    for row in outbox_rows(database):
        expected[row.chat_id or CHAT].append(row.text)
    return expected


def assert_prefix_in_order(box: TelegramSandbox, database) -> None:  # type: ignore[no-untyped-def]
    """Each chat received a prefix of its queue: nothing twice, nothing out of order."""
    expected = per_chat(database)
    for chat, texts in expected.items():
        got = [m.text for m in box.messages(chat)]
        assert got == texts[: len(got)], chat


@pytest.mark.parametrize("how", ["until", "sigterm"])
def test_stop_with_40_queued_messages_is_bounded_ordered_and_loses_nothing(
    sqlite_database, slow_telegram, how
) -> None:  # type: ignore[no-untyped-def]
    database = sqlite_database
    with database.session() as s:
        for n in range(40):  # twenty for the configured chat (ahead of the scheduler's own), twenty elsewhere
            chat = None if n % 2 == 0 else OTHER_CHATS[n // 2 % 3]
            enqueue(s, "text", {"text": f"event {n}"}, chat_id=chat)
    env = {
        "DATABASE_URL": database.url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_CHAT_ID": CHAT,
        "TELEGRAM_API_BASE": slow_telegram.base_url,
    }

    def stopped_queued() -> bool:
        return any(r.kind == "scheduler_stopped" for r in outbox_rows(database))

    if how == "until":
        proc = scheduler(env, "--speed", "60", "--until", f"{SATURDAY} 10:02")
    else:
        proc = scheduler(env, "--speed", "60")
        wait_for(lambda: any(r.kind == "scheduler_started" for r in outbox_rows(database)), 60, "the start")
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
    try:
        wait_for(stopped_queued, 90, "the scheduler to stop")
        stopping = time.monotonic()
        output, _ = proc.communicate(timeout=60)
        took = time.monotonic() - stopping
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output[-3000:]
    # Bounded: the grace, the request in flight, process exit (slow on a loaded machine). Before: the main
    # thread sent the whole batch, ~1 s per message of the configured chat (20 s and more here).
    assert took < GRACE + 7, (took, output[-2000:])
    assert_prefix_in_order(slow_telegram, database)
    states = {r.status for r in outbox_rows(database)}
    assert states <= {PENDING, SENT}, states  # nothing left `sending` (that would become `uncertain`)
    assert PENDING in states  # the stop really cut the queue short
    delivered_first = sum(len(slow_telegram.messages(c)) for c in (CHAT, *OTHER_CHATS))

    # The next start delivers the rest — the first run's "scheduler stopped" included — in order.
    again = scheduler(env, "--speed", "10", "--until", f"{SATURDAY} 10:05")
    try:
        output, _ = again.communicate(timeout=120)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 0, output[-3000:]
    expected = per_chat(database)
    for chat, texts in expected.items():
        assert [m.text for m in slow_telegram.messages(chat)] == texts, chat
    assert {r.status for r in outbox_rows(database)} == {SENT}
    stops = [m.plain for m in slow_telegram.messages(CHAT) if "종료" in m.plain or "stopped" in m.plain]
    assert len(stops) == 2, stops
    assert sum(len(texts) for texts in expected.values()) > delivered_first
