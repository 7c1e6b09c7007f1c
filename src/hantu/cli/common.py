"""Helpers every command shares: JSON output, errors with exit codes, the console, the database."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from hantu import exitcodes

if TYPE_CHECKING:
    from rich.console import Console

    from hantu.store.db import Database

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_STALE_DATA = exitcodes.STALE_DATA  # the market data ends before the close a decision needs, or a sync left days unfilled

_console: Console | None = None


PIPE_WIDTH = 4096  # "unlimited": rich wants a width; nothing a command prints comes near it


def make_console(stderr: bool = False) -> Console:
    """A rich console that wraps only for a terminal: piped into a file, `grep` or `less`, a line stays one
    line (rich's fallback is 80 columns). An explicit COLUMNS still wins."""
    import os

    from rich.console import Console

    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)


def console() -> Console:
    global _console
    if _console is None:
        _console = make_console()
    return _console


def print_json(payload: Any) -> None:
    """Machine-readable output on stdout, UTF-8, dates as ISO strings."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return str(value)


def day_alias_option() -> Any:
    """`--day`, the old name of `--date` on `trade orders|fills`: accepted, hidden from `--help`."""
    return typer.Option(None, "--day", hidden=True, help="Alias of --date.")


def one_date(date: str | None, day: str | None) -> str | None:
    """The trading date given as `--date` or its alias `--day` (both: they must agree)."""
    if date is not None and day is not None and date != day:
        fail(f"--date {date} and --day {day} disagree: --day is an alias of --date, give one", EXIT_USAGE)
    return date if date is not None else day


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print a clear error to stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_database(upgrade: bool = True) -> Database:
    """The configured database, schema brought up to date (commands need the tables to exist)."""
    from hantu.config import get_settings
    from hantu.store.db import get_database
    from hantu.store.migrate import ensure_schema

    database = get_database(get_settings().resolved_database_url)
    if upgrade:
        ensure_schema(database)
    return database


def init_cli_logging() -> None:
    """Console logging for a CLI command, with secrets masked (no file: commands are short)."""
    from hantu.config import get_settings
    from hantu.log import setup_from_settings

    setup_from_settings(get_settings(), "cli", to_file=False)
