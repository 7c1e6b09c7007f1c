"""Single-instance locks: one scheduler per `HANTU_HOME` (found by `status` and `stop` through its pid file), and
one trading session per broker (`hantu.trading.session`)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyRunning(RuntimeError):
    pass


class InstanceLock:
    """An exclusive `flock` on `<home>/scheduler.pid`; the file holds the owner's pid.

    The kernel drops the lock when the process dies (even by SIGKILL), so a stale file never blocks a restart.
    """

    def __init__(self, path: Path, what: str = "scheduler") -> None:
        self.path = path
        self.what = what  # who holds it, for the refusal's message
        self._handle: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise AlreadyRunning(f"another {self.what} holds {self.path} (pid {read_pid(self.path)})") from None
        os.ftruncate(handle, 0)
        os.write(handle, str(os.getpid()).encode())
        os.fsync(handle)
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def running_pid(path: Path) -> int | None:
    """The pid of the scheduler holding the lock, or None when no scheduler runs."""
    if not path.exists():
        return None
    handle = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_pid(path)
    else:
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
    finally:
        os.close(handle)
