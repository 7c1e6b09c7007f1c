"""`hantu run`, `hantu jobs`, and the `workflows.integrated_scheduler` commands (start/status/stop/run)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import typer

from hantu.cli.common import fail, print_json

if TYPE_CHECKING:
    from hantu.clock import Clock

CLOCK_HELP = "system (default) or sim: run the same timetable on simulated time."


def _kst_option(text: str, option: str) -> datetime:
    """`--start`/`--until` as a KST datetime; a malformed value is a usage error (exit 2)."""
    from hantu.clock import parse_kst

    try:
        return parse_kst(text)
    except ValueError:
        fail(f"{option} must be 'YYYY-MM-DD HH:MM' (KST), got {text!r}", 2)


def _clock_options(clock: str, start: str | None, speed: float) -> Clock:
    from hantu.scheduler.app import ClockOptions

    if clock not in ("system", "sim"):
        fail("--clock must be system or sim", 2)
    if start is not None:
        _kst_option(start, "--start")
    try:
        return ClockOptions(clock, start, speed).build()
    except ValueError as error:
        fail(str(error), 2)


def _parse_date_option(day: str | None) -> date | None:
    if day is None:
        return None
    try:
        return date.fromisoformat(day)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {day!r}", 2)


def start_command(
    clock: str = typer.Option("system", "--clock", help=CLOCK_HELP),
    start: str | None = typer.Option(None, "--start", help="Simulated start, 'YYYY-MM-DD HH:MM' (KST)."),
    speed: float = typer.Option(60.0, "--speed", help="Simulated seconds per wall second (sim clock)."),
    until: str | None = typer.Option(None, "--until", help="Stop at this time, 'YYYY-MM-DD HH:MM' (KST)."),
    no_skip_idle: bool = typer.Option(False, "--no-skip-idle",
                                      help="Sim clock: let idle hours pass at --speed instead of jumping."),
) -> None:
    """Run the scheduler in the foreground (systemd runs this). SIGTERM stops it cleanly (exit 0).

    It trades the book of TRADING_MODE: paper (replayed store), kis (the KIS account; SHADOW_STRATEGY adds a
    shadow book beside it on the same socket) or shadow (the paper book on live KIS prices).

    Example: `hantu run --clock sim --start '2026-11-27 05:55' --speed 600 --until '2026-11-27 18:30'`
    """
    from hantu.config import get_settings
    from hantu.log import setup_from_settings
    from hantu.scheduler.app import start as start_scheduler
    from hantu.store.lock import AlreadyRunning

    sim_clock = _clock_options(clock, start, speed)
    stop_at = _kst_option(until, "--until") if until else None
    setup_from_settings(get_settings(), "scheduler")
    try:
        code = start_scheduler(get_settings(), sim_clock, stop_at,
                               skip_idle=not no_skip_idle)
    except AlreadyRunning as error:
        fail(str(error))
    raise typer.Exit(code)


def status_command(json_output: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Show whether the scheduler runs, its heartbeat, running and next jobs. Exit 3 when not running.

    Example: `python -m workflows.integrated_scheduler status --json`
    """
    from hantu.config import get_settings
    from hantu.scheduler.app import status

    info = status(get_settings())
    if json_output:
        print_json(info)
    else:
        beat = info["heartbeat"] or {}
        typer.echo(f"scheduler: {'running, pid ' + str(info['pid']) if info['running'] else 'not running'}")
        if beat:
            typer.echo(f"heartbeat: {beat.get('at')} ({'fresh' if info['heartbeat_fresh'] else 'stale'}), "
                       f"state {beat.get('state')}, clock {beat.get('clock')} {beat.get('sim_now')}")
            typer.echo("running:   " + (", ".join(beat.get("running") or []) or "-"))
            for item in beat.get("next_jobs") or []:
                typer.echo(f"next:      {item['at']}  {item['job']}")
    raise typer.Exit(0 if info["running"] else 3)


def stop_command(timeout: float = typer.Option(90.0, "--timeout", help="Seconds to wait for a clean stop.")) -> None:
    """Ask the running scheduler to stop (SIGTERM) and wait until it has. Exit 3 when it is not running.

    Example: `python -m workflows.integrated_scheduler stop --timeout 120`
    """
    from hantu.config import get_settings
    from hantu.scheduler.app import stop
    from hantu.store.lock import running_pid

    settings = get_settings()
    if running_pid(settings.hantu_home / "scheduler.pid") is None:
        typer.echo("scheduler: not running (nothing to stop)")
        raise typer.Exit(3)
    if stop(settings, timeout):
        typer.echo("scheduler stopped")
        return
    fail(f"scheduler did not stop within {timeout:.0f} s")


