"""systemd units: render `deploy/hantu-*.service` for this host and install them (install-service-micro.sh).

The unit files in `deploy/` are the single source: they are written for the guide's layout (`/opt/hantu_quant`,
user `ubuntu`) and rendered by replacing those two things, and by writing `ReadWritePaths` from the
configuration the service will read (`HANTU_HOME` and a SQLite `DATABASE_URL` in the project's `.env`): under
`ProtectSystem=strict` everything else is read-only, so a fixed `<prefix>/data` would lock out a data directory
configured elsewhere. `hantu doctor` checks an installed unit against the same paths.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_PREFIX = "/opt/hantu_quant"
TEMPLATE_USER = "ubuntu"
CODE_ROOT = Path(__file__).resolve().parents[3]  # the checkout this code runs from (editable install)


@dataclass(frozen=True)
class Service:
    key: str
    unit: str
    description: str


SERVICES = {
    "scheduler": Service("scheduler", "hantu-scheduler.service", "스케줄러 (scheduler)"),
    "api": Service("api", "hantu-api.service", "API 서버 (API server)"),
}
CHOICES = {"1": ["scheduler"], "2": ["api"], "3": ["scheduler", "api"]}


def template_path(service: Service, project_dir: Path) -> Path:
    """The unit file of the project being installed, else of the checkout running this code."""
    for root in (project_dir, CODE_ROOT):
        candidate = root / "deploy" / service.unit
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"deploy/{service.unit} not found in {project_dir} or {CODE_ROOT}")


def owner_of(path: Path) -> str:
    """The user owning the project directory (whom the services should run as)."""
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, FileNotFoundError):
        return pwd.getpwuid(os.getuid()).pw_name


def primary_group(user: str) -> str:
    import grp

    try:
        return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        return user


def _env_value(env_file: Path, key: str) -> str | None:
    """A key of the `.env` the service reads (keys are case-insensitive; `KEY=""` is unset, as in settings)."""
    from dotenv import dotenv_values

    if not env_file.is_file():
        return None
    for name, value in dotenv_values(env_file).items():
        if name.upper() == key and value and value.strip():
            return value.strip()
    return None


def service_writable_paths(project_dir: Path) -> list[Path]:
    """What a service must be able to write: its `HANTU_HOME` (relative to the project directory, the unit's
    WorkingDirectory), `<project>/logs`, and the directory of a SQLite database kept outside HANTU_HOME. Read
    from `<project>/.env` alone: the unit passes no other environment."""
    env_file = project_dir / ".env"
    home = Path(_env_value(env_file, "HANTU_HOME") or "./data").expanduser()
    paths = [home if home.is_absolute() else project_dir / home, project_dir / "logs"]
    url = _env_value(env_file, "DATABASE_URL") or ""
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        database = database if database.is_absolute() else project_dir / database
        paths.append(database.parent)
    out: list[Path] = []
    for path in (Path(os.path.normpath(p)) for p in paths):
        if not any(path == q or q in path.parents for q in out):
            out = [q for q in out if path not in q.parents] + [path]
    return out


def covers(writable: list[Path], path: Path) -> bool:
    """Whether `path` lies inside one of the `writable` directories."""
    path = Path(os.path.normpath(path))
    return any(path == w or w in path.parents for w in (Path(os.path.normpath(p)) for p in writable))


def render(service: Service, project_dir: Path, user: str) -> str:
    """The unit text with this host's project directory, user and writable paths."""
    text = template_path(service, project_dir).read_text(encoding="utf-8")
    venv = project_dir / "venv"
    if not (venv / "bin" / "python").exists() and (project_dir / ".venv" / "bin" / "python").exists():
        text = text.replace(f"{TEMPLATE_PREFIX}/venv/", f"{TEMPLATE_PREFIX}/.venv/")
    text = text.replace(TEMPLATE_PREFIX, str(project_dir))
    writable = " ".join(str(p) for p in service_writable_paths(project_dir))
    text = re.sub(r"^ReadWritePaths=.*$", lambda _: f"ReadWritePaths={writable}", text, flags=re.M)
    text = re.sub(rf"^User={TEMPLATE_USER}$", f"User={user}", text, flags=re.M)
    return re.sub(rf"^Group={TEMPLATE_USER}$", f"Group={primary_group(user)}", text, flags=re.M)


def writable_paths(unit_text: str) -> list[Path]:
    paths: list[Path] = []
    for line in unit_text.splitlines():
        if line.startswith("ReadWritePaths="):
            paths += [Path(p.lstrip("-")) for p in line.split("=", 1)[1].split()]
    return paths


def choose_interactively() -> list[str]:
    """Ask which services to install, as the guide describes (1 scheduler, 2 API, 3 both)."""
    print("설치할 서비스를 선택하세요 (Select the services to install):")
    print("  1) 스케줄러만 (scheduler only)")
    print("  2) API 서버만 (API server only)")
    print("  3) 둘 다 (both)")
    for _ in range(3):
        sys.stdout.write("선택 (choice) [1-3]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            break
        if answer.strip() in CHOICES:
            return CHOICES[answer.strip()]
        print("1, 2 또는 3을 입력하세요 (enter 1, 2 or 3)")
    print("error: no valid choice; use --scheduler, --api or --all", file=sys.stderr)
    raise SystemExit(2)


def install_units(
    services: list[Service],
    project_dir: Path,
    user: str | None,
    systemd_dir: Path,
    run_systemctl: bool = True,
) -> int:
    """Write the units, create their writable directories, then daemon-reload and enable. Returns an exit code."""
    user = user or owner_of(project_dir)
    try:
        pwd.getpwnam(user)
    except KeyError:
        print(f"error: user {user!r} does not exist", file=sys.stderr)
        return 2
    if not any((project_dir / name / "bin" / "python").exists() for name in ("venv", ".venv")):
        print(
            f"warning: no venv in {project_dir} yet; create it (python3 -m venv venv) before starting",
            file=sys.stderr,
        )
    systemd_dir.mkdir(parents=True, exist_ok=True)
    for service in services:
        text = render(service, project_dir, user)
        for path in writable_paths(text):
            if not path.exists():
                path.mkdir(parents=True, exist_ok=True)
                if os.geteuid() == 0:
                    shutil.chown(path, user, primary_group(user))
                print(f"created {path}")
        target = systemd_dir / service.unit
        target.write_text(text, encoding="utf-8")
        target.chmod(0o644)
        print(f"installed {target} (user {user}, directory {project_dir})")
    if not run_systemctl:
        print("systemctl skipped (--no-systemctl)")
        return 0
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    names = [s.unit.removesuffix(".service") for s in services]
    for command in ([*sudo, "systemctl", "daemon-reload"], [*sudo, "systemctl", "enable", *names]):
        print("+ " + " ".join(command))
        done = subprocess.run(command)
        if done.returncode != 0:
            print(f"error: {' '.join(command)} failed (exit {done.returncode})", file=sys.stderr)
            return 1
    print("start them with: sudo systemctl start " + " ".join(names))
    return 0
