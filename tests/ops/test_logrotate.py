"""log_rotate.sh: keep 7 days, gzip 8-30, delete older, skip open files, disk alert; the cron line."""

from __future__ import annotations

import gzip
import os
import stat
from datetime import datetime
from pathlib import Path

from ops_testkit import run_script

from hantu.clock import KST, FrozenClock
from hantu.ops.alerts import Alert
from hantu.ops.logrotate import cron_line, merge_crontab, rotate_logs

NOW = datetime(2026, 1, 22, 2, 0, tzinfo=KST)


def make_logs(logs: Path) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    for day in ("2026-01-20", "2026-01-15", "2026-01-14", "2026-01-13", "2025-12-23", "2025-12-20"):
        (logs / f"hantu_quant_{day}.log").write_text(f"log line of {day}\n" * 2000)
    (logs / "hantu_quant_2025-12-19.log.gz").write_bytes(gzip.compress(b"old"))
    (logs / "notes.md").write_text("not a log")
    rotated = logs / "scheduler.jsonl.1"  # no date in the name: its modification time counts
    rotated.write_text('{"msg": "x"}\n' * 500)
    old = NOW.timestamp() - 12 * 86400
    os.utime(rotated, (old, old))


def test_policy_compresses_deletes_and_keeps(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    make_logs(logs)
    out: list[str] = []
    alerts: list[Alert] = []
    code = rotate_logs([logs], clock=FrozenClock(NOW), alert=alerts.append, echo=out.append,
                       disk_alert_percent=100.0)
    names = sorted(p.name for p in logs.iterdir())
    assert code == 0
    assert names == sorted([
        "hantu_quant_2026-01-20.log", "hantu_quant_2026-01-15.log",        # <= 7 days: untouched
        "hantu_quant_2026-01-14.log.gz", "hantu_quant_2026-01-13.log.gz",  # 8-30 days: compressed
        "hantu_quant_2025-12-23.log.gz", "scheduler.jsonl.1.gz",
        "notes.md"])                                                       # 2025-12-20/19: > 30 days, deleted
    assert gzip.decompress((logs / "hantu_quant_2026-01-14.log.gz").read_bytes()).startswith(b"log line of 2026-01-14")
    report = "\n".join(out)
    assert "Log Rotation Started" in report and "Time: 2026-01-22 02:00:00 KST" in report
    assert "Compressing logs older than 7 days..." in report and "Deleting logs older than 30 days..." in report
    assert "  Compressed: " in report and "hantu_quant_2026-01-14.log → " in report
    assert "  Deleted: " in report and "hantu_quant_2025-12-19.log.gz" in report
    assert "Space saved: " in report and report.rstrip().endswith("=" * 40)
    assert not alerts


def test_configurable_days_dry_run_and_open_files(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    make_logs(logs)
    before = sorted(p.name for p in logs.iterdir())
    out: list[str] = []
    rotate_logs([logs], keep_days=1, delete_days=3, dry_run=True, clock=FrozenClock(NOW), echo=out.append)
    assert sorted(p.name for p in logs.iterdir()) == before
    assert "hantu_quant_2026-01-14.log" in "\n".join(out)
    with open(logs / "hantu_quant_2026-01-13.log", "a"):  # a process still writes to it
        rotate_logs([logs], keep_days=1, delete_days=60, clock=FrozenClock(NOW), echo=out.append)
    assert (logs / "hantu_quant_2026-01-13.log").exists()
    assert any("Skipped (open by a process)" in line for line in out)
    assert (logs / "hantu_quant_2026-01-14.log.gz").exists()


def test_disk_usage_alert(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    alerts: list[Alert] = []
    out: list[str] = []
    rotate_logs([logs], disk_alert_percent=0.0, clock=FrozenClock(NOW), alert=alerts.append, echo=out.append)
    assert len(alerts) == 1 and alerts[0].kind == "error" and alerts[0].data["error_kind"] == "disk_usage_high"
    assert any(line.startswith("⚠ Disk usage") for line in out)


def test_script_and_cron(tmp_path: Path, script_env: dict[str, str]) -> None:
    logs = tmp_path / "logs"
    make_logs(logs)
    result = run_script("scripts/log_rotate.sh", "--logs-dir", str(logs), "--disk-alert-percent", "100",
                        env=script_env)
    assert result.returncode == 0, result.stderr
    assert "Log Rotation Completed" in result.stdout
    assert not (logs / "hantu_quant_2025-12-20.log").exists()
    bad = run_script("scripts/log_rotate.sh", "--keep-days", "9", "--delete-days", "3", env=script_env)
    assert bad.returncode == 2

    line = cron_line(Path("/opt/hantu_quant"))
    assert line == "0 2 * * * cd /opt/hantu_quant && bash scripts/log_rotate.sh >> logs/log_rotate.log 2>&1"
    text, changed = merge_crontab("MAILTO=x\n0 3 * * * cd /old && bash scripts/log_rotate.sh\n", line)
    assert changed and text == f"MAILTO=x\n{line}\n"
    assert merge_crontab(text, line) == (text, False)

    # install-cron against a stand-in crontab command (stores the table in a file)
    table = tmp_path / "crontab.txt"
    fake = tmp_path / "crontab"
    fake.write_text(f"#!/bin/sh\nif [ \"$1\" = -l ]; then cat {table} 2>/dev/null || exit 1; else cat > {table}; fi\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    project = tmp_path / "project"
    project.mkdir()
    script_env["HANTU_CRONTAB"] = str(fake)
    import subprocess

    from helpers import hantu_cmd

    first = subprocess.run(hantu_cmd("ops", "install-cron", "--project-dir", str(project)), env=script_env,
                           capture_output=True, text=True)
    second = subprocess.run(hantu_cmd("ops", "install-cron", "--project-dir", str(project)), env=script_env,
                            capture_output=True, text=True)
    assert "installed" in first.stdout and "already installed" in second.stdout
    assert table.read_text().count("scripts/log_rotate.sh") == 1 and (project / "logs").is_dir()
