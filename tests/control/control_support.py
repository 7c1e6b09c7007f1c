"""The Telegram side of the control tests: a poller and a sender on the sandboxes, and a chat helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from control_kit import CHAT, TOKEN

from hantu.bot.actions import ActionService
from hantu.bot.commands import CommandPoller
from hantu.bot.queries import Answers
from hantu.market.closes import closes_reader
from hantu.notify.sender import OutboxSender
from hantu.notify.telegram import TelegramClient
from hantu.trading.account import AccountService


@dataclass
class Chat:
    """The user's phone: types commands, taps buttons, reads what arrived."""

    telegram: Any
    poller: CommandPoller
    sender: OutboxSender
    clock: Any

    def pump(self) -> list[Any]:
        before = len(self.telegram.messages(CHAT))
        self.poller.run_once(timeout=0)
        self.clock.advance(2)
        self.sender.run_once()
        return self.telegram.messages(CHAT)[before:]

    def say(self, text: str, chat: str = CHAT) -> list[Any]:
        self.telegram.inject_update(chat, text)
        return self.pump()

    def tap(self, message: Any, data: str) -> list[Any]:
        self.telegram.tap(message, data)
        return self.pump()

    def yes(self, message: Any) -> list[Any]:
        (button,) = [b for b in message.buttons() if not b["callback_data"].endswith(":n")]
        return self.tap(message, button["callback_data"])

    def no(self, message: Any) -> list[Any]:
        (button,) = [b for b in message.buttons() if b["callback_data"].endswith(":n")]
        return self.tap(message, button["callback_data"])


def chat_for(desk: Any, telegram: Any, store_root: Any, logs_dir: Any = None, executor: bool = True) -> Chat:
    """A fresh poller and sender (a process start): everything they know comes from the database."""
    account = AccountService("kis", closes_reader(store_root))
    answers = Answers(account, "kis/virtual", "ko", logs_dir)
    actions = ActionService(account, desk.clock, engine=desk.engine if executor else None)
    sender = OutboxSender(desk.database, desk.clock, TelegramClient(TOKEN, telegram.base_url), CHAT,
                          per_chat_interval=1.0)
    poller = CommandPoller(desk.database, desk.clock, TelegramClient(TOKEN, telegram.base_url), CHAT, answers,
                           long_poll_seconds=0, wake_sender=sender.wake, actions=actions)
    return Chat(telegram, poller, sender, desk.clock)
