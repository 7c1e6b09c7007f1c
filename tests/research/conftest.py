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
    """The real 2024 Q1 window imported with the project's importer (skips without ../shared), once per run for
    all xdist workers (read-only: copy it to write)."""
    path = SHARED_DATA / "krx-daily-2024q1.csv.gz"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    from helpers import krx_window_store

    return krx_window_store(tmp_path_factory, "2024q1")
