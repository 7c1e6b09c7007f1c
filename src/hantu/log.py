"""One logging set-up for every process.

Readable lines to stderr (journald adds its own timestamp, we keep ours for terminals), JSON lines to a
size-rotated file under `$HANTU_HOME/logs/`, and a mask applied to the *fully formatted* record — message,
arguments and traceback alike — so that no configured secret reaches any handler's output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hantu.config import Settings

import json
import logging
import logging.handlers
import os
import re
import sys
import threading
import weakref
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from hantu.clock import KST

MASK = "***"
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
# Telegram bot tokens live in URL paths (`/bot123:ABC/sendMessage`); mask any that reach a log line.
BOT_TOKEN_RE = re.compile(r"(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}")


def register_secrets(values: Iterable[str | None]) -> None:
    """Add values that must never be logged (short values are ignored: they would mask ordinary text)."""
    global _pattern
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= 4)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


def mask_secrets(text: str) -> str:
    """Replace every registered secret (and anything shaped like a bot token) in `text`."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return BOT_TOKEN_RE.sub(MASK, text)


_base_factory = logging.getLogRecordFactory()


def _masking_record_factory(*args, **kwargs) -> logging.LogRecord:
    """Mask at record creation too, so handlers we did not install (pytest, uvicorn) never see secrets."""
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the logging module's to report
        return record
    record.msg, record.args = mask_secrets(message), None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))
    return record


class MaskingFormatter(logging.Formatter):
    """Formats with an inner formatter, then masks the whole result (tracebacks included)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(self.inner.format(record))


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, KST).strftime(datefmt or "%Y-%m-%d %H:%M:%S")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (KST, ISO), level, logger, message, and exception text."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, KST).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            payload["exception"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False)


_configured_for: tuple[str, str | None] | None = None
_own_handlers: weakref.WeakSet[logging.Handler] = weakref.WeakSet()  # what `setup_logging` installed


def setup_logging(
    level: str = "INFO",
    log_dir: Path | None = None,
    process_name: str = "hantu",
    secrets: Iterable[str | None] = (),
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
) -> None:
    """Configure the root logger once per process (calling again replaces the handlers)."""
    global _configured_for
    register_secrets(secrets)
    if logging.getLogRecordFactory() is not _masking_record_factory:
        logging.setLogRecordFactory(_masking_record_factory)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler in _own_handlers:
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(MaskingFormatter(ConsoleFormatter()))
    _own_handlers.add(console)
    root.addHandler(console)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / f"{process_name}.jsonl", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        file_handler.setFormatter(MaskingFormatter(JsonFormatter()))
        _own_handlers.add(file_handler)
        root.addHandler(file_handler)
    root.setLevel(level.upper())
    # Libraries that log request URLs (which may carry the bot token) stay at WARNING.
    for noisy in ("httpx", "httpcore", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured_for = (process_name, str(log_dir) if log_dir else None)


def setup_from_settings(settings: Settings, process_name: str, to_file: bool = True) -> None:
    """Logging for a process from its settings (secrets registered for masking)."""
    setup_logging(settings.log_level, settings.logs_dir if to_file else None, process_name,
                  settings.secret_values())


_TAIL_CHUNK = 8192
_MAX_LINE = 16_384


def tail_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of `path`, reading backwards in chunks (the file may be large)."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        buffer = b""
        while position > 0 and buffer.count(b"\n") <= count:
            step = min(_TAIL_CHUNK, position)
            position -= step
            handle.seek(position)
            buffer = handle.read(step) + buffer
    lines = buffer.decode("utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()][-count:]


def parse_log_line(file: str, line: str) -> dict[str, str | None]:
    """One JSON log line as {file, time, level, logger, message}, masked again with the secrets this process
    knows (a line written before a secret was configured cannot leak it)."""
    text = mask_secrets(line[:_MAX_LINE])
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return {"file": file, "message": text}
    message = str(payload.get("message", ""))
    if payload.get("exception"):
        message += "\n" + str(payload["exception"])
    return {"file": file, "time": _str_or_none(payload.get("time")), "level": _str_or_none(payload.get("level")),
            "logger": _str_or_none(payload.get("logger")), "message": mask_secrets(message)}


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
