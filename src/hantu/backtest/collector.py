"""The cyclic garbage collector runs less often while a backtest runs.

A run allocates a record per fill, per round trip and per position, and the strategy's candidates and
decisions per day: hundreds of thousands of container objects on a long run of a generic strategy, none of
them in a reference cycle. At CPython's default threshold (a young collection every 700 allocations, an older
one every 10 of those) the collector walks the surviving records again and again: 20–30 % of the CPU time of
the SMA cross on 2,900 × 1,250 (bench/peers.py). The young threshold is raised for the run and put back after
it; cycles are still collected, 50,000 allocations apart (a bounded amount of garbage, a few MB at most).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLD = 50_000  # allocations between young collections during a run (CPython's default: 700)


@contextmanager
def fewer_collections(threshold: int = RUN_THRESHOLD) -> Iterator[None]:
    """Raise the collector's young threshold to at least `threshold` inside the block; restore it after.
    Nested blocks and a threshold already higher are left as they are."""
    previous = gc.get_threshold()
    if previous[0] >= threshold or previous[0] == 0:  # 0: automatic collection is off already
        yield
        return
    gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
