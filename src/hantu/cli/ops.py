"""`hantu ops` (deployment and host operations) and `hantu doctor`.

The shell scripts in `scripts/` and `deploy/` call these commands; run them directly too.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Deployment and host operations (what scripts/deployment/*.sh run).\n\n"
    "Example: `hantu ops validate-env`, `hantu ops deploy --retry-wait 60`.",
    no_args_is_help=True,
)
state_app = typer.Typer(
    help="The deployment state file (.deploy_state.json).\n\nExample: `hantu ops state get-failures`.",
    no_args_is_help=True,
)
app.add_typer(state_app, name="state")

STATE_FILE_OPTION = typer.Option(
    None, "--state-file", envvar="HANTU_DEPLOY_STATE", help="State file (default: ./.deploy_state.json)."
)
EXIT_CORRUPT = 3


def _store(state_file: Path | None):
    from hantu.ops.state import StateStore, default_state_path

    return StateStore(state_file or default_state_path())


def _print_state(data: dict[str, object]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _read_state_or_exit(state_file: Path | None):
    from hantu.ops.state import CorruptStateError

    store = _store(state_file)
    try:
        state = store.read()
    except CorruptStateError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_CORRUPT) from None
    if state is None:
        typer.echo(f"error: no state file at {store.path}; run `state_manager.sh init`", err=True)
        raise typer.Exit(1)
    return state


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


# --- environment and pre-checks --------------------------------------------------------------------------
@app.command("validate-env")
def validate_env(json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON.")) -> None:
    """Check the variables a deployment needs (validate_env.sh). Exit 1 when validation fails.

    The same rules as `hantu config check`, in the deployment guide's shape. Required: DB_HOST/DB_USER/DB_NAME
    with PostgreSQL (and a private ~/.pgpass with a line for the database), the KIS keys with TRADING_MODE=kis,
    TELEGRAM_CHAT_ID with a bot token; a known HANTU_STRATEGY. Optional (warnings): Telegram, KIS keys,
    API_SERVER_KEY.
    Example: `hantu ops validate-env --json`.
    """
    from hantu.ops.envcheck import render_report, validate_environment

    report = validate_environment()
    if json_output:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_report(report), nl=False)
    raise typer.Exit(0 if report.passed else 1)


@app.command("pre-check")
def pre_check(
    what: str = typer.Argument(..., help="check-memory | check-env | check-all"),
    min_available_mb: int = typer.Option(
        None, "--min-available-mb", help="Memory threshold in MB (default HANTU_MIN_AVAILABLE_MB or 800)."
    ),
) -> None:
    """Pre-deployment checks (pre_checks.sh). Exit 1 when a check fails.

    Example: `hantu ops pre-check check-all --min-available-mb 400`.
    """
    from hantu.ops.opslog import OpsLog
    from hantu.ops.prechecks import check_env, check_memory
    from hantu.ops.prechecks import min_available_mb as default_threshold

    if what not in ("check-memory", "check-env", "check-all"):
        typer.echo(f"error: unknown check {what!r}; use check-memory, check-env or check-all", err=True)
        raise typer.Exit(2)
    log = OpsLog()
    ok = True
    if what in ("check-memory", "check-all"):
        threshold = min_available_mb if min_available_mb is not None else default_threshold()
        ok = check_memory(log, threshold).passed and ok
    if what in ("check-env", "check-all"):
        ok = check_env(log).passed and ok
    if what == "check-all":
        (log.info if ok else log.error)(
            "All pre-deployment checks passed" if ok else "Pre-deployment checks failed"
        )
    raise typer.Exit(0 if ok else 1)


# --- state -----------------------------------------------------------------------------------------------
@state_app.command("init")
def state_init(state_file: Path = STATE_FILE_OPTION) -> None:
    """Create the state file when absent (an existing valid file is kept). Example: `hantu ops state init`."""
    store = _store(state_file)
    _state, created, warnings = store.init()
    _warn(warnings)
    typer.echo(("State initialized: " if created else "State file exists: ") + str(store.path))


@state_app.command("get-state")
def state_get(state_file: Path = STATE_FILE_OPTION) -> None:
    """Print the whole state as JSON (exit 3 when the file is corrupt). Example: `hantu ops state get-state`."""
    _print_state(_read_state_or_exit(state_file).as_dict())


@state_app.command("get-failures")
def state_failures(state_file: Path = STATE_FILE_OPTION) -> None:
    """Print the number of consecutive failures. Example: `hantu ops state get-failures`."""
    typer.echo(str(_read_state_or_exit(state_file).consecutive_failures))


@state_app.command("get-success")
def state_success(state_file: Path = STATE_FILE_OPTION) -> None:
    """Print the time of the last successful deploy (`null` when none). Example: `hantu ops state get-success`."""
    typer.echo(_read_state_or_exit(state_file).last_success or "null")


@state_app.command("get-attempts")
def state_attempts(state_file: Path = STATE_FILE_OPTION) -> None:
    """Print the number of recorded attempts. Example: `hantu ops state get-attempts`."""
    typer.echo(str(_read_state_or_exit(state_file).attempts))


@state_app.command("update")
def state_update(
    status: str = typer.Argument(..., help="success | failed"),
    reason: str = typer.Argument(None, help="Why (stored as last_reason)."),
    state_file: Path = STATE_FILE_OPTION,
) -> None:
    """Record one attempt. Example: `hantu ops state update failed "Memory check failed"`."""
    from hantu.clock import SystemClock

    if status not in ("success", "failed"):
        typer.echo(f"error: status must be success or failed, got {status!r}", err=True)
        raise typer.Exit(2)
    ok = status == "success"
    reason = reason or ("Deployment succeeded" if ok else "Deployment failed")
    state, warnings = _store(state_file).record(ok, reason, SystemClock().now())
    _warn(warnings)
    typer.echo(
        f"State updated: {state.last_status} (consecutive failures: {state.consecutive_failures}, "
        f"attempts: {state.attempts})"
    )


@state_app.command("reset")
def state_reset(state_file: Path = STATE_FILE_OPTION) -> None:
    """Clear the failure streak (attempts and last success are kept). Example: `hantu ops state reset`."""
    state, warnings = _store(state_file).reset()
    _warn(warnings)
    typer.echo(f"State reset: consecutive failures {state.consecutive_failures}")


@app.command("reset-state")
def reset_state(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    state_file: Path = STATE_FILE_OPTION,
) -> None:
    """Show the state, ask y/N, reset the failure streak (reset_state.sh). Example: `hantu ops reset-state`."""
    from hantu.ops.state import CorruptStateError

    keys = ("consecutive_failures", "last_status", "last_reason")
    rule = "=" * 40
    typer.echo(f"{rule}\nDeployment State Reset\n{rule}\n")
    store = _store(state_file)
    try:
        current = store.read()
    except CorruptStateError as error:
        typer.echo(f"warning: {error.summary}\n")
        current = None
    typer.echo("Current State:")
    if current is None:
        typer.echo("(no valid state file)")
    else:
        _print_state({k: current.as_dict()[k] for k in keys})
    typer.echo("")
    if not yes:
        answer = typer.prompt(
            "Are you sure you want to reset the state? (y/N)",
            default="",
            show_default=False,
            prompt_suffix=": ",
        )
        if answer.strip().lower() not in ("y", "yes"):
            typer.echo("\nReset cancelled: state unchanged")
            raise typer.Exit(1)
    state, warnings = store.reset()
    _warn(warnings)
    typer.echo("\nState reset successfully\n\nNew State:")
    _print_state({k: state.as_dict()[k] for k in keys})


# --- deploy ----------------------------------------------------------------------------------------------
@app.command("deploy")
def deploy(
    branch: str = typer.Option("main", "--branch", envvar="HANTU_DEPLOY_BRANCH", help="Branch to deploy."),
    remote: str = typer.Option("origin", "--remote", envvar="HANTU_DEPLOY_REMOTE", help="Git remote."),
    fetch: bool = typer.Option(True, "--fetch/--no-fetch", help="Fetch and fast-forward before installing."),
    force: bool = typer.Option(False, "--force", help="Restart even during the trading session."),
    attempts: int = typer.Option(3, "--attempts", min=1, envvar="HANTU_DEPLOY_ATTEMPTS", help="Attempts."),
    retry_wait: float = typer.Option(
        300.0,
        "--retry-wait",
        min=0,
        envvar="HANTU_DEPLOY_RETRY_WAIT",
        help="Seconds between attempts (default 300).",
    ),
    low_memory_extra_wait: float = typer.Option(
        60.0,
        "--low-memory-extra-wait",
        min=0,
        envvar="HANTU_DEPLOY_LOW_MEMORY_EXTRA_WAIT",
        help="Extra seconds after a memory failure.",
    ),
    services: str = typer.Option(
        "hantu-scheduler hantu-api",
        "--services",
        envvar="HANTU_DEPLOY_SERVICES",
        help="systemd services to restart (space-separated).",
    ),
    health_check: bool = typer.Option(
        True, "--health-check/--no-health-check", help="Check the API's /health after the restart."
    ),
    health_url: str = typer.Option(None, "--health-url", help="Default http://API_HOST:API_PORT/health."),
    health_timeout: float = typer.Option(
        60.0,
        "--health-timeout",
        envvar="HANTU_DEPLOY_HEALTH_TIMEOUT",
        help="Seconds to wait for a healthy answer.",
    ),
    min_available_mb: int = typer.Option(None, "--min-available-mb", help="Memory threshold in MB."),
    guard_minutes: int = typer.Option(10, "--guard-minutes", help="Margin around the trading session."),
    now: str = typer.Option(
        None,
        "--now",
        envvar="HANTU_DEPLOY_NOW",
        help="Pretend it is this KST time (YYYY-MM-DD HH:MM; rehearsals and tests).",
    ),
    state_file: Path = STATE_FILE_OPTION,
) -> None:
    """Deploy: fetch, pre-checks, install, migrate, restart, health check, record (deploy.sh).

    Up to --attempts attempts, --retry-wait seconds apart; alerts at 2 (high) and 5 (critical) consecutive
    failures, on low memory and on an invalid configuration; refuses to restart during the trading session
    unless --force; rolls back to the previous commit when the health check fails (taking the schema back to
    the revision that commit ran on, if this deployment migrated it).
    Exit codes: 0 deployed, 1 failed, 3 configuration invalid, 4 refused (trading session).
    Example: `hantu ops deploy --branch main --retry-wait 120`.
    """
    from hantu.clock import SimClock, SystemClock, parse_kst
    from hantu.ops.deploy import DeployConfig, Deployer
    from hantu.ops.prechecks import min_available_mb as default_threshold
    from hantu.ops.state import default_state_path

    clock = SimClock(parse_kst(now)) if now else SystemClock()
    config = DeployConfig.from_environment(
        Path.cwd(),
        branch=branch,
        remote=remote,
        fetch=fetch,
        force=force,
        max_attempts=attempts,
        retry_wait_s=retry_wait,
        low_memory_extra_wait_s=low_memory_extra_wait,
        services=tuple(services.split()),
        health_check=health_check,
        health_url=health_url,
        health_timeout_s=health_timeout,
        guard_minutes=guard_minutes,
        min_available_mb=min_available_mb if min_available_mb is not None else default_threshold(),
        state_path=state_file or default_state_path(),
    )
    raise typer.Exit(Deployer(config, clock=clock).run())


# --- logs ------------------------------------------------------------------------------------------------
@app.command("log-rotate")
def log_rotate(
    logs_dir: Path = typer.Option(None, "--logs-dir", help="Default: $HANTU_HOME/logs and ./logs."),
    keep_days: int = typer.Option(7, "--keep-days", min=0, help="Leave logs this young untouched."),
    delete_days: int = typer.Option(30, "--delete-days", min=1, help="Delete logs older than this."),
    disk_alert_percent: float = typer.Option(
        85.0, "--disk-alert-percent", help="Alert above this disk usage."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen, change nothing."),
) -> None:
    """Compress logs older than --keep-days, delete those older than --delete-days (log_rotate.sh).

    Example: `hantu ops log-rotate --keep-days 7 --delete-days 30`.
    """
    from hantu.ops.logrotate import default_log_dirs, rotate_logs

    if delete_days <= keep_days:
        typer.echo("error: --delete-days must be greater than --keep-days", err=True)
        raise typer.Exit(2)
    dirs = [logs_dir] if logs_dir else default_log_dirs()
    code = rotate_logs(
        dirs,
        keep_days=keep_days,
        delete_days=delete_days,
        disk_alert_percent=disk_alert_percent,
        dry_run=dry_run,
    )
    raise typer.Exit(code)


@app.command("cron-line")
def cron_line(
    project_dir: Path = typer.Option(None, "--project-dir", help="Default: the current directory."),
) -> None:
    """Print the crontab line that runs log rotation at 02:00 KST. Example: `hantu ops cron-line`."""
    from hantu.ops.logrotate import cron_line as make_line

    typer.echo(make_line((project_dir or Path.cwd()).resolve()))


@app.command("install-cron")
def install_cron(
    project_dir: Path = typer.Option(None, "--project-dir", help="Default: the current directory."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print, change nothing."),
) -> None:
    """Add the log-rotation line to the user's crontab (idempotent). Example: `hantu ops install-cron`."""
    from hantu.ops.logrotate import install_cron_line

    raise typer.Exit(install_cron_line((project_dir or Path.cwd()).resolve(), dry_run=dry_run))


