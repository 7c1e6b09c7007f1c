"""setup-micro.sh (dry run, idempotence, the guarded API port) and `hantu doctor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ops_testkit import run_script

from hantu.ops import setup_host
from hantu.ops.doctor import HostProbes, check_clock_sync, check_services, check_timezone, run_doctor

from helpers import REPO_ROOT, hantu_cmd

STEPS = ["System packages", "Swap", "Timezone Asia/Seoul", "Low-memory sysctl", "Project directory", "Virtualenv",
         "Install Hantu Quant", ".env (mode 600)", "Database schema", "Log rotation cron", "Firewall: API port"]


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path: Path, script_env: dict[str, str]) -> None:
    project = tmp_path / "p"
    project.mkdir()
    result = run_script("deploy/setup-micro.sh", "--dry-run", "--prefix", str(project), env=script_env)
    assert result.returncode == 0, result.stderr
    for number, title in enumerate(STEPS, 1):
        assert f"==> [{number}/{len(STEPS)}] {title}" in result.stdout
    assert "would run:" in result.stdout and "Dry run complete." in result.stdout
    assert sorted(p.name for p in project.iterdir()) == []  # nothing created


class FakeHost(setup_host.Host):
    """A host tree under tmp with every fact configurable; commands answered from a table."""

    def __init__(self, root: Path, answers: dict[str, tuple[int, str]]) -> None:
        def run(cmd: list[str]) -> tuple[int, str]:
            if cmd[0].endswith("python"):  # the venv's interpreter reads .env for real
                return setup_host._run(cmd)
            return answers.get(cmd[0], (0, "install ok installed"))

        super().__init__(root, run=run)


def configured_host(tmp_path: Path) -> tuple[FakeHost, setup_host.Options]:
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "swaps").write_text("Filename Type Size Used Priority\n/swapfile file 2097148 0 -2\n")
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "fstab").write_text("/swapfile none swap sw 0 0\n")
    (root / setup_host.SYSCTL_FILE).write_text(setup_host.SYSCTL_CONTENT)
    project = tmp_path / "project"
    for sub in ("data", "logs", "venv/bin"):
        (project / sub).mkdir(parents=True)
    (project / "venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (project / "venv" / "bin" / "python").chmod(0o755)
    (project / "pyproject.toml").write_text("[project]\nname='x'\n")
    (project / "venv" / ".hantu-setup").write_text(setup_host._pyproject_stamp(project) + "\n")
    (project / ".env").write_text("API_SERVER_KEY=k-123456789\n")
    (project / ".env").chmod(0o600)
    answers = {"timedatectl": (0, "Asia/Seoul\n"), "iptables": (0, "-P INPUT ACCEPT\n-A INPUT -p icmp -j ACCEPT\n"
                                                                   "-A INPUT -j REJECT --reject-with icmp\n")}
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    return FakeHost(root, answers), setup_host.Options(project_dir=project, user=user, dry_run=True)


def test_configured_host_needs_nothing_but_the_always_safe_steps(tmp_path: Path) -> None:
    host, opts = configured_host(tmp_path)
    planned = {step(host, opts).title: step(host, opts).actions for step in setup_host.STEPS}
    needing = sorted(title for title, actions in planned.items() if actions)
    # schema upgrade and cron install are themselves idempotent commands; everything else is already done
    assert needing == ["Database schema (hantu db upgrade)", "Log rotation cron (02:00 KST)"]


def test_fresh_host_gets_swap_timezone_and_sysctl(tmp_path: Path) -> None:
    host, opts = configured_host(tmp_path)
    (host.root / "proc" / "swaps").write_text("Filename Type Size Used Priority\n")
    (host.root / "etc" / "fstab").write_text("")
    (host.root / setup_host.SYSCTL_FILE).unlink()
    host.run = lambda cmd: {"timedatectl": (0, "Etc/UTC\n"), "dpkg-query": (1, "")}.get(cmd[0], (0, ""))
    commands = [" ".join(a.command) for step in setup_host.STEPS for a in step(host, opts).actions]
    assert "fallocate -l 2G /swapfile" in commands and "swapon /swapfile" in commands
    assert "tee -a /etc/fstab" in commands and "timedatectl set-timezone Asia/Seoul" in commands
    assert any(c.startswith("apt-get install -y -q git curl htop") for c in commands)
    assert "sysctl -p /etc/sysctl.d/99-hantu.conf" in commands


def test_api_port_opens_only_with_the_flag_and_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host, opts = configured_host(tmp_path)
    monkeypatch.chdir(opts.project_dir)
    monkeypatch.setenv("HANTU_ENV_FILE", str(opts.project_dir / ".env"))
    closed = setup_host.step_firewall(host, opts)
    assert not closed.actions and "--open-api-port" in closed.done[0]
    opts.open_api_port = True
    opened = setup_host.step_firewall(host, opts)
    commands = [" ".join(a.command) for a in opened.actions]
    assert commands[0] == "iptables -I INPUT 2 -m state --state NEW -p tcp --dport 8000 -j ACCEPT"  # before REJECT
    assert commands[1] == "netfilter-persistent save"
    (opts.project_dir / ".env").write_text("API_SERVER_KEY=\n")
    refused = setup_host.step_firewall(host, opts)
    assert not refused.actions and refused.notes[0].startswith("REFUSED: API_SERVER_KEY is not set")
    echo: list[str] = []
    monkeypatch.setattr(setup_host, "STEPS", (setup_host.step_firewall,))
    assert setup_host.run_setup(opts, host, echo.append) == 3
    assert any("NOT opened" in line for line in echo)


def probes(tmp_path: Path, meminfo: Path, answers: dict[str, tuple[int, str]]) -> HostProbes:
    return HostProbes(meminfo=meminfo, etc_timezone=tmp_path / "tz", etc_localtime=tmp_path / "lt",
                      run=lambda cmd: answers.get(" ".join(cmd[:2]), (127, "not found")),
                      systemctl=[sys.executable])


def test_doctor_finds_each_problem_and_says_what_to_run(tmp_path: Path, meminfo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env = tmp_path / ".env"
    env.write_text("TELEGRAM_CHAT_ID=1\n")
    env.chmod(0o644)
    monkeypatch.setenv("HANTU_ENV_FILE", str(env))
    answers = {"timedatectl show": (0, "Etc/UTC\n"),
               f"{sys.executable} show": (0, "LoadState=loaded\nActiveState=failed\nUnitFileState=enabled\n"
                                             "NeedDaemonReload=yes\n")}
    results = run_doctor(tmp_path, probes(tmp_path, meminfo(1024, 500, swap_total_mb=0, swap_free_mb=0), answers))
    by_name = {}
    for r in results:
        by_name.setdefault(r.name, []).append(r)
    assert by_name["swap"][0].status == "fail" and "fallocate" in by_name["swap"][0].fix
    assert by_name["memory"][0].status == "warn"
    assert by_name["timezone"][0].status == "fail" and by_name["timezone"][0].fix.endswith("Asia/Seoul")
    assert by_name["database"][0].status == "warn" and by_name["database"][0].fix == "hantu db upgrade"
    assert any(r.status == "fail" and r.fix == f"chmod 600 {env}" for r in by_name["file modes"])
    services = by_name["services"]
    assert any("daemon-reload" in (r.fix or "") for r in services)
    assert any(r.status == "fail" and "systemctl start hantu-api" in (r.fix or "") for r in services)
    assert by_name["venv"][0].status == "fail"


def test_doctor_healthy_host_and_clock(tmp_path: Path, meminfo) -> None:  # type: ignore[no-untyped-def]
    answers = {"timedatectl show": (0, "yes\n")}
    good = probes(tmp_path, meminfo(1024, 900), answers)
    assert check_clock_sync(good).status == "ok"
    unsynced = probes(tmp_path, meminfo(1024, 900), {"timedatectl show": (0, "no\n")})
    assert check_clock_sync(unsynced).status == "fail" and "set-ntp true" in check_clock_sync(unsynced).fix
    (tmp_path / "lt").symlink_to("/usr/share/zoneinfo/Asia/Seoul")
    assert check_timezone(probes(tmp_path, meminfo(), {})).status == "ok"
    active = probes(tmp_path, meminfo(), {f"{sys.executable} show": (
        0, "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=no\n")})
    assert [r.status for r in check_services(active)] == ["ok", "ok"]


def test_doctor_command_json(tmp_path: Path) -> None:
    result = subprocess.run(hantu_cmd("doctor", "--json", "--prefix", str(REPO_ROOT)), capture_output=True,
                            text=True, env=dict(os.environ))
    checks = json.loads(result.stdout)
    names = {c["name"] for c in checks}
    assert {"memory", "swap", "timezone", "clock", "disk", "database", "file modes", "venv", "services"} <= names
    assert result.returncode == (1 if any(c["status"] == "fail" for c in checks) else 0)
