"""The outbox sender: delivers pending messages in order, within Telegram's limits, each at most once.

Delivery of one message (one row of `notify_outbox`), part by part (long messages are split at 4,096
characters):
  1. **wait** for the rate limiter — the row is still `pending`, so a crash here loses nothing;
  2. **claim** — `UPDATE … SET status='sending' WHERE id=? AND status='pending'`, committed, only now that the
     request is about to go out. Only one sender can win a row, so two senders never send the same message;
  3. **send** the part, then commit `parts_sent` (and Telegram's message id) together with the next state:
     `sent` after the last part, back to `pending` before the next one (whose turn starts again at 1).

The crash window. Telegram's `sendMessage` has no idempotency key, so a message whose request may have
reached Telegram cannot be sent again without risking a duplicate. We choose *at most once* for exactly that
window and *at least once* everywhere else:
  * an error that proves the message was not accepted — connection refused, 5xx, 429, 401 — puts the row back
    to `pending` with a backoff (`next_attempt_at`); it is retried, forever, in order: nothing is lost while
    Telegram is down;
  * a crash between steps 2 and 3, a read timeout or a dropped connection after the request was written,
    leaves a row whose delivery is unknown. On start-up every row still `sending` becomes `uncertain`, and an
    ambiguous error marks it `uncertain` at once; such rows are never resent (a long message's later parts
    neither). They are logged at WARNING and counted in `/status` and `hantu notify status` so that a human
    can look. The window is one HTTP round trip plus one small commit, per part.

Order: rows go out in id order per chat; if the oldest pending row of a chat cannot be sent yet (backoff,
429), nothing younger in that chat is sent either. Priorities do not reorder; they decide the sound
(critical/high ring, normal/low arrive with `disable_notification`).

Limits: at most one message per `per_chat_interval` seconds per chat and `global_per_second` overall, measured
at request start on the sender's clock; a 429's `retry_after` pauses that chat (all chats for a global 429).

Stopping: `run_forever(stop, grace)` keeps delivering for `grace` seconds after `stop` is set (what the
shutdown itself queued), starts no request after that — nor one whose rate-limit wait would end after it —
lets the request in flight finish, and returns. What is left stays `pending`, for the next start.

Without a bot token (or without a chat id) messages are claimed and marked `logged` (not `sent`: nobody got
them on Telegram), delivered to the log (`hantu.notify` at INFO) instead — and to `on_delivered`, the hook the
demo uses to print them.

Other channels (`NOTIFY_URLS`: Discord, Slack, e-mail … through apprise) are delivered by the same loop,
after Telegram's turn and independently of it, each with its own state and the same rules:
`hantu.notify.channels`.

Run one sender per database (the scheduler embeds one; `hantu notify run` is the stand-alone form).
"""

from __future__ import annotations

import logging
import subprocess
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update

from hantu.clock import Clock
from hantu.config import Settings
from hantu.notify.channels import ChannelProcess, ChannelSender, channels_from_urls
from hantu.notify.formatting import split_message, strip_tags
from hantu.notify.telegram import TelegramClient, TelegramError
from hantu.store.db import Database
from hantu.store.models.notify import FAILED, LOGGED, PENDING, SENDING, SENT, UNCERTAIN, OutboxMessage

log = logging.getLogger("hantu.notify")

SILENT_PRIORITIES = frozenset({"normal", "low"})


@dataclass(frozen=True)
class Delivered:
    """What `on_delivered` receives for every delivered message."""

    id: int
    kind: str
    priority: str
    chat_id: str | None
    text: str  # as sent (HTML parse mode)
    plain: str  # as the user reads it
    via: str  # telegram | log
    at: datetime


