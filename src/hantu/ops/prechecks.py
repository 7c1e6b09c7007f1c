"""Pre-deployment checks (`pre_checks.sh`): enough free memory, a complete configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hantu.ops.host import MemoryInfo, read_memory
from hantu.ops.opslog import OpsLog

MIN_AVAILABLE_ENV = "HANTU_MIN_AVAILABLE_MB"
DEFAULT_MIN_AVAILABLE_MB = 800  # the deployment guide's threshold


def min_available_mb() -> int:
    """The memory threshold: `$HANTU_MIN_AVAILABLE_MB`, else `.env`'s value, else 800 MB."""
    raw = os.environ.get(MIN_AVAILABLE_ENV)
    if raw and raw.strip():
        return int(raw)
    try:
        from hantu.config.settings import load_settings

        return load_settings().min_available_mb
    except Exception:  # an invalid .env is reported by check-env; memory still gets checked
        return DEFAULT_MIN_AVAILABLE_MB


@dataclass(frozen=True)
class MemoryCheck:
    passed: bool
    memory: MemoryInfo
    threshold_mb: int


def check_memory(log: OpsLog, threshold_mb: int, meminfo: Path | None = None) -> MemoryCheck:
    log.info("Checking memory availability...")
    memory = read_memory(meminfo)
    log.info(f"Available memory: {memory.available_mb} MB (Threshold: {threshold_mb} MB)")
    passed = memory.available_mb >= threshold_mb
    if passed:
        log.info(f"Memory check passed: {memory.available_mb} MB available")
    else:
        log.error(f"Memory check failed: {memory.available_mb} MB available, {threshold_mb} MB required "
                  f"(swap free: {memory.swap_free_mb} MB)")
    return MemoryCheck(passed, memory, threshold_mb)


def check_env(log: OpsLog, env_file: Path | None = None):
    """Run the environment validation, print its report, return it (`EnvReport`)."""
    from hantu.ops.envcheck import render_report, validate_environment

    log.info("Validating environment variables...")
    report = validate_environment(env_file)
    log.raw(render_report(report))
    if report.passed:
        log.info("Environment validation passed")
    else:
        problems = report.missing_required or [c.name for c in report.failures]
        log.error("Environment validation failed: " + ", ".join(problems))
    return report
