"""Helpers for the operations-kit tests: fake /proc/meminfo, the shell scripts, throwaway git repos."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import REPO_ROOT


def meminfo_text(total_mb: int, available_mb: int, swap_total_mb: int = 2048, swap_free_mb: int = 2048) -> str:
    return (f"MemTotal:       {total_mb * 1024} kB\nMemFree:        {available_mb * 512} kB\n"
            f"MemAvailable:   {available_mb * 1024} kB\nBuffers:           1024 kB\n"
            f"SwapTotal:      {swap_total_mb * 1024} kB\nSwapFree:       {swap_free_mb * 1024} kB\n")


def run_script(script: str, *args: str, env: dict[str, str], timeout: float = 120,
               input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO_ROOT / script), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, input=input, cwd=cwd)


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


class Repos:
    """A bare `origin` and a clone of it (the project directory a deploy runs in)."""

    def __init__(self, root: Path) -> None:
        self.origin = root / "origin.git"
        self.work = root / "upstream"
        self.project = root / "project"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(root, "init", "-q", "-b", "main", str(self.work))
        (self.work / "HEALTHY").write_text("yes\n")
        (self.work / ".gitignore").write_text(".deploy_state.json*\n*.log\n")
        git(self.work, "add", ".")
        git(self.work, "commit", "-q", "-m", "first")
        git(self.work, "remote", "add", "origin", str(self.origin))
        git(self.work, "push", "-q", "origin", "main")
        git(root, "clone", "-q", str(self.origin), str(self.project))

    def push_commit(self, message: str, healthy: bool = True) -> str:
        marker = self.work / "HEALTHY"
        if healthy:
            marker.write_text(f"yes {message}\n")
        elif marker.exists():
            marker.unlink()
        (self.work / "VERSION").write_text(message + "\n")
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def head(self) -> str:
        return git(self.project, "rev-parse", "HEAD")


def run_in_pty(command: list[str], env: dict[str, str], dialogue: list[tuple[str, str]],
               timeout: float = 60) -> tuple[int, str]:
    """Run `command` on a pseudo-terminal; for each (prompt, answer), wait for the prompt and type the answer."""
    import os as _os
    import select
    import time

    master, slave = _os.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    _os.close(slave)
    output = b""
    pending = list(dialogue)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = _os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output:
                _os.write(master, (pending.pop(0)[1] + "\n").encode())
                output += b"\n<<answered>>\n"
            if not ready and process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        _os.close(master)
        if process.poll() is None:
            process.kill()
    return code, output.decode(errors="replace").replace("\r\n", "\n")
