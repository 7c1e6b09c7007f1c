"""`log_rotate.sh`: keep recent logs, gzip older ones, delete the oldest; warn when the disk fills up.

A log's age is the date in its name (`hantu_quant_2026-01-14.log`) when it has one, else its modification
time. Files a running process still has open are never touched (compressing them would send the process's
further writes into a deleted file). The cron line runs this at 02:00 in the host's timezone, which
`setup-micro.sh` sets to Asia/Seoul (`hantu doctor` checks it).
"""

from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from hantu.clock import KST, Clock, SystemClock, to_kst
from hantu.ops.alerts import Alert, disk_usage_alert, send_alert
from hantu.ops.host import format_size, kst_stamp, read_disk

LOG_NAME = re.compile(r"\.(log|jsonl|txt)(\.\d+)?(\.gz)?$")
DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
CRON_MARKER = "scripts/log_rotate.sh"
CRONTAB_ENV = "HANTU_CRONTAB"
RULE = "=" * 40


def default_log_dirs() -> list[Path]:
    """The app's log directory (`$HANTU_HOME/logs`) and the project's `logs/` (cron output), when present."""
    from hantu.config.settings import load_settings

    dirs: list[Path] = []
    try:
        dirs.append(load_settings().logs_dir)
    except Exception:
        pass
    dirs.append(Path("logs"))
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(d.resolve() != u.resolve() for u in unique):
            unique.append(d)
    return unique


def log_date(path: Path) -> date:
    """The day a log belongs to: the date in its name, else its modification day (KST)."""
    match = DATE_IN_NAME.search(path.name)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, KST).date()


def open_files() -> set[Path]:
    """Files some process has open (best effort from /proc; empty where /proc is unavailable)."""
    found: set[Path] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                try:
                    found.add(Path(os.readlink(fd)))
                except OSError:
                    continue
        except OSError:
            continue
    return found


@dataclass
class RotationResult:
    compressed: list[tuple[Path, Path]]
    deleted: list[Path]
    skipped_open: list[Path]
    bytes_saved: int


def rotate_dir(directory: Path, today: date, keep_days: int, delete_days: int, dry_run: bool,
               in_use: set[Path]) -> RotationResult:
    result = RotationResult([], [], [], 0)
    files = sorted((p for p in directory.rglob("*") if p.is_file() and LOG_NAME.search(p.name)),
                   key=lambda p: p.name, reverse=True)
    for path in files:
        age = (today - log_date(path)).days
        if age > delete_days:
            result.bytes_saved += path.stat().st_size
            if not dry_run:
                path.unlink()
            result.deleted.append(path)
        elif age > keep_days and path.suffix != ".gz":
            if path.resolve() in in_use:
                result.skipped_open.append(path)
                continue
            target = path.with_name(path.name + ".gz")
            before = path.stat().st_size
            if not dry_run:
                _gzip(path, target)
                result.bytes_saved += before - target.stat().st_size
            result.compressed.append((path, target))
    return result


