"""`hantu backtest list` and `show` as people read them: one trade count everywhere, 80 columns without
truncated dates or figures."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_hantu


def test_list_and_show_agree_on_trades_and_fit_80_columns(isolated_env: Path) -> None:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(isolated_env / "market")
    write_sample_market(store, stocks=150, days=160, seed=4)
    days = store.trading_dates()
    ran = run_hantu("backtest", "-s", "momentum", "--from", days[40].isoformat(), "--json")
    assert ran.returncode == 0, ran.stderr
    payload = json.loads(ran.stdout)
    metrics = payload["metrics"]
    shown_json = json.loads(run_hantu("backtest", "show", str(payload["id"]), "--json").stdout)
    open_trades = sum(1 for t in shown_json["trades"] if t["exit_date"] is None)
    assert metrics["trades"] == len(shown_json["trades"]) - open_trades  # closed round trips

    narrow = {"COLUMNS": "80"}
    shown = run_hantu("backtest", "show", str(payload["id"]), env=narrow)
    assert shown.returncode == 0, shown.stderr
    expected = f"{metrics['trades']} trades" + (f" (+{open_trades} open)" if open_trades else "")
    assert expected in shown.stdout.replace("\n", " ")
    assert f"{len(shown_json['trades'])} trades" not in shown.stdout or not open_trades

    listed = run_hantu("backtest", "list", env=narrow)
    assert listed.returncode == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    assert "…" not in listed.stdout  # nothing cut off
    row = next(line for line in listed.stdout.splitlines() if line.strip().startswith(str(payload["id"])))
    assert payload["start"] in row and payload["end"] in row and f"{metrics['trades']:,}" in row
    assert f"{metrics['total_return'] * 100:.2f}%" in row
