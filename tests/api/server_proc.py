"""Start the API as a real process on a free loopback port and wait until it answers (tests and the bench)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launcher(kind: str, port: int) -> list[str]:
    if kind == "cli":
        return [sys.executable, "-m", "hantu", "api", "--port", str(port)]
    if kind == "script":
        return [sys.executable, str(REPO / "api-server" / "main.py")]
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "--factory", "hantu.api.app:create_app", "--host", "127.0.0.1",
                "--port", str(port), "--no-access-log", "--no-server-header"]
    raise ValueError(kind)


class ServerProcess:
    def __init__(self, kind: str, env: dict[str, str], timeout: float = 60.0) -> None:
        # The child binds the port a moment after `free_port` released it; when something took it meanwhile (an
        # xdist worker's server, an outgoing connection), start again on another port.
        for _ in range(3):
            if self._start(kind, env, timeout):
                return
        raise RuntimeError(f"server could not bind a free port three times: {self.output}")

    def _start(self, kind: str, env: dict[str, str], timeout: float) -> bool:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "API_PORT": str(self.port), "API_HOST": "127.0.0.1"}
        self.proc = subprocess.Popen(launcher(kind, self.port), env=full_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.output = self.proc.stdout.read()  # type: ignore[union-attr]
                if "address already in use" in self.output.lower():
                    return False
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.output}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not answer /health in time")

    def rss_mb(self) -> float:
        """Resident memory of the server process (VmRSS), MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.stdout.read() if self.proc.stdout else ""  # type: ignore[union-attr]