# --- services --------------------------------------------------------------------------------------------
@app.command("install-service")
def install_service(
    scheduler: bool = typer.Option(False, "--scheduler", help="Install hantu-scheduler.service."),
    api: bool = typer.Option(False, "--api", help="Install hantu-api.service."),
    all_services: bool = typer.Option(False, "--all", help="Install both."),
    prefix: Path = typer.Option(None, "--prefix", help="Project directory (default: the current one)."),
    user: str = typer.Option(
        None, "--user", help="User the services run as (default: the owner of --prefix)."
    ),
    systemd_dir: Path = typer.Option(
        Path("/etc/systemd/system"), "--systemd-dir", envvar="HANTU_SYSTEMD_DIR", help="Where unit files go."
    ),
    systemctl: bool = typer.Option(
        True,
        "--systemctl/--no-systemctl",
        envvar="HANTU_SYSTEMCTL",
        help="Run daemon-reload and enable afterwards.",
    ),
) -> None:
    """Install the systemd units (install-service-micro.sh); asks 1/2/3 when no service is named.

    Example: `sudo hantu ops install-service --all --prefix /opt/hantu_quant --user ubuntu`.
    """
    from hantu.ops.services import SERVICES, choose_interactively, install_units

    chosen = [name for name, flag in (("scheduler", scheduler), ("api", api)) if flag or all_services]
    if not chosen:
        chosen = choose_interactively()
    raise typer.Exit(
        install_units(
            [SERVICES[c] for c in chosen],
            (prefix or Path.cwd()).resolve(),
            user,
            systemd_dir,
            run_systemctl=systemctl,
        )
    )


