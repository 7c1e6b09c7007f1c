"""Channels beside Telegram (NOTIFY_URLS through apprise) against a real loopback webhook and the Telegram sandbox:
with Telegram down and a webhook up, the webhook receives every message once, in order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from notify_support import CHAT, TOKEN
from sqlalchemy import select

from hantu.notify.channels import Channel, ChannelSender, channels_from_urls
from hantu.notify.outbox import enqueue
from hantu.notify.sender import OutboxSender
from hantu.notify.telegram import TelegramClient
from hantu.store.models.notify import PENDING, SENT, UNCERTAIN, ChannelDelivery, OutboxMessage


class Webhook:
    """A JSON webhook on 127.0.0.1 (what apprise's json:// posts to); `failing` answers 500."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.requests = 0
        self.failing = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.requests += 1
                if hook.failing:
                    self.send_response(500)
                else:
                    hook.received.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def messages(self) -> list[str]:
        return [m["message"] for m in self.received]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def event(database, clock, n: int, **kw) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        enqueue(s, "text", {"text": f"event {n}"}, now=clock.now(), **kw)


def make_sender(database, clock, sandbox, webhook: Webhook) -> OutboxSender:  # type: ignore[no-untyped-def]
    channels = ChannelSender(database, clock, channels_from_urls([webhook.url]))
    client = TelegramClient(TOKEN, sandbox.base_url, timeout=5.0)
    return OutboxSender(database, clock, client, CHAT, per_chat_interval=1.0, channels=channels)


@pytest.mark.parametrize("down_mode", ["refuse", "error"])
def test_telegram_down_webhook_up_gets_every_message_once_in_order(
    database, clock, sandbox, webhook, down_mode, db_url
) -> None:  # type: ignore[no-untyped-def]
    if down_mode == "error" and not db_url.startswith("sqlite"):
        pytest.skip("the outage shape is storage-independent; covered on SQLite")
    sender = make_sender(database, clock, sandbox, webhook)
    sandbox.set_down(down_mode)
    for n in range(12):
        clock.advance(30)
        event(database, clock, n)
        if n % 4 == 0:
            event(database, clock, n * 100)  # two in the same moment
        sender.run_once()
    with database.session() as s:  # a reply to a command goes to its chat only, never to the channels
        enqueue(s, "text", {"text": "reply to /status"}, chat_id=CHAT, now=clock.now())
    sender.run_once()
    expected = []
    for n in range(12):
        expected.append(f"event {n}")
        if n % 4 == 0:
            expected.append(f"event {n * 100}")
    assert webhook.messages() == expected  # every message once, in order, while Telegram is down
    assert {m["title"] for m in webhook.received} == {"Hantu Quant"}
    assert sandbox.messages(CHAT) == []
    with database.session() as s:
        assert {r.status for r in s.scalars(select(OutboxMessage))} == {PENDING}  # Telegram still owes them
        assert {r.status for r in s.scalars(select(ChannelDelivery))} == {SENT}

    sandbox.set_down(None)  # Telegram back: it catches up in order; the webhook gets nothing twice
    for _ in range(100):
        clock.advance(max(1.0, sender.next_due_in()))
        sender.run_once()
        with database.session() as s:
            if s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == PENDING).limit(1)) is None:
                break
    assert [m.plain for m in sandbox.messages(CHAT)] == [*expected, "reply to /status"]
    assert webhook.messages() == expected


def test_webhook_down_retries_with_backoff_in_order_and_telegram_is_unaffected(
    sqlite_database, clock, sandbox, webhook, raw_logs
) -> None:  # type: ignore[no-untyped-def]
    sender = make_sender(sqlite_database, clock, sandbox, webhook)
    webhook.failing = True
    for n in range(5):
        event(sqlite_database, clock, n)
        sender.run_once()
        clock.advance(1.1)
    assert [m.plain for m in sandbox.messages(CHAT)] == [f"event {n}" for n in range(5)]
    assert webhook.received == []
    with sqlite_database.session() as s:
        rows = s.scalars(select(ChannelDelivery)).all()
        # only the oldest is tried (the channel keeps order), its retries spaced by the backoff
        assert len(rows) == 1 and rows[0].status == PENDING and 1 < rows[0].attempts <= 4
    tried = webhook.requests
    sender.run_once()  # within the backoff: no request
    assert webhook.requests == tried
    assert "not delivered to json-1" in raw_logs.text()
    assert "/hook" not in raw_logs.text()  # the URL (a webhook's token) is logged by nobody, apprise included

    webhook.failing = False
    for _ in range(20):
        clock.advance(60)
        sender.run_once()
    assert webhook.messages() == [f"event {n}" for n in range(5)]
    assert len(sandbox.messages(CHAT)) == 5