def _gzip(source: Path, target: Path) -> None:
    """Compress next to the original, keep its times, then remove it (a crash leaves the original)."""
    stat = source.stat()
    partial = target.with_name(target.name + ".partial")
    with open(source, "rb") as src, gzip.open(partial, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    os.utime(partial, (stat.st_atime, stat.st_mtime))
    os.chmod(partial, stat.st_mode & 0o777)
    os.replace(partial, target)
    source.unlink()


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def rotate_logs(dirs: Iterable[Path], keep_days: int = 7, delete_days: int = 30, disk_alert_percent: float = 85.0,
                dry_run: bool = False, clock: Clock | None = None,
                alert: Callable[[Alert], bool] = send_alert, echo: Callable[[str], None] = print) -> int:
    """Rotate every directory and print the guide's report; returns the exit code (0, or 1 on errors)."""
    clock = clock or SystemClock()
    now = to_kst(clock.now())
    dirs = list(dirs)
    echo(f"{RULE}\nLog Rotation Started{' (dry run)' if dry_run else ''}\n{RULE}")
    echo(f"Time: {kst_stamp(now)}")
    echo(f"Directories: {', '.join(_shown(d) for d in dirs) or '(none found)'}\n")
    in_use = open_files()
    results = []
    code = 0
    for directory in dirs:
        try:
            results.append(rotate_dir(directory, now.date(), keep_days, delete_days, dry_run, in_use))
        except OSError as error:
            echo(f"  Error in {directory}: {error}")
            code = 1
    echo(f"Compressing logs older than {keep_days} days...")
    compressed = [pair for r in results for pair in r.compressed]
    for source, target in compressed:
        echo(f"  Compressed: {_shown(source)} → {_shown(target)}")
    if not compressed:
        echo("  (nothing to compress)")
    for skipped in (p for r in results for p in r.skipped_open):
        echo(f"  Skipped (open by a process): {_shown(skipped)}")
    echo(f"\nDeleting logs older than {delete_days} days...")
    deleted = [p for r in results for p in r.deleted]
    for path in deleted:
        echo(f"  Deleted: {_shown(path)}")
    if not deleted:
        echo("  (nothing to delete)")
    echo(f"\nSpace saved: {format_size(sum(r.bytes_saved for r in results))}")
    for directory in dirs or [Path.cwd()]:
        disk = read_disk(directory)
        echo(f"Disk usage: {disk.used_percent:.1f}% ({format_size(disk.free_bytes)} free, "
             f"alert above {disk_alert_percent:.0f}%)")
        if disk.used_percent > disk_alert_percent:
            echo(f"⚠ Disk usage {disk.used_percent:.1f}% is above {disk_alert_percent:.0f}%: "
                 "delete old data or lower --delete-days")
            if not dry_run:
                alert(disk_usage_alert(str(directory), disk.used_percent, disk_alert_percent,
                                       format_size(disk.free_bytes)))
        break  # one filesystem in practice; the first directory stands for it
    echo(f"\n{RULE}\nLog Rotation Completed\n{RULE}")
    return code


# --- cron ------------------------------------------------------------------------------------------------
def cron_line(project_dir: Path) -> str:
    """The crontab line of the guide: daily at 02:00 (the host runs on Asia/Seoul)."""
    return (f"0 2 * * * cd {shlex.quote(str(project_dir))} && bash scripts/log_rotate.sh "
            ">> logs/log_rotate.log 2>&1")


def merge_crontab(existing: str, line: str) -> tuple[str, bool]:
    """The crontab with exactly one log-rotation line (replacing an older one); (text, changed)."""
    lines = [entry for entry in existing.splitlines() if entry.strip()]
    kept = [entry for entry in lines if CRON_MARKER not in entry or entry.lstrip().startswith("#")]
    new = [*kept, line]
    changed = new != lines
    return "\n".join(new) + "\n", changed


def install_cron_line(project_dir: Path, dry_run: bool = False, echo: Callable[[str], None] = print) -> int:
    """Install the line in the current user's crontab (`$HANTU_CRONTAB` replaces `crontab` in tests)."""
    crontab = shlex.split(os.environ.get(CRONTAB_ENV) or "crontab")
    line = cron_line(project_dir)
    try:
        listed = subprocess.run([*crontab, "-l"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        echo("error: crontab not found: install cron (sudo apt install -y cron)")
        return 1
    existing = listed.stdout if listed.returncode == 0 else ""  # exit 1 = "no crontab for user"
    text, changed = merge_crontab(existing, line)
    if not changed:
        echo(f"cron: already installed: {line}")
        return 0
    if dry_run:
        echo(f"cron: would install: {line}")
        return 0
    (project_dir / "logs").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([*crontab, "-"], input=text, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        echo(f"error: crontab failed: {done.stderr.strip()}")
        return 1
    echo(f"cron: installed: {line}")
    return 0
