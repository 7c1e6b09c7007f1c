"""reset_state.sh: shows the state, asks y/N on a terminal, resets only on yes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from ops_testkit import run_in_pty, run_script

from hantu.clock import KST
from hantu.ops.state import StateStore

from helpers import REPO_ROOT

SCRIPT = "scripts/deployment/reset_state.sh"
PROMPT = "Are you sure you want to reset the state? (y/N): "


def failed_state(path: Path) -> None:
    store = StateStore(path)
    for _ in range(3):
        store.record(False, "Build failed", datetime(2026, 1, 22, 15, 0, tzinfo=KST))


def test_answer_yes_resets(script_env: dict[str, str]) -> None:
    path = Path(script_env["HANTU_DEPLOY_STATE"])
    failed_state(path)
    code, out = run_in_pty(["bash", str(REPO_ROOT / SCRIPT)], script_env, [(PROMPT, "y")])
    assert code == 0, out
    assert "Deployment State Reset" in out and "Current State:" in out
    assert '"consecutive_failures": 3' in out and '"last_reason": "Build failed"' in out
    assert "State reset successfully" in out and '"last_reason": "Manual reset"' in out
    state = json.loads(path.read_text())
    assert (state["consecutive_failures"], state["last_status"], state["attempts"]) == (0, "reset", 3)


def test_default_answer_is_no(script_env: dict[str, str]) -> None:
    path = Path(script_env["HANTU_DEPLOY_STATE"])
    failed_state(path)
    before = path.read_text()
    code, out = run_in_pty(["bash", str(REPO_ROOT / SCRIPT)], script_env, [(PROMPT, "")])
    assert code == 1 and "Reset cancelled" in out
    assert path.read_text() == before
    code, out = run_in_pty(["bash", str(REPO_ROOT / SCRIPT)], script_env, [(PROMPT, "N")])
    assert code == 1 and path.read_text() == before


def test_yes_flag_without_terminal(script_env: dict[str, str]) -> None:
    path = Path(script_env["HANTU_DEPLOY_STATE"])
    failed_state(path)
    result = run_script(SCRIPT, "--yes", env=script_env)
    assert result.returncode == 0 and json.loads(path.read_text())["consecutive_failures"] == 0
