"""Fixtures of the research tests: a small synthetic market in a real store, and the real KRX 2024 window."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SHARED_DATA


@pytest.fixture(scope="session")
def research_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic market in a real `MarketStore`: 160 stocks × 150 trading days."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("research-market")
    write_sample_market(MarketStore(root), stocks=160, days=150, seed=11)
    return root


@pytest.fixture(scope="session")
def research_panel(research_store_root: Path):  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore

    return MarketStore(research_store_root).load(1000)


@pytest.fixture(scope="session")
def krx_2024_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real 2024 Q1 window imported with the project's importer (skips without ../shared)."""
    path = SHARED_DATA / "krx-daily-2024q1.csv.gz"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("krx-2024")
    MarketStore(root).write_days(KrxCsvSource(path).read_all(), source="krx-csv")
    return root
