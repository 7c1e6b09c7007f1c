"""Fixtures for the trading-control tests: the KIS sandbox (a generated market, a drivable clock) with a
`KisBroker` and its engine, the Telegram sandbox on the same clock, and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from control_kit import END, KAKAO, SAMSUNG, START, TOKEN


@pytest.fixture(scope="session")
def control_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    root = tmp_path_factory.mktemp("control-market")
    write_sample_market(MarketStore(root), stocks=120, days=29, seed=9, end=END)
    return root


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    from hantu.clock import FrozenClock, parse_kst

    return FrozenClock(parse_kst(START))


@pytest.fixture
def kis(control_store_root: Path, clock) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, ping_interval=0.3, tick_interval=0.05)
    handle = start_kis_sandbox(MarketStore(control_store_root).load(260), clock, options)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def telegram(clock) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from hantu.sandbox.telegram import TelegramSandbox

    box = TelegramSandbox(token=TOKEN, clock=clock).start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(params=["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A migrated database: SQLite, or PostgreSQL where a test parametrizes `db` with "postgres"."""
    from hantu.config import reset_settings_cache
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'control.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings_cache()
    database = get_database(url)
    upgrade(database)
    return database


@dataclass
class Desk:
    """A KIS sandbox account holding 20 Samsung shares, reconciled into the database, and its engine."""

    database: Any
    clock: Any
    kis: Any
    account: Any
    broker: Any

    def engine(self):  # type: ignore[no-untyped-def]
        from hantu.trading.engine import TradingEngine

        return TradingEngine(self.database, self.broker, self.clock)

    def broker_orders(self, side: str | None = None) -> list[Any]:
        """The orders the KIS sandbox has for today (what the broker really received)."""
        return [o for o in self.broker.orders(self.clock.today()) if side is None or o.side.value == side]


@pytest.fixture
def desk(db, clock, kis, isolated_env: Path) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.store.models import Instrument
    from hantu.trading.reconcile import reconcile

    account = kis.create_account("virtual", 50_000_000,
                                 holdings={SAMSUNG: {"quantity": 20, "avg_price": 70_000.0}})
    config = KisConfig(app_key=account.app_key, app_secret=account.app_secret, server=account.server,
                       account=account.cano + account.product_code, hts_id=account.hts_id, base_url=kis.base_url,
                       ws_url=kis.ws_url, rate_limit=1000.0, home=isolated_env, timeout=2.0, backoff_initial=0.01,
                       backoff_max=0.05)
    api = KisApi(KisClient(config, clock))
    broker = KisBroker(api)
    with db.session() as session:
        session.add_all([Instrument(code=SAMSUNG, name="삼성전자", market="KOSPI"),
                         Instrument(code=KAKAO, name="카카오", market="KOSPI")])
    reconcile(db, broker, clock, clock.today())
    try:
        yield Desk(db, clock, kis, account, broker)
    finally:
        api.close()
