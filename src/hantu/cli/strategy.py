"""`hantu screen`, `hantu select`, `hantu explain` and `hantu strategy list`: the strategy from the command line.

Dates: `--date D` runs for D with the market store's data up to and including D (default: today, i.e. the last
stored close), exactly as the scheduler does; results are stored under D, replacing an earlier run of D.

Freshness: a run for D needs the close of the trading day before D (`calendar.required_close`). On older data
the command stops with both dates named and exit code 7 (`EXIT_STALE_DATA`), storing nothing; `--allow-stale`
runs anyway, for research on old data.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from hantu.cli.common import EXIT_ERROR, EXIT_STALE_DATA, EXIT_USAGE, console, fail, print_json
from hantu.cli.oneshot import command, started

app = typer.Typer(help="Strategies: list the registered ones, check one for look-ahead.\n\n"
                  "Examples:\n  hantu strategy list --json\n  hantu strategy check momentum",
                  no_args_is_help=True)

DATE_HELP = "Run for this date (YYYY-MM-DD), using data up to and including it. Default: today."
STRATEGY_HELP = "Strategy name (default: the HANTU_STRATEGY setting; see `hantu strategy list`)."
CONFIG_HELP = "TOML file with [<strategy>.<section>] tables over the shipped defaults (default: HANTU_STRATEGY_CONFIG)."
PARAM_HELP = "Override one setting, section.key=value (repeatable), e.g. --param watchlist.top_n=20."
STALE_HELP = ("Run even when the data ends before the previous trading day (research on old data); without it a "
              "stale store is refused with exit code 7.")



def _reason(text: str) -> str:
    """A stored (English) reason as the user reads it, in HANTU_LANGUAGE (--json keeps the stored text)."""
    from hantu.config.settings import get_settings
    from hantu.notify.i18n import reason

    return reason(text, get_settings().language)

def _day(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(f"--date must be a date as YYYY-MM-DD, got {raw!r}", EXIT_USAGE)


def _params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param must look like section.key=value, got {item!r}", EXIT_USAGE)
        out[key.strip()] = value.strip()  # the strategy's config model converts and validates the text
    return out


def _strategy(name: str | None, config: Path | None, params: list[str]):
    from hantu.config.settings import get_settings
    from hantu.strategy.config import StrategyConfigError
    from hantu.strategy.registry import StrategyContractError, UnknownStrategyError, create_strategy

    try:
        options = {"config_path": config} if config is not None else {}
        return create_strategy(name or get_settings().strategy, _params(params), **options)
    except UnknownStrategyError as error:
        fail(str(error), EXIT_USAGE)
    except StrategyConfigError as error:
        fail(str(error), EXIT_USAGE)
    except StrategyContractError as error:
        fail(str(error), EXIT_ERROR)


def _setup():
    from hantu.cli.common import init_cli_logging, open_database
    from hantu.config.settings import get_settings
    from hantu.market.store import open_market_store

    init_cli_logging()
    database, store = open_database(), open_market_store(get_settings())
    started()  # the command's start-up ends here (hantu.cli.oneshot)
    return database, store


def _table(title: str, columns: list[str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


@command
def screen(
    day: str | None = typer.Option(None, "--date", "-d", help=DATE_HELP),
    strategy: str | None = typer.Option(None, "--strategy", "-s", help=STRATEGY_HELP),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    param: list[str] = typer.Option([], "--param", "-p", help=PARAM_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON."),
    allow_stale: bool = typer.Option(False, "--allow-stale", help=STALE_HELP),
) -> None:
    """Phase 1: score every stock, filter, and store the day's watchlist.

    Example: hantu screen --date 2024-02-13 --json
    """
    from hantu.market.freshness import StaleMarketData
    from hantu.strategy.runs import NoMarketData, run_screening

    on = _day(day)
    runner = _strategy(strategy, config, param)
    database, store = _setup()
    try:
        outcome = run_screening(database, store, runner, on, allow_stale=allow_stale)
    except StaleMarketData as error:
        fail(str(error), EXIT_STALE_DATA)
    except NoMarketData as error:
        fail(str(error), EXIT_ERROR)
    if as_json:
        figures = outcome.figures()
        figures["watchlist"] = [{"rank": i, "code": s.code, "name": s.name, "sector": s.sector, "score": s.score,
                                 "reasons": list(s.reasons), "factors": s.factors}
                                for i, s in enumerate(outcome.watchlist, start=1)]
        print_json(figures)
        return
    out = console()
    out.print(f"{outcome.strategy} screen for {outcome.run_date} (data {outcome.data_date}): "
              f"universe {outcome.universe:,}, eligible {outcome.eligible:,}, passed {outcome.passed:,}, "
              f"watchlist {len(outcome.watchlist)}  [{outcome.elapsed_s:.2f} s]")
    if outcome.failures:
        out.print("failed: " + ", ".join(f"{k} {v:,}" for k, v in outcome.failures.items()))
    if outcome.filters_off:
        out.print("[yellow]no instrument master loaded (`hantu data sync --master`): filters off: "
                  + "; ".join(outcome.filters_off) + "[/yellow]")
    table = _table("watchlist", ["#", "code", "name", "sector", "score", "why"])
    for i, s in enumerate(outcome.watchlist, start=1):
        table.add_row(str(i), s.code, s.name, s.sector or "-", f"{s.score:.1f}",
                      " / ".join(_reason(r) for r in s.reasons))
    out.print(table)


@command
def select(
    day: str | None = typer.Option(None, "--date", "-d", help=DATE_HELP),
    strategy: str | None = typer.Option(None, "--strategy", "-s", help=STRATEGY_HELP),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    param: list[str] = typer.Option([], "--param", "-p", help=PARAM_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the candidates as JSON."),
    allow_stale: bool = typer.Option(False, "--allow-stale", help=STALE_HELP),
) -> None:
    """Phase 2: rank the day's entry candidates from the stored watchlist (screens first if none is stored).

    Example: hantu select --date 2024-02-13
    """
    from hantu.market.freshness import StaleMarketData
    from hantu.strategy.runs import NoMarketData, run_selection

    on = _day(day)
    runner = _strategy(strategy, config, param)
    database, store = _setup()
    try:
        outcome = run_selection(database, store, runner, on, allow_stale=allow_stale)
    except StaleMarketData as error:
        fail(str(error), EXIT_STALE_DATA)
    except NoMarketData as error:
        fail(str(error), EXIT_ERROR)
    if as_json:
        figures = outcome.figures()
        figures["candidates"] = outcome.candidates
        print_json(figures)
        return
    out = console()
    out.print(f"{outcome.strategy} selection for {outcome.run_date} (data {outcome.data_date}): regime "
              f"{outcome.regime_text} → up to {outcome.max_candidates} names, {len(outcome.candidates)} taken")
    table = _table("candidates", ["#", "code", "name", "sector", "entry", "stop", "target", "weight", "score"])
    for c in outcome.candidates:
        table.add_row(str(c.rank), c.code, c.name, c.sector or "-", f"{c.entry_price:,}", f"{c.stop_price:,}",
                      f"{c.target_price:,}", f"{c.weight:.1%}", f"{c.score:.1f}")
    out.print(table)
    for c in outcome.candidates:
        out.print(f"{c.rank}. {c.name} ({c.code}): {_reason(c.reason)}")
    if outcome.skipped:
        out.print("not taken: " + "; ".join(f"{code} ({why})" for code, why in list(outcome.skipped.items())[:10]))


@command
def explain(
    code: str = typer.Argument(..., help="6-digit stock code, e.g. 005930."),
    day: str | None = typer.Option(None, "--date", "-d", help=DATE_HELP),
    strategy: str | None = typer.Option(None, "--strategy", "-s", help=STRATEGY_HELP),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    param: list[str] = typer.Option([], "--param", "-p", help=PARAM_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON."),
    allow_stale: bool = typer.Option(False, "--allow-stale", help=STALE_HELP),
) -> None:
    """Every indicator, factor rank, group score, the composite score and the reasons for one stock.

    Example: hantu explain 005930 --date 2024-02-13
    """
    from hantu.clock import SystemClock
    from hantu.market.freshness import StaleMarketData
    from hantu.strategy.runs import NoMarketData, _instrument_rows, load_decision_panel

    on = _day(day) or SystemClock().today()
    runner = _strategy(strategy, config, param)
    _, store = _setup()
    try:
        panel = load_decision_panel(store, runner, on, allow_stale, what=f"explaining {code.strip()}")
    except StaleMarketData as error:
        fail(str(error), EXIT_STALE_DATA)
    except NoMarketData as error:
        fail(str(error), EXIT_ERROR)
    code = code.strip()
    if code not in set(panel.codes.tolist()):
        fail(f"unknown stock code {code!r}: not in the market data up to {on} "
             "(codes are 6 digits, e.g. 005930)", EXIT_ERROR)
    try:
        report = runner.explain(panel, on, code, instruments=_instrument_rows(store))
    except KeyError:
        fail(f"{code} has no data since the last gap in the market data before {on}", EXIT_ERROR)
    if as_json:
        print_json(report)
        return
    _print_explain(report)


def _print_explain(report: dict[str, Any]) -> None:
    out = console()
    verdict = "PASSED" if report["passed"] else "failed"
    rank = f", watchlist #{report['watchlist_rank']}" if report["watchlist_rank"] else ""
    out.print(f"{report['code']} {report['name']} ({report['market']}, sector {report['sector'] or '-'}) — "
              f"{report['strategy']} on {report['on']} (data {report['data_date']}): score {report['score']:.1f}, "
              f"{verdict}{rank}")
    for reason in report["reasons"]:
        out.print(f"  • {_reason(reason)}")
    table = _table("indicators", ["indicator", "value"])
    for key, value in report["indicators"].items():
        table.add_row(key, f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}")
    out.print(table)
    groups = _table("factor groups (0..100) and component ranks (0..1)", ["group / component", "value", "weight"])
    for group, value in report["group_scores"].items():
        groups.add_row(group, f"{value:.1f}", f"{report['weights'].get(group, 0):g}")
        for key, rank_value in report["factor_ranks"].items():
            if key.startswith(group + "."):
                groups.add_row(f"  {key.split('.', 1)[1]}", f"{rank_value:.3f}", "")
    out.print(groups)
    if report.get("regime"):
        out.print(f"regime: {report['regime']}")
    candidate = report.get("candidate")
    if candidate is not None:
        out.print(f"candidate #{candidate.rank}: entry {candidate.entry_price:,}, stop {candidate.stop_price:,}, "
                  f"target {candidate.target_price:,}, weight {candidate.weight:.1%}")
    elif report.get("not_selected_because"):
        out.print(f"not a candidate today: {report['not_selected_because']}")


@app.command("list")
def list_strategies(as_json: bool = typer.Option(False, "--json", help="Print as JSON, settings included.")) -> None:
    """The registered strategies (built-ins and plugins from the `hantu.strategies` entry-point group).

    Example: hantu strategy list --json
    """
    from hantu.strategy.registry import available_strategies, describe

    entries = [describe(name) for name in available_strategies()]
    if as_json:
        print_json(entries)
        return
    table = _table("strategies", ["name", "origin", "default", "description"])
    for entry in entries:
        table.add_row(entry["name"], entry["origin"], "yes" if entry["default"] else "",
                      entry.get("error") or entry.get("description", ""))
    console().print(table)
    console().print("settings of one: hantu strategy list --json; override with --param section.key=value")


@app.command("check")
def check(
    name: str = typer.Argument(..., help="Registered strategy to check (see `hantu strategy list`)."),
    day: list[str] = typer.Option([], "--date", "-d", help="Decision day to check (repeatable; default: spread "
                                                          "over the stored data)."),
    samples: int = typer.Option(5, "--samples", help="How many decision days to check when --date is not given."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    param: list[str] = typer.Option([], "--param", "-p", help=PARAM_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Look-ahead and recursion check: run the strategy's screen and selection on the stored data, with the
    future bars changed, with the data cut after the day, and with only the history it declares; report every
    score, factor, watchlist or candidate that changes. Exit 1 when anything does.

    Examples:
      hantu strategy check momentum
      hantu strategy check rsi2 --date 2024-02-13 --json
    """
    from hantu.backtest.lookahead import check_strategy

    if samples < 1:
        fail(f"--samples must be at least 1, got {samples}", EXIT_USAGE)
    days = [d for d in (_day(raw) for raw in day) if d is not None]
    runner = _strategy(name, config, param)
    _, store = _setup()
    stored = store.trading_dates()
    if not stored:
        fail("the market store is empty: import data first (`hantu data import krx-csv FILE`)", EXIT_ERROR)
    panel = store.load(len(stored))
    missing = [d for d in days if d not in set(stored)]
    if missing:
        fail(f"not a stored trading day: {', '.join(map(str, missing))} (the store has {stored[0]} … "
             f"{stored[-1]})", EXIT_USAGE)
    from hantu.strategy.runs import _instrument_rows

    try:
        report = check_strategy(runner, panel, days or None, samples=samples, instruments=_instrument_rows(store))
    except ValueError as error:
        fail(str(error), EXIT_ERROR)
    if as_json:
        print_json(report.to_dict())
    else:
        out = console()
        verdict = "[green]passed[/green]" if report.passed else "[red]FAILED[/red]"
        out.print(f"{report.strategy}: {verdict} — {report.compared:,} values compared on "
                  f"{', '.join(map(str, report.days))} (lookback {report.lookback_days} days); "
                  f"look-ahead findings {len(report.lookahead)}, recursion findings {len(report.recursion)}",
                  soft_wrap=True)
        summary = report.summary()
        for kind in ("lookahead", "recursion"):
            if summary[f"{kind}_outputs"]:
                out.print(f"{kind} in: {', '.join(summary[f'{kind}_outputs'])}", soft_wrap=True)
        for finding in report.findings[:20]:
            out.print(f"  • {finding.describe()}", soft_wrap=True)
        for note in report.notes:
            out.print(f"[yellow]note: {note}[/yellow]", soft_wrap=True)
    if not report.passed:
        raise typer.Exit(EXIT_ERROR)
