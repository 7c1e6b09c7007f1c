"""Fixtures for the KIS client/sandbox contract tests: a generated market store (no ../shared data needed), a
sandbox on a drivable clock, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

START = "2024-01-05 10:00"  # a Friday inside the 2024 window, market open
KIS_END = date(2024, 2, 13)  # the last day of the real 2024 window
KIS_DAYS = 29  # 2024-01-02 .. 2024-02-13, as many trading days as the real window
KIS_STOCKS = 120
KIS_SEED = 9  # a seed whose 120 stocks include every well-known code (005930, 000660, 035720 ...)


@pytest.fixture(scope="session")
def kis_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated market (the project's sample generator) over the dates of the real 2024 window: the contract
    tests are about the wire, not the data, so they run wherever the repository is checked out (CI included)."""
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("kis-market")
    write_sample_market(MarketStore(root), stocks=KIS_STOCKS, days=KIS_DAYS, seed=KIS_SEED, end=KIS_END)
    return root


@pytest.fixture(scope="session")
def kis_panel(kis_store_root: Path):  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore

    return MarketStore(kis_store_root).load(260)


@pytest.fixture(scope="session")
def long_panel(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A synthetic market of 300 trading days (the project's sample generator), for long histories."""
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

    return SandboxOptions(
        rate_limits={"prod": 2000.0, "virtual": 2000.0}, ping_interval=0.3, tick_interval=0.05
    )


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
            "app_key": account.app_key,
            "app_secret": account.app_secret,
            "server": account.server,
            "account": account.cano + account.product_code,
            "hts_id": account.hts_id,
            "base_url": sandbox.base_url,
            "ws_url": sandbox.ws_url,
            "rate_limit": 1000.0,
            "home": isolated_env,
            "timeout": 2.0,
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
        }
        values.update(overrides)
        api = KisApi(KisClient(KisConfig(**values), clock or sim_clock))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()
