"""`deploy/setup-micro.sh`: bootstrap a 1 GB Ubuntu VM for Hantu Quant, idempotently.

Runs with the system `python3` before any virtualenv exists, so this module uses the standard library only.
Every step looks at the host first and acts only when something is missing; `--dry-run` prints every step and
the commands it would run without changing anything. Steps: packages, 2 GB swap (if there is none),
Asia/Seoul timezone, low-memory sysctl, project directory, venv, install, `.env`, database schema, the
log-rotation cron line, and — only with `--open-api-port` and only when `API_SERVER_KEY` is set — port 8000.

    PYTHONPATH=src python3 -m hantu.ops.setup_host --dry-run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("git", "curl", "htop", "python3-pip", "python3-venv", "cron")
FIREWALL_PACKAGES = ("iptables", "iptables-persistent")
SWAP_FILE = "/swapfile"
SWAP_SIZE = "2G"
TIMEZONE = "Asia/Seoul"
SYSCTL_FILE = "etc/sysctl.d/99-hantu.conf"
# Low-memory tuning: keep the services in RAM and swap only under real pressure; keep inode/dentry caches
# a little longer (the market store is many small reads).
SYSCTL_CONTENT = "# Hantu Quant (deploy/setup-micro.sh): low-memory VM\nvm.swappiness=10\nvm.vfs_cache_pressure=50\n"
DEFAULT_API_PORT = 8000


@dataclass
class Action:
    """One command; `root` runs it through sudo when we are not root, `user` as the project's owner."""

    command: list[str]
    root: bool = False
    user: bool = False
    stdin: str | None = None


@dataclass
class Step:
    title: str
    done: list[str] = field(default_factory=list)  # why nothing (more) is needed
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Host:
    """Facts about the host, read under `root` (tests point it at a fake tree) and through `run`."""

    def __init__(self, root: Path = Path("/"), run: Callable[[list[str]], tuple[int, str]] | None = None) -> None:
        self.root = root
        self.run = run or _run

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def missing_packages(self, names: tuple[str, ...]) -> list[str]:
        missing = []
        for name in names:
            code, out = self.run(["dpkg-query", "-W", "-f=${Status}", name])
            if code != 0 or "install ok installed" not in out:
                missing.append(name)
        return missing

    def swap_active(self) -> bool:
        swaps = self.path("/proc/swaps")
        if not swaps.is_file():
            return False
        return len([line for line in swaps.read_text().splitlines() if line.strip()]) > 1

    def fstab_has_swapfile(self) -> bool:
        fstab = self.path("/etc/fstab")
        return fstab.is_file() and any(line.split()[:1] == [SWAP_FILE] for line in fstab.read_text().splitlines())

    def timezone(self) -> str | None:
        code, out = self.run(["timedatectl", "show", "-p", "Timezone", "--value"])
        if code == 0 and out.strip():
            return out.strip()
        localtime = self.path("/etc/localtime")
        if localtime.is_symlink() and "zoneinfo/" in os.readlink(localtime):
            return os.readlink(localtime).split("zoneinfo/", 1)[1]
        tz = self.path("/etc/timezone")
        return tz.read_text().strip() if tz.is_file() else None

    def sysctl_content(self) -> str | None:
        path = self.path("/" + SYSCTL_FILE)
        return path.read_text() if path.is_file() else None

    def iptables_rules(self) -> str | None:
        code, out = self.run(["iptables", "-S", "INPUT"])
        return out if code == 0 else None


