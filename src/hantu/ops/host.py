"""Facts about the host: memory, swap, disk, the time as printed in the operations logs.

Paths of the kernel files are parameters so tests can point them at fixtures (`HANTU_MEMINFO` for the shell
tests), never at the real machine's numbers.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hantu.clock import to_kst

MEMINFO_ENV = "HANTU_MEMINFO"
DEFAULT_MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class MemoryInfo:
    """Memory figures in MB (the kernel's kB / 1024, rounded down)."""

    total_mb: int
    available_mb: int
    swap_total_mb: int
    swap_free_mb: int

    @property
    def used_percent(self) -> float:
        return 0.0 if self.total_mb <= 0 else 100.0 * (self.total_mb - self.available_mb) / self.total_mb


def meminfo_path() -> Path:
    """`$HANTU_MEMINFO` (a fixture file in tests), else `/proc/meminfo`."""
    explicit = os.environ.get(MEMINFO_ENV)
    return Path(explicit) if explicit else DEFAULT_MEMINFO


def parse_meminfo(text: str) -> dict[str, int]:
    """`Key: value kB` lines into {key: kB}."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if key and parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return values


def read_memory(path: Path | None = None) -> MemoryInfo:
    """Memory figures from `/proc/meminfo` (MemAvailable: what can be allocated without swapping)."""
    raw = parse_meminfo((path or meminfo_path()).read_text())
    if "MemAvailable" in raw:
        available = raw["MemAvailable"]
    else:  # kernels before 3.14
        available = raw.get("MemFree", 0) + raw.get("Buffers", 0) + raw.get("Cached", 0)
    return MemoryInfo(
        total_mb=raw.get("MemTotal", 0) // 1024,
        available_mb=available // 1024,
        swap_total_mb=raw.get("SwapTotal", 0) // 1024,
        swap_free_mb=raw.get("SwapFree", 0) // 1024,
    )


@dataclass(frozen=True)
class DiskInfo:
    path: Path
    total_bytes: int
    free_bytes: int

    @property
    def used_percent(self) -> float:
        return 0.0 if self.total_bytes <= 0 else 100.0 * (self.total_bytes - self.free_bytes) / self.total_bytes


def read_disk(path: Path) -> DiskInfo:
    """Usage of the filesystem holding `path` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return DiskInfo(path=path, total_bytes=usage.total, free_bytes=usage.free)


def format_size(num_bytes: float) -> str:
    """`45 MB`, `312 KB`, `1.2 GB`: what the rotation report and the doctor print."""
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.0f} GB"  # pragma: no cover - loop always returns


def kst_stamp(moment: datetime) -> str:
    """`2026-01-22 14:30:00 KST`, the timestamp of every operations log line."""
    return to_kst(moment).strftime("%Y-%m-%d %H:%M:%S KST")


def utc_iso(moment: datetime) -> str:
    """`2026-01-22T05:30:00Z`, the timestamp format of the deploy state file."""
    return to_kst(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
