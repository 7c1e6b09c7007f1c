"""`hantu db`: schema migrations."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from hantu.store.db import Database

app = typer.Typer(help="Database schema: upgrade, inspect, and downgrade (deployment rollback).\n\n"
                  "Example: hantu db upgrade && hantu db current", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run while other processes start.

    Examples:
      hantu db upgrade
      hantu db upgrade 0006
    """
    from hantu.config import get_settings
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade as do_upgrade

    _move_schema(do_upgrade, get_database(get_settings().resolved_database_url), revision, "upgrade")


@app.command("current")
def current(as_json: bool = typer.Option(False, "--json", help="Print {\"current\": …, \"head\": …}.")) -> None:
    """Print the database's current revision and the code's head revision.

    Example: hantu db current --json
    """
    from hantu.config import get_settings
    from hantu.store.db import get_database
    from hantu.store.migrate import current_revision, head_revision

    now = current_revision(get_database(get_settings().resolved_database_url))
    head = head_revision()
    if as_json:
        typer.echo(json.dumps({"current": now, "head": head}))
        return
    typer.echo(f"current: {now or '(empty)'}\nhead:    {head}")
    if now != head:
        typer.echo("run `hantu db upgrade` to bring the schema up to date")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision (`hantu db current` shows the ids)."),
              yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Take the schema back to REVISION: what a deployment rollback needs before the older code starts.

    The tables and columns that later migrations added are dropped, with their data. `hantu ops deploy`
    does this itself when it rolls back a release that migrated.
    Example: hantu db downgrade 0006 --yes
    """
    from hantu.config import get_settings
    from hantu.store.db import get_database
    from hantu.store.migrate import current_revision
    from hantu.store.migrate import downgrade as do_downgrade

    database = get_database(get_settings().resolved_database_url)
    now = current_revision(database)
    if now == revision:
        typer.echo(f"database already at revision {revision}")
        return
    if not yes and not typer.confirm(f"Downgrade the schema from {now} to {revision}? Data in the newer tables "
                                     "and columns is dropped"):
        raise typer.Exit(1)
    _move_schema(do_downgrade, database, revision, "downgrade")


def _move_schema(move: Callable[[Database, str], str | None], database: Database, revision: str, verb: str) -> None:
    """Run `hantu.store.migrate.upgrade`/`downgrade`; an unknown revision, or one on the wrong side of the
    current one, is a clear error instead of Alembic's traceback."""
    from alembic.util import CommandError

    from hantu.cli.common import fail

    try:
        reached = move(database, revision)
    except CommandError as error:
        fail(f"cannot {verb} to {revision!r}: {error} (`hantu db current` shows the ids)")
    typer.echo(f"database at revision {reached}")
