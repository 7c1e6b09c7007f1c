"""Fixtures of the strategy tests: the real KRX windows imported with the market area's own importer into
temporary stores (once per session), and a small synthetic sample market."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SHARED_DATA


@pytest.fixture(scope="session")
def krx_stores(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    """[(window name, store root)] — every /work/shared/data/krx file imported by `KrxCsvSource` into its own
    `MarketStore`, once per run for all xdist workers (read-only: copy a store to write); the data itself stays
    in the shared directory."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from helpers import krx_window_store

    files = sorted(SHARED_DATA.glob("krx-daily-*.csv.gz"))
    assert files, "no KRX windows in the shared data"
    names = [path.name.split(".")[0].removeprefix("krx-daily-") for path in files]
    return [(name, krx_window_store(tmp_path_factory, name)) for name in names]


@pytest.fixture(scope="session")
def krx_panels(krx_stores):  # type: ignore[no-untyped-def]
    """[(window name, DailyPanel of the whole window)] loaded back from the stores."""
    from hantu.market.store import MarketStore

    return [(name, MarketStore(root).load(1000)) for name, root in krx_stores]


@pytest.fixture(scope="session")
def sample_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic market (sectors, halts, listings) in a real store: 240 stocks × 90 days."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("sample-market")
    write_sample_market(MarketStore(root), stocks=240, days=90, seed=7)
    return root
