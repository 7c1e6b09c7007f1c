"""The parallel test run: `dev.py test` adds xdist options unless told otherwise, and `helpers.built_once` builds
a shared fixture once however many workers ask for it at the same time."""

from __future__ import annotations

import importlib.util
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT


def _dev():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("hantu_dev_script", REPO_ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rest", [[], ["-k", "calendar"], ["tests/kis", "-x"], ["-p", "no:cacheprovider"]])
def test_dev_test_runs_in_parallel_by_default(rest: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANTU_TEST_WORKERS", raising=False)
    args = _dev().parallel_args(rest)
    assert args[0] == "-n" and 2 <= int(args[1]) <= 8 and args[2:] == ["--dist", "loadgroup"]
    monkeypatch.setenv("HANTU_TEST_WORKERS", "3")
    assert _dev().parallel_args(rest)[:2] == ["-n", "3"]


@pytest.mark.parametrize("rest", [["-n", "0"], ["-n0"], ["-p", "no:xdist"], ["-pno:xdist"], ["--numprocesses=2"],
                                  ["--dist", "load"], ["--dist=loadfile"]])
def test_a_chosen_parallelism_is_left_alone(rest: list[str]) -> None:
    assert _dev().parallel_args(rest) == []


BUILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from helpers import built_once

class Factory:
    def getbasetemp(self):
        return Path({base!r})

def build(root):
    with open(Path({base!r}) / "builds.log", "a") as log:
        log.write("built\\n")
    time.sleep(0.5)
    (root / "data").write_text("ready")

print(built_once(Factory(), {name!r}, build))
"""


def test_built_once_builds_once_for_concurrent_workers(tmp_path: Path) -> None:
    """Three processes (as three xdist workers would) ask at once: one builds, all get the finished directory."""
    name = "shared-" + secrets.token_hex(4)
    code = BUILD.format(tests=str(REPO_ROOT / "tests"), base=str(tmp_path), name=name)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outputs)) == 1 and (Path(outputs[0]) / "data").read_text() == "ready"
    assert (tmp_path / "builds.log").read_text() == "built\n"