class RateLimiter:
    """Per-chat spacing and a global per-second cap, on a `Clock`."""

    def __init__(self, clock: Clock, per_chat_interval: float = 1.05, global_per_second: int = 30) -> None:
        self.clock = clock
        self.per_chat_interval = per_chat_interval
        self.global_per_second = global_per_second
        self._last: dict[str, datetime] = {}
        self._recent: deque[datetime] = deque()
        self._paused_until: dict[str | None, datetime] = {}  # None: every chat

    def pause(self, chat: str | None, seconds: float) -> None:
        until = self.clock.now() + timedelta(seconds=seconds)
        self._paused_until[chat] = max(until, self._paused_until.get(chat, until))

    def paused(self, chat: str) -> bool:
        now = self.clock.now()
        return any(until > now for key, until in self._paused_until.items() if key in (chat, None))

    def wait_needed(self, chat: str) -> float:
        now = self.clock.now()
        waits = [0.0]
        last = self._last.get(chat)
        if last is not None:
            waits.append(self.per_chat_interval - (now - last).total_seconds())
        while self._recent and (now - self._recent[0]).total_seconds() >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_per_second:
            waits.append(1.0 - (now - self._recent[0]).total_seconds())
        return max(waits)

    def acquire(self, chat: str, until: datetime | None = None) -> bool:
        """Wait (on the clock) until a message to `chat` is allowed, then count it and return True.

        With `until`, a wait that would end after it is not started: False, nothing counted."""
        for _ in range(100):
            wait = self.wait_needed(chat)
            if wait <= 0:
                break
            if until is not None and self.clock.now() + timedelta(seconds=wait) > until:
                return False
            self.clock.sleep(wait + 1e-4)
        now = self.clock.now()
        self._last[chat] = now
        self._recent.append(now)
        return True


