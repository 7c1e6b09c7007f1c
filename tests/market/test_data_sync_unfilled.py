"""`hantu data sync` exits 7 (EXIT_STALE_DATA) when days it asked for are still missing after the fetch: here the
KIS sandbox serves bars up to 2024-02-13 and the sync is asked for days up to 2024-02-16."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hantu.market.sample import write_sample_market
from hantu.market.store import MarketStore

END = date(2024, 2, 13)


def test_sync_exits_5_when_days_stay_missing(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hantu.cli.main import app
    from hantu.clock import FrozenClock, parse_kst
    from hantu.config import reset_settings_cache
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    truth = MarketStore(tmp_path / "truth")
    write_sample_market(truth, stocks=3, days=40, seed=3, end=END)
    handle = start_kis_sandbox(
        truth.load(40),
        FrozenClock(parse_kst("2024-02-19 18:00")),
        SandboxOptions(rate_limits={"prod": 500.0, "virtual": 500.0}),
    )
    try:
        account = handle.create_account("virtual")
        local = MarketStore(isolated_env / "market")
        dates = truth.trading_dates()
        local.write_days([d for d in _days_of(truth) if d.day <= dates[-3]], source="test")
        local.write_instruments(truth.instruments())
        for key, value in {
            "APP_KEY": account.app_key,
            "APP_SECRET": account.app_secret,
            "SERVER": "virtual",
            "ACCOUNT_NUMBER": account.cano + account.product_code,
            "KIS_BASE_URL": handle.base_url,
            "KIS_RATE_LIMIT": "200",
        }.items():
            monkeypatch.setenv(key, value)
        reset_settings_cache()
        result = CliRunner().invoke(
            app,
            [
                "data",
                "sync",
                "--source",
                "kis",
                "--start",
                dates[-2].isoformat(),
                "--end",
                "2024-02-16",
                "--json",
            ],
        )
    finally:
        handle.stop()
    assert result.exit_code == 7, result.output
    payload = json.loads(result.stdout)
    assert payload["fetched"] == [d.isoformat() for d in dates[-2:]]  # what the source had is stored
    assert payload["unfilled"] == ["2024-02-14", "2024-02-15", "2024-02-16"]
    assert "3 of the 5 trading day(s) asked for are still missing: 2024-02-14" in result.output
    assert MarketStore(isolated_env / "market").trading_dates()[-1] == END


def _days_of(store: MarketStore):  # type: ignore[no-untyped-def]
    from hantu.market.store import DayBars

    for day, codes, raw in store.iter_raw_days():
        yield DayBars(day=day, codes=codes, **{k: v for k, v in raw.items()})
