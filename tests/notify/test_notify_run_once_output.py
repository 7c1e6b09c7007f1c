"""`hantu notify run --once` without Telegram prints each delivered message once (not once more in the log)."""

from __future__ import annotations

from pathlib import Path

from helpers import run_hantu


def test_each_message_is_printed_once(isolated_env: Path) -> None:
    queued = run_hantu("notify", "send", "text", "--data", '{"text": "한 번만 보이는 메시지"}')
    assert queued.returncode == 0, queued.stderr
    ran = run_hantu("notify", "run", "--once")
    assert ran.returncode == 0, ran.stderr
    assert (ran.stdout + ran.stderr).count("한 번만 보이는 메시지") == 1
    assert "[log] 한 번만 보이는 메시지" in ran.stdout
    assert "delivered 1 message(s)" in ran.stderr and "TELEGRAM_BOT_TOKEN" in ran.stderr
