"""The scheduler's own memory: what it holds while the nightly backtest refresh runs beside it.

The scheduler is a long-running process on a small VM, and its unit's MemoryHigh/MemoryMax bound the whole
tree (the process and its `backtest_refresh` child). Jobs run in threads, and glibc gives each thread its own
malloc arena: what a job freed stays in the process's RSS until the arenas are trimmed. `release` hands it back
(`malloc_trim(0)`) after every job, and before the child starts after a full collection.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    """glibc, or None where there is no `malloc_trim` (musl, macOS): releasing is then a collection only."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float | None:
    """VmRSS (or `key`: VmHWM, the peak since the process's exec) of `pid` in MB; None where /proc is not there,
    or the process has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def release(collect: bool = False) -> None:
    """Return what the process freed to the OS: every malloc arena trimmed (a few ms), after a full collection
    (~0.1 s of the GIL: before the child only, not after every job) with `collect`."""
    if collect:
        gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class OverCeiling(RuntimeError):
    """The child went over its memory ceiling and was stopped (before the unit's MemoryMax kills the tree)."""


@dataclass(frozen=True)
class Finished:
    """A child that ran to its end: exit code, output, and its peak RSS (its VmHWM, read while it ran)."""

    returncode: int
    stdout: str
    stderr: str
    peak_mb: float


def run_bounded(command: list[str], *, ceiling_mb: float, timeout: float, poll: float = 0.1) -> Finished:
    """Run `command` as a child whose RSS is watched every `poll` seconds: killed over `ceiling_mb`
    (`OverCeiling`) or past `timeout` (`subprocess.TimeoutExpired`).

    The unit's MemoryMax holds the scheduler and the child together: a child that grows past its share is
    stopped here, with a clear message, rather than the kernel's OOM killer taking the scheduler with it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        started, peak = time.monotonic(), 0.0
        try:
            # VmHWM, not the kernel's ru_maxrss: that one counts the forked scheduler's pages before the exec
            while child.poll() is None:
                peak = max(peak, rss_mb(child.pid, "VmHWM") or 0.0)
                if peak > ceiling_mb:
                    raise OverCeiling(f"the child reached {peak:.0f} MB RSS, over its ceiling of {ceiling_mb:.0f} MB")
                if time.monotonic() - started > timeout:
                    raise subprocess.TimeoutExpired(command, timeout)
                time.sleep(poll)
        except BaseException:
            child.kill()
            child.wait()
            raise
        out.seek(0)
        err.seek(0)
        return Finished(child.returncode, out.read(), err.read(), peak)
