"""The store: panel contract, last-N loading, atomic writes under a crash, sample market, marcap, check, sources."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from hantu.market.calendar import trading_days as trading_days_between
from hantu.market.check import check_store
from hantu.market.sample import generate_sample_market, write_sample_market
from hantu.market.sources.base import SourceError
from hantu.market.store import DayBars, MarketStore, sync_instruments_to_db

from helpers import configured_store, run_hantu

END = date(2026, 1, 30)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> MarketStore:
    store = MarketStore(tmp_path_factory.mktemp("sample") / "market")
    write_sample_market(store, stocks=300, days=120, seed=7, end=END)
    return store


def test_sample_is_deterministic_and_realistic(sample_store: MarketStore) -> None:
    again = generate_sample_market(300, 120, 7, END)
    panel = sample_store.load(120)
    assert panel.shape[0] == 120 and panel.dates[-1] == np.datetime64(END)
    col = panel.column(str(again.days[-1].codes[0]))
    assert panel.close[-1, col] == again.days[-1].close[0] or np.isnan(panel.close[-1, col])
    other = generate_sample_market(300, 120, 8, END)
    assert not np.array_equal(other.days[-1].close, again.days[-1].close)
    traded = panel.volume > 0
    assert (panel.low[traded] > 0).all() and (panel.high[traded] >= panel.low[traded]).all()
    assert (panel.volume == 0).any(), "halts and illiquid days exist"
    assert np.isnan(panel.close[panel.volume == 0]).all()
    assert set(panel.markets.tolist()) <= {"KOSPI", "KOSDAQ", "KONEX"} and "KOSDAQ" in set(panel.markets)
    rets = panel.close[1:] / panel.close[:-1] - 1
    assert np.nanmax(np.abs(rets)) <= 0.3 + 1e-9
    kurtosis = np.nanmean(rets**4) / np.nanmean(rets**2) ** 2
    assert kurtosis > 4, "fat tails"
    assert all(i.sector for i in sample_store.instruments())
    assert check_store(sample_store) == []


def test_sample_is_fast_at_full_size() -> None:
    start = time.process_time()
    market = generate_sample_market(2500, 500, 1, END)
    assert time.process_time() - start < 8.0  # CPU seconds; ~1.5 s on an idle core
    assert len(market.days) == 500 and len(market.instruments) == 2500
    # the codes the examples in --help and the docs use are there, under their real names, in sorted order
    by_code = {i.code: i for i in market.instruments}
    assert by_code["005930"].name == "삼성전자" and by_code["000660"].name == "SK하이닉스"
    assert by_code["005930"].market == "KOSPI" and by_code["005930"].sector == "반도체"
    codes = [str(c) for c in market.days[-1].codes]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert len({i.name for i in market.instruments}) == 2500


def test_load_last_n_and_range(sample_store: MarketStore) -> None:
    dates = sample_store.trading_dates()
    assert len(dates) == 120 and dates == sorted(dates)
    panel = sample_store.load(20, end=dates[-10])
    assert panel.shape[0] == 20 and panel.date_at(-1) == dates[-10] and panel.date_at(0) == dates[-29]
    ranged = sample_store.load_range(dates[5], dates[30])
    assert ranged.shape[0] == 26
    full = sample_store.load(1000)
    assert full.shape[0] == 120
    with pytest.raises(ValueError):
        sample_store.load(0)
    assert MarketStore(Path("/nonexistent/x")).load(5).shape == (0, 0)


def test_not_listed_is_nan_everywhere(sample_store: MarketStore) -> None:
    panel = sample_store.load(120)
    unlisted = np.isnan(panel.volume)
    assert unlisted.any(), "late listings/delistings in the sample"
    assert np.isnan(panel.close[unlisted]).all() and np.isnan(panel.amount[unlisted]).all()


def test_instrument_master_and_db_mirror(sample_store: MarketStore, database) -> None:  # type: ignore[no-untyped-def]
    from hantu.store.models.core import Instrument as Row

    with database.session() as session:
        assert sync_instruments_to_db(sample_store, session) == 300
    with database.session() as session:
        rows = session.query(Row).all()
        assert len(rows) == 300 and all(r.name and r.market in ("KOSPI", "KOSDAQ", "KONEX") for r in rows)
        first = sample_store.instruments()[0]
        row = session.get(Row, first.code)
        assert row.name == first.name and row.sector == first.sector
    with pytest.raises(KeyError, match="unknown stock code"):
        sample_store.instrument("999999")


def test_open_market_store_uses_hantu_home(isolated_env: Path) -> None:
    assert configured_store().root == isolated_env / "market"


def _day(day: date, close: int) -> DayBars:
    codes = np.array(["005930", "000660"])
    arr = np.array([close, close * 2], dtype=np.int64)
    return DayBars(day=day, codes=codes, open=arr, high=arr, low=arr, close=arr,
                   volume=np.array([10, 0]), amount=arr * 10, names=np.array(["삼성전자", "SK하이닉스"]),
                   markets=np.array(["KOSPI", "KOSPI"]))


CRASH_CHILD = textwrap.dedent("""
    import sys, os, numpy as np
    from datetime import date
    from pathlib import Path
    import hantu.market.store as st
    store = st.MarketStore(Path(sys.argv[1]))
    real_replace = os.replace
    def slow_replace(src, dst):
        print("writing", flush=True)
        import time; time.sleep(30)
        real_replace(src, dst)
    st.os.replace = slow_replace
    codes = np.array(["005930", "000660"])
    arr = np.array([999, 998], dtype=np.int64)
    store.append_day(st.DayBars(day=date(2026, 1, 6), codes=codes, open=arr, high=arr, low=arr, close=arr,
                                volume=arr, amount=arr))
