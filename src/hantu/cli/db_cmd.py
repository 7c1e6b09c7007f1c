"""`hantu db`: schema migrations."""

from __future__ import annotations

import typer

app = typer.Typer(help="Database schema: upgrade and inspect.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run while other processes start."""
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade as do_upgrade

    reached = do_upgrade(get_database(), revision)
    typer.echo(f"database at revision {reached}")


@app.command("current")
def current() -> None:
    """Print the database's current revision and the code's head revision."""
    from hantu.store.db import get_database
    from hantu.store.migrate import current_revision, head_revision

    now = current_revision(get_database())
    head = head_revision()
    typer.echo(f"current: {now or '(empty)'}\nhead:    {head}")
    if now != head:
        typer.echo("run `hantu db upgrade` to bring the schema up to date")
