"""The deploy state file: the guide's fields, atomic locked updates, corrupt files reported and kept."""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime
from pathlib import Path

import pytest
from ops_testkit import run_script

from hantu.clock import KST
from hantu.ops.state import FIELDS, CorruptStateError, StateStore

SCRIPT = "scripts/deployment/state_manager.sh"
NOW = datetime(2026, 1, 22, 14, 30, tzinfo=KST)


def test_record_counts_failures_and_success_clears_them(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    store.init()
    store.record(False, "Memory check failed", NOW)
    state, _ = store.record(False, "Build failed", NOW)
    assert (state.consecutive_failures, state.attempts, state.last_status) == (2, 2, "failed")
    assert state.last_success is None and state.last_reason == "Build failed"
    state, _ = store.record(True, "Deployment succeeded on attempt 1", NOW)
    assert state.consecutive_failures == 0 and state.attempts == 3
    assert state.last_success == state.last_attempt == "2026-01-22T05:30:00Z"  # UTC, as in the guide
    on_disk = json.loads(store.path.read_text())
    assert list(on_disk) == list(FIELDS)
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"


def test_reset_keeps_history(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    store.record(True, "ok", NOW)
    store.record(False, "x", NOW)
    state, _ = store.reset()
    assert (state.consecutive_failures, state.last_status, state.last_reason) == (0, "reset", "Manual reset")
    assert state.attempts == 2 and state.last_success == "2026-01-22T05:30:00Z"


def _bump(path: str, count: int) -> None:
    store = StateStore(Path(path))
    for _ in range(count):
        store.record(False, "concurrent", NOW)


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    StateStore(path).init()
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_bump, args=(str(path), 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    state = StateStore(path).read()
    assert state is not None and state.attempts == 100 and state.consecutive_failures == 100
    assert not list(tmp_path.glob("*.tmp"))  # no stray temporary files


@pytest.mark.parametrize("content", ["{bad json", '{"consecutive_failures": "two"}', "[]",
                                     json.dumps({f: 0 for f in FIELDS} | {"attempts": -1})])
def test_corrupt_file_is_reported_and_backed_up_never_silently_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    store = StateStore(path)
    with pytest.raises(CorruptStateError) as caught:
        store.read()
    assert caught.value.backup is not None and caught.value.backup.read_text() == content
    assert path.read_text() == content  # reading never rewrites
    with pytest.raises(CorruptStateError):
        store.read()
    assert len(list(tmp_path.glob("s.json.corrupt-*"))) == 1  # one copy per content
    state, warnings = store.record(False, "after corruption", NOW)
    assert warnings and "corrupt" in warnings[0] and str(caught.value.backup) in warnings[0]
    assert state.attempts == 1 and state.consecutive_failures == 1
    assert caught.value.backup.read_text() == content


def test_state_manager_script(script_env: dict[str, str], tmp_path: Path) -> None:
    state_file = Path(script_env["HANTU_DEPLOY_STATE"])
    missing = run_script(SCRIPT, "get-failures", env=script_env)
    assert missing.returncode == 1 and "init" in missing.stderr
    assert run_script(SCRIPT, "init", env=script_env).returncode == 0
    again = run_script(SCRIPT, "init", env=script_env)
    assert "exists" in again.stdout
    assert run_script(SCRIPT, "update", "failed", "Memory check failed", env=script_env).returncode == 0
    assert run_script(SCRIPT, "update", "failed", env=script_env).returncode == 0
    assert run_script(SCRIPT, "get-failures", env=script_env).stdout.strip() == "2"
    assert run_script(SCRIPT, "get-attempts", env=script_env).stdout.strip() == "2"
    assert run_script(SCRIPT, "get-success", env=script_env).stdout.strip() == "null"
    shown = json.loads(run_script(SCRIPT, "get-state", env=script_env).stdout)
    assert list(shown) == list(FIELDS) and shown["last_reason"] == "Deployment failed"
    assert run_script(SCRIPT, "update", "success", "Deployment succeeded on attempt 1", env=script_env).returncode == 0
    assert run_script(SCRIPT, "get-failures", env=script_env).stdout.strip() == "0"
    assert run_script(SCRIPT, "get-success", env=script_env).stdout.strip().endswith("Z")
    run_script(SCRIPT, "update", "failed", "x", env=script_env)
    assert run_script(SCRIPT, "reset", env=script_env).returncode == 0
    assert json.loads(state_file.read_text())["last_status"] == "reset"
    assert run_script(SCRIPT, "update", "maybe", env=script_env).returncode == 2
    assert run_script(SCRIPT, "bogus", env=script_env).returncode == 2


def test_state_manager_script_on_corrupt_file(script_env: dict[str, str]) -> None:
    state_file = Path(script_env["HANTU_DEPLOY_STATE"])
    state_file.write_text("{not json")
    result = run_script(SCRIPT, "get-state", env=script_env)
    assert result.returncode == 3 and "corrupt" in result.stderr and "a copy is kept" in result.stderr
    assert state_file.read_text() == "{not json"
    backups = list(state_file.parent.glob(state_file.name + ".corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{not json"
    init = run_script(SCRIPT, "init", env=script_env)
    assert init.returncode == 0 and "corrupt" in init.stderr
    assert json.loads(state_file.read_text())["consecutive_failures"] == 0
