"""`hantu backtest` runs with the live risk limits and refuses a strategy the data cannot carry.

- the limits saved with `hantu trade risk` are used by default, printed (text, JSON, report) and overridable
  with `--risk KEY=VALUE`;
- a strategy that needs more history than the store holds (rsi2's 200-day trend filter) is refused before it
  runs, with the days needed and available, unless `--allow-short-history`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from helpers import run_hantu


def _sample_home(home: Path) -> list[date]:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(home / "market")
    write_sample_market(store, stocks=120, days=130, seed=2)
    return store.trading_dates()


def _most_held_at_once(trades: list[dict]) -> int:
    """Positions open at the same close (a trade is open from its entry day until the day before its exit)."""
    days = {date.fromisoformat(t["entry_date"]) for t in trades}
    most = 0
    for day in days:
        held = sum(
            1
            for t in trades
            if date.fromisoformat(t["entry_date"]) <= day
            and (t["exit_date"] is None or day < date.fromisoformat(t["exit_date"]))
        )
        most = max(most, held)
    return most


def _report_trades(payload: dict) -> list[dict]:
    return json.loads(Path(payload["json_path"]).read_text())["trades"]


def test_backtests_use_the_saved_risk_limits_print_them_and_take_overrides(isolated_env: Path) -> None:
    days = _sample_home(isolated_env)
    window = ("--from", days[40].isoformat(), "--to", days[-1].isoformat())
    free = run_hantu("backtest", "-s", "momentum", *window, "--json")
    assert free.returncode == 0, free.stderr
    free_payload = json.loads(free.stdout)
    assert free_payload["risk_limits"]["max_open_positions"] == 5
    assert free_payload["risk_limits_source"] == "defaults, none saved"
    assert _most_held_at_once(_report_trades(free_payload)) > 1  # the market gives room for several at once

    assert not any("history" in w for w in free_payload["warnings"])  # 40 days of warm-up: enough

    saved = run_hantu("trade", "risk", "--set", "max_open_positions=1")
    assert saved.returncode == 0, saved.stderr
    limited = run_hantu("backtest", "-s", "momentum", *window, "--json")
    assert limited.returncode == 0, limited.stderr
    payload = json.loads(limited.stdout)
    assert payload["risk_limits"]["max_open_positions"] == 1 and payload["metrics"]["risk_limits"]
    assert payload["risk_limits_source"] == "saved with `hantu trade risk`"
    assert _most_held_at_once(_report_trades(payload)) == 1
    report = Path(payload["report_path"]).read_text(encoding="utf-8")
    assert 'id="risk-limits"' in report and "max_open_positions=1" in report

    override = run_hantu("backtest", "-s", "momentum", *window, "--risk", "max_open_positions=3")
    assert override.returncode == 0, override.stderr
    assert (
        "risk limits (saved with `hantu trade risk`; --risk max_open_positions=3): max_open_positions=3,"
        in override.stdout
    )
    (json_report,) = (isolated_env / "reports").glob("backtest-3-momentum-*.json")  # the third run
    stored = json.loads(json_report.read_text())
    assert stored["metrics"]["risk_limits"]["max_open_positions"] == 3
    assert 1 < _most_held_at_once(stored["trades"]) <= 3

    bad = run_hantu("backtest", "-s", "momentum", *window, "--risk", "max_positions=3")
    assert bad.returncode == 2 and "max_open_positions" in bad.stderr
    worse = run_hantu("backtest", "-s", "momentum", *window, "--risk", "max_open_positions=many")
    assert worse.returncode == 2 and "many" in worse.stderr


def test_a_strategy_short_of_history_is_refused_with_the_days_needed(isolated_env: Path) -> None:
    days = _sample_home(isolated_env)  # 130 trading days; rsi2's trend filter needs 200
    refused = run_hantu("backtest", "-s", "rsi2", "--from", days[0].isoformat(), "--json")
    assert refused.returncode == 1
    assert (
        "needs 200 trading days of history" in refused.stderr and "129 by the last decision" in refused.stderr
    )
    assert "--allow-short-history" in refused.stderr and refused.stdout == ""
    from hantu.backtest.storage import list_backtests

    from helpers import configured_database

    with configured_database().session() as session:
        assert list_backtests(session) == []  # refused before anything ran

    allowed = run_hantu(
        "backtest", "-s", "rsi2", "--from", days[0].isoformat(), "--allow-short-history", "--json"
    )
    assert allowed.returncode == 0, allowed.stderr
    payload = json.loads(allowed.stdout)
    assert payload["metrics"]["trades"] == 0
    assert any("needs 200 trading days" in w for w in payload["warnings"])

    # enough history by the end of the range: it runs, saying from when it can pick anything
    partway = run_hantu(
        "backtest", "-s", "rsi2", "--from", days[0].isoformat(), "--param", "rules.trend_days=50", "--json"
    )
    assert partway.returncode == 0, partway.stderr
    warning = [w for w in json.loads(partway.stdout)["warnings"] if "needs 50" in w]
    assert warning and f"can pick nothing before {days[50]}" in warning[0]
    late = [
        t
        for t in _report_trades(json.loads(partway.stdout))
        if date.fromisoformat(t["entry_date"]) < days[50]
    ]
    assert late == []
