"""Telegram commands by long polling: /status /balance /positions /orders /today /report /drift /halt /resume
/help.

Only messages from the configured `TELEGRAM_CHAT_ID` are obeyed (S4); anything else changes nothing, gets no
answer, and is written to the audit log with outcome `denied`. Each update is handled in one transaction
together with the new `getUpdates` offset, so a crash re-handles nothing and skips nothing: the effect (halt,
audit), the reply (queued in the outbox) and the offset commit together. Replies go through the outbox like
every other message; the poller wakes the sender so that an answer arrives within a second or two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.bot import queries
from hantu.bot.queries import Answers
from hantu.clock import Clock
from hantu.config import Settings
from hantu.notify.outbox import enqueue
from hantu.notify.telegram import TelegramClient, TelegramError
from hantu.store.audit import audit
from hantu.store.db import Database
from hantu.store.kv import kv_get, kv_set
from hantu.trading.halt import halt_state, set_halt
from hantu.trading.risk import resume_trading

log = logging.getLogger("hantu.bot.commands")

OFFSET_KEY = "notify.telegram.update_offset"


def _reply_data(command: str, args: str, session: Session, answers: Answers, now: datetime, actor: str
                ) -> tuple[str, dict[str, Any]]:
    """(template kind, data) answering `command`; /halt and /resume change state in `session`."""
    if command == "status":
        return "cmd_status", queries.status(session, answers, now)
    if command == "balance":
        return "cmd_balance", queries.balance(session, answers, now)
    if command == "positions":
        return "cmd_positions", queries.positions(session, answers, now)
    if command == "orders":
        return "cmd_orders", queries.orders(session, answers, now)
    if command == "today":
        return "cmd_today", queries.today(session, answers, now)
    if command == "report":
        return "cmd_report", queries.latest_report(session, answers)
    if command == "drift":
        return "cmd_drift", queries.drift(session, answers)
    if command in ("halt", "resume"):
        want = command == "halt"
        before = halt_state(session)
        reason = args.strip() or ("halted from Telegram" if want else "resumed from Telegram")
        if before.halted != want:
            state = (set_halt(session, True, reason, source="telegram", actor=actor, now=now) if want
                     else resume_trading(session, "telegram", actor, reason, now))
            return "cmd_halt", {"halted": state.halted, "changed": True, "reason": reason, "by": state.by}
        return "cmd_halt", {"halted": before.halted, "changed": False, "reason": before.reason, "by": before.by}
    if command in ("help", "start"):
        return "cmd_help", {}
    return "cmd_unknown", {"command": f"/{command}"}


def parse_command(text: str) -> tuple[str, str] | None:
    """`/halt@hantu_bot big loss` → ("halt", "big loss"); None for text that is not a command."""
    text = (text or "").strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return (name, rest) if name else None


class CommandPoller:
    """Polls `getUpdates` and answers commands. `run_once()` handles one batch; `run_forever(stop)` loops.
    `answers` says which account the read commands show and how (see `hantu.bot.queries.Answers`)."""

    def __init__(self, database: Database, clock: Clock, client: TelegramClient, chat_id: str | None,
                 answers: Answers, long_poll_seconds: float = 20.0, wake_sender: Callable[[], None] | None = None,
                 error_backoff: float = 5.0) -> None:
        self.database = database
        self.clock = clock
        self.client = client
        self.chat_id = str(chat_id) if chat_id is not None else None
        self.answers = answers
        self.long_poll_seconds = long_poll_seconds
        self.wake_sender = wake_sender
        self.error_backoff = error_backoff

    @classmethod
    def from_settings(cls, settings: Settings, database: Database, clock: Clock,
                      wake_sender: Callable[[], None] | None = None, **kwargs: Any) -> CommandPoller | None:
        """A poller for the configured bot, or None without a token (there is nothing to poll)."""
        if settings.telegram_bot_token is None:
            return None
        client = TelegramClient(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)
        return cls(database, clock, client, settings.telegram_chat_id, Answers.from_settings(settings),
                   wake_sender=wake_sender, **kwargs)

    def offset(self) -> int | None:
        with self.database.session() as session:
            value = kv_get(session, OFFSET_KEY)
        return int(value) if value is not None else None

    def run_once(self, timeout: float | None = None) -> int:
        """Fetch and handle one batch of updates (long-polling up to `timeout` s). Returns how many."""
        updates = self.client.get_updates(self.offset(), self.long_poll_seconds if timeout is None else timeout)
        handled = 0
        for update in sorted(updates, key=lambda u: int(u.get("update_id", 0))):
            self._handle(update)
            handled += 1
        if handled and self.wake_sender is not None:
            self.wake_sender()
        return handled

    def run_forever(self, stop: threading.Event) -> None:
        """Long-poll until `stop` is set; network and database errors are logged and retried."""
        while not stop.is_set():
            try:
                self.run_once()
            except TelegramError as error:
                log.warning("getUpdates failed: %s; retrying in %.0f s", error, self.error_backoff)
                stop.wait(self.error_backoff / max(self.clock.speed, 1e-9))
            except Exception:
                log.exception("command poller failed; retrying")
                stop.wait(self.error_backoff / max(self.clock.speed, 1e-9))

    def _handle(self, update: dict[str, Any]) -> None:
        update_id = int(update["update_id"])
        message = update.get("message") or update.get("edited_message") or {}
        chat_id = str((message.get("chat") or {}).get("id", ""))
        sender = message.get("from") or {}
        # the bare user: the audit row's source and the halt state's `by` prefix say "telegram" already
        actor = str(sender.get("username") or sender.get("id", "unknown"))
        text = str(message.get("text") or "")
        now = self.clock.now()
        with self.database.session() as session:
            current = kv_get(session, OFFSET_KEY)
            if current is not None and update_id < int(current):
                return  # already handled (the offset commits with the effect)
            kv_set(session, OFFSET_KEY, update_id + 1)
            if not message:
                return
            if self.chat_id is None or chat_id != self.chat_id:
                audit(session, "telegram", actor, "command_rejected",
                      {"chat_id": chat_id, "user_id": sender.get("id"), "text": text[:200],
                       "reason": "chat id not allowed" if self.chat_id else "TELEGRAM_CHAT_ID not set"},
                      outcome="denied", at=now)
                log.warning("ignored a Telegram message from chat %s (not the configured chat)", chat_id)
                return
            parsed = parse_command(text)
            if parsed is None:
                return
            command, args = parsed
            kind, data = _reply_data(command, args, session, self.answers, now, actor)
            enqueue(session, kind, data, priority="high", chat_id=self.chat_id, now=now,
                    dedupe_key=f"tg-update:{update_id}")
            log.info("answered /%s from Telegram", command)
