"""Read the PostgreSQL password file the way libpq does.

The deployment guide keeps the database password out of `.env` and in `~/.pgpass`
(`hostname:port:database:username:password`, `*` matches anything, `\\:` and `\\\\` escape).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PgpassEntry:
    host: str
    port: str
    database: str
    user: str
    password: str

    def matches(self, host: str, port: int | str, database: str, user: str) -> bool:
        wanted = (host, str(port), database, user)
        fields = (self.host, self.port, self.database, self.user)
        return all(field == "*" or field == value for field, value in zip(fields, wanted, strict=True))


def pgpass_path() -> Path:
    """`$PGPASSFILE`, else `~/.pgpass`."""
    explicit = os.environ.get("PGPASSFILE")
    return Path(explicit) if explicit else Path.home() / ".pgpass"


def split_line(line: str) -> list[str]:
    """Split one line on unescaped colons, undoing `\\:` and `\\\\`."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            current.append(nxt)
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def parse_pgpass(text: str) -> list[PgpassEntry]:
    """Entries of a password file; comments, blank and short lines are skipped as libpq does."""
    entries: list[PgpassEntry] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = split_line(line)
        if len(fields) < 5:
            continue
        host, port, database, user = fields[:4]
        password = ":".join(fields[4:]) if len(fields) > 5 else fields[4]
        entries.append(PgpassEntry(host, port, database, user, password))
    return entries


def mode_is_private(path: Path) -> bool:
    """True when group and others have no access (libpq ignores the file otherwise)."""
    mode = path.stat().st_mode
    return not (mode & (stat.S_IRWXG | stat.S_IRWXO))


def lookup_password(host: str, port: int | str, database: str, user: str, path: Path | None = None) -> str | None:
    """The first matching password, or None. A file readable by others is ignored, like libpq."""
    path = path or pgpass_path()
    if not path.is_file() or not mode_is_private(path):
        return None
    for entry in parse_pgpass(path.read_text(encoding="utf-8")):
        if entry.matches(host, port, database, user):
            return entry.password
    return None