def test_a_delivery_left_sending_by_a_crash_is_never_resent(sqlite_database, clock, webhook) -> None:  # type: ignore[no-untyped-def]
    event(sqlite_database, clock, 0)
    event(sqlite_database, clock, 1)
    first = ChannelSender(sqlite_database, clock, channels_from_urls([webhook.url]))
    with sqlite_database.session() as s:
        message_id = s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id))
    first._since(first.channels[0])
    first._claim(first.channels[0], message_id, None)  # claimed, then the process died before the request
    restarted = ChannelSender(sqlite_database, clock, channels_from_urls([webhook.url]))
    restarted.run_once()
    assert webhook.messages() == ["event 1"]
    with sqlite_database.session() as s:
        statuses = {r.message_id: r.status for r in s.scalars(select(ChannelDelivery))}
    assert statuses[message_id] == UNCERTAIN


def test_a_new_channel_owes_what_is_pending_not_the_history(sqlite_database, clock, sandbox, webhook) -> None:  # type: ignore[no-untyped-def]
    telegram_only = OutboxSender(sqlite_database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT)
    event(sqlite_database, clock, 0)
    telegram_only.run_once()  # delivered before the channel existed
    event(sqlite_database, clock, 1)  # still pending when the channel is added
    sender = make_sender(sqlite_database, clock, sandbox, webhook)
    clock.advance(2)
    sender.run_once()
    assert webhook.messages() == ["event 1"]


def test_a_broken_channel_does_not_stop_the_others(sqlite_database, clock, webhook) -> None:  # type: ignore[no-untyped-def]
    def broken(url: str):  # type: ignore[no-untyped-def]
        raise ValueError("not an apprise URL")

    channels = [Channel("bad-1", "nope://x", make_notifier=broken), *channels_from_urls([webhook.url])]
    sender = ChannelSender(sqlite_database, clock, channels)
    event(sqlite_database, clock, 0)
    assert sender.run_once() == 1
    assert webhook.messages() == ["event 0"]


def test_the_long_running_sender_delivers_channels_in_a_child_and_never_loads_apprise(tmp_path, webhook) -> None:  # type: ignore[no-untyped-def]
    """From settings (NOTIFY_URLS), as the scheduler builds it: a child process delivers, the parent stays lean."""
    code = (
        "import sys\n"
        "from hantu.config import get_settings\n"
        "from hantu.clock import SystemClock\n"
        "from hantu.store.db import get_database\n"
        "from hantu.store.migrate import upgrade\n"
        "from hantu.notify.outbox import enqueue\n"
        "from hantu.notify.sender import OutboxSender\n"
        "settings = get_settings()\n"
        "db = get_database(settings.resolved_database_url); upgrade(db)\n"
        "sender = OutboxSender.from_settings(settings, db, SystemClock())\n"
        "print('names', [c.name for c in sender.channels.channels])\n"
        "with db.session() as s:\n"
        "    for n in range(3):\n"
        "        enqueue(s, 'text', {'text': f'안녕 {n}'})\n"
        "sender.run_once()\n"
        "print('child', sender.channels.wait(timeout=120))\n"
        "import time; time.sleep(1.5)\n"
        "sender.run_once()\n"
        "print('second child', sender.channels.wait(timeout=120))\n"
        "print('apprise loaded', 'apprise' in sys.modules)\n"
    )
    env = {"HANTU_HOME": str(tmp_path), "HANTU_ENV_FILE": str(tmp_path / "absent.env"),
           "NOTIFY_URLS": f"{webhook.url}  mailtos://user:s3cretpass@127.0.0.1:1?to=a@example.com,b@example.com",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "names ['json-1', 'mailtos-2']" in done.stdout
    # a second pass may start a child for the e-mail channel's retry: the webhook still has each message once
    assert "child 0" in done.stdout and re.search(r"second child (0|None)", done.stdout)
    assert "apprise loaded False" in done.stdout
    assert webhook.messages() == ["안녕 0", "안녕 1", "안녕 2"]
    assert "s3cretpass" not in done.stderr  # the e-mail channel fails (port 1) without showing its password
