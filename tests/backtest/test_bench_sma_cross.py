"""The peer comparison's SMA cross (`bench/sma_cross.py`): its one-day signal is the whole-panel signal's row,
bit for bit, so the engine and the peers trade the same crosses (`bench/peers.py` checks the fills)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sma_cross.py"


@pytest.fixture(scope="module")
def sma_cross():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_sma_cross", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", range(5))
def test_last_crosses_is_the_last_row_of_crosses(sma_cross, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    fast, slow = 3, 7
    # whole-won closes around a slow drift (many crosses), with gaps (NaN) here and there
    close = np.round(1_000 + rng.normal(0, 30, (60, 40)).cumsum(axis=0)).astype(float)
    close[rng.random(close.shape) < 0.05] = np.nan
    up, down = sma_cross.crosses(close, fast, slow)
    assert up[slow + 1:].any() and down[slow + 1:].any()
    for end in range(slow + 1, close.shape[0] + 1):
        last_up, last_down = sma_cross.last_crosses(close[end - slow - 1:end], fast, slow)
        assert np.array_equal(last_up, up[end - 1]) and np.array_equal(last_down, down[end - 1]), end
