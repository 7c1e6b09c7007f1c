"""`hantu config`: check the configuration."""

from __future__ import annotations

import typer

from hantu.cli.common import print_json

app = typer.Typer(
    help="Check the configuration (.env, environment, .pgpass).\n\nExample: hantu config check --json",
    no_args_is_help=True,
)


@app.command("check")
def check(
    json_output: bool = typer.Option(False, "--json", help="Print findings as JSON."),
) -> None:
    """Validate every setting at once; one line per problem, values masked.

    Exit code 1 when any error is found. Example: `hantu config check --json`.
    """
    from hantu.config.check import check_configuration, explain_defaults
    from hantu.strategy.registry import available_strategies

    settings, findings = check_configuration(strategies=available_strategies())
    errors = [f for f in findings if f.level == "error"]
    notes = explain_defaults(settings) if settings is not None else []
    if json_output:
        print_json(
            {
                "ok": not errors,
                "findings": [f.as_dict() for f in findings],
                "configuration": [f.as_dict() for f in notes],
            }
        )
    else:
        for finding in notes:
            typer.echo(f"  {finding.key:<15} {finding.message}")
        for finding in findings:
            mark = {"error": "✗", "warning": "⚠", "info": "·"}[finding.level]
            typer.echo(f"{mark} {finding.level.upper():<7} {finding.key}: {finding.message}")
        typer.echo(
            "Configuration: "
            + ("FAILED" if errors else "OK")
            + (f" ({len(errors)} error(s))" if errors else "")
        )
    raise typer.Exit(1 if errors else 0)
