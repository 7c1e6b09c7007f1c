"""systemd `ReadWritePaths` come from the configuration the service reads (HANTU_HOME in `.env`), and
`hantu doctor` fails an installed unit that cannot write there (ProtectSystem=strict)."""

from __future__ import annotations

import getpass
from pathlib import Path

from hantu.ops.doctor import HostProbes, check_unit_paths
from hantu.ops.services import SERVICES, render, writable_paths


def _project(tmp_path: Path, env: str = "") -> Path:
    project = tmp_path / "hantu_quant"
    (project / "venv" / "bin").mkdir(parents=True)
    (project / ".env").write_text(env)
    return project


def test_default_layout_writes_data_and_logs(tmp_path: Path) -> None:
    project = _project(tmp_path)
    text = render(SERVICES["scheduler"], project, getpass.getuser())
    assert writable_paths(text) == [project / "data", project / "logs"]


def test_hantu_home_elsewhere_is_writable(tmp_path: Path) -> None:
    home = tmp_path / "srv" / "hantu-home"
    project = _project(tmp_path, f'HANTU_HOME="{home}"\nDATABASE_URL=sqlite:///{tmp_path}/db/hantu.db\n')
    for name in ("scheduler", "api"):
        paths = writable_paths(render(SERVICES[name], project, getpass.getuser()))
        assert paths == [home, project / "logs", tmp_path / "db"], name
    relative = _project(tmp_path / "r", "hantu_home=./state\n")  # keys are case-insensitive, as in settings
    assert writable_paths(render(SERVICES["api"], relative, getpass.getuser()))[0] == relative / "state"


def test_doctor_fails_a_unit_that_cannot_write_hantu_home(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    project = _project(tmp_path)
    systemd = tmp_path / "systemd"
    systemd.mkdir()
    (systemd / "hantu-scheduler.service").write_text(
        render(SERVICES["scheduler"], project, getpass.getuser())
    )
    (project / ".env").write_text(f"HANTU_HOME={home}\n")  # moved after the unit was installed
    probes = HostProbes(systemd_dir=systemd)
    [stale] = check_unit_paths(project, probes)
    assert (
        stale.status == "fail"
        and str(home) in stale.message
        and "install-service-micro.sh" in (stale.fix or "")
    )
    (systemd / "hantu-scheduler.service").write_text(
        render(SERVICES["scheduler"], project, getpass.getuser())
    )
    [fresh] = check_unit_paths(project, probes)
    assert fresh.status == "ok" and str(home) in fresh.message
