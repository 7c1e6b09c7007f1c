"""Without a loaded KIS master, screening says which filters are off — in the outcome, the stored screen run
(SQLite and PostgreSQL) and the log — instead of passing silently; with one loaded it says nothing."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from sqlalchemy import select

from hantu.clock import FrozenClock, parse_kst
from hantu.market.kis_master import MasterRow, standard_code
from hantu.market.store import MarketStore, sync_instruments_to_db
from hantu.store.models.core import Instrument as InstrumentRow
from hantu.store.models.strategy import ScreenRun
from hantu.strategy.registry import create_strategy
from hantu.strategy.runs import run_screening


def test_screening_reports_filters_off_until_a_master_is_loaded(
    database, sample_store_root, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(sample_store_root, tmp_path / "market")
    store = MarketStore(tmp_path / "market")
    on = store.trading_dates()[-1]
    clock = FrozenClock(parse_kst(f"{on}T06:30:00"))
    strategy = create_strategy("momentum", {"filters.min_avg_traded_value": 1e8}, use_settings=False)
    with caplog.at_level(logging.WARNING, logger="hantu.strategy.runs"):
        outcome = run_screening(database, store, strategy, on, clock=clock)
    assert any("관리종목" in f for f in outcome.filters_off)
    assert "filters off" in caplog.text and "hantu data sync --master" in caplog.text
    with database.session() as session:
        stored = session.scalars(select(ScreenRun)).one()
        assert stored.figures["filters_off"] == outcome.filters_off

    rows = [
        MasterRow(
            code=i.code,
            standard_code=standard_code(i.code),
            name=i.name,
            market=i.market,
            group="ST",
            sector_large="0001",
            sector_mid="0002",
            sector_small="",
            spac=False,
            overheat=False,
            halted=False,
            liquidation=False,
            administrative=False,
            warning="",
            warning_notice=False,
            preferred=False,
            listed_shares=None,
            listed_on=None,
            base_price=0,
        )
        for i in store.instruments()
        if i.market in ("KOSPI", "KOSDAQ")
    ]
    rows[0] = MasterRow(**{**rows[0].__dict__, "warning": "danger", "administrative": True})
    store.apply_master(rows, "test", on)
    with database.session() as session:  # the database mirror carries the master's facts (SQLite, PostgreSQL)
        sync_instruments_to_db(store, session)
    with database.session() as session:
        mirrored = session.get(InstrumentRow, rows[0].code)
        assert (mirrored.warning, mirrored.master_on, mirrored.is_administrative) == ("danger", on, True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hantu.strategy.runs"):
        again = run_screening(database, store, strategy, on, clock=clock)
    assert again.filters_off == [] and "filters off" not in caplog.text
    with database.session() as session:
        assert session.scalars(select(ScreenRun)).one().figures["filters_off"] == []
