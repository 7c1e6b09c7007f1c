"""An exclusive lock on a file, held by one thread of one process at a time (fcntl, POSIX)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_thread_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def private_dir(path: Path) -> Path:
    """Create `path` (mode 700) if needed."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    return path


@contextmanager
def locked(path: Path) -> Iterator[int]:
    """Hold an exclusive lock on `path` (created mode 600); yields the open file descriptor.

    `flock` excludes other processes; a per-path thread lock excludes this process's other threads cheaply.
    """
    key = str(path)
    with _registry_lock:
        thread_lock = _thread_locks.setdefault(key, threading.Lock())
    with thread_lock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def write_private(path: Path, data: str) -> None:
    """Write `data` to `path` atomically with mode 600 (never world-readable, not even briefly)."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