""")


def test_crash_mid_write_leaves_the_store_readable(tmp_path: Path) -> None:
    store = MarketStore(tmp_path / "market")
    store.write_days([_day(date(2026, 1, 5), 100)])
    proc = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(store.root)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    reopened = MarketStore(store.root)
    assert reopened.trading_dates() == [date(2026, 1, 5)]
    panel = reopened.load(5)
    assert panel.close[0].tolist()[1] == 100 and np.isnan(panel.close[0, 0])  # 000660 sorted first, no trade
    assert panel.volume[0].tolist() == [0.0, 10.0]
    store.append_day(_day(date(2026, 1, 6), 101))  # a later write cleans up and succeeds
    assert reopened.trading_dates() == [date(2026, 1, 5), date(2026, 1, 6)]
    assert [p.name for p in (store.root / "blocks").iterdir() if not p.name.startswith(".")] == ["2026-01.npz"]


def test_check_reports_problems_without_fixing(tmp_path: Path) -> None:
    store = MarketStore(tmp_path / "m")
    store.write_days([_day(date(2026, 1, 5), 100), _day(date(2026, 1, 7), 200)])
    bad = _day(date(2026, 1, 8), 200)
    bad.high = np.array([150, 400]); bad.low = np.array([190, 400])  # noqa: E702
    store.append_day(bad)
    store.append_day(_day(date(2026, 1, 9), 400))
    kinds = {(i.kind, i.day, i.code) for i in check_store(store)}
    assert ("gap", date(2026, 1, 6), None) in kinds
    assert ("limit", date(2026, 1, 9), "005930") in kinds  # 200 → 400 on the next trading day is beyond +30 %
    assert ("limit", date(2026, 1, 7), "005930") not in kinds  # across the gap 100 is not the day's base
    assert ("high_low", date(2026, 1, 8), "005930") in kinds
    assert store.load(10).high[-2].tolist()[1] == 150  # reported, never fixed


def test_cli_sample_status_check(tmp_path: Path) -> None:
    env = {"HANTU_HOME": str(tmp_path / "home")}
    result = run_hantu("data", "sample", "--stocks", "50", "--days", "30", "--seed", "3", "--end", "2026-01-30",
                       "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["days"] == 30 and summary["last"] == "2026-01-30"
    status = json.loads(run_hantu("data", "status", "--json", env=env).stdout)
    assert status["days"] == 30 and status["stocks"] == 50 and status["gaps"] == []
    check = run_hantu("data", "check", env=env)
    assert check.returncode == 0 and "no issues" in check.stdout
    bad = run_hantu("data", "sample", "--end", "2026-13-01", env=env)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_marcap_parquet_import(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({
        "Code": ["005930", "035720", "005930"], "Name": ["삼성전자", "카카오", "삼성전자"],
        "Market": ["KOSPI", "KOSDAQ GLOBAL", "KOSPI"], "Dept": ["", "관리종목(소속부없음)", ""],
        "Close": [79600, 50000, 77000], "Open": [78200, 49000, 79000], "High": [79800, 51000, 79500],
        "Low": [78200, 48500, 76800], "Volume": [17142847, 0, 20000000], "Amount": [1, 0, 2],
        "Stocks": [5969782550, 445000000, 5969782550],
        "Date": pa.array([date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 3)], pa.date32()),
    })
    path = tmp_path / "marcap-2024.parquet"
    pq.write_table(table, path)
    home = tmp_path / "home"
    result = run_hantu("data", "import", "marcap", str(path), env={"HANTU_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    store = MarketStore(home / "market")
    assert store.day_counts() == {date(2024, 1, 2): 2, date(2024, 1, 3): 1}
    kakao = store.instrument("035720")
    assert kakao.market == "KOSDAQ" and kakao.is_administrative
    panel = store.load(5)
    assert panel.close[1, panel.column("005930")] == 77000 and np.isnan(panel.close[0, panel.column("035720")])
    bad = pa.table({"Code": ["005930"], "Name": ["x"], "Market": ["NYSE"], "Close": [1], "Open": [1],
                    "High": [1], "Low": [1], "Volume": [1], "Amount": [1], "Date": ["2024-01-04"]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    result = run_hantu("data", "import", "marcap", str(tmp_path / "bad.parquet"), env={"HANTU_HOME": str(home)})
    assert result.returncode == 1 and "bad.parquet:1: unknown market 'NYSE'" in result.stderr
    assert date(2024, 1, 4) not in store.trading_dates()


def test_pykrx_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hantu.market.sources.pykrx_source import PykrxSource

    with pytest.raises(SourceError, match="KRX_ID and KRX_PW"):
        list(PykrxSource([date(2026, 1, 5)]).read())
    monkeypatch.setenv("KRX_ID", "me")
    monkeypatch.setenv("KRX_PW", "pw")
    with pytest.raises(SourceError, match="pykrx is not installed"):
        list(PykrxSource([date(2026, 1, 5)], timeout=60).read())
    env = {"HANTU_HOME": str(tmp_path / "h"), "KRX_ID": "me", "KRX_PW": "pw"}
    result = run_hantu("data", "sync", "--source", "pykrx", "--start", "2026-01-05", "--end", "2026-01-06", env=env)
    assert result.returncode == 1 and "pykrx is not installed" in result.stderr


def test_cli_sample_refuses_to_replace_imported_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    csv = tmp_path / "real.csv"
    csv.write_text("date,code,name,market,open,high,low,close,volume,amount,marcap,shares\n"
                   "2024-01-02,005930,삼성전자,KOSPI,78200,79800,78200,79600,17142847,1,1,5969782550\n",
                   encoding="utf-8")
    env = {"HANTU_HOME": str(home)}
    assert run_hantu("data", "import", "krx-csv", str(csv), env=env).returncode == 0
    refused = run_hantu("data", "sample", "--stocks", "20", "--days", "10", env=env)
    assert refused.returncode == 1
    assert "holds imported data: 1 trading days (2024-01-02 … 2024-01-02)" in refused.stderr
    assert "krx-csv" in refused.stderr and "--force" in refused.stderr and "HANTU_HOME=" in refused.stderr
    assert MarketStore(home / "market").trading_dates() == [date(2024, 1, 2)]  # untouched
    forced = run_hantu("data", "sample", "--stocks", "20", "--days", "10", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert len(MarketStore(home / "market").trading_dates()) == 10
    again = run_hantu("data", "sample", "--stocks", "20", "--days", "12", env=env)  # a sample over a sample
    assert again.returncode == 0, again.stderr


def test_cli_check_groups_by_kind_price_jumps_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = MarketStore(home / "market")
    # a jump every day (+100 %, then -50 %, ...), one missing day, then three missing days in a row
    days = trading_days_between(date(2026, 1, 2), date(2026, 2, 27))
    assert len(days) > 32
    kept = [d for i, d in enumerate(days) if i not in (28, 29, 30, 26)]
    store.write_days([_day(d, 100 if i % 2 == 0 else 200) for i, d in enumerate(kept)])
    env = {"HANTU_HOME": str(home)}
    out = run_hantu("data", "check", "--limit", "3", env=env)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    jumps = len(kept) - 1 - 2  # every day against the previous one, but not across the two gaps
    assert lines[0] == f"price jumps beyond the ±30 % daily limits: {jumps}"
    assert len([line for line in lines if line.startswith("  2026-")]) == 3 + 2  # 3 jumps, 2 gap ranges
    assert f"  ... {jumps - 3} more (--limit 0 lists all)" in lines
    gap_header = lines.index("trading days missing from the store: 4 in 2 range(s)")
    assert lines[gap_header + 1] == f"  {days[26]}"
    assert lines[gap_header + 2] == f"  {days[28]} … {days[30]}  3 trading day(s)"
    assert lines[-1] == f"counts: limit {jumps}, gap 4"
    everything = run_hantu("data", "check", "--limit", "0", env=env)
    assert len([line for line in everything.stdout.splitlines() if " close " in line]) == jumps
    assert "more" not in everything.stdout
    payload = json.loads(run_hantu("data", "check", "--json", "--limit", "0", env=env).stdout)
    assert payload["counts"] == {"limit": jumps, "gap": 4} and len(payload["issues"]) == jumps + 4
    assert payload["issues"][0]["kind"] == "limit" and payload["issues"][-1]["kind"] == "gap"
    assert payload["gap_ranges"][1] == {"first": str(days[28]), "last": str(days[30]), "days": 3}
