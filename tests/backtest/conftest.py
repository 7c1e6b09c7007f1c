"""A small sample market (the market helper's generator, through its store), shared by the backtest tests."""

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
