"""`deploy.sh`: fetch, pre-checks, install, migrate, restart, health check, record — with retries and rollback.

Rules the system this replaces got wrong, and where they are kept here:
- never restart trading in the middle of the session: `trading_session_guard` refuses (unless `--force`) from
  `GUARD_MINUTES` before the pre-open auction until `GUARD_MINUTES` after the close, on KRX trading days, and is
  asked again before every retry (a 5-minute wait can cross into the session);
- the retry loop is really used: up to `max_attempts` attempts, `retry_wait_s` apart (plus
  `LOW_MEMORY_EXTRA_WAIT_S` after a memory failure); a configuration error is not retried (waiting does not
  fix a `.env`);
- every attempt is recorded in the state file, and the failure streak raises alerts (see `hantu.ops.alerts`);
- a failed health check rolls the tree back to the commit that ran before, reinstalls and restarts it.

The commands that touch the host (install, migrate, restart) come from `DeployConfig`, so tests substitute
harmless ones (`HANTU_DEPLOY_*_CMD`).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hantu.clock import Clock, SystemClock, to_kst
from hantu.ops.alerts import (
    Alert,
    deploy_failure_alert,
    env_validation_alert,
    low_memory_alert,
    preload,
    send_alert,
)
from hantu.ops.opslog import OpsLog
from hantu.ops.state import StateStore

GUARD_MINUTES = 10
DEFAULT_RETRY_WAIT_S = 300.0
LOW_MEMORY_EXTRA_WAIT_S = 60.0
DEFAULT_SERVICES = ("hantu-scheduler", "hantu-api")
API_SERVICE = "hantu-api"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ENV_INVALID = 3
EXIT_REFUSED = 4


def trading_session_guard(now: datetime, guard_minutes: int = GUARD_MINUTES) -> str | None:
    """Why a restart now would hit the trading session, or None when it is safe."""
    from hantu.market.calendar import is_trading_day, session

    moment = to_kst(now)
    day = moment.date()
    if not is_trading_day(day):
        return None
    times = session(day)
    margin = timedelta(minutes=guard_minutes)
    start, end = times.pre_open - margin, times.close + margin
    if start <= moment <= end:
        return (f"{moment:%Y-%m-%d %H:%M} KST is inside the trading session of {day} "
                f"({start:%H:%M}–{end:%H:%M} KST, pre-open {times.pre_open:%H:%M}, close {times.close:%H:%M}, "
                f"{guard_minutes} min margin)")
    return None


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def _command_from_env(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    return shlex.split(raw) if raw and raw.strip() else default


def default_health_url() -> str:
    """`/health` of the API server as configured (`API_HOST`/`API_PORT`; a wildcard host means loopback)."""
    from hantu.config.settings import load_settings

    settings = load_settings()
    host = settings.api_host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}/health"


@dataclass
class DeployConfig:
    project_dir: Path
    branch: str = "main"
    remote: str = "origin"
    fetch: bool = True
    max_attempts: int = 3
    retry_wait_s: float = DEFAULT_RETRY_WAIT_S
    low_memory_extra_wait_s: float = LOW_MEMORY_EXTRA_WAIT_S
    min_available_mb: int = 800
    services: tuple[str, ...] = DEFAULT_SERVICES
    install_cmd: list[str] = field(default_factory=list)
    migrate_cmd: list[str] = field(default_factory=list)
    restart_cmd: list[str] = field(default_factory=list)
    # the schema revision before migrating (JSON {"current": …} on stdout), and the way back to it on rollback
    # ("{revision}" is replaced); both empty: rollbacks leave the schema alone
    revision_cmd: list[str] = field(default_factory=list)
    downgrade_cmd: list[str] = field(default_factory=list)
    health_url: str | None = None
    health_timeout_s: float = 60.0
    health_check: bool = True
    force: bool = False
    guard_minutes: int = GUARD_MINUTES
    env_file: Path | None = None
    meminfo: Path | None = None
    state_path: Path | None = None
    command_timeout_s: float = 1800.0

    @classmethod
    def from_environment(cls, project_dir: Path, **overrides: Any) -> DeployConfig:
        """Defaults for a real host; each host command can be replaced by `HANTU_DEPLOY_{INSTALL,MIGRATE,
        RESTART,REVISION,DOWNGRADE}_CMD`, the health URL by `HANTU_DEPLOY_HEALTH_URL`."""
        config = cls(project_dir=project_dir, **overrides)
        python = sys.executable
        config.install_cmd = config.install_cmd or _command_from_env(
            "HANTU_DEPLOY_INSTALL_CMD",
            [python, "-m", "pip", "install", "--quiet", "--prefer-binary", "-e", str(project_dir)])
        config.migrate_cmd = config.migrate_cmd or _command_from_env(
            "HANTU_DEPLOY_MIGRATE_CMD", [python, "-m", "hantu", "db", "upgrade"])
        config.restart_cmd = config.restart_cmd or _command_from_env(
            "HANTU_DEPLOY_RESTART_CMD", [*_sudo(), "systemctl", "restart", *config.services])
        config.revision_cmd = config.revision_cmd or _command_from_env(
            "HANTU_DEPLOY_REVISION_CMD", [python, "-m", "hantu", "db", "current", "--json"])
        config.downgrade_cmd = config.downgrade_cmd or _command_from_env(
            "HANTU_DEPLOY_DOWNGRADE_CMD", [python, "-m", "hantu", "db", "downgrade", "{revision}", "--yes"])
        if config.health_url is None:
            config.health_url = os.environ.get("HANTU_DEPLOY_HEALTH_URL") or None
        return config


@dataclass
class AttemptResult:
    ok: bool
    reason: str
    kind: str = "step"  # step | memory | env | health
    retryable: bool = True
    details: dict[str, object] = field(default_factory=dict)


class StepFailed(Exception):
    def __init__(self, result: AttemptResult) -> None:
        super().__init__(result.reason)
        self.result = result


class Deployer:
    """One deployment run (several attempts)."""

    def __init__(self, config: DeployConfig, clock: Clock | None = None, log: OpsLog | None = None,
                 alert: Callable[[Alert], bool] = send_alert, sleep: Callable[[float], None] | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.log = log or OpsLog(self.clock)
        self.alert = alert
        self.sleep = sleep or self.clock.sleep
        self.store = StateStore(config.state_path or (config.project_dir / ".deploy_state.json"))
        self.previous_commit: str | None = None
        self.current_commit: str | None = None
        self.installed_new_code = False  # whether pip ran on a tree other than the previous commit
        self.schema_before: str | None = None  # the revision the previous commit ran on ("base": empty)

    # --- helpers ------------------------------------------------------------------------------------
    def _run(self, name: str, command: list[str], timeout: float | None = None) -> str:
        """Run one host command in the project directory; its stdout, or StepFailed with the output's tail."""
        self.log.info(f"{name}: {shlex.join(command)}")
        try:
            done = subprocess.run(command, cwd=self.config.project_dir, capture_output=True, text=True,
                                  timeout=timeout or self.config.command_timeout_s)
        except FileNotFoundError as error:
            raise StepFailed(AttemptResult(False, f"{name} failed: {error}")) from error
        except subprocess.TimeoutExpired as error:
            raise StepFailed(AttemptResult(False, f"{name} timed out after {error.timeout:.0f}s")) from error
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            tail = " | ".join(output.splitlines()[-5:])
            for line in output.splitlines()[-20:]:
                self.log.error(f"  {line}")
            raise StepFailed(AttemptResult(False, f"{name} failed (exit {done.returncode})"
                                                  + (f": {tail[-300:]}" if tail else "")))
        return done.stdout

    def _schema_revision(self) -> str | None:
        """The database's schema revision ("base" when empty), or None when not configured or unreadable."""
        if not self.config.revision_cmd:
            return None
        try:
            output = self._run("Schema revision", self.config.revision_cmd, timeout=120)
            current = json.loads(output.strip().splitlines()[-1])["current"]
        except (StepFailed, ValueError, IndexError, KeyError, TypeError) as error:
            self.log.warn(f"Schema revision unknown ({error}): a rollback will leave the schema as it is")
            return None
        return str(current) if current else "base"

    def _downgrade_schema(self) -> str:
        """Before the older code goes back: take the schema back to the revision it ran on (with the newer
        code's migration scripts, so this runs before the tree is reset). Returns a note for the state."""
        before = self.schema_before
        if before is None or not self.config.downgrade_cmd:
            return ""
        now = self._schema_revision()
        if now is None or now == before:
            return ""
        self.log.warn(f"Schema: downgrading {now} → {before} (data in the newer tables and columns is dropped)")
        self._run("Downgrade", [part.replace("{revision}", before) for part in self.config.downgrade_cmd])
        return f", schema back to {before}"

    def _git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.config.project_dir, capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise StepFailed(AttemptResult(False, f"git {args[0]} failed: {done.stderr.strip()[-300:]}"))
        return done.stdout.strip()

    def _now_text(self) -> str:
        return f"{to_kst(self.clock.now()):%Y-%m-%d %H:%M:%S}"

    # --- steps --------------------------------------------------------------------------------------
    def fetch(self) -> None:
        if self.previous_commit is None:
            self.previous_commit = self._git("rev-parse", "HEAD")
        if not self.config.fetch:
            self.current_commit = self._git("rev-parse", "HEAD")
            self.log.info(f"Fetch skipped; deploying {self.current_commit[:8]}")
            return
        self.log.info(f"Fetching {self.config.remote}/{self.config.branch}...")
        self._git("fetch", "--quiet", self.config.remote, self.config.branch)
        self._git("merge", "--ff-only", "--quiet", "FETCH_HEAD")
        self.current_commit = self._git("rev-parse", "HEAD")
        if self.current_commit == self.previous_commit:
            self.log.info(f"Already at {self.current_commit[:8]} (no new commits)")
        else:
            self.log.info(f"Updated {self.previous_commit[:8]} → {self.current_commit[:8]}")

    def pre_checks(self, attempt: int) -> None:
        from hantu.ops.prechecks import check_env, check_memory

        memory = check_memory(self.log, self.config.min_available_mb, self.config.meminfo)
        if not memory.passed:
            self.alert(low_memory_alert(memory.memory.available_mb, memory.threshold_mb, memory.memory.total_mb,
                                        attempt, self._now_text()))
            raise StepFailed(AttemptResult(
                False, f"Memory check failed: {memory.memory.available_mb} MB available, "
                       f"{memory.threshold_mb} MB required", kind="memory"))
        report = check_env(self.log, self.config.env_file)
        if not report.passed:
            invalid = [c.line() for c in report.failures if c.name not in report.missing_required]
            self.alert(env_validation_alert(report.missing_required, invalid, self._now_text(),
                                            str(self.config.project_dir)))
            problems = report.missing_required + [c.name for c in report.failures
                                                  if c.name not in report.missing_required]
            raise StepFailed(AttemptResult(False, "Environment validation failed: " + ", ".join(problems),
                                           kind="env", retryable=False))

    def health(self) -> AttemptResult | None:
        """None when healthy (or not checked), else the failure."""
        if not self.config.health_check:
            self.log.info("Health check skipped (--no-health-check)")
            return None
        if API_SERVICE not in self.config.services:
            self.log.info(f"Health check skipped: {API_SERVICE} is not among the restarted services")
            return None
        import httpx

        url = self.config.health_url or default_health_url()
        self.log.info(f"Health check: GET {url} (up to {self.config.health_timeout_s:.0f}s)")
        deadline = self.clock.now() + timedelta(seconds=self.config.health_timeout_s)
        last = "no answer"
        while True:
            try:
                response = httpx.get(url, timeout=5.0)
                if response.status_code == 200:
                    self.log.info("Health check passed")
                    return None
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                last = f"{type(error).__name__}: {error}"
            if self.clock.now() >= deadline:
                break
            self.sleep(1.0)
        self.log.error(f"Health check failed: {last}")
        return AttemptResult(False, f"Health check failed ({last})", kind="health")

    def rollback(self, restart: bool) -> str:
        """Put the commit that ran before back in place; returns what happened, for the state's reason."""
        previous = self.previous_commit
        if not previous or previous == self._git("rev-parse", "HEAD"):
            self.log.warn("Nothing to roll back to: the tree is already at the previous commit")
            return "no earlier commit to roll back to"
        self.log.warn(f"Rolling back to {previous[:8]}...")
        schema = ""
        try:
            schema = self._downgrade_schema()
            self._git("reset", "--keep", previous)
            if self.installed_new_code:
                self._run("Reinstall", self.config.install_cmd)
                self.installed_new_code = False
            if restart:
                self._run("Restart", self.config.restart_cmd, timeout=180)
                if self.health() is not None:
                    return f"rolled back to {previous[:8]}, which is not healthy either"
        except StepFailed as error:
            self.log.error(f"Rollback failed: {error.result.reason}")
            return f"rollback to {previous[:8]} failed: {error.result.reason}"
        self.log.info(f"Rolled back to {previous[:8]}{schema}")
        return f"rolled back to {previous[:8]}{schema}"

    # --- one attempt, the whole run -----------------------------------------------------------------
    def attempt(self, number: int) -> AttemptResult:
        try:
            self.fetch()
            self.pre_checks(number)
            if self.schema_before is None:  # what the running services use, read once before any migration
                self.schema_before = self._schema_revision()
            self.installed_new_code = True
            self._run("Install", self.config.install_cmd)
            self._run("Migrate", self.config.migrate_cmd)
            self._run("Restart", self.config.restart_cmd, timeout=180)
        except StepFailed as error:
            return error.result
        failure = self.health()
        if failure is not None:
            failure.reason += "; " + self.rollback(restart=True)
            return failure
        return AttemptResult(True, f"Deployment succeeded on attempt {number}")

    def _alert_data(self, reason: str) -> dict[str, object]:
        state = None
        try:
            state = self.store.read()
        except Exception:
            pass
        return {"at": self._now_text(), "branch": self.config.branch, "project_dir": str(self.config.project_dir),
                "commit": (self.current_commit or self.previous_commit or "")[:8] or None,
                "last_success": state.last_success if state else None, "reason": reason}

    def refusal(self) -> str | None:
        if self.config.force:
            return None
        return trading_session_guard(self.clock.now(), self.config.guard_minutes)

    def run(self) -> int:
        config = self.config
        self.log.info(f"Deployment started: {config.project_dir} ({config.remote}/{config.branch}, "
                      f"up to {config.max_attempts} attempts)")
        for number in range(1, config.max_attempts + 1):
            reason = self.refusal()
            if not reason and number == 1:
                preload()  # after the cheap refusal check: importing the database layer takes a while
            if reason:
                self.log.error(f"Refusing to restart during the trading session: {reason}. "
                               "Deploy after the close, or pass --force")
                self._restore_tree()
                return EXIT_REFUSED
            self.log.info(f"Attempt {number}/{config.max_attempts}")
            result = self.attempt(number)
            state, warnings = self.store.record(result.ok, result.reason, self.clock.now())
            for warning in warnings:
                self.log.warn(warning)
            if result.ok:
                self.log.info(f"{result.reason} ({state.attempts} attempts recorded)")
                return EXIT_OK
            self.log.error(f"Attempt {number} failed: {result.reason} "
                           f"(consecutive failures: {state.consecutive_failures})")
            alert = deploy_failure_alert(state.consecutive_failures, self._alert_data(result.reason))
            if alert is not None:
                self.log.warn(f"Alert ({alert.priority}): {state.consecutive_failures} consecutive failures")
                self.alert(alert)
            if not result.retryable:
                self.log.error("Not retrying: fix the configuration, then deploy again")
                self._restore_tree()
                return EXIT_ENV_INVALID if result.kind == "env" else EXIT_FAILED
            if number < config.max_attempts:
                wait = config.retry_wait_s + (config.low_memory_extra_wait_s if result.kind == "memory" else 0)
                self.log.info(f"Retrying in {wait:.0f}s")
                self.sleep(wait)
        self.log.error(f"Deployment failed after {config.max_attempts} attempts")
        self._restore_tree()
        return EXIT_FAILED

    def _restore_tree(self) -> None:
        """After a failed run that moved the tree, put back the commit the services still run."""
        try:
            head = self._git("rev-parse", "HEAD")
        except StepFailed:
            return
        if self.previous_commit and head != self.previous_commit:
            self.rollback(restart=False)
