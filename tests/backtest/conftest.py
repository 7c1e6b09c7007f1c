"""The markets the backtest tests share: a small sample market (the market helper's generator, through its
store) and the real KRX windows (../shared/data/krx, imported once per run)."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE_STOCKS, SAMPLE_DAYS = 240, 200


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A `MarketStore` holding the sample market (240 stocks × 200 days, seed 1)."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(Path(tmp_path_factory.mktemp("sample-market")))
    write_sample_market(store, stocks=SAMPLE_STOCKS, days=SAMPLE_DAYS, seed=1)
    return store


@pytest.fixture(scope="session")
def sample_panel(sample_store):  # type: ignore[no-untyped-def]
    days = sample_store.trading_dates()
    return sample_store.load_range(days[0], days[-1])


@pytest.fixture(scope="session")
def real_windows(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Each real KRX window as `MarketData` (panel and instruments); skips without the shared data."""
    from hantu.backtest.single import MarketData
    from hantu.market.store import MarketStore

    from helpers import KRX_WINDOWS, SHARED_DATA, krx_window_store

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    out = {}
    for window in KRX_WINDOWS:
        store = MarketStore(krx_window_store(tmp_path_factory, window))
        days = store.trading_dates()
        out[window] = MarketData(store.load_range(days[0], days[-1]), store.instruments())
    return out
