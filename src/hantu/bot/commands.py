"""Telegram commands by long polling: /status /balance /positions /orders /today /report /drift /halt /resume /help,
the read commands /profit /daily /trades /risk /logs, and the trading commands /sell /buy /cancel /flatten.

A trading command changes nothing by itself: it proposes an action (`hantu.bot.actions`) and answers with what
will happen — prices and quantities — under 확인/취소 buttons; a tap (a `callback_query`) decides it, and only a
confirmed action is executed (by `run_once`, after the tap's transaction commits). `/flatten` asks twice.

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

from hantu.bot import queries, reads
from hantu.bot.actions import ActionError, ActionService, Decision
from hantu.bot.queries import Answers
from hantu.clock import Clock
from hantu.config import Settings
from hantu.notify.outbox import enqueue
from hantu.notify.telegram import KEYBOARD_KEY, TelegramClient, TelegramError
from hantu.store.audit import audit
from hantu.store.db import Database
from hantu.store.kv import kv_get, kv_set
from hantu.trading.halt import halt_state, set_halt
from hantu.trading.risk import resume_trading

log = logging.getLogger("hantu.bot.commands")

OFFSET_KEY = "notify.telegram.update_offset"
CALLBACK_PREFIX = "ctl"  # callback_data "ctl:<token>:<stage>" confirms that stage, "ctl:<token>:n" says no
TRADING_COMMANDS = ("sell", "buy", "cancel", "flatten")


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
    if command == "profit":
        return "cmd_profit", reads.profit(session, answers, now, args)
    if command == "daily":
        return "cmd_daily", reads.daily(session, answers, args)
    if command == "trades":
        return "cmd_trades", reads.trades(session, answers, args)
    if command == "risk":
        return "cmd_risk", reads.risk(session, answers, now)
    if command == "logs":
        return "cmd_logs", reads.logs(answers.logs_dir, args)
    if command in ("help", "start"):
        return "cmd_help", {}
    return "cmd_unknown", {"command": f"/{command}"}


def trading_params(command: str, args: str) -> dict[str, Any]:
    """The action parameters of a trading command's words (checked by the action layer)."""
    words = args.split()
    if command == "sell":
        return {"code": words[0] if words else "", "quantity": words[1] if len(words) > 1 else "all"}
    if command == "buy":
        return {"code": words[0] if words else "", "quantity": words[1] if len(words) > 1 else None,
                "price": words[2] if len(words) > 2 else None}
    if command == "cancel":
        return {"order": words[0] if words else ""}
    return {}


def confirm_data(kind: str, token: str, preview: dict[str, Any], stage: int, stages: int, expires_at: datetime,
                 language: str) -> dict[str, Any]:
    """The `ctl_confirm` message: the preview and the two buttons of confirmation `stage`."""
    yes, no = ("✅ 확인", "❌ 취소") if language == "ko" else ("✅ Confirm", "❌ Cancel")
    return {"kind": kind, "preview": preview, "stage": stage, "stages": stages, "expires_at": expires_at,
            KEYBOARD_KEY: [[{"text": yes, "callback_data": f"{CALLBACK_PREFIX}:{token}:{stage}"},
                            {"text": no, "callback_data": f"{CALLBACK_PREFIX}:{token}:n"}]]}


