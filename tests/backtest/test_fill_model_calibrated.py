"""`hantu backtest --fill-model calibrated`: the market-order slippage measured by the stored drift reports, or a
clear refusal (exit 4) while they hold too few fills."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from hantu.clock import KST

from helpers import configured_database, run_hantu

END = date(2024, 2, 13)
ARGS = ("backtest", "-s", "momentum", "--from", "2024-01-02", "--to", END.isoformat(), "--json")


@pytest.fixture
def sample_store(isolated_env: Path):  # type: ignore[no-untyped-def]
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    write_sample_market(MarketStore(isolated_env / "market"), stocks=40, days=300, seed=5, end=END)
    return isolated_env


def seed_reports(ticks: list[list[float]]) -> None:
    from hantu.store.migrate import upgrade
    from hantu.store.models import DriftReport

    database = configured_database()
    upgrade(database)
    with database.session() as s:
        for i, day_ticks in enumerate(ticks):
            s.add(DriftReport(trading_date=date(2024, 3, 4 + i), broker="paper", strategy="momentum",
                              created_at=datetime(2024, 3, 4, 16, tzinfo=KST), equity_base=1e7, live_pnl=0.0,
                              model_pnl=0.0, drift=0.0, drift_bps=0.0, causes={}, trades=[],
                              slippage_ticks=[{"code": "000001", "side": "buy", "order_type": "market", "quantity": 1,
                                               "ticks": t} for t in day_ticks]
                              + [{"code": "000001", "side": "buy", "order_type": "limit", "quantity": 1,
                                  "ticks": 9.0}],  # limit fills are not slippage samples
                              alerted=False))


def test_calibrated_is_refused_without_enough_drift_data(sample_store) -> None:  # type: ignore[no-untyped-def]
    seed_reports([[1.0] * 5, [2.0] * 5])
    result = run_hantu(*ARGS, "--fill-model", "calibrated")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "at least 20 measured market-order fills" in result.stderr and "there are 10 (from 2 report(s))" in result.stderr
    assert result.stdout == ""
    bad = run_hantu(*ARGS, "--fill-model", "magic")
    assert bad.returncode == 2 and "--fill-model must be one of standard, calibrated" in bad.stderr


def test_calibrated_uses_the_measured_slippage(sample_store) -> None:  # type: ignore[no-untyped-def]
    seed_reports([[2.0] * 10, [3.0] * 10, [2.0] * 5])  # mean 2.4 ticks → 3 ticks (rounded up)
    standard = run_hantu(*ARGS, timeout=300)
    assert standard.returncode == 0, standard.stderr
    calibrated = run_hantu(*ARGS, "--fill-model", "calibrated", timeout=300)
    assert calibrated.returncode == 0, calibrated.stderr
    a, b = json.loads(standard.stdout), json.loads(calibrated.stdout)
    assert a["fill_model"] == {"name": "standard", "slippage_ticks": 1}
    assert b["fill_model"] == {"name": "calibrated", "slippage_ticks": 3, "fills": 25, "days": 3,
                               "mean_ticks": 2.4, "median_ticks": 2.0, "p90_ticks": 3.0}
    assert b["final_equity"] < a["final_equity"]  # 3 ticks of slippage cost more than 1
