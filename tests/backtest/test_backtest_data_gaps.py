"""A backtest range with a gap in the data (two windows a year apart) is refused with the gap named and ranges
suggested, unless allowed; an allowed run carries the warning into its result, stored figures and report."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from hantu.backtest.gaps import DataGapError, find_gaps, segments
from hantu.backtest.service import reports_dir, run_backtest, run_grid, run_walk_forward
from hantu.market.calendar import trading_days
from hantu.store.db import Database
from hantu.store.migrate import upgrade

from helpers import hantu_home, run_hantu


@pytest.fixture
def gap_db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'gaps.db'}")
    upgrade(database)
    return database


def test_find_gaps_tolerates_a_few_missing_days_only() -> None:
    days = trading_days(date(2024, 1, 2), date(2024, 3, 29))
    assert find_gaps(days) == []
    few = [d for d in days if d not in days[10:13]]  # three missing trading days: tolerated
    assert find_gaps(few) == []
    gap = [d for d in days if d not in days[10:14]]  # four: a gap
    [found] = find_gaps(gap)
    assert (found.first, found.last, found.trading_days) == (days[10], days[13], 4)
    assert segments(gap, [found]) == [(days[0], days[9]), (days[14], days[-1])]


def test_synthetic_store_with_a_gap(gap_db: Database, sample_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The sample market with a month cut out of it."""
    from hantu.market.store import MarketStore

    days = sample_store.trading_dates()
    cut = set(days[100:121])
    store = MarketStore(tmp_path / "cut")
    store.write_days([d for d in _day_bars(sample_store) if d.day not in cut], source="test")
    with pytest.raises(DataGapError) as refused:
        run_backtest(gap_db, store, "momentum", days[60], days[-1])
    assert f"{days[100]} … {days[120]} (21 trading days)" in str(refused.value)
    for runner in (lambda: run_grid(gap_db, store, "momentum", days[60], days[-1],
                                    {"exits.max_hold_days": [3, 5]}),
                   lambda: run_walk_forward(gap_db, store, "momentum", days[0], days[-1], "3m/1m")):
        with pytest.raises(DataGapError):
            runner()
    # either side of the gap runs (not refused); a run starting right after it says its warm-up restarted there
    [warning] = run_backtest(gap_db, store, "momentum", days[121], days[-1]).warnings
    assert warning.startswith(f"data gap before the first tested day: no data between {days[99]} and {days[121]}")
    before = run_backtest(gap_db, store, "momentum", days[0], days[99]).warnings
    assert not [w for w in before if "gap" in w], before  # (its only warning: no history before the first day)


def _day_bars(store):  # type: ignore[no-untyped-def]
    from hantu.market.store import DayBars

    out = []
    for day, codes, raw in store.iter_raw_days():
        out.append(DayBars(day=day, codes=codes, open=raw["open"], high=raw["high"], low=raw["low"],
                           close=raw["close"], volume=raw["volume"], amount=raw["amount"],
                           names=codes.copy(), markets=_markets(store, codes)))
    return out


def _markets(store, codes):  # type: ignore[no-untyped-def]
    import numpy as np

    master = {i.code: i.market for i in store.instruments()}
    return np.array([master.get(str(c), "KOSPI") or "KOSPI" for c in codes.tolist()])


@pytest.fixture
def two_windows(shared_krx: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    store = MarketStore(tmp_path / "home" / "market")
    for window in ("2023q1", "2024q1"):
        store.write_days(KrxCsvSource(shared_krx / f"krx-daily-{window}.csv.gz").read_all(), source="krx-csv")
    return store


def test_real_windows_a_year_apart_are_refused_then_allowed_with_a_warning(
        two_windows, gap_db: Database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    days = two_windows.trading_dates()
    last_2023 = max(d for d in days if d.year == 2023)
    first_2024 = min(d for d in days if d.year == 2024)
    with pytest.raises(DataGapError) as refused:
        run_backtest(gap_db, two_windows, "momentum", date(2023, 1, 1), days[-1])
    message = str(refused.value)
    assert f"{last_2023 + timedelta(days=1)}" in message and "2023-12-28" in message
    assert f"--from {first_2024} --to {days[-1]}" in message and "--allow-gaps" in message

    allowed = run_backtest(gap_db, two_windows, "momentum", date(2023, 1, 1), days[-1], allow_gaps=True,
                           reports=reports_dir(hantu_home()))
    assert allowed.warnings and "2023-12-28" in allowed.warnings[0]
    assert allowed.metrics["warnings"] == allowed.warnings
    assert "data gap" in Path(allowed.report_path).read_text(encoding="utf-8")
    assert json.loads(Path(allowed.json_path).read_text(encoding="utf-8"))["warnings"] == allowed.warnings

    # a contiguous range is not refused; its warm-up stops at the gap before it, and it says so (nothing more)
    contiguous = run_backtest(gap_db, two_windows, "momentum", first_2024, days[-1])
    [note] = contiguous.warnings
    assert note.startswith(f"data gap before the first tested day: no data between {last_2023} and {first_2024}")
    assert contiguous.metrics["warnings"] == [note]


def test_cli_refuses_the_gap_and_allows_it_on_request(two_windows, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"HANTU_HOME": str(isolated_env), "DATABASE_URL": ""}
    refused = run_hantu("backtest", "--from", "2023-01-01", "--json", env=env)
    assert refused.returncode == 1 and "gap" in refused.stderr and "--allow-gaps" in refused.stderr
    allowed = run_hantu("backtest", "--from", "2023-01-01", "--allow-gaps", "--json", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "2023-12-28" in json.loads(allowed.stdout)["warnings"][0]
