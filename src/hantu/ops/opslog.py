"""The line format of every operations script: `[2026-01-22 14:30:00 KST] [INFO] message`."""

from __future__ import annotations

import sys
from typing import TextIO

from hantu.clock import Clock, SystemClock
from hantu.ops.host import kst_stamp


class OpsLog:
    """Prints timestamped lines (KST, whatever the host's timezone) to a stream, stdout by default."""

    def __init__(self, clock: Clock | None = None, stream: TextIO | None = None) -> None:
        self.clock = clock or SystemClock()
        self.stream = stream

    def line(self, level: str, message: str) -> None:
        out = self.stream or sys.stdout
        out.write(f"[{kst_stamp(self.clock.now())}] [{level}] {message}\n")
        out.flush()

    def info(self, message: str) -> None:
        self.line("INFO", message)

    def warn(self, message: str) -> None:
        self.line("WARN", message)

    def error(self, message: str) -> None:
        self.line("ERROR", message)

    def raw(self, text: str) -> None:
        """Text printed as is (the validation report inside a pre-check)."""
        out = self.stream or sys.stdout
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
