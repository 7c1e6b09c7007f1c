"""What each bench prints first: the machine, its load and the library versions behind the figures."""

from __future__ import annotations

import os
import platform
from importlib import metadata

LIBRARIES = ("numpy", "typer", "pydantic", "pydantic-settings", "sqlalchemy", "fastapi", "uvicorn")


def versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def machine_line() -> str:
    libs = ", ".join(f"{k} {v}" for k, v in versions().items())
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores, load average {load_average()}; "
        f"Python {platform.python_version()}; {libs}"
    )
