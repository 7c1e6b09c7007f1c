"""The market-store figures of `/api/v1/data` and `/api/v1/data/benchmark`, computed in a child process.

Both need numpy and, for the benchmark, a panel of the whole market over 120 days: 15–25 MB that would stay in
the API process for good (quality bar P2: the API ≤ 80 MB on a store holding real data). The API runs this
module with `python -m hantu.api.market_child`, once per change of the store's files (`routes/data.py` caches the
answer), and reads the JSON it prints. The rules themselves stay in one place: `MarketStore.status` and
`hantu.backtest.benchmark.cap_weighted_returns`.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hantu.api.child import run_python

BENCHMARK_DAYS = 120  # calendar days the dashboard's market line covers by default


def run_child(*args: str) -> Any:
    """Run `python -m hantu.api.market_child ARGS...` and return the JSON it printed (`ChildError` if it fails)."""
    return json.loads(run_python(["-m", "hantu.api.market_child", *args]))


def status(root: Path) -> dict[str, Any] | None:
    """`MarketStore.status` as the API's `MarketDataStatus` fields (None for an empty store)."""
    from hantu.market.store import MarketStore

    found = MarketStore(root).status()
    if found.days == 0:
        return None
    return {"first_date": found.first_date, "last_date": found.last_date, "days": found.days,
            "stocks": found.stocks, "stocks_last_day": found.stocks_last_day, "gaps": found.gaps,
            "last_update": found.last_update, "last_source": found.last_source}


def benchmark(root: Path, start: date | None, end: date | None) -> dict[str, Any]:
    """The cap-weighted KOSPI / KOSDAQ over the stored days of `start … end` (default: the last 120 days), as
    the API's `MarketBenchmark` fields."""
    from hantu.backtest.benchmark import MARKETS, cap_weighted_returns
    from hantu.market.store import MarketStore

    store = MarketStore(root)
    days = store.trading_dates()
    if not days:
        return {"dates": [], "indices": {}, "total_return": {}, "gap_days": []}
    last = min(end or days[-1], days[-1])
    panel = store.load_range(start or last - timedelta(days=BENCHMARK_DAYS), last)
    indices: dict[str, list[float]] = {}
    totals: dict[str, float] = {}
    for name in MARKETS:
        rets = cap_weighted_returns(panel, name)
        if rets is None:
            continue
        rets = rets.copy()
        rets[0] = 0.0
        level = 100.0
        series = []
        for r in rets.tolist():
            level *= 1.0 + r
            series.append(round(level, 4))
        indices[name], totals[name] = series, round(series[-1] / 100.0 - 1.0, 6)
    starts = panel.segment_starts()
    return {"dates": [panel.date_at(i) for i in range(panel.shape[0])], "indices": indices, "total_return": totals,
            "gap_days": [panel.date_at(i) for i in range(1, panel.shape[0]) if starts[i]]}


def _day(raw: str) -> date | None:
    return date.fromisoformat(raw) if raw else None


def main(argv: list[str]) -> int:
    kind, root = argv[0], Path(argv[1])
    result = status(root) if kind == "status" else benchmark(root, _day(argv[2]), _day(argv[3]))
    sys.stdout.write(json.dumps(result, default=lambda d: d.isoformat()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
