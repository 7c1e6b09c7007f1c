"""Importing the real KRX windows stores exactly their rows; bad files are rejected whole with file:line."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from hantu.market.sources.base import SourceFormatError
from hantu.market.sources.krx_csv import KrxCsvSource
from hantu.market.store import MarketStore

from helpers import SHARED_DATA, run_hantu

FILES = sorted(SHARED_DATA.glob("krx-daily-*.csv.gz")) if SHARED_DATA.is_dir() else []
SPOT_CODES = ("005930", "000660")


def read_expected(path: Path) -> tuple[Counter[str], dict[tuple[str, str], list[str]], str]:
    """Per-date counts and all rows, read with the csv module (independently of the importer)."""
    counts: Counter[str] = Counter()
    rows: dict[tuple[str, str], list[str]] = {}
    kosdaq_code = ""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            counts[row["date"]] += 1
            rows[(row["date"], row["code"])] = [row[k] for k in ("name", "market", "open", "high", "low", "close",
                                                                  "volume", "amount", "shares")]
            if not kosdaq_code and row["market"] == "KOSDAQ" and row["code"] == "247540":
                kosdaq_code = "247540"
    return counts, rows, kosdaq_code or "035720"


@pytest.fixture(scope="module", params=FILES, ids=[p.name for p in FILES])
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path: Path = request.param
    store = MarketStore(tmp_path_factory.mktemp("store") / "market")
    store.write_days(KrxCsvSource(path).read_all(), source="krx-csv")
    return path, store, read_expected(path)


def test_per_date_counts(imported) -> None:  # type: ignore[no-untyped-def]
    _path, store, (counts, rows, _) = imported
    assert {d.isoformat(): n for d, n in store.day_counts().items()} == dict(counts)
    panel = store.load_range(date(2000, 1, 1), date(2100, 1, 1))
    assert [str(d) for d in panel.dates] == sorted(counts)
    listed = ~np.isnan(panel.volume)
    assert int(listed.sum()) == len(rows)
    assert len(store.instruments()) == len({code for _, code in rows})


def test_spot_values(imported) -> None:  # type: ignore[no-untyped-def]
    _path, store, (_counts, rows, _) = imported
    panel = store.load_range(date(2000, 1, 1), date(2100, 1, 1))
    kosdaq = next(code for (_, code), r in sorted(rows.items()) if r[1] == "KOSDAQ" and r[6] != "0")
    for code in (*SPOT_CODES, kosdaq):
        col = panel.column(code)
        for (day, c), values in rows.items():
            if c != code:
                continue
            _name, _market, o, h, lo, cl, v, amount, _ = values
            i = panel.row(date.fromisoformat(day))
            assert panel.volume[i, col] == int(v)
            assert panel.amount[i, col] == int(amount)
            if int(v) > 0:
                assert (panel.open[i, col], panel.high[i, col], panel.low[i, col], panel.close[i, col]) == (
                    int(o), int(h), int(lo), int(cl))
            else:
                assert np.isnan(panel.close[i, col]) and np.isnan(panel.open[i, col])
        last_day = max(d for d, c in rows if c == code)
        assert panel.names[col] == rows[(last_day, code)][0]
        assert panel.markets[col] == ("KOSDAQ" if "KOSDAQ" in rows[(last_day, code)][1] else
                                      rows[(last_day, code)][1])
    samsung = store.instrument("005930")
    assert samsung.name == "삼성전자" and samsung.market == "KOSPI" and samsung.listed_shares


def test_zero_volume_rows_are_no_trade_and_every_raw_value_kept(imported) -> None:  # type: ignore[no-untyped-def]
    _path, store, (_counts, rows, _) = imported
    panel = store.load_range(date(2000, 1, 1), date(2100, 1, 1))
    zero = [(d, c) for (d, c), r in rows.items() if r[6] == "0"]
    for d, c in zero[:50]:
        i, j = panel.row(date.fromisoformat(d)), panel.column(c)
        assert panel.volume[i, j] == 0 and np.isnan(panel.close[i, j]) and np.isnan(panel.low[i, j])
    assert not (panel.close <= 0).any()
    # raw closes of every row (zero-volume ones included) are kept in the store
    raw_close = {}
    for day, codes, raw in store.iter_raw_days():
        raw_close.update({(day.isoformat(), c): int(x) for c, x in zip(codes.tolist(), raw["close"].tolist(),
                                                                        strict=True)})
    assert raw_close == {k: int(r[5]) for k, r in rows.items()}


def test_status_json_reports_days_and_stocks(imported) -> None:  # type: ignore[no-untyped-def]
    path, store, (counts, rows, _) = imported
    status = run_hantu("data", "status", "--json", env={"HANTU_HOME": str(store.root.parent)})
    assert status.returncode == 0, status.stderr
    payload = json.loads(status.stdout)
    assert payload["days"] == len(counts)
    assert payload["first_date"] == min(counts) and payload["last_date"] == max(counts)
    assert payload["stocks"] == len({c for _, c in rows})
    assert payload["stocks_last_day"] == counts[max(counts)]
    assert payload["day_counts"] == dict(counts)
    assert payload["gaps"] == (["2021-01-22"] if "2021" in path.name else [])


def test_cli_import_stores_rows_and_mirrors_names_to_db(tmp_path: Path) -> None:
    if not FILES:
        pytest.skip("shared data missing")
    path = FILES[-1]
    counts, rows, _ = read_expected(path)
    home = tmp_path / "cli-home"
    result = run_hantu("data", "import", "krx-csv", str(path), env={"HANTU_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert f"{len(rows)} rows, {len(counts)} days" in result.stdout
    assert MarketStore(home / "market").day_counts() == {date.fromisoformat(d): n for d, n in counts.items()}
    from sqlalchemy import create_engine, text

    db_files = list(home.rglob("*.db"))
    assert db_files, "the instrument master is mirrored into the default SQLite database"
    with create_engine(f"sqlite:///{db_files[0]}").connect() as conn:
        assert conn.execute(text("select name from instruments where code='005930'")).scalar() == "삼성전자"
        assert conn.execute(text("select count(*) from instruments")).scalar() == len({c for _, c in rows})


HEADER = "date,code,name,market,open,high,low,close,volume,amount,marcap,shares\n"
GOOD = "2024-01-02,005930,삼성전자,KOSPI,78200,79800,78200,79600,17142847,1356958000000,475197000000000,5969782550\n"


def _write(path: Path, body: str) -> Path:
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("bad_line", "message"), [
    ("2024-01-02,000660,SK하이닉스,NASDAQ,1,1,1,1,1,1,1,1\n", "unknown market 'NASDAQ'"),
    ("2024-01-02,000660,SK하이닉스,KOSPI,abc,1,1,1,1,1,1,1\n", "open is not a non-negative integer"),
    ("2024-01-02,000660,SK하이닉스,KOSPI,1,1,1\n", "expected 12 columns, found 7"),
    ("2024-13-02,000660,SK하이닉스,KOSPI,1,1,1,1,1,1,1,1\n", "bad date"),
    ("2024-01-02,66,SK하이닉스,KOSPI,1,1,1,1,-5,1,1,1\n", "volume is not a non-negative integer"),
    ("2024-01-02,00066X0,SK하이닉스,KOSPI,1,1,1,1,5,1,1,1\n", "bad stock code"),
    (GOOD, "duplicate row for 005930 on 2024-01-02"),
])
def test_bad_row_rejects_whole_file_with_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", GOOD + "2024-01-03,005930,삼성전자,KOSPI,1,1,1,1,1,1,1,1\n" + bad_line)
    with pytest.raises(SourceFormatError) as info:
        KrxCsvSource(path).read_all()
    assert [p.line for p in info.value.problems] == [4]
    assert message in str(info.value) and f"{path}:4:" in str(info.value)
    store = MarketStore(tmp_path / "api-store")
    with pytest.raises(SourceFormatError):
        store.write_days(KrxCsvSource(path).read_all())
    assert store.trading_dates() == []
    if "NASDAQ" not in bad_line:
        return  # the CLI path once, for the unknown market
    home = tmp_path / "home"
    result = run_hantu("data", "import", "krx-csv", str(path), env={"HANTU_HOME": str(home)})
    assert result.returncode == 1
    assert f"{path}:4:" in result.stderr and message in result.stderr
    assert "nothing of this file was stored" in result.stderr
    assert MarketStore(home / "market").trading_dates() == []


def test_good_file_stored_next_to_a_bad_one(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.csv", GOOD.replace("KOSPI", "KOSDAQ GLOBAL"))
    bad = _write(tmp_path / "bad.csv", GOOD + "2024-01-03,000660,x,KOSPY,1,1,1,1,1,1,1,1\n")
    home = tmp_path / "home"
    result = run_hantu("data", "import", "krx-csv", str(bad), str(good), env={"HANTU_HOME": str(home)})
    assert result.returncode == 1 and f"{bad}:3:" in result.stderr
    store = MarketStore(home / "market")
    assert store.trading_dates() == [date(2024, 1, 2)]
    assert store.instrument("005930").market == "KOSDAQ"  # KOSDAQ GLOBAL maps to KOSDAQ


def test_missing_file_and_header(tmp_path: Path) -> None:
    from hantu.market.sources.base import SourceError

    with pytest.raises(SourceError, match="no such file"):
        KrxCsvSource(tmp_path / "absent.csv").read_all()
    path = tmp_path / "h.csv"
    path.write_text("date,code,name\n2024-01-02,005930,x\n")
    with pytest.raises(SourceFormatError, match=r"h.csv:1: header lacks columns"):
        KrxCsvSource(path).read_all()


def test_quoted_csv_takes_the_careful_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.csv", '2024-01-02,005935,"삼성전자우",KOSPI,1,1,1,1,1,1,1,1\n' + GOOD)
    days = KrxCsvSource(path).read_all()
    assert days[0].codes.tolist() == ["005930", "005935"] and days[0].names.tolist()[1] == "삼성전자우"


def test_reimport_replaces_days_without_duplicates(tmp_path: Path) -> None:
    store = MarketStore(tmp_path / "m")
    path = _write(tmp_path / "a.csv", GOOD)
    store.write_days(KrxCsvSource(path).read_all())
    store.write_days(KrxCsvSource(_write(tmp_path / "b.csv", GOOD.replace("79600", "79700"))).read_all())
    panel = store.load(10)
    assert panel.shape == (1, 1) and panel.close[0, 0] == 79_700
    assert store.instrument("005930").is_preferred is False
