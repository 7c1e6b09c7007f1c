"""deploy.sh / Deployer: steps in order, retries, alerts, market-hours refusal, rollback — on real git and HTTP."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from ops_testkit import Repos, run_script

from hantu.clock import KST, FrozenClock
from hantu.market.calendar import is_trading_day
from hantu.ops.alerts import Alert, failure_priority, low_memory_priority
from hantu.ops.deploy import (
    EXIT_ENV_INVALID,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    DeployConfig,
    Deployer,
    trading_session_guard,
)
from hantu.ops.state import StateStore

SATURDAY = datetime(2026, 1, 24, 10, 0, tzinfo=KST)
TRADING_DAY = datetime(2026, 1, 22, 10, 0, tzinfo=KST)  # a Thursday
STEP = """
import pathlib, subprocess, sys
name, out = sys.argv[1], pathlib.Path(sys.argv[2])
head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
with open(out / "steps.log", "a") as log:
    log.write(f"{name} {head}\\n")
control = out / f"fail_{name}"
if control.exists():
    left = int(control.read_text() or "0")
    if left != 0:
        control.write_text(str(left - 1))
        print(f"{name} broke on purpose")
        sys.exit(1)
"""

# a stand-in for `hantu db current --json` / `db upgrade` / `db downgrade REV`: the revision lives in a file
SCHEMA = """
import json, pathlib, subprocess, sys
action, out = sys.argv[1], pathlib.Path(sys.argv[2])
revision = out / "revision"
head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
if action == "current":
    print("a log line first")
    print(json.dumps({"current": revision.read_text() if revision.exists() else "0007", "head": "0008"}))
    sys.exit(0)
target = "0008" if action == "migrate" else sys.argv[3]
with open(out / "steps.log", "a") as log:
    log.write(f"{action} {head}" + (f" {target}" if action == "downgrade" else "") + "\\n")
