"""Stored backtests on SQLite and PostgreSQL: what the API and the dashboard list and show."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backtest.test_engine import random_panel
from backtest.toys import ToyBreakout
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.service import reports_dir, store_outcome
from hantu.backtest.storage import get_backtest, list_backtests


def test_store_list_and_get(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    panel = random_panel(days=50, stocks=6, seed=5)
    outcome = BacktestEngine(ToyBreakout(), panel).run(panel.date_at(3), date(2030, 1, 1))
    first = store_outcome(database, outcome, reports=reports_dir(isolated_env))
    second = store_outcome(database, outcome, kind="grid", reports=reports_dir(isolated_env))
    member = store_outcome(database, outcome, parent_id=second.id)

    # the report files live under $HANTU_HOME/reports and the database keeps their path
    assert Path(first.report_path).parent == isolated_env / "reports"
    assert Path(first.report_path).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert Path(first.json_path).exists()
    assert member.report_path is None

    with database.session() as session:
        listed = list_backtests(session)
        everything = list_backtests(session, include_children=True)
        shown = get_backtest(session, first.id)
        study = get_backtest(session, second.id)
        missing = get_backtest(session, 10_000)
    assert [r["id"] for r in listed] == [second.id, first.id]
    assert {r["id"] for r in everything} == {first.id, second.id, member.id}
    assert missing is None
    assert shown is not None and study is not None
    assert shown["report_path"] == first.report_path
    assert shown["metrics"]["total_return"] == outcome.metrics["total_return"]
    assert len(shown["trades"]) == len(outcome.trades) > 0
    assert sum(t["pnl"] for t in shown["trades"]) == pytest.approx(outcome.final_equity - outcome.initial_cash)
    assert shown["equity_curve"]["dates"][0] == outcome.dates[0].isoformat()
    assert len(shown["equity_curve"]["equity"]) == len(outcome.dates)
    assert [m["id"] for m in study["members"]] == [member.id]