class OutboxSender:
    """Delivers the outbox. `run_once()` sends what is due now; `run_forever(stop)` loops until `stop` is set."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        client: TelegramClient | None,
        chat_id: str | None,
        on_delivered: Callable[[Delivered], None] | None = None,
        per_chat_interval: float = 1.05,
        global_per_second: int = 30,
        batch_size: int = 100,
        idle_seconds: float = 1.0,
        max_backoff: float = 300.0,
        channels: ChannelSender | None = None,
    ) -> None:
        self.database = database
        self.channels = channels
        self.clock = clock
        self.client = client
        self.chat_id = chat_id
        self.on_delivered = on_delivered
        self.limiter = RateLimiter(clock, per_chat_interval, global_per_second)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self.name = f"sender-{uuid.uuid4().hex[:8]}"
        self._recovered = False
        self._wake = threading.Event()
        self._stop: threading.Event | None = None  # set by run_forever: once set, the sender drains
        self._grace = 0.0
        self._drain_until: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        database: Database,
        clock: Clock,
        on_delivered: Callable[[Delivered], None] | None = None,
        **kwargs: Any,
    ) -> OutboxSender:
        """A sender for the configured bot token, chat id and API base (log-only without a token)."""
        token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None
        client = TelegramClient(token, settings.telegram_api_base) if token else None
        urls = settings.notify_url_list()
        if urls and "channels" not in kwargs:
            kwargs["channels"] = ChannelProcess(database, clock, channels_from_urls(urls),
                                                max_backoff=kwargs.get("max_backoff", 300.0))
        return cls(database, clock, client, settings.telegram_chat_id, on_delivered, **kwargs)

    # --- running ------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look at the outbox now (the command poller calls this after queueing a reply)."""
        self._wake.set()

    def recover(self) -> int:
        """Rows left `sending` by a crashed sender become `uncertain` (never resent). Returns how many."""
        with self.database.session() as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status == SENDING)).all()
            for row in rows:
                row.status = UNCERTAIN
                row.last_error = (row.last_error or "") + " | sender stopped mid-send; not resent"
                log.warning(
                    "outbox message %s (%s) may or may not have been delivered before a restart; "
                    "not resending it",
                    row.id,
                    row.kind,
                )
        self._recovered = True
        return len(rows)

    def run_once(self) -> int:
        """Send every message that is due now (respecting order and limits), on Telegram and then on the other
        channels. Returns how many were delivered to Telegram (or the log)."""
        if self.channels is not None:
            self.channels.start()
        delivered = self._run_telegram()
        if self.channels is not None:
            self.channels.run_once(self._stopped)
        return delivered

    def _run_telegram(self) -> int:
        if not self._recovered:
            self.recover()
        now = self.clock.now()
        with self.database.session() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == PENDING)
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
            ).all()
        blocked: set[str] = set()
        delivered = 0
        for row in rows:
            if self._stopped():
                break
            target = row.chat_id or self.chat_id
            key = target or "-"
            if key in blocked:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                blocked.add(key)  # keep order: nothing younger in this chat goes first
                continue
            if self.client is not None and target is not None and self.limiter.paused(target):
                blocked.add(key)
                continue
            outcome = self._deliver(row, target)
            if outcome == "sent":
                delivered += 1
            elif outcome in ("retry", "later"):
                blocked.add(key)
            elif outcome == "stop":
                break
        return delivered

    def next_due_in(self) -> float:
        """Seconds (clock time) until the oldest pending message is due; `idle_seconds` when none is."""
        with self.database.session() as session:
            due = session.scalar(
                select(OutboxMessage.next_attempt_at)
                .where(OutboxMessage.status == PENDING)
                .order_by(OutboxMessage.id)
                .limit(1)
            )
            any_pending = session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.status == PENDING).limit(1)
            )
        if any_pending is None:
            return self.idle_seconds
        if due is None:
            return 0.0
        return max(0.0, min(self.idle_seconds * 5, (due - self.clock.now()).total_seconds()))

    def run_forever(self, stop: threading.Event, grace: float = 0.0) -> None:
        """Loop until `stop` is set, then drain for up to `grace` seconds and return (see the module docstring).

        Survives database and network errors (logged, retried)."""
        self._stop, self._grace, self._drain_until = stop, grace, None
        while not stop.is_set():
            try:
                self.run_once()
                wait = max(0.05, min(self.idle_seconds, self.next_due_in()))
            except Exception:
                log.exception("outbox sender loop failed; retrying")
                wait = self.idle_seconds * 5
            self._wake.wait(timeout=wait / max(self.clock.speed, 1e-9))
            self._wake.clear()
        self._drain()
        if isinstance(self.channels, ChannelProcess):
            try:
                self.channels.wait(timeout=max(self._grace, 1.0))
            except subprocess.TimeoutExpired:
                log.warning("channel delivery child still running at stop; leaving it to finish")

    @property
    def request_timeout(self) -> float:
        """The longest one request can take (seconds): how long a stop may wait for the one in flight."""
        return self.client.timeout if self.client is not None else 0.0

    def _deadline(self) -> datetime | None:
        """While stopping, the time after which no request starts; None while not stopping."""
        if self._stop is None or not self._stop.is_set():
            return None
        if self._drain_until is None:
            self._drain_until = self.clock.now() + timedelta(seconds=self._grace)
        return self._drain_until

    def _stopped(self) -> bool:
        deadline = self._deadline()
        return deadline is not None and self.clock.now() >= deadline

    def _drain(self) -> None:
        """After `stop`: deliver what is due until nothing is, or the grace is over."""
        while not self._stopped():
            try:
                if self.run_once() == 0:
                    return
            except Exception:
                log.exception("outbox sender failed while draining; the rest stays queued")
                return

    # --- one message ------------------------------------------------------------------------------
    def _claim(self, row: OutboxMessage, count_attempt: bool = True) -> bool:
        attempts = OutboxMessage.attempts + 1 if count_attempt else OutboxMessage.attempts
        with self.database.session() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == PENDING)
                .values(status=SENDING, claimed_at=self.clock.now(), claimed_by=self.name, attempts=attempts)
            )
            assert isinstance(result, CursorResult)  # an UPDATE's result carries the row count
            return result.rowcount == 1

    def _claim_when_allowed(self, row: OutboxMessage, target: str, count_attempt: bool) -> str | None:
        """Wait for the rate limiter, then claim: a row is `sending` only while its request is in flight.

        None when claimed; 'later' when stopping and the wait would outlast the grace (the row stays pending,
        and so does the rest of its chat); 'done' when another sender has it."""
        if not self.limiter.acquire(target, until=self._deadline()):
            return "later"
        return None if self._claim(row, count_attempt) else "done"

    def _finish(self, row_id: int, **values: object) -> None:
        with self.database.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))

    def _deliver(self, row: OutboxMessage, target: str | None) -> str:
        """'sent', 'retry'/'later' (the chat waits), 'done' (failed/uncertain; move on), 'stop' (all chats wait)."""
        if self.client is None or target is None:
            return self._deliver_to_log(row, target) if self._claim(row) else "done"
        parts = split_message(row.text)
        message_ids = list(row.telegram_message_ids or [])
        silent = row.priority in SILENT_PRIORITIES
        for index in range(row.parts_sent, len(parts)):
            part = parts[index]
            blocked = self._claim_when_allowed(row, target, count_attempt=index == row.parts_sent)
            if blocked:
                return blocked
            try:
                try:
                    message_id = self.client.send_message(target, part, row.parse_mode, silent)
                except TelegramError as error:
                    if error.kind != "rejected" or "parse" not in error.description.lower():
                        raise
                    # Our markup should never fail to parse; if it does, the plain text still gets through.
                    # The 400 proves nothing was delivered: the row waits `pending` for the next slot.
                    log.warning(
                        "outbox message %s: Telegram could not parse its markup; sending plain text", row.id
                    )
                    self._finish(row.id, status=PENDING)
                    blocked = self._claim_when_allowed(row, target, count_attempt=False)
                    if blocked:
                        return blocked
                    message_id = self.client.send_message(target, strip_tags(part), None, silent)
            except TelegramError as error:
                return self._failed(row, error, target)
            message_ids.append(message_id)
            values: dict[str, object] = {"parts_sent": index + 1, "telegram_message_ids": list(message_ids)}
            if index == len(parts) - 1:
                values.update(
                    status=SENT, sent_at=self.clock.now(), delivered_via="telegram", last_error=None
                )
            else:
                values.update(status=PENDING)  # between parts nothing is in flight
            self._finish(row.id, **values)
        log.info(
            "telegram message %s (%s, %s) delivered in %d part(s)", row.id, row.kind, row.priority, len(parts)
        )
        self._notify(row, target, "telegram")
        return "sent"

    def _deliver_to_log(self, row: OutboxMessage, target: str | None) -> str:
        reason = "no TELEGRAM_BOT_TOKEN" if self.client is None else "no TELEGRAM_CHAT_ID"
        log.info(
            "notification %s [%s/%s] (%s, logged only):\n%s",
            row.id,
            row.kind,
            row.priority,
            reason,
            strip_tags(row.text),
        )
        self._finish(
            row.id, status=LOGGED, sent_at=self.clock.now(), delivered_via="log", parts_sent=row.parts_total
        )
        self._notify(row, target, "log")
        return "sent"

    def _notify(self, row: OutboxMessage, target: str | None, via: str) -> None:
        if self.on_delivered is None:
            return
        try:
            self.on_delivered(
                Delivered(
                    row.id,
                    row.kind,
                    row.priority,
                    target,
                    row.text,
                    strip_tags(row.text),
                    via,
                    self.clock.now(),
                )
            )
        except Exception:
            log.exception("on_delivered hook failed for outbox message %s", row.id)

    def _backoff(self, attempts: int) -> float:
        return float(min(self.max_backoff, 2 ** max(0, attempts - 1)))

    def _failed(self, row: OutboxMessage, error: TelegramError, target: str) -> str:
        attempts = (row.attempts or 0) + 1
        now = self.clock.now()
        if error.kind == "uncertain":
            log.warning(
                "outbox message %s (%s): %s — it may have been delivered; not resending it",
                row.id,
                row.kind,
                error,
            )
            self._finish(row.id, status=UNCERTAIN, last_error=str(error))
            return "done"
        if error.kind == "rejected":
            log.error("outbox message %s (%s) refused by Telegram, giving up: %s", row.id, row.kind, error)
            self._finish(row.id, status=FAILED, last_error=str(error))
            return "done"
        if error.kind == "retry_after":
            wait = float(error.retry_after or 1.0)
            self.limiter.pause(target, wait)
            log.warning("Telegram asked to wait %.0f s (429); outbox message %s waits", wait, row.id)
            self._finish(
                row.id, status=PENDING, last_error=str(error), next_attempt_at=now + timedelta(seconds=wait)
            )
            return "retry"
        wait = self._backoff(attempts)
        log.warning(
            "outbox message %s (%s) not delivered (%s); retry in %.0f s", row.id, row.kind, error, wait
        )
        self._finish(
            row.id, status=PENDING, last_error=str(error), next_attempt_at=now + timedelta(seconds=wait)
        )
        # Telegram itself is unreachable or refusing us: every chat waits, order is kept.
        return "stop"
