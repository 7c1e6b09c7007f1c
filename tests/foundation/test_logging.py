from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hantu.log import mask_secrets, setup_logging

FAKE_SECRETS = ["FAKE-APPKEY-7f3a9c1e2b", "FAKE-APPSECRET-0d9e8f7a6b5c", "FAKE-DBPASS-88aa77bb"]
BOT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


def test_secrets_never_reach_console_or_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("DEBUG", tmp_path / "logs", "testproc", FAKE_SECRETS)
    log = logging.getLogger("hantu.test")
    log.info("message with %s inside", FAKE_SECRETS[0])
    log.warning("direct message " + FAKE_SECRETS[1])
    log.info("dict argument %s", {"secret": FAKE_SECRETS[2]})
    log.info("calling https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
    try:
        raise RuntimeError(f"failed with key {FAKE_SECRETS[0]} and {FAKE_SECRETS[2]}")
    except RuntimeError:
        log.exception("exception text")
    for handler in logging.getLogger().handlers:
        handler.flush()
    captured = capsys.readouterr()
    file_text = (tmp_path / "logs" / "testproc.jsonl").read_text()
    for text in (captured.err, captured.out, file_text):
        for secret in [*FAKE_SECRETS, BOT_TOKEN]:
            assert secret not in text
    assert "***" in captured.err
    lines = [json.loads(line) for line in file_text.splitlines()]
    assert len(lines) == 5
    assert "RuntimeError" in lines[-1]["exception"]
    assert lines[0]["level"] == "INFO" and lines[0]["time"].endswith("+09:00")


def test_mask_prefers_longest_secret() -> None:
    setup_logging("INFO", None, "t", ["abcd1234", "abcd1234-longer"])
    assert mask_secrets("x abcd1234-longer y") == "x *** y"


def test_file_rotates_by_size(tmp_path: Path) -> None:
    setup_logging("INFO", tmp_path / "logs", "rot", [], max_bytes=2000, backups=2)
    log = logging.getLogger("hantu.rot")
    for i in range(100):
        log.info("line %d %s", i, "x" * 50)
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files == ["rot.jsonl", "rot.jsonl.1", "rot.jsonl.2"]
