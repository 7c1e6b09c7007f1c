"""The last lines of the JSON-lines logs under `$HANTU_HOME/logs/`, read from the end of the file.

Lines were masked when written; they are masked again here (with the secrets this process knows) so that a
line written before a secret was configured cannot leak it.
"""

from __future__ import annotations

import re
from pathlib import Path

from hantu.log import parse_log_line, tail_lines

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def log_files(logs_dir: Path) -> list[str]:
    """Process names with a current log (`scheduler`, `api`, ...), sorted."""
    if not logs_dir.is_dir():
        return []
    return sorted(p.stem for p in logs_dir.glob("*.jsonl") if p.is_file() and NAME_RE.match(p.stem))


parse_line = parse_log_line  # the log module reads its own files (Telegram's /logs uses the same)

__all__ = ["NAME_RE", "log_files", "parse_line", "tail_lines"]