revision.write_text(target)
"""


class HealthServer:
    """`/health` answers 200 while the deployed tree has its HEALTHY file, 503 otherwise."""

    def __init__(self, project: Path) -> None:
        marker = project / "HEALTHY"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ok = self.path == "/health" and marker.exists()
                body = json.dumps({"status": "ok" if ok else "down"}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def health(repos: Repos) -> Iterator[HealthServer]:
    server = HealthServer(repos.project)
    yield server
    server.close()


@pytest.fixture
def kit(tmp_path: Path, meminfo) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    (out / "step.py").write_text(STEP)
    env = tmp_path / "deploy.env"
    env.write_text("TELEGRAM_BOT_TOKEN=123456:abcdefgh\nTELEGRAM_CHAT_ID=42\n")
    env.chmod(0o600)
    return {"out": out, "env": env, "meminfo": meminfo(1024, 900)}


def make(repos: Repos, kit: dict[str, Path], health: HealthServer | None, **overrides: object):  # type: ignore[no-untyped-def]
    step = [sys.executable, str(kit["out"] / "step.py")]
    config = DeployConfig(
        project_dir=repos.project,
        install_cmd=[*step, "install", str(kit["out"])],
        migrate_cmd=[*step, "migrate", str(kit["out"])],
        restart_cmd=[*step, "restart", str(kit["out"])],
        health_url=health.url if health else None,
        health_timeout_s=2,
        retry_wait_s=300,
        env_file=kit["env"],
        meminfo=kit["meminfo"],
        state_path=repos.project / ".deploy_state.json",
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    clock = overrides.pop("clock", None) or FrozenClock(SATURDAY)
    alerts: list[Alert] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    deployer = Deployer(config, clock=clock, alert=lambda a: alerts.append(a) or True, sleep=sleep)
    return deployer, alerts, sleeps


def steps(kit: dict[str, Path]) -> list[str]:
    path = kit["out"] / "steps.log"
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_success_runs_every_step_in_order_on_the_new_commit(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    new = repos.push_commit("v2")
    deployer, alerts, sleeps = make(repos, kit, health)
    assert deployer.run() == EXIT_OK
    assert repos.head() == new
    assert [s.split()[0] for s in steps(kit)] == ["install", "migrate", "restart"]
    assert all(s.split()[1] == new[:7] for s in steps(kit))
    state = StateStore(repos.project / ".deploy_state.json").read()
    assert state is not None and state.last_status == "success" and state.consecutive_failures == 0
    assert state.last_reason == "Deployment succeeded on attempt 1" and state.attempts == 1
    assert not alerts and not sleeps


def test_failing_step_is_retried_with_the_wait_and_alerts_from_two_failures(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    repos.push_commit("v2")
    (kit["out"] / "fail_install").write_text("2")
    deployer, alerts, sleeps = make(repos, kit, health, retry_wait_s=300)
    assert deployer.run() == EXIT_OK
    assert [s.split()[0] for s in steps(kit)] == ["install", "install", "install", "migrate", "restart"]
    assert sleeps == [300, 300]
    state = StateStore(repos.project / ".deploy_state.json").read()
    assert state.attempts == 3 and state.consecutive_failures == 0
    assert state.last_reason == "Deployment succeeded on attempt 3"
    assert [(a.kind, a.priority, a.data["consecutive_failures"]) for a in alerts] == [
        ("deploy_failures", "high", 2)
    ]
    assert "Install failed (exit 1)" in alerts[0].data["reason"] and alerts[0].data["branch"] == "main"


def test_streak_turns_critical_at_five_and_tree_is_restored(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    before = repos.head()
    repos.push_commit("v2")
    store = StateStore(repos.project / ".deploy_state.json")
    for _ in range(2):
        store.record(False, "earlier", SATURDAY)
    (kit["out"] / "fail_migrate").write_text("-1")
    deployer, alerts, sleeps = make(repos, kit, health, retry_wait_s=7)
    assert deployer.run() == EXIT_FAILED
    assert [(a.priority, a.data["consecutive_failures"]) for a in alerts] == [
        ("high", 3),
        ("high", 4),
        ("critical", 5),
    ]
    assert sleeps == [7, 7]
    assert repos.head() == before  # the services never ran v2: the tree goes back to what they run
    assert store.read().consecutive_failures == 5


def test_alert_thresholds() -> None:
    assert [failure_priority(n) for n in range(7)] == [
        None,
        None,
        "high",
        "high",
        "high",
        "critical",
        "critical",
    ]
    assert [low_memory_priority(n) for n in (1, 2, 3, 4)] == ["high", "high", "critical", "critical"]


def test_low_memory_alerts_and_waits_longer(repos, kit, health, meminfo) -> None:  # type: ignore[no-untyped-def]
    deployer, alerts, sleeps = make(
        repos, kit, health, meminfo=meminfo(1024, 300), retry_wait_s=10, low_memory_extra_wait_s=60
    )
    assert deployer.run() == EXIT_FAILED
    memory = [a for a in alerts if a.kind == "low_memory"]
    assert [
        (a.priority, a.data["retries"], a.data["available_mb"], a.data["threshold_mb"]) for a in memory
    ] == [("high", 1, 300, 800), ("high", 2, 300, 800), ("critical", 3, 300, 800)]
    assert sleeps == [70, 70]
    assert not steps(kit)  # nothing installed with too little memory
    assert (
        StateStore(repos.project / ".deploy_state.json").read().last_reason.startswith("Memory check failed")
    )


def test_env_validation_failure_alerts_and_is_not_retried(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    before = repos.head()
    repos.push_commit("v2")
    kit["env"].write_text("TELEGRAM_BOT_TOKEN=123456:abcdefgh\n")  # a token without its chat
    deployer, alerts, sleeps = make(repos, kit, health)
    assert deployer.run() == EXIT_ENV_INVALID
    env_alerts = [a for a in alerts if a.kind == "env_validation_failed"]
    assert len(env_alerts) == 1 and env_alerts[0].priority == "critical"
    assert env_alerts[0].data["missing"] == ["TELEGRAM_CHAT_ID"]
    assert not sleeps and not steps(kit) and repos.head() == before


def test_refuses_during_the_trading_session_unless_forced(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    assert is_trading_day(TRADING_DAY.date())
    before = repos.head()
    repos.push_commit("v2")
    deployer, _, _ = make(repos, kit, health, clock=FrozenClock(TRADING_DAY))
    assert deployer.run() == EXIT_REFUSED
    assert repos.head() == before and not steps(kit)
    assert not (repos.project / ".deploy_state.json").exists()  # a refusal is not a failed deploy
    forced, _, _ = make(repos, kit, health, clock=FrozenClock(TRADING_DAY), force=True)
    assert forced.run() == EXIT_OK


def test_session_guard_window() -> None:
    day = TRADING_DAY.date()
    at = lambda h, m: datetime(day.year, day.month, day.day, h, m, tzinfo=KST)  # noqa: E731
    assert trading_session_guard(at(8, 19)) is None
    assert trading_session_guard(at(8, 20)) is not None  # 10 minutes before the 08:30 pre-open
    assert trading_session_guard(at(15, 40)) is not None
    assert trading_session_guard(at(15, 41)) is None
    assert trading_session_guard(SATURDAY) is None
    assert trading_session_guard(datetime(2026, 1, 2, 9, 30, tzinfo=KST)) is not None  # late open day, 10:00
    assert trading_session_guard(datetime(2026, 1, 1, 10, 0, tzinfo=KST)) is None  # New Year holiday


def test_retry_does_not_cross_into_the_session(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    before = repos.head()
    repos.push_commit("v2")
    (kit["out"] / "fail_install").write_text("-1")
    clock = FrozenClock(datetime(2026, 1, 22, 8, 0, tzinfo=KST))
    deployer, _, sleeps = make(repos, kit, health, clock=clock, retry_wait_s=1200)
    assert deployer.run() == EXIT_REFUSED  # 08:00 fails, the retry at 08:20 would be inside the guard
    assert sleeps == [1200]
    assert repos.head() == before  # the tree is back at what the services run


def test_unhealthy_release_is_rolled_back(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    good = repos.head()
    bad = repos.push_commit("broken", healthy=False)
    deployer, _, _ = make(repos, kit, health, max_attempts=1)
    assert deployer.run() == EXIT_FAILED
    assert repos.head() == good
    assert [s.split() for s in steps(kit)] == [
        ["install", bad[:7]],
        ["migrate", bad[:7]],
        ["restart", bad[:7]],
        ["install", good[:7]],
        ["restart", good[:7]],
    ]
    state = StateStore(repos.project / ".deploy_state.json").read()
    assert "Health check failed (HTTP 503)" in state.last_reason
    assert f"rolled back to {good[:8]}" in state.last_reason
    fixed = repos.push_commit("fixed")
    deployer, _, _ = make(repos, kit, health)
    assert deployer.run() == EXIT_OK and repos.head() == fixed


def test_rollback_takes_the_schema_back_before_the_older_code(repos, kit, health) -> None:  # type: ignore[no-untyped-def]
    good = repos.head()
    bad = repos.push_commit("migrates, then fails its health check", healthy=False)
    schema = [sys.executable, str(kit["out"] / "schema.py")]
    (kit["out"] / "schema.py").write_text(SCHEMA)
    deployer, _, _ = make(
        repos,
        kit,
        health,
        max_attempts=1,
        migrate_cmd=[*schema, "migrate", str(kit["out"])],
        revision_cmd=[*schema, "current", str(kit["out"])],
        downgrade_cmd=[*schema, "downgrade", str(kit["out"]), "{revision}"],
    )
    assert deployer.run() == EXIT_FAILED
    assert repos.head() == good
    # the downgrade runs on the new tree (its migration scripts know the way back), then the old code returns
    assert [s.split() for s in steps(kit)] == [
        ["install", bad[:7]],
        ["migrate", bad[:7]],
        ["restart", bad[:7]],
        ["downgrade", bad[:7], "0007"],
        ["install", good[:7]],
        ["restart", good[:7]],
    ]
    assert (kit["out"] / "revision").read_text() == "0007"
    state = StateStore(repos.project / ".deploy_state.json").read()
    assert f"rolled back to {good[:8]}, schema back to 0007" in state.last_reason


def test_alerts_land_in_the_real_outbox(repos, kit, health, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from hantu.config import reset_settings_cache
    from hantu.ops.alerts import send_alert
    from hantu.store.db import reset_databases
    from hantu.store.models.notify import OutboxMessage

    from helpers import configured_database

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'outbox.db'}")
    reset_settings_cache()
    reset_databases()
    (kit["out"] / "fail_install").write_text("-1")
    deployer, _, _ = make(repos, kit, health, retry_wait_s=0)
    deployer.alert = send_alert
    assert deployer.run() == EXIT_FAILED
    with configured_database().session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        got = [(r.kind, r.priority, r.data["consecutive_failures"]) for r in rows]
        text = rows[-1].text
    assert got == [("deploy_failures", "high", 2), ("deploy_failures", "high", 3)]
    assert "연속 실패: 3회" in text or "Consecutive failures: 3" in text


def test_deploy_script_end_to_end(repos, kit, health, script_env) -> None:  # type: ignore[no-untyped-def]
    new = repos.push_commit("v2")
    step = f"{sys.executable} {kit['out'] / 'step.py'}"
    script_env.update(
        HANTU_PROJECT_DIR=str(repos.project),
        HANTU_ENV_FILE=str(kit["env"]),
        HANTU_MEMINFO=str(kit["meminfo"]),
        HANTU_DEPLOY_INSTALL_CMD=f"{step} install {kit['out']}",
        HANTU_DEPLOY_MIGRATE_CMD=f"{step} migrate {kit['out']}",
        HANTU_DEPLOY_RESTART_CMD=f"{step} restart {kit['out']}",
        HANTU_DEPLOY_HEALTH_URL=health.url,
    )
    script_env.pop("HANTU_DEPLOY_STATE")
    refused = run_script("scripts/deployment/deploy.sh", "--now", "2026-01-22 10:00", env=script_env)
    assert (
        refused.returncode == EXIT_REFUSED
        and "Refusing to restart during the trading session" in refused.stdout
    )
    (kit["out"] / "fail_restart").write_text("1")
    done = run_script(
        "scripts/deployment/deploy.sh", "--now", "2026-01-24 10:00", "--retry-wait", "0", env=script_env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[INFO] Deployment succeeded on attempt 2" in done.stdout
    assert repos.head() == new
    state = json.loads((repos.project / ".deploy_state.json").read_text())
    assert state["attempts"] == 2 and state["consecutive_failures"] == 0 and state["last_status"] == "success"
