"""One request pacer per app key, shared by every thread and process that uses the key.

KIS counts requests per second per app key across all callers, and users hit EGW00201 even at half the limit
when bursts align. So callers do not get a bucket to burst from: each request takes the next free slot, slots
`1 / (rate × SAFETY)` seconds apart, and the slot schedule lives in a small file under a file lock
(`$HANTU_HOME/kis/rate-<server>-<key>.lock`), so separate processes interleave instead of adding up.
Rate limits are about real seconds: the pacer uses the monotonic wall clock (system-wide on Linux), never a
simulated clock.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

from hantu.broker.kis.filelock import locked, private_dir

# Slots are spaced a little wider than 1/rate, so that network jitter between two requests cannot make the
# server see `rate + 1` of them within one second.
SAFETY = 0.92
_STATE = struct.Struct("<d")
# A stored slot further ahead than this is stale (a reboot reset the monotonic clock): ignore it.
STALE_AHEAD = 60.0


class RateLimiter:
    """Paces calls to `rate` per second for everyone sharing `path`."""

    def __init__(self, path: Path, rate: float, safety: float = SAFETY) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        private_dir(path.parent)
        self.path = path
        self.rate = rate
        self.interval = 1.0 / (rate * safety)
        self.waited = 0.0  # total seconds this limiter made its callers wait (stats)

    def reserve(self) -> float:
        """Take the next slot; returns the monotonic time at which the caller may send."""
        with locked(self.path) as fd:
            raw = os.pread(fd, _STATE.size, 0)
            now = time.monotonic()
            next_free = _STATE.unpack(raw)[0] if len(raw) == _STATE.size else 0.0
            if next_free - now > STALE_AHEAD:
                next_free = 0.0
            slot = max(now, next_free)
            os.pwrite(fd, _STATE.pack(slot + self.interval), 0)
        return slot

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        slot = self.reserve()
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            self.waited += delay
            return delay
        return 0.0

    def penalize(self, seconds: float) -> None:
        """Push every caller's next slot `seconds` into the future (after EGW00201: the server saw too many)."""
        with locked(self.path) as fd:
            raw = os.pread(fd, _STATE.size, 0)
            now = time.monotonic()
            next_free = _STATE.unpack(raw)[0] if len(raw) == _STATE.size else 0.0
            os.pwrite(fd, _STATE.pack(max(next_free, now + seconds)), 0)


def limiter_for(state_dir: Path, key_id: str, rate: float) -> RateLimiter:
    """The limiter of one app key (`key_id` = server + key fingerprint)."""
    return RateLimiter(state_dir / f"rate-{key_id}.lock", rate)