def run_job_command(
    job: str = typer.Argument(..., help="Job name, e.g. screening (see `hantu jobs --timetable`)."),
    day: str | None = typer.Option(None, "--date", help="Trading date YYYY-MM-DD (default: today, KST)."),
    force: bool = typer.Option(False, "--force", help="Run even if it already succeeded for that date."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run one job now, in this process, for one date. Example: `hantu jobs run screening --date 2026-11-27`."""
    from hantu.clock import SystemClock
    from hantu.config import RealMoneyNotConfirmed, get_settings
    from hantu.log import setup_from_settings
    from hantu.scheduler.app import run_job_once
    from hantu.scheduler.runner import JobBusy

    setup_from_settings(get_settings(), "cli", to_file=False)
    clock = SystemClock()
    target = _parse_date_option(day) or clock.today()
    try:
        result = run_job_once(get_settings(), clock, job, target, force)
    except KeyError as error:
        fail(str(error.args[0]), 2)
    except JobBusy as error:
        fail(f"refused: {error}")
    except RealMoneyNotConfirmed:
        raise  # the configuration's exit status and message (`hantu.cli.failures`)
    except Exception as error:
        fail(f"{job} failed: {error}")
    if json_output:
        print_json(result)
    else:
        typer.echo(f"{job} {target}: {result['status']}" + (f": {result['reason']}" if result.get("reason") else ""))


def jobs_command(
    json_output: bool = typer.Option(False, "--json", help="Print as JSON."),
    day: str | None = typer.Option(None, "--date", help="Only runs for this trading date (YYYY-MM-DD)."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many runs, newest first."),
    timetable: bool = typer.Option(False, "--timetable", help="Show the timetable instead of past runs."),
) -> None:
    """List job runs (newest first) or the timetable. Example: `hantu jobs --date 2026-11-27`."""
    from sqlalchemy import select

    from hantu.cli.common import console, open_database
    from hantu.config import get_settings
    from hantu.scheduler.timetable import load_timetable
    from hantu.store.models import JobRun

    on = _parse_date_option(day)
    if timetable:
        table = load_timetable(get_settings().hantu_home)
        rows = [{"job": j.name, "at": j.at, "until": j.until, "market": j.market, "weekday": j.weekday,
                 "retries": j.retries} for j in table.jobs]
        if json_output:
            print_json(rows)
        else:
            for row in rows:
                typer.echo(f"{row['job']:<20} at {row['at']:<10} until {row['until']:<10} "
                           f"{'trading days' if row['market'] else 'weekday ' + str(row['weekday'])}")
        return
    db = open_database()
    with db.session() as session:
        query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
        if on is not None:
            query = query.where(JobRun.trading_date == on)
        runs: list[dict[str, Any]] = [{"id": r.id, "job": r.job, "date": r.trading_date, "status": r.status, "attempt": r.attempt,
                 "started_at": r.started_at, "finished_at": r.finished_at, "error": r.error, "figures": r.figures}
                for r in session.scalars(query)]
    if json_output:
        print_json(runs)
        return
    from rich.table import Table

    out = Table("id", "job", "date", "status", "started", "finished", "note")
    for r in runs:
        note = (r["error"] or "").splitlines()[0][:60] if r["error"] else ""
        out.add_row(str(r["id"]), r["job"], str(r["date"]), r["status"], r["started_at"].strftime("%m-%d %H:%M:%S"),
                    r["finished_at"].strftime("%H:%M:%S") if r["finished_at"] else "-", note)
    console().print(out)


jobs_app = typer.Typer(help="Job runs of the scheduler: list them (newest first), show the timetable, or run "
                       "one job by hand.\n\n\b\nExamples:\n  hantu jobs --date 2026-11-27 --limit 20\n"
                       "  hantu jobs --timetable --json\n  hantu jobs run screening --date 2026-11-27",
                       invoke_without_command=True)


@jobs_app.callback()
def jobs_default(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print as JSON."),
    day: str | None = typer.Option(None, "--date", help="Only runs for this trading date (YYYY-MM-DD)."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many runs, newest first."),
    timetable: bool = typer.Option(False, "--timetable", help="Show the timetable instead of past runs."),
) -> None:
    """Job runs of the scheduler: list them (newest first), show the timetable, or run one job by hand.

    Examples:
      hantu jobs --date 2026-11-27 --limit 20
      hantu jobs --timetable --json
      hantu jobs run screening --date 2026-11-27
    """
    if ctx.invoked_subcommand is None:
        jobs_command(json_output, day, limit, timetable)


jobs_app.command("run")(run_job_command)

# The deployment guide's entry point: python -m workflows.integrated_scheduler start|status|stop|run JOB
workflow_app = typer.Typer(help="The integrated scheduler: start | status | stop | run JOB [--date D].\n\n"
                           "Example: python -m workflows.integrated_scheduler status --json",
                           no_args_is_help=True, pretty_exceptions_enable=False)
workflow_app.command("start")(start_command)
workflow_app.command("status")(status_command)
workflow_app.command("stop")(stop_command)
workflow_app.command("run")(run_job_command)
