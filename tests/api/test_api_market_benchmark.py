"""`/api/v1/data/benchmark` (the dashboard's market line) and `/api/v1/data`'s freshness on a real KRX window."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import SHARED_DATA


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_market_benchmark_route_on_a_real_window(database, isolated_env: Path, make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from hantu.backtest.benchmark import market_index
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    store = MarketStore(isolated_env / "market")
    store.write_days(KrxCsvSource(SHARED_DATA / "krx-daily-2024q1.csv.gz").read_all(), source="krx-csv")
    client = make_client()
    body = client.get("/api/v1/data/benchmark", params={"from": "2024-01-01"}).json()
    panel = store.load_range(store.trading_dates()[0], store.trading_dates()[-1])
    assert body["dates"][0] == "2024-01-02" and body["dates"][-1] == "2024-02-13"
    for market in ("KOSPI", "KOSDAQ"):
        expected = market_index(panel, market, 0, panel.shape[0] - 1, 100.0)
        np.testing.assert_allclose(body["indices"][market], expected, rtol=1e-6)
        assert body["total_return"][market] == pytest.approx(expected[-1] / 100 - 1, abs=1e-6)
    assert body["gap_days"] == []
    status = client.get("/api/v1/data").json()
    assert status["fresh"] is False and status["market"]["last_date"] == "2024-02-13"
    assert status["required_close"] > "2024-02-13"
    shutil.rmtree(isolated_env / "market")
    assert client.get("/api/v1/data/benchmark").json() == {
        "dates": [],
        "indices": {},
        "total_return": {},
        "gap_days": [],
    }
