"""`KisDailySource` against the project's KIS sandbox: paging past 100 rows, only missing days, raw values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from hantu.broker.kis.daily_source import KisDailySource, missing_days
from hantu.market.sample import write_sample_market
from hantu.market.store import MarketStore

END = date(2024, 2, 13)


def test_kis_sync_fills_only_missing_days(tmp_path: Path, isolated_env: Path) -> None:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.clock import FrozenClock, parse_kst
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    truth = MarketStore(tmp_path / "truth")
    write_sample_market(truth, stocks=5, days=160, seed=3, end=END)
    panel = truth.load(160)
    clock = FrozenClock(parse_kst("2024-02-14 18:00"))
    handle = start_kis_sandbox(panel, clock, SandboxOptions(rate_limits={"prod": 500.0, "virtual": 500.0}))
    calls: list[str] = []
    try:
        account = handle.create_account("virtual")
        config = KisConfig(app_key=account.app_key, app_secret=account.app_secret, server="virtual",
                           account=account.cano + account.product_code, base_url=handle.base_url,
                           rate_limit=200.0, home=isolated_env, timeout=5.0)
        api = KisApi(KisClient(config, clock))
        real_get = api.client.get

        def counting_get(path, tr_id, params, tr_cont=""):  # type: ignore[no-untyped-def]
            calls.append(tr_id)
            return real_get(path, tr_id, params, tr_cont)

        api.client.get = counting_get  # type: ignore[method-assign]
        # the local store has the first 30 days only; 130 days (> 100 rows per call) are missing
        local = MarketStore(tmp_path / "local")
        dates = truth.trading_dates()
        local.write_days([d for d in _days_of(truth) if d.day <= dates[29]], source="test")
        local.write_instruments(truth.instruments())
        todo = missing_days(local, dates[0], dates[-1])
        assert todo == dates[30:]
        fetched = list(KisDailySource(api, local.instruments(), todo).read())
        api.close()
    finally:
        handle.stop()
    assert [d.day for d in fetched] == todo
    assert len(calls) >= 2 * 5, "paged past the 100-row limit for every stock"
    local.write_days(fetched, source="kis")
    got, want = local.load(160), truth.load(160)
    assert np.array_equal(got.codes, want.codes)
    assert np.array_equal(got.volume, want.volume, equal_nan=True)
    assert np.array_equal(got.close, want.close, equal_nan=True)


def _days_of(store: MarketStore):  # type: ignore[no-untyped-def]
    from hantu.market.store import DayBars

    for day, codes, raw in store.iter_raw_days():
        yield DayBars(day=day, codes=codes, **{k: v for k, v in raw.items()})
