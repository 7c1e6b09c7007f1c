"""The `hantu` command: one entry point, one group per area.

Sub-commands are loaded lazily: `hantu --help` lists them from the table below without importing their modules,
and `hantu data …` imports `hantu.cli.data` only. Settings (pydantic-settings) load with the first command that
reads them, never for `--help` (quality bar P6; tests/foundation/test_cli_root.py guards the import set).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from hantu import __version__


@dataclass(frozen=True)
class LazyEntry:
    """One top-level command: where it lives, whether it is a Typer group or one function, and its short help
    (the first sentence of its docstring or group help, as `hantu --help` lists it; a test keeps them equal)."""

    module: str
    attribute: str
    group: bool
    help: str


LAZY: dict[str, LazyEntry] = {
    "api": LazyEntry("hantu.cli.api", "serve_command", False,
                     "Serve the API (/api/v1/...) and the dashboard (/) until interrupted."),
    "doctor": LazyEntry("hantu.cli.ops", "doctor", False,
                        "Check this host: memory, swap, timezone, clock sync, disk, database, file modes, services."),
    "run": LazyEntry("hantu.cli.scheduler_cmd", "start_command", False,
                     "Run the scheduler in the foreground (systemd runs this)."),
    "demo": LazyEntry("hantu.cli.demo", "demo_command", False,
                      "Run the whole system through simulated trading day(s): sync → screening → selection → a "
                      "session with real orders through the KIS client against the local KIS sandbox → close-out → "
                      "report."),
    "screen": LazyEntry("hantu.cli.strategy", "screen", False,
                        "Phase 1: score every stock, filter, and store the day's watchlist."),
    "select": LazyEntry("hantu.cli.strategy", "select", False,
                        "Phase 2: rank the day's entry candidates from the stored watchlist (screens first if none "
                        "is stored)."),
    "explain": LazyEntry("hantu.cli.strategy", "explain", False,
                         "Every indicator, factor rank, group score, the composite score and the reasons for one "
                         "stock."),
    "config": LazyEntry("hantu.cli.config_cmd", "app", True, "Check the configuration (.env, environment, .pgpass)."),
    "db": LazyEntry("hantu.cli.db_cmd", "app", True,
                    "Database schema: upgrade, inspect, and downgrade (deployment rollback)."),
    "backtest": LazyEntry("hantu.cli.backtest", "app", True,
                          "Backtest a strategy with the live strategy code and the paper broker's fill model; store "
                          "the run and write its HTML + JSON report under $HANTU_HOME/reports."),
    "ops": LazyEntry("hantu.cli.ops", "app", True,
                     "Deployment and host operations (what scripts/deployment/*.sh run)."),
    "jobs": LazyEntry("hantu.cli.scheduler_cmd", "jobs_app", True,
                      "Job runs of the scheduler: list them (newest first), show the timetable, or run one job by "
                      "hand."),
    "sandbox": LazyEntry("hantu.cli.sandbox", "app", True,
                         "Local sandboxes of the outside services (KIS, ...), for tests, benchmarks and the demo."),
    "data": LazyEntry("hantu.cli.data", "app", True,
                      "Market data: import KRX files, sync, generate the sample market, check the store."),
    "strategy": LazyEntry("hantu.cli.strategy", "app", True,
                          "Strategies: list the registered ones, check one for look-ahead."),
    "notify": LazyEntry("hantu.cli.notify_cmd", "app", True,
                        "Telegram notifications: the durable outbox, its sender and the command poller."),
    "trade": LazyEntry("hantu.cli.trade", "app", True, "Trading: book, manual orders, kill switch, risk limits."),
}
ORDER = ("api", "doctor", "run", "demo", "screen", "select", "explain", "version", "config", "db", "backtest",
         "ops", "jobs", "sandbox", "data", "strategy", "notify", "trade")  # as `hantu --help` lists them


def load_entry(name: str, entry: LazyEntry) -> Any:
    """The click command of one lazy entry, built exactly as `add_typer` / `command` on the root would."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    parent = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
    if entry.group:
        parent.add_typer(target, name=name)
    else:
        parent.command(name)(target)
        parent.command("_")(lambda: None)  # two commands: typer keeps a group (one would collapse into it)
    command = typer.main.get_group(parent).commands[name]
    from hantu.cli.lean import lean_tree

    lean_tree(command)  # its --help without pydantic
    return command


class _Commands(MutableMapping[str, Any]):
    """The root group's commands: loaded ones, and the lazy ones loaded on first access by name. Iterating
    (a test walking the whole tree) loads everything; `hantu --help` never iterates it (see `LazyGroup`)."""

    def __init__(self, loaded: MutableMapping[str, Any]) -> None:
        self.loaded = dict(loaded)

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            entry = LAZY.get(name)
            if entry is None:
                raise KeyError(name)
            self.loaded[name] = load_entry(name, entry)
        return self.loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def names(self) -> list[str]:
        known = set(self.loaded) | set(LAZY)
        return [n for n in ORDER if n in known] + sorted(known - set(ORDER))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.loaded or name in LAZY


class LazyGroup(TyperGroup):
    """The root group: resolves a command name by importing only its module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = _Commands(self.__dict__.pop("commands"))

    @property
    def commands(self) -> dict[str, Any]:
        """Every command, loaded (for code that walks the tree)."""
        return {name: self._lazy[name] for name in self._lazy.names()}

    @commands.setter
    def commands(self, value: MutableMapping[str, Any]) -> None:
        self.__dict__["commands"] = value  # TyperGroup.__init__ sets it; moved into `_lazy` right after

    def add_command(self, cmd: Any, name: str | None = None) -> None:
        self._lazy[name or cmd.name] = cmd

    def get_help_option(self, ctx: Any) -> Any:
        """The help flag, defaulting to False: an unset flag (None) is coerced through pydantic by typer, which
        imports pydantic (0.15–0.3 s) on every `hantu X …` before X even runs."""
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        try:
            return self._lazy[cmd_name]
        except KeyError:
            return None

    def list_commands(self, ctx: Any) -> list[str]:
        return self._lazy.names()

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the table (no import); loaded commands show their own short help."""
        from typer._click.utils import make_default_short_help

        names = self._lazy.names()
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded = self._lazy.loaded.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, make_default_short_help(LAZY[name].help, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="hantu",
    cls=LazyGroup,
    help="Hantu Quant: automated trading for KOSPI/KOSDAQ through the KIS Open API.\n\n"
    "Start with `hantu demo` (a simulated trading day, no credentials) or `hantu config check`.\n\n"
    "\b\nExamples:\n  hantu demo\n  hantu data sample --stocks 300 --days 300\n"
    "  hantu backtest --strategy momentum --json\n  hantu trade positions",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    # typer's --install-completion/--show-completion options are processed (through pydantic) before every
    # sub-command: ~0.3 s on each `hantu X --help`, over the start-up budget
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    # the sub-commands are not registered on `app` (LazyGroup resolves them); a callback keeps typer from
    # collapsing a one-command app into that command
    pass


@app.command("version")
def version() -> None:
    """Print the installed version.

    Example: hantu version
    """
    typer.echo(f"hantu {__version__}")


WHOLE_PROCESS = False  # set by `run`: the command is the whole process (read by hantu.cli.oneshot)


def run() -> None:
    """Console-script entry point: the command is the whole process."""
    global WHOLE_PROCESS
    WHOLE_PROCESS = True
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
