"""The last lines of the JSON-lines logs under `$HANTU_HOME/logs/`, read from the end of the file.

Lines were masked when written; they are masked again here (with the secrets this process knows) so that a
line written before a secret was configured cannot leak it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from hantu.log import mask_secrets

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
CHUNK = 8192
MAX_LINE = 16_384


def log_files(logs_dir: Path) -> list[str]:
    """Process names with a current log (`scheduler`, `api`, ...), sorted."""
    if not logs_dir.is_dir():
        return []
    return sorted(p.stem for p in logs_dir.glob("*.jsonl") if p.is_file() and NAME_RE.match(p.stem))


def tail_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of `path`, reading backwards in chunks (the file may be large)."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        buffer = b""
        while position > 0 and buffer.count(b"\n") <= count:
            step = min(CHUNK, position)
            position -= step
            handle.seek(position)
            buffer = handle.read(step) + buffer
    lines = buffer.decode("utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()][-count:]


def parse_line(file: str, line: str) -> dict[str, str | None]:
    text = mask_secrets(line[:MAX_LINE])
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return {"file": file, "message": text}
    message = str(payload.get("message", ""))
    if payload.get("exception"):
        message += "\n" + str(payload["exception"])
    return {"file": file, "time": _str(payload.get("time")), "level": _str(payload.get("level")),
            "logger": _str(payload.get("logger")), "message": mask_secrets(message)}


def _str(value: object) -> str | None:
    return None if value is None else str(value)
