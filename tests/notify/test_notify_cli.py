"""The CLI end to end: `hantu sandbox telegram` and `hantu notify run` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from notify_support import CHAT, TOKEN
from typer.testing import CliRunner

from helpers import hantu_cmd, run_hantu


def _queue(db_url: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hantu.config import reset_settings_cache
    from hantu.notify.outbox import enqueue
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade

    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    database = get_database(db_url)
    upgrade(database)
    with database.session() as session:
        enqueue(session, "text", {"text": text}, priority="high")


def test_sandbox_subprocess_and_notify_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "sbx"
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    proc = subprocess.Popen(
        hantu_cmd("sandbox", "telegram", "--port", "0", "--home", str(home), "--quiet", "--token", TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _queue(db_url, "안녕 <b> & 반가워", monkeypatch)
        info_file = home / "telegram-sandbox.json"
        deadline = time.monotonic() + 30
        while not info_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        httpx.post(f"{info['control_url']}/update", json={"chat_id": CHAT, "text": "/status"})
        httpx.post(f"{info['control_url']}/update", json={"chat_id": 31337, "text": "/halt"})
        env = {
            "DATABASE_URL": db_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_CHAT_ID": CHAT,
            "TELEGRAM_API_BASE": info["api_base"],
            "LOG_LEVEL": "DEBUG",
        }
        ran = run_hantu("notify", "run", "--once", env=env)
        assert ran.returncode == 0, ran.stderr
        assert TOKEN not in ran.stdout + ran.stderr
        assert "ignored a Telegram message from chat 31337" in ran.stderr
        messages = httpx.get(f"{info['control_url']}/messages", params={"chat_id": CHAT}).json()
        assert next(m["plain"] for m in messages) == "안녕 <b> & 반가워"
        assert (
            len(messages) == 2 and "상태" in messages[1]["plain"] and not messages[0]["disable_notification"]
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert TOKEN not in (proc.stdout.read() if proc.stdout else "") + (
        proc.stderr.read() if proc.stderr else ""
    )


def test_cli_commands_without_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token: `notify run` still drains the outbox, printing what it delivers (the demo's console)."""
    from hantu.cli.main import app
    from hantu.config import reset_settings_cache

    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    runner = CliRunner()
    sent = runner.invoke(app, ["notify", "send", "text", "--data", '{"text": "토큰 없이도 전달"}'])
    assert sent.exit_code == 0, sent.output
    bad = runner.invoke(app, ["notify", "send", "order_filled", "--data", "{}"])
    assert bad.exit_code == 2 and "missing required keys" in bad.output
    ran = run_hantu("notify", "run", "--once", env={"DATABASE_URL": db_url})
    assert ran.returncode == 0, ran.stderr
    assert "[log] 토큰 없이도 전달" in ran.stdout
    status = runner.invoke(app, ["notify", "status", "--json"])
    assert json.loads(status.output)["counts"] == {"logged": 1}  # nobody got it on Telegram: not `sent`
    table = runner.invoke(app, ["notify", "status"])
    assert table.exit_code == 0 and "logged" in table.output, table.output
    templates = runner.invoke(app, ["notify", "templates", "--json"])
    kinds = {row["kind"] for row in json.loads(templates.output)}
    assert {"screening_done", "daily_report", "deploy_failures", "cmd_status"} <= kinds
