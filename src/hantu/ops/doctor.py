"""`hantu doctor`: is this host fit to run Hantu Quant unattended? Each problem says what to run.

Checks memory, swap, timezone, clock synchronisation, disk, the database (reachable, schema current, SQLite's
`PRAGMA quick_check`), the market store (every file reads back), file modes (`.env`, `.pgpass`, token caches:
600), the virtualenv, the systemd services and whether their `ReadWritePaths` cover the configured
`HANTU_HOME`. The host is reached
through `HostProbes` so tests can stand in files and commands for the real machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from hantu.ops.host import format_size, read_disk, read_memory

Status = Literal["ok", "warn", "fail"]
MARK = {"ok": "✓", "warn": "⚠", "fail": "✗"}
TIMEZONE = "Asia/Seoul"
SMALL_HOST_MB = 2048  # below this much RAM, swap is required
MIN_SWAP_MB = 1024
MIN_FREE_DISK = 1024**3
WARN_DISK_PERCENT = 85.0
UNITS = ("hantu-scheduler", "hantu-api")


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _run(command: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=15)
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return done.returncode, (done.stdout + done.stderr).strip()


@dataclass
class HostProbes:
    """Where the doctor looks; tests replace paths and the command runner."""

    meminfo: Path | None = None
    etc_timezone: Path = Path("/etc/timezone")
    etc_localtime: Path = Path("/etc/localtime")
    run: Callable[[list[str]], tuple[int, str]] = field(default=_run)
    systemctl: list[str] = field(default_factory=lambda: ["systemctl"])
    systemd_dir: Path = Path("/etc/systemd/system")


def check_memory(probes: HostProbes) -> list[CheckResult]:
    from hantu.ops.prechecks import min_available_mb

    memory = read_memory(probes.meminfo)
    threshold = min_available_mb()
    results = []
    if memory.available_mb >= threshold:
        results.append(
            CheckResult(
                "memory",
                "ok",
                f"{memory.available_mb} MB available of {memory.total_mb} MB "
                f"(deploy threshold {threshold} MB)",
            )
        )
    else:
        results.append(
            CheckResult(
                "memory",
                "warn",
                f"{memory.available_mb} MB available of {memory.total_mb} MB, "
                f"below the deploy threshold of {threshold} MB",
                "find the biggest processes: ps aux --sort=-%mem | head; or set "
                "HANTU_MIN_AVAILABLE_MB in .env to what this VM can offer",
            )
        )
    if memory.total_mb <= SMALL_HOST_MB and memory.swap_total_mb < MIN_SWAP_MB:
        results.append(
            CheckResult(
                "swap",
                "fail",
                f"{memory.swap_total_mb} MB swap on a {memory.total_mb} MB host",
                "sudo bash deploy/setup-micro.sh (adds a 2 GB /swapfile), or: sudo fallocate "
                "-l 2G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile && sudo "
                "swapon /swapfile && echo '/swapfile none swap sw 0 0' | sudo tee -a /etc/fstab",
            )
        )
    elif memory.swap_total_mb and memory.swap_free_mb < memory.swap_total_mb / 2:
        results.append(
            CheckResult(
                "swap",
                "warn",
                f"{memory.swap_total_mb - memory.swap_free_mb} MB of "
                f"{memory.swap_total_mb} MB swap in use: the services need more memory than "
                "the VM has",
                "check memory per process: ps aux --sort=-%mem | head",
            )
        )
    else:
        results.append(
            CheckResult("swap", "ok", f"{memory.swap_total_mb} MB swap ({memory.swap_free_mb} MB free)")
        )
    return results


def host_timezone(probes: HostProbes) -> str | None:
    code, out = probes.run(["timedatectl", "show", "-p", "Timezone", "--value"])
    if code == 0 and out.strip():
        return out.strip()
    if probes.etc_localtime.is_symlink():
        target = os.readlink(probes.etc_localtime)
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    if probes.etc_timezone.is_file():
        return probes.etc_timezone.read_text().strip() or None
    return None


def check_timezone(probes: HostProbes) -> CheckResult:
    zone = host_timezone(probes)
    if zone == TIMEZONE:
        return CheckResult("timezone", "ok", TIMEZONE)
    return CheckResult(
        "timezone",
        "fail",
        f"host timezone is {zone or 'unknown'}, not {TIMEZONE}: the 02:00 "
        "log-rotation cron and journald times would be off",
        f"sudo timedatectl set-timezone {TIMEZONE}",
    )


def check_clock_sync(probes: HostProbes) -> CheckResult:
    code, out = probes.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if code == 0 and out.strip() == "yes":
        return CheckResult("clock", "ok", "synchronised (NTP)")
    if code == 0 and out.strip() == "no":
        return CheckResult(
            "clock",
            "fail",
            "not synchronised: orders and schedules depend on the exact time",
            "sudo timedatectl set-ntp true (and check: timedatectl timesync-status)",
        )
    code, out = probes.run(["chronyc", "tracking"])
    if code == 0 and "Normal" in out:
        return CheckResult("clock", "ok", "synchronised (chrony)")
    return CheckResult(
        "clock",
        "warn",
        "cannot tell whether the clock is synchronised (no timedatectl/chrony)",
        "sudo apt install -y systemd-timesyncd && sudo timedatectl set-ntp true",
    )


def check_disk(project_dir: Path) -> CheckResult:
    disk = read_disk(project_dir)
    message = f"{disk.used_percent:.1f}% used, {format_size(disk.free_bytes)} free"
    fix = "bash scripts/log_rotate.sh; sudo journalctl --vacuum-size=200M; remove old data"
    if disk.free_bytes < MIN_FREE_DISK:
        return CheckResult("disk", "fail", message, fix)
    if disk.used_percent > WARN_DISK_PERCENT:
        return CheckResult("disk", "warn", message, fix)
    return CheckResult("disk", "ok", message)


def check_database() -> CheckResult:
    url: str | None = None
    try:
        from sqlalchemy import text

        from hantu.config.settings import load_settings
        from hantu.store.db import get_database, integrity_problem
        from hantu.store.migrate import current_revision, head_revision

        url = load_settings().resolved_database_url
        database = get_database(url)
        with database.session() as session:
            session.execute(text("SELECT 1"))
        damaged = integrity_problem(database)
        current, head = current_revision(database), head_revision()
    except Exception as error:
        from hantu.log import mask_secrets
        from hantu.store.db import damage_of

        damage = damage_of(error, url)
        if damage is not None:
            return CheckResult("database", "fail", str(damage), DATABASE_FIX)

        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return CheckResult(
            "database",
            "fail",
            f"cannot connect: {mask_secrets(first_line)[:300]}",
            "check DATABASE_URL or DB_HOST/DB_USER/DB_NAME and ~/.pgpass "
            "(bash scripts/deployment/validate_env.sh)",
        )
    kind = "PostgreSQL" if database.url.startswith("postgresql") else "SQLite"
    if damaged is not None:
        return CheckResult("database", "fail", f"{kind} integrity check failed: {damaged}", DATABASE_FIX)
    if current != head:
        return CheckResult(
            "database",
            "warn",
            f"{kind} reachable, schema at {current or '(empty)'}, code at {head}",
            "hantu db upgrade",
        )
    checked = ", integrity ok" if kind == "SQLite" else ""
    return CheckResult("database", "ok", f"{kind} reachable, schema current ({head}){checked}")


DATABASE_FIX = (
    "stop the services, keep the damaged file (cp hantu.db hantu.db.damaged), then restore the last "
    'backup (docs/operations.md, "Backups")'
)


def check_market_store() -> CheckResult:
    """Every file of the market store reads back (month blocks, their checksums, instruments, meta)."""
    from hantu.config.settings import load_settings
    from hantu.market.store import MarketStoreCorrupt, open_market_store

    try:
        store = open_market_store(load_settings())
        store.meta()
        stocks = len(store.instruments())
        days = sum(1 for _ in store.iter_raw_days())
    except MarketStoreCorrupt as error:
        return CheckResult(
            "market store",
            "fail",
            str(error),
            "restore the market directory from a backup, or re-import: hantu data import ...",
        )
    except Exception as error:  # e.g. an invalid configuration: reported by its own check
        return CheckResult("market store", "warn", f"not checked: {type(error).__name__}")
    if not days:
        return CheckResult(
            "market store", "warn", f"empty ({store.root})", "hantu data import (docs/market-data.md)"
        )
    return CheckResult("market store", "ok", f"{days} days, {stocks} stocks, every file readable")


def _private(path: Path) -> bool:
    from hantu.config.pgpass import mode_is_private

    return mode_is_private(path)


def check_file_modes(project_dir: Path) -> list[CheckResult]:
    from hantu.config.pgpass import pgpass_path
    from hantu.config.settings import env_file_path, load_settings

    files: list[Path] = []
    env = env_file_path()
    env = env if env.is_absolute() else project_dir / env
    files.append(env)
    try:
        settings = load_settings(env)
        if settings.uses_postgres:
            files.append(pgpass_path())
        home = settings.hantu_home if settings.hantu_home.is_absolute() else project_dir / settings.hantu_home
        if home.is_dir():
            files += sorted(p for p in home.rglob("*token*") if p.is_file())
    except Exception:
        pass  # an invalid .env is validate_env's and `hantu config check`'s to report
    results = []
    loose = [p for p in files if p.is_file() and not _private(p)]
    for path in loose:
        results.append(
            CheckResult(
                "file modes",
                "fail",
                f"{path} has mode {oct(path.stat().st_mode & 0o777)}: secrets readable by other users",
                f"chmod 600 {path}",
            )
        )
    if not env.is_file():
        results.append(
            CheckResult(
                "file modes",
                "warn",
                f"{env} not found (settings from the environment only)",
                "cp .env.example .env && chmod 600 .env",
            )
        )
    if not results:
        shown = ", ".join(p.name for p in files if p.is_file())
        results.append(CheckResult("file modes", "ok", f"private (600): {shown}"))
    return results


def check_venv(project_dir: Path) -> CheckResult:
    for name in ("venv", ".venv"):
        python = project_dir / name / "bin" / "python"
        if python.exists():
            code, out = _run(
                [str(python), "-c", "import sys, hantu, psycopg; print('%d.%d' % sys.version_info[:2])"]
            )
            if code == 0:
                return CheckResult(
                    "venv", "ok", f"{python} (Python {out.splitlines()[-1]}, hantu and psycopg import)"
                )
            return CheckResult(
                "venv",
                "fail",
                f"{python} cannot import hantu/psycopg: {out.splitlines()[-1][:200]}",
                f"{project_dir / name}/bin/pip install -e {project_dir}",
            )
    return CheckResult(
        "venv", "fail", f"no venv in {project_dir}", "python3 -m venv venv && venv/bin/pip install -e ."
    )


def check_services(probes: HostProbes) -> list[CheckResult]:
    if not shutil.which(probes.systemctl[0]) and not Path(probes.systemctl[0]).exists():
        return [CheckResult("services", "warn", "systemctl not available: services not checked")]
    results = []
    for unit in UNITS:
        code, out = probes.run(
            [*probes.systemctl, "show", unit, "-p", "LoadState,ActiveState,UnitFileState,NeedDaemonReload"]
        )
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if code != 0 or not props:
            reason = (out.splitlines() or ["no answer"])[0][:120]
            return [
                CheckResult("services", "warn", f"systemd not reachable, services not checked ({reason})")
            ]
        if props.get("LoadState") == "not-found":
            results.append(
                CheckResult(
                    "services", "warn", f"{unit}: not installed", "bash deploy/install-service-micro.sh"
                )
            )
            continue
        if props.get("NeedDaemonReload") == "yes":
            results.append(
                CheckResult(
                    "services",
                    "warn",
                    f"{unit}: unit file changed on disk",
                    f"sudo systemctl daemon-reload && sudo systemctl restart {unit}",
                )
            )
        if props.get("ActiveState") != "active":
            results.append(
                CheckResult(
                    "services",
                    "fail",
                    f"{unit}: {props.get('ActiveState', 'unknown')}",
                    f"sudo systemctl start {unit}; journalctl -u {unit} -n 50",
                )
            )
        elif props.get("UnitFileState") != "enabled":
            results.append(
                CheckResult(
                    "services",
                    "warn",
                    f"{unit}: running but not enabled at boot",
                    f"sudo systemctl enable {unit}",
                )
            )
        else:
            results.append(CheckResult("services", "ok", f"{unit}: active, enabled"))
    return results


def check_unit_paths(project_dir: Path, probes: HostProbes) -> list[CheckResult]:
    """An installed unit must be able to write where the configuration keeps the data (ProtectSystem=strict
    makes every other path read-only: the database, market store and logs would fail at the first write)."""
    from hantu.ops.services import covers, service_writable_paths, writable_paths

    needed = service_writable_paths(project_dir)
    results = []
    for unit in UNITS:
        path = probes.systemd_dir / f"{unit}.service"
        if not path.is_file():
            continue  # not installed: check_services says so
        text = path.read_text(encoding="utf-8", errors="replace")
        if "ProtectSystem=strict" not in text:
            continue
        allowed = writable_paths(text)
        missing = [p for p in needed if not covers(allowed, p)]
        if missing:
            results.append(
                CheckResult(
                    "unit paths",
                    "fail",
                    f"{unit} may write only {' '.join(map(str, allowed)) or '(nothing)'}, but the configuration "
                    f"(.env: HANTU_HOME, DATABASE_URL) needs {' '.join(map(str, missing))} (ProtectSystem=strict)",
                    f"bash deploy/install-service-micro.sh --all (renders ReadWritePaths from .env), then "
                    f"sudo systemctl daemon-reload && sudo systemctl restart {unit}",
                )
            )
        else:
            results.append(CheckResult("unit paths", "ok", f"{unit} may write {' '.join(map(str, needed))}"))
    return results


def run_doctor(project_dir: Path, probes: HostProbes | None = None) -> list[CheckResult]:
    probes = probes or HostProbes()
    results = check_memory(probes)
    results.append(check_timezone(probes))
    results.append(check_clock_sync(probes))
    results.append(check_disk(project_dir))
    results.append(check_database())
    results.append(check_market_store())
    results += check_file_modes(project_dir)
    results.append(check_venv(project_dir))
    results += check_services(probes)
    results += check_unit_paths(project_dir, probes)
    return results


def render_results(results: list[CheckResult]) -> str:
    lines = ["Hantu doctor", ""]
    for result in results:
        lines.append(f"{MARK[result.status]} {result.name}: {result.message}")
        if result.fix and result.status != "ok":
            lines.append(f"    fix: {result.fix}")
    failures = sum(r.status == "fail" for r in results)
    warnings = sum(r.status == "warn" for r in results)
    lines += [
        "",
        f"Doctor: {'OK' if not failures else 'PROBLEMS FOUND'} "
        f"({failures} problem(s), {warnings} warning(s))",
    ]
    return "\n".join(lines) + "\n"
