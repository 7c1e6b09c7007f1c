"""The REST minute chart (`inquire-time-itemchartprice`, FHKST03010200) between the client and the sandbox: the
wire format, paging back 30 rows a call within the rate limiter, and the day's bars into the minute store."""

from __future__ import annotations

from datetime import time

from hantu.clock import parse_kst
from hantu.market.minutes import REST, MinuteStore
from hantu.sandbox.kis.state import max_in_window
from hantu.trading.minutes import MinuteRecorder, chart_fetch

SAMSUNG = "005930"
MINUTE_TR = "FHKST03010200"
CHART = "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice"


def chart_calls(sandbox, app_key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for r in sandbox.stats(app_key)["requests"] if r["tr_id"] == MINUTE_TR]


def test_the_wire_format_is_kis_newest_first_30_rows_and_a_future_hour_means_now(sandbox, make_api,
                                                                                  sim_clock) -> None:
    api = make_api(sandbox.create_account("virtual"))
    r = api.client.get(CHART, MINUTE_TR, {"FID_ETC_CLS_CODE": "", "FID_COND_MRKT_DIV_CODE": "J",
                                          "FID_INPUT_ISCD": SAMSUNG, "FID_INPUT_HOUR_1": "113000",
                                          "FID_PW_DATA_INCU_YN": "Y"})  # 11:30 asked at 10:00
    rows = r.body["output2"]
    assert len(rows) == 30
    assert {"stck_bsop_date", "stck_cntg_hour", "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr",
            "cntg_vol", "acml_tr_pbmn"} <= set(rows[0])
    assert all(isinstance(v, str) for row in rows for v in row.values())  # every KIS value is a string
    assert rows[0]["stck_cntg_hour"] == "100000" and rows[-1]["stck_cntg_hour"] == "093100"
    assert rows[0]["stck_bsop_date"] == "20240105"
    assert {"stck_prpr", "acml_vol", "hts_kor_isnm", "stck_prdy_clpr"} <= set(r.body["output1"])


def test_after_the_close_the_whole_day_pages_back_within_the_rate_limit(sandbox, make_api, sim_clock) -> None:
    account = sandbox.create_account("prod", rate_limit=10)
    api = make_api(account, rate_limit=10)
    sim_clock.set(parse_kst("2024-01-05 15:45"))
    day = sim_clock.today()
    bars = chart_fetch(api, sim_clock, day)(SAMSUNG)
    path = sandbox.state.market.path(SAMSUNG, day)
    assert len(path) == 380 and len(bars) == 380  # 09:00 .. 15:19, the sandbox's continuous session
    assert bars[0].at.time() == time(9, 0) and bars[-1].at.time() == time(15, 19)
    assert [b.price for b in bars] == path.prices.tolist()
    assert [b.volume for b in bars] == path.volumes.tolist()
    calls = chart_calls(sandbox, account.app_key)
    assert len(calls) == 13  # 12 full pages of 30 and a last one of 20
    assert max_in_window([c["t"] for c in calls]) <= 10


def test_the_recorder_stores_the_rest_chart_as_the_record(sandbox, make_api, sim_clock, tmp_path) -> None:
    api = make_api(sandbox.create_account("virtual"))
    sim_clock.set(parse_kst("2024-01-05 15:40"))
    day = sim_clock.today()
    store = MinuteStore(tmp_path / "minutes")
    stored = MinuteRecorder(store, chart_fetch(api, sim_clock, day)).finish(day, [SAMSUNG, "000660"])
    assert stored == {SAMSUNG: 380, "000660": 380}
    bars = store.read(day)[SAMSUNG]
    path = sandbox.state.market.path(SAMSUNG, day)
    assert bars.close.tolist() == path.prices.tolist() and set(bars.source.tolist()) == {REST}
    assert bars.covers_session()