def _run(command: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return done.returncode, done.stdout + done.stderr


@dataclass
class Options:
    project_dir: Path
    user: str
    dry_run: bool = False
    open_api_port: bool = False
    repo_url: str | None = None
    python: str = "python3"


def _pyproject_stamp(project_dir: Path) -> str:
    pyproject = project_dir / "pyproject.toml"
    return hashlib.sha256(pyproject.read_bytes()).hexdigest()[:16] if pyproject.is_file() else "none"


def venv_python(opts: Options) -> Path:
    """`venv/` (the guide's name), or an existing `.venv/` (dev.py's)."""
    for name in ("venv", ".venv"):
        python = opts.project_dir / name / "bin" / "python"
        if python.exists():
            return python
    return opts.project_dir / "venv" / "bin" / "python"


# --- steps -----------------------------------------------------------------------------------------------
def step_packages(host: Host, opts: Options) -> Step:
    step = Step("System packages")
    missing = host.missing_packages(PACKAGES)
    if not missing:
        step.done.append("installed: " + " ".join(PACKAGES))
    else:
        step.actions += [Action(["apt-get", "update", "-q"], root=True),
                         Action(["apt-get", "install", "-y", "-q", *missing], root=True)]
    return step


def step_swap(host: Host, opts: Options) -> Step:
    step = Step(f"Swap ({SWAP_SIZE} {SWAP_FILE})")
    if host.swap_active():
        step.done.append("swap is active")
    else:
        swapfile = host.path(SWAP_FILE)
        if not swapfile.exists():
            step.actions.append(Action(["fallocate", "-l", SWAP_SIZE, SWAP_FILE], root=True))
        step.actions += [Action(["chmod", "600", SWAP_FILE], root=True), Action(["mkswap", SWAP_FILE], root=True),
                         Action(["swapon", SWAP_FILE], root=True)]
    if host.fstab_has_swapfile():
        step.done.append(f"{SWAP_FILE} is in /etc/fstab")
    else:
        step.actions.append(Action(["tee", "-a", "/etc/fstab"], root=True, stdin=f"{SWAP_FILE} none swap sw 0 0\n"))
    return step


def step_timezone(host: Host, opts: Options) -> Step:
    step = Step(f"Timezone {TIMEZONE}")
    current = host.timezone()
    if current == TIMEZONE:
        step.done.append(f"timezone is {TIMEZONE}")
    else:
        step.notes.append(f"timezone is {current or 'unknown'}")
        step.actions.append(Action(["timedatectl", "set-timezone", TIMEZONE], root=True))
    return step


def step_sysctl(host: Host, opts: Options) -> Step:
    step = Step("Low-memory sysctl (vm.swappiness=10, vm.vfs_cache_pressure=50)")
    if host.sysctl_content() == SYSCTL_CONTENT:
        step.done.append(f"/{SYSCTL_FILE} is current")
    else:
        step.actions += [Action(["tee", "/" + SYSCTL_FILE], root=True, stdin=SYSCTL_CONTENT),
                         Action(["sysctl", "-p", "/" + SYSCTL_FILE], root=True)]
    return step


def step_project(host: Host, opts: Options) -> Step:
    project = opts.project_dir
    step = Step(f"Project directory {project}")
    if not project.is_dir():
        step.actions += [Action(["mkdir", "-p", str(project)], root=True),
                         Action(["chown", f"{opts.user}:{opts.user}", str(project)], root=True)]
        if opts.repo_url:
            step.actions.append(Action(["git", "clone", opts.repo_url, str(project)], user=True))
        else:
            step.notes.append("then clone the project into it (or pass --repo URL)")
    else:
        owner = pwd.getpwuid(project.stat().st_uid).pw_name
        if owner != opts.user:
            step.actions.append(Action(["chown", "-R", f"{opts.user}:{opts.user}", str(project)], root=True))
        else:
            step.done.append(f"exists, owned by {opts.user}")
    for sub in ("data", "logs"):
        if not (project / sub).is_dir():
            step.actions.append(Action(["mkdir", "-p", str(project / sub)], user=True))
    return step


def step_venv(host: Host, opts: Options) -> Step:
    step = Step("Virtualenv")
    if venv_python(opts).exists():
        step.done.append(f"{venv_python(opts)} exists")
    else:
        step.actions.append(Action([opts.python, "-m", "venv", str(opts.project_dir / "venv")], user=True))
    return step


def step_install(host: Host, opts: Options) -> Step:
    step = Step("Install Hantu Quant into the venv (pip install -e .)")
    stamp = venv_python(opts).parent.parent / ".hantu-setup"
    wanted = _pyproject_stamp(opts.project_dir)
    if stamp.is_file() and stamp.read_text().strip() == wanted and venv_python(opts).exists():
        step.done.append("installed for this pyproject.toml")
        return step
    pip = [str(venv_python(opts)), "-m", "pip"]
    step.actions += [
        Action([*pip, "install", "-q", "--upgrade", "pip", "setuptools", "wheel"], user=True),
        Action([*pip, "install", "-q", "--prefer-binary", "-e", str(opts.project_dir)], user=True),
        Action(["tee", str(stamp)], user=True, stdin=wanted + "\n"),
    ]
    return step


def step_env_file(host: Host, opts: Options) -> Step:
    step = Step(".env (mode 600)")
    env = opts.project_dir / ".env"
    if not env.is_file():
        step.actions += [Action(["cp", str(opts.project_dir / ".env.example"), str(env)], user=True),
                         Action(["chmod", "600", str(env)], user=True)]
        step.notes.append("then fill in .env and check it: bash scripts/deployment/validate_env.sh")
    elif env.stat().st_mode & 0o077:
        step.actions.append(Action(["chmod", "600", str(env)], user=True))
    else:
        step.done.append(".env exists, mode 600")
    return step


def step_database(host: Host, opts: Options) -> Step:
    step = Step("Database schema (hantu db upgrade)")
    step.actions.append(Action([str(venv_python(opts)), "-m", "hantu", "db", "upgrade"], user=True))
    return step


def step_cron(host: Host, opts: Options) -> Step:
    step = Step("Log rotation cron (02:00 KST)")
    command = [str(venv_python(opts)), "-m", "hantu", "ops", "install-cron", "--project-dir", str(opts.project_dir)]
    if opts.dry_run and venv_python(opts).exists():
        code, out = host.run([*command, "--dry-run"])
        step.notes.append(out.strip() if code == 0 else f"cannot check the crontab: {out.strip()[:200]}")
    step.actions.append(Action(command, user=True))
    return step


def api_settings(host: Host, opts: Options) -> tuple[bool | None, int, str]:
    """(API_SERVER_KEY set?, API_PORT, API_HOST), read by the app's own settings when the venv exists."""
    python = venv_python(opts)
    if python.exists():
        code, out = host.run([str(python), "-c", (
            "import json; from hantu.config.settings import load_settings as l; s = l(); "
            "print(json.dumps([s.api_server_key is not None, s.api_port, s.api_host]))")])
        if code == 0:
            try:
                key_set, port, api_host = json.loads(out.strip().splitlines()[-1])
                return bool(key_set), int(port), str(api_host)
            except (ValueError, IndexError):
                pass
    key = os.environ.get("API_SERVER_KEY", "").strip()
    return (True if key else None), int(os.environ.get("API_PORT") or DEFAULT_API_PORT), \
        os.environ.get("API_HOST", "127.0.0.1")


def step_firewall(host: Host, opts: Options) -> Step:
    step = Step("Firewall: API port")
    if not opts.open_api_port:
        step.done.append("port stays closed (pass --open-api-port to open it)")
        return step
    key_set, port, api_host = api_settings(host, opts)
    if key_set is None and not venv_python(opts).exists():
        step.notes.append("API_SERVER_KEY is checked from .env after the install step")
        if opts.dry_run:
            step.notes.append(f"would open TCP {port} only if API_SERVER_KEY is set")
            return step
    if not key_set:
        step.notes.append(f"REFUSED: API_SERVER_KEY is not set; an open port {port} without a key would expose "
                          "the API. Set API_SERVER_KEY in .env and run again")
        return step
    if api_host in ("127.0.0.1", "localhost", "::1"):
        step.notes.append(f"API_HOST={api_host} listens on loopback only: set API_HOST=0.0.0.0 for remote access")
    missing = host.missing_packages(FIREWALL_PACKAGES)
    if missing:
        step.actions.append(Action(["apt-get", "install", "-y", "-q", *missing], root=True))
    rules = host.iptables_rules() or ""
    if re.search(rf"--dport {port}\b.*-j ACCEPT", rules):
        step.done.append(f"TCP {port} is already accepted")
        return step
    # Insert before the first REJECT rule (Oracle's images end INPUT with one), else append.
    input_rules = [line for line in rules.splitlines() if line.startswith("-A INPUT")]
    reject = next((i + 1 for i, line in enumerate(input_rules) if "-j REJECT" in line), None)
    where = ["-I", "INPUT", str(reject)] if reject else ["-A", "INPUT"]
    step.actions += [
        Action(["iptables", *where, "-m", "state", "--state", "NEW", "-p", "tcp", "--dport", str(port), "-j",
                "ACCEPT"], root=True),
        Action(["netfilter-persistent", "save"], root=True),
    ]
    step.notes.append(f"also allow TCP {port} in the OCI Security List (Networking → VCN → Security Lists)")
    return step


STEPS = (step_packages, step_swap, step_timezone, step_sysctl, step_project, step_venv, step_install,
         step_env_file, step_database, step_cron, step_firewall)


# --- running ---------------------------------------------------------------------------------------------
def wrap(action: Action, opts: Options) -> list[str]:
    """The command with sudo where needed."""
    is_root = os.geteuid() == 0
    if action.root:
        return action.command if is_root else ["sudo", *action.command]
    if action.user and is_root and opts.user != "root":
        return ["sudo", "-u", opts.user, *action.command]
    return action.command


def run_setup(opts: Options, host: Host | None = None, echo: Callable[[str], None] = print) -> int:
    host = host or Host()
    mode = " (dry run: nothing is changed)" if opts.dry_run else ""
    echo(f"Hantu Quant host setup{mode}: {opts.project_dir} for user {opts.user}")
    failed = 0
    refused = False
    for number, make_step in enumerate(STEPS, 1):
        step = make_step(host, opts)
        echo(f"==> [{number}/{len(STEPS)}] {step.title}")
        for reason in step.done:
            echo(f"    ✓ {reason}")
        for note in step.notes:
            echo(f"    · {note}")
        for action in step.actions:
            command = wrap(action, opts)
            shown = shlex.join(command) + (f"  <<< {action.stdin.strip()!r}" if action.stdin else "")
            if opts.dry_run:
                echo(f"    would run: {shown}")
                continue
            echo(f"    + {shown}")
            done = subprocess.run(command, input=action.stdin, text=True,
                                  stdout=subprocess.DEVNULL if action.stdin else None)
            if done.returncode != 0:
                echo(f"    ✗ failed (exit {done.returncode}): {shown}")
                failed += 1
                break
        if failed:
            echo("Setup stopped: fix the error above and run the script again (finished steps are skipped).")
            return 1
        refused = refused or any(note.startswith("REFUSED") for note in step.notes)
    echo("Setup complete." if not opts.dry_run else "Dry run complete.")
    if not opts.dry_run:
        echo("Next: edit .env, bash scripts/deployment/validate_env.sh, bash deploy/install-service-micro.sh, "
             "hantu doctor")
    if refused:
        echo("The API port was NOT opened (see REFUSED above).")
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="setup-micro.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print every step, change nothing")
    parser.add_argument("--open-api-port", action="store_true",
                        help="open the API port in iptables (only when API_SERVER_KEY is set)")
    parser.add_argument("--prefix", type=Path, default=None, help="project directory (default: this checkout)")
    parser.add_argument("--user", default=None, help="owner of the project and the services")
    parser.add_argument("--repo", default=None, help="git URL to clone when the project directory is missing")
    parser.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)  # tests: fake host tree
    args = parser.parse_args(argv)
    project = (args.prefix or Path(os.environ.get("HANTU_PROJECT_DIR") or Path.cwd())).resolve()
    user = args.user or os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name
    opts = Options(project_dir=project, user=user, dry_run=args.dry_run, open_api_port=args.open_api_port,
                   repo_url=args.repo, python=sys.executable if sys.executable else "python3")
    return run_setup(opts, Host(args.root))


if __name__ == "__main__":
    sys.exit(main())
