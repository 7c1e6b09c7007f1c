"""Clocks in Asia/Seoul whatever the OS timezone, and a simulated clock the tests and the demo drive.

Everything time-dependent takes a `Clock` instead of calling `datetime.now()`, so that a simulated trading
week runs in seconds and a test can put the engine at 10:30 on a given day.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


def to_kst(moment: datetime) -> datetime:
    """An aware datetime in Asia/Seoul (naive input is taken as KST, never as OS local time)."""
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)


def parse_kst(text: str) -> datetime:
    """Parse `YYYY-MM-DD HH:MM[:SS]` (or ISO with offset) as a KST datetime."""
    return to_kst(datetime.fromisoformat(text.strip()))


class Clock(Protocol):
    """What time-dependent code needs from the time."""

    def now(self) -> datetime:
        """The current time, aware, in Asia/Seoul."""
        ...

    def today(self) -> date: ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...

    @property
    def speed(self) -> float:
        """Clock seconds per wall second (1 for the system clock)."""
        ...


class SystemClock:
    """The real time."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(KST)

    def today(self) -> date:
        return self.now().date()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimClock:
    """Simulated time: starts at `start` and runs `speed` times faster than the wall clock.

    `advance` jumps forward (tests); `sleep` waits the scaled wall time, so a scheduler on this clock behaves
    like one on the real clock, only faster. Thread-safe.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._lock = threading.Lock()
        self._anchor_sim = to_kst(start)
        self._anchor_wall = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._anchor_wall) * self._speed
            return self._anchor_sim + timedelta(seconds=elapsed)

    def today(self) -> date:
        return self.now().date()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._speed)

    def advance(self, delta: timedelta | float) -> datetime:
        """Jump forward (never back) by `delta`."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._anchor_sim += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> None:
        """Move to `moment`; a moment already past is ignored (the clock only goes forward)."""
        delta = to_kst(moment) - self.now()
        if delta.total_seconds() > 0:
            self.advance(delta)


class FrozenClock(SimClock):
    """A clock that moves only when told to (`advance`/`set`); `sleep` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start, speed=1.0)
        self._frozen = to_kst(start)

    def now(self) -> datetime:
        with self._lock:
            return self._frozen

    def advance(self, delta: timedelta | float) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._frozen += timedelta(seconds=seconds)
            return self._frozen

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
