"""Fixtures for the KIS client/sandbox contract tests: a market store with the real KRX windows, a sandbox
on a drivable clock, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import SHARED_DATA

START = "2024-01-05 10:00"  # a Friday inside the 2024 window, market open


@pytest.fixture(scope="session")
def kis_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A market store with the real KRX 2024 window (29 trading days, 2,800 stocks)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("kis-market")
    store = MarketStore(root)
    store.write_days(KrxCsvSource(SHARED_DATA / "krx-daily-2024q1.csv.gz").read_all(), source="krx-csv")
    return root


@pytest.fixture(scope="session")
def kis_panel(kis_store_root: Path):  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore

    return MarketStore(kis_store_root).load(260)


@pytest.fixture(scope="session")
def long_panel(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A synthetic market of 300 trading days (the project's sample generator), for long histories."""
    from datetime import date

    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(tmp_path_factory.mktemp("kis-sample"))
    write_sample_market(store, stocks=20, days=300, seed=7, end=date(2024, 2, 13))
    return store.load(300)


@pytest.fixture
def sim_clock():  # type: ignore[no-untyped-def]
    from hantu.clock import FrozenClock, parse_kst

    return FrozenClock(parse_kst(START))


@pytest.fixture
def fast_options():  # type: ignore[no-untyped-def]
    from hantu.sandbox.kis.state import SandboxOptions

    return SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, ping_interval=0.3, tick_interval=0.05)


@pytest.fixture
def sandbox(kis_panel, sim_clock, fast_options) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from hantu.sandbox.kis.app import start_kis_sandbox

    handle = start_kis_sandbox(kis_panel, sim_clock, fast_options)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def make_api(sandbox, sim_clock, isolated_env: Path) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """`make_api(account, **config overrides)` → a `KisApi` on the sandbox (fast retries, high rate)."""
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig

    made: list[Any] = []

    def make(account: Any, clock: Any = None, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "app_key": account.app_key, "app_secret": account.app_secret, "server": account.server,
            "account": account.cano + account.product_code, "hts_id": account.hts_id,
            "base_url": sandbox.base_url, "ws_url": sandbox.ws_url, "rate_limit": 1000.0, "home": isolated_env,
            "timeout": 2.0, "backoff_initial": 0.01, "backoff_max": 0.05,
        }
        values.update(overrides)
        api = KisApi(KisClient(KisConfig(**values), clock or sim_clock))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()
