"""The `hantu` command: one entry point, one group per area."""

from __future__ import annotations

import typer

from hantu import __version__
from hantu.cli import api, backtest, config_cmd, data, db_cmd, demo, notify_cmd, ops, sandbox, scheduler_cmd
from hantu.cli import strategy as strategy_cmd
from hantu.cli import trade as trade_cmd

app = typer.Typer(
    name="hantu",
    help="Hantu Quant: automated trading for KOSPI/KOSDAQ through the KIS Open API.\n\n"
    "Start with `hantu demo` (a simulated trading day, no credentials) or `hantu config check`.\n\n"
    "\b\nExamples:\n  hantu demo\n  hantu data sample --stocks 300 --days 300\n"
    "  hantu backtest --strategy momentum --json\n  hantu trade positions",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(backtest.app, name="backtest")
app.command("api")(api.serve_command)
app.add_typer(ops.app, name="ops")
app.command("doctor")(ops.doctor)
app.command("run")(scheduler_cmd.start_command)
app.command("demo")(demo.demo_command)
app.add_typer(scheduler_cmd.jobs_app, name="jobs")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(data.app, name="data")
app.command("screen")(strategy_cmd.screen)
app.command("select")(strategy_cmd.select)
app.command("explain")(strategy_cmd.explain)
app.add_typer(strategy_cmd.app, name="strategy")
app.add_typer(notify_cmd.app, name="notify")
app.add_typer(trade_cmd.app, name="trade")


@app.command("version")
def version() -> None:
    """Print the installed version.

    Example: hantu version
    """
    typer.echo(f"hantu {__version__}")


def run() -> None:
    """Console-script entry point."""
    run_app(app)


def run_app(typer_app: typer.Typer, **kwargs: object) -> None:
    """Run a Typer app; a known failure (invalid configuration, damaged database or market store) is one clear
    message and its exit status from `hantu.exitcodes`, not a traceback."""
    try:
        typer_app(**kwargs)
    except Exception as error:
        from hantu.cli.failures import known_failure

        failure = known_failure(error)
        if failure is None:
            raise
        typer.echo(f"error: {failure.message}", err=True)
        raise SystemExit(failure.code) from None


if __name__ == "__main__":
    run()