@app.command("render-unit")
def render_unit(
    name: str = typer.Argument(..., help="scheduler | api"),
    prefix: Path = typer.Option(None, "--prefix", help="Project directory (default: the current one)."),
    user: str = typer.Option(None, "--user", help="User (default: the owner of --prefix)."),
) -> None:
    """Print a unit file for this host's paths. Example: `hantu ops render-unit api --prefix /opt/hantu_quant`."""
    from hantu.ops.services import SERVICES, owner_of, render

    if name not in SERVICES:
        typer.echo(f"error: unknown service {name!r}; use scheduler or api", err=True)
        raise typer.Exit(2)
    project = (prefix or Path.cwd()).resolve()
    if not project.is_dir():
        typer.echo(f"error: --prefix {project} is not a directory (give the project directory)", err=True)
        raise typer.Exit(2)
    typer.echo(render(SERVICES[name], project, user or owner_of(project)), nl=False)


# --- doctor ----------------------------------------------------------------------------------------------
def doctor(
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
    prefix: Path = typer.Option(None, "--prefix", help="Project directory (default: the current one)."),
) -> None:
    """Check this host: memory, swap, timezone, clock sync, disk, database, file modes, services.

    Each problem comes with what to run to fix it. Exit 1 when a check fails (warnings do not).
    Example: `hantu doctor` or `hantu doctor --json`.
    """
    import os

    from hantu.config import reset_settings_cache
    from hantu.ops.doctor import render_results, run_doctor

    if prefix is not None:
        if not prefix.is_dir():
            typer.echo(f"error: --prefix {prefix} is not a directory (give the project directory)", err=True)
            raise typer.Exit(2)
        os.chdir(prefix)  # .env and HANTU_HOME are relative to the project directory
        reset_settings_cache()
    results = run_doctor(Path.cwd().resolve())
    if json_output:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        typer.echo(render_results(results), nl=False)
    raise typer.Exit(1 if any(r.status == "fail" for r in results) else 0)
