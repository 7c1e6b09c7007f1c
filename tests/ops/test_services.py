"""systemd units: hardening and memory caps, `systemd-analyze verify`, install-service (flags and the prompt)."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ops_testkit import run_in_pty, run_script

from hantu.ops.services import SERVICES, render

from helpers import REPO_ROOT

SCRIPT = "deploy/install-service-micro.sh"
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "read-only",
             "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "ProtectKernelTunables": "yes",
             "Restart": "on-failure", "CapabilityBoundingSet": "", "UMask": "0077"}
STOP = {"scheduler": "60", "api": "15"}


def measured_caps() -> dict[str, tuple[str, float]]:
    """(MemoryMax, the measured peak it derives from) per unit, from docs/performance.md's table (written by
    bench/all.py; tests/foundation/test_unit_memory.py checks the derivation)."""
    text = (REPO_ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `deploy/hantu-(\w+)\.service` \|[^|]*\|[^|]*\| ([\d.]+) MB \| \d+M \| (\d+M) \|$", text,
                      re.M)
    return {name: (cap, float(mb)) for name, mb, cap in rows}


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def megabytes(value: str) -> int:
    return int(value[:-1]) * {"M": 1, "G": 1024}[value[-1]]


@pytest.mark.parametrize("name", ["scheduler", "api"])
def test_hardening_and_memory_caps(name: str) -> None:
    text = (REPO_ROOT / "deploy" / SERVICES[name].unit).read_text()
    found = directives(text)
    for key, value in HARDENING.items():
        assert found.get(key) == [value], key
    assert found["ReadWritePaths"] == ["/opt/hantu_quant/data /opt/hantu_quant/logs"]
    cap, budget = measured_caps()[name]
    assert found["MemoryMax"] == [cap] and found["TimeoutStopSec"] == [STOP[name]]
    high = megabytes(found["MemoryHigh"][0])
    assert budget < high < megabytes(cap) <= 2 * budget  # headroom above the budget, far below the old 800 MB
    assert "MemoryDenyWriteExecute" not in found  # documented: cffi needs W+X pages
    assert found["User"] == ["ubuntu"] and found["WorkingDirectory"] == ["/opt/hantu_quant"]
    start = found["ExecStart"][0]
    assert start.startswith("/opt/hantu_quant/venv/bin/python ")
    assert ("-m workflows.integrated_scheduler start" in start) if name == "scheduler" else \
        start.endswith("/opt/hantu_quant/api-server/main.py")


def rendered_project(tmp_path: Path) -> Path:
    """A project directory with this machine's real interpreter where the unit expects venv/bin/python."""
    project = tmp_path / "hantu_quant"
    (project / "venv" / "bin").mkdir(parents=True)
    (project / "venv" / "bin" / "python").symlink_to(Path(os.sys.executable).resolve())
    for sub in ("data", "logs", "api-server", "workflows"):
        (project / sub).mkdir()
    shutil.copy(REPO_ROOT / "api-server" / "main.py", project / "api-server" / "main.py")
    return project


@pytest.mark.parametrize("name", ["scheduler", "api"])
def test_units_pass_systemd_analyze_verify(tmp_path: Path, name: str) -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have systemd-analyze (scripts/ci/system_deps.sh installs systemd)")
        pytest.skip("systemd-analyze not installed")
    project = rendered_project(tmp_path)
    unit = tmp_path / SERVICES[name].unit
    unit.write_text(render(SERVICES[name], project, getpass.getuser()))
    assert str(project) in unit.read_text() and "/opt/hantu_quant" not in unit.read_text()
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if unit.name in line or "Unknown" in line or "not executable" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
    # and it would catch a broken unit
    unit.write_text(unit.read_text().replace("venv/bin/python", "venv/bin/no-python"))
    assert subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True).returncode != 0


def test_install_all_with_flags(tmp_path: Path, script_env: dict[str, str]) -> None:
    project = rendered_project(tmp_path)
    target = tmp_path / "systemd"
    result = run_script(SCRIPT, "--all", "--prefix", str(project), "--user", getpass.getuser(),
                        "--systemd-dir", str(target), "--no-systemctl", env=script_env)
    assert result.returncode == 0, result.stderr
    for name in ("scheduler", "api"):
        text = (target / SERVICES[name].unit).read_text()
        assert f"WorkingDirectory={project}" in text and f"User={getpass.getuser()}" in text
        assert oct((target / SERVICES[name].unit).stat().st_mode & 0o777) == "0o644"
    assert "systemctl skipped" in result.stdout
    missing_user = run_script(SCRIPT, "--api", "--prefix", str(project), "--user", "no-such-user-hantu",
                              "--systemd-dir", str(target), "--no-systemctl", env=script_env)
    assert missing_user.returncode == 2 and "does not exist" in missing_user.stderr


def test_install_runs_daemon_reload_and_enable(tmp_path: Path, script_env: dict[str, str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("the systemctl stand-in is called without sudo only as root")
    project = rendered_project(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "systemctl.calls"
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    (bin_dir / "systemctl").chmod(0o755)
    script_env["PATH"] = f"{bin_dir}:{script_env['PATH']}"
    result = run_script(SCRIPT, "--scheduler", "--prefix", str(project), "--systemd-dir", str(tmp_path / "sd"),
                        env=script_env)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["daemon-reload", "enable hantu-scheduler"]


@pytest.mark.parametrize(("answers", "installed"), [
    (["2"], {"hantu-api.service"}),
    (["9", "3"], {"hantu-api.service", "hantu-scheduler.service"}),
])
def test_interactive_choice_through_a_terminal(tmp_path: Path, script_env: dict[str, str], answers: list[str],
                                               installed: set[str]) -> None:
    project = rendered_project(tmp_path)
    target = tmp_path / "systemd"
    dialogue = [("[1-3]: ", answer) for answer in answers]
    code, output = run_in_pty(["bash", str(REPO_ROOT / SCRIPT), "--prefix", str(project), "--systemd-dir",
                               str(target), "--no-systemctl"], script_env, dialogue)
    assert code == 0, output
    assert "1) 스케줄러만" in output and "3) 둘 다" in output
    assert {p.name for p in target.iterdir()} == installed
    if len(answers) > 1:
        assert "enter 1, 2 or 3" in output


def test_render_unit_command(tmp_path: Path) -> None:
    from helpers import run_hantu

    project = rendered_project(tmp_path)
    result = run_hantu("ops", "render-unit", "scheduler", "--prefix", str(project), "--user", getpass.getuser())
    assert result.returncode == 0
    assert re.search(rf"^ExecStart={re.escape(str(project))}/venv/bin/python -m workflows", result.stdout, re.M)
