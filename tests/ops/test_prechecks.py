"""pre_checks.sh: memory threshold (800 MB default, configurable), env check, the guide's log lines."""

from __future__ import annotations

import re
from pathlib import Path

from ops_testkit import run_script

SCRIPT = "scripts/deployment/pre_checks.sh"
LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} KST\] \[(INFO|WARN|ERROR)\] ")


def test_memory_check_passes_and_fails_on_the_threshold(meminfo, script_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    script_env["HANTU_MEMINFO"] = str(meminfo(1024, 950))
    ok = run_script(SCRIPT, "check-memory", env=script_env)
    out = ok.stdout.splitlines()
    assert ok.returncode == 0 and all(LINE.match(line) for line in out)
    assert out[0].endswith("[INFO] Checking memory availability...")
    assert out[1].endswith("[INFO] Available memory: 950 MB (Threshold: 800 MB)")
    assert out[2].endswith("[INFO] Memory check passed: 950 MB available")
    script_env["HANTU_MEMINFO"] = str(meminfo(1024, 650))
    low = run_script(SCRIPT, "check-memory", env=script_env)
    assert (
        low.returncode == 1 and "[ERROR] Memory check failed: 650 MB available, 800 MB required" in low.stdout
    )
    lower = run_script(SCRIPT, "check-memory", "--min-available-mb", "600", env=script_env)
    assert lower.returncode == 0 and "(Threshold: 600 MB)" in lower.stdout


def test_threshold_from_env_file(meminfo, script_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / ".env"
    env.write_text("HANTU_MIN_AVAILABLE_MB=500\n")
    env.chmod(0o600)
    script_env.update(HANTU_ENV_FILE=str(env), HANTU_MEMINFO=str(meminfo(1024, 650)))
    result = run_script(SCRIPT, "check-memory", env=script_env)
    assert result.returncode == 0 and "(Threshold: 500 MB)" in result.stdout


def test_check_all_runs_both_and_fails_on_env(meminfo, script_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / ".env"
    env.write_text("TRADING_MODE=kis\n")  # KIS trading without its keys (Telegram is optional)
    env.chmod(0o600)
    script_env.update(HANTU_ENV_FILE=str(env), HANTU_MEMINFO=str(meminfo(1024, 950)))
    result = run_script(SCRIPT, "check-all", env=script_env)
    assert result.returncode == 1
    assert "Memory check passed" in result.stdout and "Validation: FAILED" in result.stdout
    assert (
        "[ERROR] Environment validation failed: KIS_APP_KEY, KIS_APP_SECRET, KIS_ACCOUNT_NO" in result.stdout
    )
    assert run_script(SCRIPT, env=script_env).returncode == 2
    assert run_script(SCRIPT, "check-nothing", env=script_env).returncode == 2
