"""The KIS sandbox serves master files in KIS's format and both daily-chart variants (adjusted / raw); the KIS
source cross-checks corporate actions with them; `hantu data sync --master` loads the master from the sandbox
or from local files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest

from hantu.market.corporate_actions import CorporateAction
from hantu.market.kis_master import MasterFormatError, parse_master, read_master_file, unpack, write_master
from hantu.market.sample import write_sample_market
from hantu.market.store import MarketStore

from helpers import run_hantu

END = date(2024, 2, 13)


@pytest.fixture
def market(tmp_path: Path) -> MarketStore:
    """A small sample market in a store, with one manual 1:5 split in the middle of it."""
    store = MarketStore(tmp_path / "home" / "market")
    write_sample_market(store, stocks=12, days=40, seed=5, end=END)
    dates = store.trading_dates()
    code = next(i.code for i in store.instruments() if i.market == "KOSPI" and i.last_date == dates[-1])
    store.add_action(CorporateAction(code, dates[25], 0.2, "split", "manual", "test split"))
    return store


@pytest.fixture
def sandbox(market: MarketStore):  # type: ignore[no-untyped-def]
    from hantu.clock import FrozenClock, parse_kst
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    clock = FrozenClock(parse_kst("2024-02-14 18:00"))
    handle = start_kis_sandbox(
        market.root, clock, SandboxOptions(rate_limits={"prod": 500.0, "virtual": 500.0})
    )
    yield handle, clock
    handle.stop()


def _api(handle, clock, home: Path):  # type: ignore[no-untyped-def]
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig

    account = handle.create_account("virtual")
    config = KisConfig(
        app_key=account.app_key,
        app_secret=account.app_secret,
        server="virtual",
        account=account.cano + account.product_code,
        base_url=handle.base_url,
        rate_limit=200.0,
        home=home,
        timeout=5.0,
    )
    return KisApi(KisClient(config, clock))


def test_sandbox_serves_master_files_in_the_kis_layout(market: MarketStore, sandbox) -> None:  # type: ignore[no-untyped-def]
    handle, _ = sandbox
    kospi = [i for i in market.instruments() if i.market == "KOSPI"]
    code = kospi[0].code
    response = httpx.post(
        f"{handle.base_url}/_sandbox/master/{code}", json={"administrative": True, "warning": "danger"}
    )
    assert response.status_code == 200
    data = httpx.get(f"{handle.base_url}/common/master/kospi_code.mst.zip").content
    rows = {r.code: r for r in parse_master(unpack(data), "KOSPI")}
    assert set(rows) == {i.code for i in kospi}
    assert rows[code].administrative and rows[code].warning == "danger"
    assert all(rows[i.code].sector for i in kospi if i.sector)  # the sample's sectors as 업종 codes
    assert len({rows[i.code].sector for i in kospi if i.sector}) == len({i.sector for i in kospi if i.sector})
    assert httpx.get(f"{handle.base_url}/common/master/nothing.zip").status_code == 404
    # each line: 9 + 12 characters of codes, the name, the 227-character KOSPI tail
    line = unpack(data).decode("cp949").splitlines()[0]
    assert len(line) == 21 + len(rows[line[:9].strip()].name) + 227


def test_quote_flags_and_adjusted_bars_cross_check(market: MarketStore, sandbox, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    from hantu.broker.kis.daily_source import KisAdjustmentCheck, quote_flags

    handle, clock = sandbox
    (split,) = market.corporate_actions()
    httpx.post(
        f"{handle.base_url}/_sandbox/master/{split.code}",
        json={"administrative": True, "warning": "warning", "halted": True},
    )
    api = _api(handle, clock, isolated_env)
    try:
        info = api.price(split.code)
        flags = quote_flags(info)
        assert flags["is_administrative"] and flags["warning"] == "warning" and flags["is_halted"]
        assert not info.in_vi
        dates = market.trading_dates()
        raw = api.daily_chart(split.code, dates[0], dates[-1], adjusted=False)
        adjusted = api.daily_chart(split.code, dates[0], dates[-1], adjusted=True)
        assert raw[-1].close == adjusted[-1].close  # backward-adjusted: the latest bar is raw
        before = [b for b in raw if b.day < split.ex_date][-1]
        adj_before = next(b for b in adjusted if b.day == before.day)
        assert adj_before.close == round(before.close * 0.2)
        check = KisAdjustmentCheck(api, [split.code], dates[0], dates[-1])
        found = check.store(market)
    finally:
        api.close()
    assert [(a.code, a.ex_date, a.source) for a in found] == [(split.code, split.ex_date, "kis")]
    assert found[0].factor == pytest.approx(0.2, rel=2e-3)
    # manual wins over kis for the same day; both rows are kept
    assert market.corporate_actions()[0].source == "manual"
    assert {a.source for a in market.corporate_actions(all_sources=True)} == {"manual", "kis"}


def test_data_sync_master_from_the_sandbox_and_from_files(
    market: MarketStore, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    handle, _ = sandbox
    home = market.root.parent
    code = next(i.code for i in market.instruments() if i.market == "KOSDAQ")
    httpx.post(f"{handle.base_url}/_sandbox/master/{code}", json={"halted": True})
    result = run_hantu(
        "data", "sync", "--master", "--json", env={"HANTU_HOME": str(home), "KIS_BASE_URL": handle.base_url}
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)["master"]
    assert loaded["stocks"] == len(market.instruments()) and loaded["halted"] >= 1
    inst = market.instrument(code)
    assert inst.is_halted and inst.master_on is not None and inst.sector
    assert market.master_info()["stocks"] == loaded["stocks"]

    # a local file: the KIS layout written by us, then a broken one (clear message, exit 1, nothing changed)
    rows = read_master_file_from_sandbox(handle.base_url, "kospi")
    path = tmp_path / "kospi_code.mst"
    path.write_bytes(write_master(rows))
    ok = run_hantu("data", "sync", "--master-file", str(path), env={"HANTU_HOME": str(home)})
    assert ok.returncode == 0 and "master" in ok.stdout, ok.stderr
    bad = tmp_path / "kosdaq_code.mst"
    bad.write_bytes(b"000020 too short\n")
    failed = run_hantu("data", "sync", "--master-file", str(bad), env={"HANTU_HOME": str(home)})
    assert failed.returncode == 1 and "kosdaq_code.mst:1" in failed.stderr
    with pytest.raises(MasterFormatError, match="cannot tell KOSPI from KOSDAQ"):
        read_master_file(tmp_path / "stocks.mst")
    none = run_hantu("data", "sync", env={"HANTU_HOME": str(home)})
    assert none.returncode == 2 and "--master" in none.stderr


def read_master_file_from_sandbox(base_url: str, market: str):  # type: ignore[no-untyped-def]
    data = httpx.get(f"{base_url}/common/master/{market}_code.mst.zip").content
    return parse_master(unpack(data), market.upper())
