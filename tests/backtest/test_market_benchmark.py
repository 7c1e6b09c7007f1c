"""The cap-weighted KOSPI / KOSDAQ benchmark on every real window equals the market return computed here, from
the raw CSV rows alone (their `marcap`, `close`, `volume` and `market` columns), independently of the store."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from backtest.crosscheck import import_window
from hantu.strategy.base import Candidate, Decision, HeldPosition, ScreenResult, Strategy

WINDOWS = ["2021q1", "2022q1", "2023q1", "2024q1"]
LIMIT = (
    0.305  # the ±30 % daily limit plus the engine's tick slack: beyond it only corporate actions move prices
)


class NoTrades(Strategy):
    """A strategy that never trades: the backtest is only its benchmarks."""

    name = "none"

    def screen(self, panel, on: date, instruments=None) -> ScreenResult:  # type: ignore[no-untyped-def]
        return ScreenResult(on=on, scores=[], watchlist=[])

    def select(self, panel, screen: ScreenResult, on: date) -> list[Candidate]:  # type: ignore[no-untyped-def]
        return []

    def on_price(
        self, candidate: Candidate, price: float, now: datetime, day_open: float | None
    ) -> Decision | None:
        return None

    def exit_reason(
        self, position: HeldPosition, price: float, now: datetime, day_open: float | None
    ) -> str | None:
        return None


def csv_market_returns(path: Path) -> dict[str, list[float]]:
    """Daily cap-weighted returns per market from the file: Σ marcap_{t-1}·r_t / Σ marcap_{t-1} over the stocks
    of the market traded (volume > 0) on both days, returns beyond the limit left out."""
    days: dict[str, dict[str, tuple[float, int, float]]] = defaultdict(dict)
    market_of: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            days[row["date"]][row["code"]] = (float(row["close"]), int(row["volume"]), float(row["marcap"]))
            market_of[row["code"]] = "KOSDAQ" if row["market"].startswith("KOSDAQ") else row["market"]
    order = sorted(days)
    out: dict[str, list[float]] = {"KOSPI": [0.0], "KOSDAQ": [0.0]}
    for before, today in itertools.pairwise(order):
        sums = {m: [0.0, 0.0] for m in out}
        for code, (close, volume, _) in days[today].items():
            previous = days[before].get(code)
            market = market_of[code]
            if previous is None or market not in sums or volume == 0 or previous[1] == 0:
                continue
            ret = close / previous[0] - 1.0
            if abs(ret) > LIMIT:
                continue
            sums[market][0] += previous[2] * ret
            sums[market][1] += previous[2]
        for market, (moved, weight) in sums.items():
            out[market].append(moved / weight)
    return out


def _run(panel, start: date, end: date):  # type: ignore[no-untyped-def]
    from hantu.backtest.engine import BacktestEngine

    return BacktestEngine(NoTrades(), panel).run(start, end)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", WINDOWS)
def test_market_benchmark_equals_the_cap_weighted_return_of_the_raw_file(
    window: str, shared_krx: Path, tmp_path: Path
) -> None:
    from hantu.backtest.report import render_html

    path = shared_krx / f"krx-daily-{window}.csv.gz"
    panel = import_window(path, tmp_path / "market")
    outcome = _run(panel, panel.date_at(0), panel.date_at(panel.shape[0] - 1))
    expected = csv_market_returns(path)
    for market, rets in expected.items():
        index = outcome.initial_cash * np.cumprod(1.0 + np.array(rets))
        np.testing.assert_allclose(outcome.markets[market], index, rtol=1e-9)
        total = float(np.prod(1.0 + np.array(rets)) - 1.0)
        assert outcome.benchmark_metrics["market"][market]["total_return"] == pytest.approx(total, rel=1e-9)
    data = outcome.to_dict()
    assert set(data["curve"]["market"]) == {"KOSPI", "KOSDAQ"}
    assert data["benchmark_metrics"]["market"]["KOSPI"]["total_return"] == pytest.approx(
        float(np.prod(1.0 + np.array(expected["KOSPI"])) - 1.0), rel=1e-9
    )
    page = render_html(outcome)
    assert "KOSPI <small>시가총액가중" in page and 'data-market="KOSDAQ"' in page
    json.loads(page.split('id="backtest-data">')[1].split("</script>")[0])


def test_benchmarks_count_zero_over_a_gap(shared_krx: Path, tmp_path: Path) -> None:
    """2023q1 + 2024q1 in one store: a run from 2024-01-02 measures its first day from 2024-01-02, never from the
    2023-02-14 close (before: 2024 Q1 equal weight reported −7.06 %)."""
    from hantu.backtest.report import render_html
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    store = MarketStore(tmp_path / "both")
    for window in ("2023q1", "2024q1"):
        store.write_days(KrxCsvSource(shared_krx / f"krx-daily-{window}.csv.gz").read_all(), source="krx-csv")
    both = store.load_range(date(2023, 1, 1), date(2024, 2, 13))
    alone = import_window(shared_krx / "krx-daily-2024q1.csv.gz", tmp_path / "alone")
    start, end = date(2024, 1, 2), date(2024, 2, 13)
    gapped, plain = _run(both, start, end), _run(alone, start, end)
    assert gapped.benchmark_gap_days == [start]
    np.testing.assert_allclose(gapped.benchmark, plain.benchmark, rtol=1e-12)
    for market in ("KOSPI", "KOSDAQ"):
        np.testing.assert_allclose(gapped.markets[market], plain.markets[market], rtol=1e-12)
    expected = csv_market_returns(shared_krx / "krx-daily-2024q1.csv.gz")["KOSPI"]
    assert gapped.benchmark_metrics["market"]["KOSPI"]["total_return"] == pytest.approx(
        float(np.prod(1.0 + np.array(expected)) - 1.0), rel=1e-9
    )
    assert gapped.benchmark[0] == gapped.initial_cash  # the day after the gap: return 0
    assert round(gapped.benchmark_metrics["total_return"] * 100, 2) == -0.48  # the "actual −0.48 %"
    page = render_html(gapped)
    assert 'id="benchmark-gaps"' in page and "2024-01-02" in page.split('id="benchmark-gaps"')[1][:300]
    assert gapped.to_dict()["benchmark_gap_days"] == ["2024-01-02"]
