"""The CLI, the API and Telegram report the same account at the same moment (issue #18's acceptance).

One seeded database (SQLite and PostgreSQL) and market store; `hantu trade balance --json` as a real
subprocess, `/api/v1/account` and `/api/v1/status` over HTTP from the real API server on loopback, and `/balance`
through the Telegram sandbox on a driven clock. The seeded positions' newest closes differ from their average
costs, so an answer valued at cost (as Telegram's used to be) fails the equity check. The CLI and the API run
on the wall clock: the figures compared do not depend on the day (the newest stored close prices them).
"""

from __future__ import annotations

import json
import re

import httpx
from api_seed import CASH, CLOSES, NOW, POSITIONS
from server_proc import ServerProcess

from hantu.bot.commands import CommandPoller
from hantu.bot.queries import Answers
from hantu.clock import FrozenClock
from hantu.config import get_settings
from hantu.notify.sender import OutboxSender
from hantu.notify.telegram import TelegramClient
from hantu.sandbox.telegram import TelegramSandbox

from helpers import run_hantu

TOKEN = "7412589630:AAH-sandboxTokenThatMustNeverBeLogged1"
CHAT = "424242"

NEWEST = CLOSES[max(CLOSES)]
EQUITY_AT_MARKET = CASH + sum(quantity * NEWEST[code] for code, (quantity, _) in POSITIONS.items())
EQUITY_AT_COST = CASH + sum(quantity * cost for quantity, cost in POSITIONS.values())


def _won(text: str, label: str) -> int:
    found = re.search(rf"{label}: ([\d,]+)원", text)
    assert found, f"no {label} in {text!r}"
    return int(found.group(1).replace(",", ""))


def telegram_balance(database) -> str:  # type: ignore[no-untyped-def]
    """`/balance` asked through the sandbox, answered by the poller and delivered by the sender."""
    clock = FrozenClock(NOW)
    sandbox = TelegramSandbox(token=TOKEN, clock=clock).start()
    try:
        sender = OutboxSender(database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT, per_chat_interval=1.0)
        poller = CommandPoller(database, clock, TelegramClient(TOKEN, sandbox.base_url), CHAT,
                               Answers.from_settings(get_settings()), long_poll_seconds=0, wake_sender=sender.wake)
        sandbox.inject_update(CHAT, "/balance")
        assert poller.run_once(timeout=0) == 1
        clock.advance(2)
        sender.run_once()
        messages = sandbox.messages(CHAT)
        assert len(messages) == 1
        return messages[0].plain
    finally:
        sandbox.stop()


def test_cli_api_and_telegram_report_the_same_account(seeded) -> None:  # type: ignore[no-untyped-def]
    assert EQUITY_AT_MARKET != EQUITY_AT_COST  # the seed tells the two valuations apart
    cli = run_hantu("trade", "balance", "--json")
    assert cli.returncode == 0, cli.stderr
    balance = json.loads(cli.stdout)
    server = ServerProcess("uvicorn", {})
    try:
        account = httpx.get(server.url + "/api/v1/account", timeout=10).json()
        status = httpx.get(server.url + "/api/v1/status", timeout=10).json()["account"]
    finally:
        server.stop()
    text = telegram_balance(seeded)

    expected_positions = {code: quantity for code, (quantity, _) in POSITIONS.items()}
    reports = {
        "cli": (balance["cash"], {h["code"]: h["quantity"] for h in balance["holdings"]}, balance["equity"]),
        "api /account": (account["cash"], {h["code"]: h["quantity"] for h in account["holdings"]},
                         account["equity"]),
        "api /status": (status["cash"], {h["code"]: h["quantity"] for h in status["holdings"]}, status["equity"]),
        "telegram /balance": (_won(text, "현금"),
                              {code: int(q.replace(",", "")) for code, q in re.findall(r"\((\d{6})\) ([\d,]+)주", text)},
                              _won(text, "총 평가자산")),
    }
    for source, (cash, positions, equity) in reports.items():
        assert (cash, positions, equity) == (CASH, expected_positions, EQUITY_AT_MARKET), (source, text)
    assert balance["positions"] == account["positions"] == status["positions"] == len(POSITIONS)
    assert balance["prices_as_of"] == account["prices_as_of"] == max(CLOSES).isoformat()
    assert f"{max(CLOSES).isoformat()} 종가 기준" in text