def parse_callback(data: str) -> tuple[str, int | None] | None:
    """"ctl:ab12:1" → ("ab12", 1); "ctl:ab12:n" → ("ab12", None); anything else → None."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX or not parts[1]:
        return None
    if parts[2] == "n":
        return parts[1], None
    return (parts[1], int(parts[2])) if parts[2].isdigit() else None


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
                 error_backoff: float = 5.0, actions: ActionService | None = None) -> None:
        self.database = database
        self.actions = actions  # None: the trading commands answer that they are not available here
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
        kwargs.setdefault("actions", ActionService.from_settings(settings, database, clock))
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
        handled += self.run_actions()
        if handled and self.wake_sender is not None:
            self.wake_sender()
        return handled

    def run_actions(self) -> int:
        """Execute the confirmed actions (from a tap here or the dashboard); how many were executed."""
        if self.actions is None:
            return 0
        try:
            return len(self.actions.run_confirmed(self.database))
        except Exception:  # the next round tries again; the rows stay confirmed
            log.exception("executing confirmed control actions failed")
            return 0

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
        callback = update.get("callback_query") or {}
        message = (callback.get("message") if callback else None) or update.get("message") \
            or update.get("edited_message") or {}
        chat_id = str((message.get("chat") or {}).get("id", ""))
        sender = (callback.get("from") if callback else None) or message.get("from") or {}
        # the bare user: the audit row's source and the halt state's `by` prefix say "telegram" already
        actor = str(sender.get("username") or sender.get("id", "unknown"))
        text = str(callback.get("data") or "") if callback else str(message.get("text") or "")
        now = self.clock.now()
        toast = ""
        with self.database.session() as session:
            current = kv_get(session, OFFSET_KEY)
            if current is not None and update_id < int(current):
                return  # already handled (the offset commits with the effect)
            kv_set(session, OFFSET_KEY, update_id + 1)
            if not message:
                return
            if self.chat_id is None or chat_id != self.chat_id:
                audit(session, "telegram", actor, "callback_rejected" if callback else "command_rejected",
                      {"chat_id": chat_id, "user_id": sender.get("id"), "text": text[:200],
                       "reason": "chat id not allowed" if self.chat_id else "TELEGRAM_CHAT_ID not set"},
                      outcome="denied", at=now)
                log.warning("ignored a Telegram message from chat %s (not the configured chat)", chat_id)
                return
            if callback:
                kind, data, toast = self._tap(session, text, actor, now)
                log.info("handled a button tap from Telegram (%s)", data.get("outcome", kind))
            else:
                parsed = parse_command(text)
                if parsed is None:
                    return
                command, args = parsed
                if command in TRADING_COMMANDS:
                    kind, data = self._propose(session, command, args, actor, now)
                else:
                    kind, data = _reply_data(command, args, session, self.answers, now, actor)
                log.info("answered /%s from Telegram", command)
            if kind:
                enqueue(session, kind, data, priority="high", chat_id=self.chat_id, now=now,
                        dedupe_key=f"tg-update:{update_id}")
        if callback and callback.get("id"):
            try:  # stops the button's spinner; the answer itself is in the outbox
                self.client.answer_callback_query(str(callback["id"]), toast)
            except TelegramError as error:
                log.info("answerCallbackQuery failed (harmless): %s", error)

    def _propose(self, session: Session, command: str, args: str, actor: str, now: datetime
                 ) -> tuple[str, dict[str, Any]]:
        if self.actions is None:
            return "ctl_refused", {"ko": "이 프로세스에서는 거래 명령을 쓸 수 없습니다.",
                                   "en": "trading commands are not available in this process"}
        try:
            row = self.actions.propose(session, command, trading_params(command, args), source="telegram",
                                       actor=actor, chat_id=self.chat_id)
        except ActionError as error:
            return "ctl_refused", {"ko": error.ko, "en": error.en}
        return "ctl_confirm", confirm_data(row.kind, row.token, row.preview, 1, row.confirmations_needed,
                                           row.expires_at, self.answers.language)

    def _tap(self, session: Session, data: str, actor: str, now: datetime) -> tuple[str, dict[str, Any], str]:
        """(reply kind or "", its data, the toast) for a button tap."""
        parsed = parse_callback(data)
        if parsed is None or self.actions is None:
            return "", {}, ""
        token, stage = parsed
        decision: Decision = self.actions.decide(session, token, stage, source="telegram", actor=actor,
                                                 chat_id=self.chat_id)
        ko = self.answers.language == "ko"
        if decision.outcome == "next_stage" and decision.kind and decision.expires_at:
            return "ctl_confirm", confirm_data(decision.kind, token, decision.preview or {}, decision.stage,
                                               decision.stages, decision.expires_at,
                                               self.answers.language), "한 번 더 확인하세요" if ko else "confirm again"
        if decision.outcome == "done":
            return "", {"outcome": "done"}, "완료" if ko else "done"  # the result message is queued already
        toast = {"confirmed": ("확인됨", "confirmed"), "rejected": ("취소됨", "cancelled"),
                 "expired": ("만료됨", "expired"), "already": ("이미 처리됨", "already handled")}.get(
                     decision.outcome, ("", ""))
        return "ctl_decided", {"outcome": decision.outcome, "kind": decision.kind or "-"}, toast[0 if ko else 1]
