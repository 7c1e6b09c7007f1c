"""The outbox's promise under crashes: random SIGKILLs of a real `hantu notify run` while messages are queued
and Telegram (the sandbox) is slow → every message reaches its chat exactly once, in order.

A kill while a request is in flight leaves that row `uncertain` (never resent: Telegram may have it — and here
it does); a kill anywhere else must leave nothing behind. The seed fixes the kill delays; the runtime is bounded
by the number of kills.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import defaultdict

import pytest
from notify_support import CHAT, TOKEN

from hantu.notify.outbox import enqueue
from hantu.sandbox.telegram import TelegramSandbox
from hantu.store.models.notify import PENDING, SENT, UNCERTAIN

from helpers import hantu_cmd, outbox_rows, wait_for

OTHER = "515151"
KILLS = 10
SEED = 24


def queue(database, n: int) -> None:  # type: ignore[no-untyped-def]
    """Three in four to the configured chat: its sender mostly waits for its next slot, where a kill used to
    leave the claimed message `sending` — and lost."""
    with database.session() as s:
        enqueue(s, "text", {"text": f"event {n}"}, chat_id=OTHER if n % 4 == 3 else None)




@pytest.mark.xdist_group("sigkill")
def test_random_kills_with_a_slow_telegram_deliver_every_message_once_in_order(database, db_url) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(SEED)
    box = TelegramSandbox(token=TOKEN, per_chat_interval=1.0).start()
    box.fail_next("sendMessage", 200, count=100_000, hold=0.3)  # every answer comes 0.3 s late
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_CHAT_ID": CHAT,
        "TELEGRAM_API_BASE": box.base_url,
    }
    command = hantu_cmd("notify", "run", "--no-commands")
    count = 0
    try:
        for _ in range(8):
            queue(database, count)
            count += 1
        for _ in range(KILLS):
            for _ in range(2):  # events keep coming while the sender is down and up
                queue(database, count)
                count += 1
            before = len(box.messages())
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: len(box.messages()) > before, 60, "a delivery", interval=0.02)  # noqa: B023
                time.sleep(rng.uniform(0.0, 1.6))  # in flight, committing, or waiting for the next slot
            finally:
                proc.kill()
                proc.wait(timeout=30)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: all(r.status != PENDING for r in outbox_rows(database)), 60, "the outbox to drain",
                     interval=0.02)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        expected: dict[str, list[str]] = defaultdict(list)
        for row in outbox_rows(database):
            expected[row.chat_id or CHAT].append(row.text)
        for chat, texts in expected.items():
            assert [m.text for m in box.messages(chat)] == texts, chat  # each exactly once, in order
        states = [r.status for r in outbox_rows(database)]
        assert set(states) <= {SENT, UNCERTAIN}, states
        # `uncertain` only for a kill with a request in flight: at most one per kill.
        assert states.count(UNCERTAIN) <= KILLS, states
    finally:
        box.stop()
