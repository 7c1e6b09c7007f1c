"""The report's figures, recomputed independently from its own trade and fill lists and the market data."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from backtest.test_engine import random_panel
from backtest.toys import ToyBreakout
from hantu.backtest.engine import BacktestConfig, BacktestEngine
from hantu.backtest.metrics import max_drawdown, monthly_returns
from hantu.backtest.report import write_report
from hantu.trading.risk import RiskConfig


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    panel = random_panel(days=120, stocks=10, seed=3)
    config = BacktestConfig(initial_cash=20_000_000, risk=RiskConfig(max_open_positions=6))
    outcome = BacktestEngine(ToyBreakout(k=0.01, hold=3), panel, config).run(panel.date_at(5), date(2030, 1, 1))
    html_path, json_path = write_report(outcome, tmp_path_factory.mktemp("reports"), "toy")
    return panel, json.loads(json_path.read_text(encoding="utf-8")), html_path


def test_trade_list_gives_the_trade_figures(report) -> None:  # type: ignore[no-untyped-def]
    _, data, _ = report
    trades, m = data["trades"], data["metrics"]
    closed = [t for t in trades if t["closed"]]
    assert len(closed) >= 10
    wins = [t["pnl"] for t in closed if t["pnl"] > 0]
    losses = [t["pnl"] for t in closed if t["pnl"] <= 0]
    assert m["trades"] == len(closed)
    assert m["win_rate"] == pytest.approx(len(wins) / len(closed))
    assert m["profit_factor"] == pytest.approx(sum(wins) / -sum(losses))
    assert m["avg_holding_days"] == pytest.approx(sum(t["holding_days"] for t in closed) / len(closed))
    assert m["fees_paid"] == sum(t["fees"] for t in trades)
    assert m["taxes_paid"] == sum(t["taxes"] for t in trades)
    # every won is accounted for: final equity = initial cash + the trades' net results
    assert data["final_equity"] == pytest.approx(data["initial_cash"] + sum(t["pnl"] for t in trades), abs=1e-6)
    # each closed trade's pnl is its fills' cash flows
    for t in closed[:5]:
        flows = [f for f in data["fills"] if f["code"] == t["code"] and t["entry_date"] <= f["day"] <= t["exit_date"]]
        cash = sum(-(f["quantity"] * f["price"] + f["commission"]) if f["side"] == "buy"
                   else f["quantity"] * f["price"] - f["commission"] - f["tax"] for f in flows)
        assert t["pnl"] == pytest.approx(cash)


def test_fills_and_closes_give_the_equity_curve_and_its_figures(report) -> None:  # type: ignore[no-untyped-def]
    panel, data, _ = report
    dates = data["curve"]["dates"]
    initial = data["initial_cash"]
    codes = list(panel.codes)
    cash, held, curve = float(initial), dict[str, int](), []
    fills = sorted(data["fills"], key=lambda f: f["at"])
    i = 0
    for day in dates:
        while i < len(fills) and fills[i]["day"] <= day:
            f = fills[i]
            sign = 1 if f["side"] == "buy" else -1
            held[f["code"]] = held.get(f["code"], 0) + sign * f["quantity"]
            cash += -(f["quantity"] * f["price"] + f["commission"]) if sign > 0 else \
                f["quantity"] * f["price"] - f["commission"] - f["tax"]
            i += 1
        row = panel.row(date.fromisoformat(day))
        curve.append(cash + sum(q * panel.close[row, codes.index(c)] for c, q in held.items()))
    np.testing.assert_allclose(curve, data["curve"]["equity"], rtol=0, atol=1e-6)

    m = data["metrics"]
    series = np.array([initial, *curve])
    rets = series[1:] / series[:-1] - 1
    assert m["total_return"] == pytest.approx(curve[-1] / initial - 1)
    assert m["annual_return"] == pytest.approx((curve[-1] / initial) ** (252 / len(curve)) - 1)
    assert m["volatility"] == pytest.approx(np.std(rets, ddof=1) * math.sqrt(252))
    assert m["sharpe"] == pytest.approx(rets.mean() / np.std(rets, ddof=1) * math.sqrt(252))
    downside = math.sqrt(np.mean(np.minimum(rets, 0) ** 2))
    assert m["sortino"] == pytest.approx(rets.mean() / downside * math.sqrt(252))
    peak, worst, under, longest = series[0], 0.0, 0, 0
    for value in series:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1)
        under = under + 1 if value < peak else 0
        longest = max(longest, under)
    assert m["max_drawdown"] == pytest.approx(worst)
    assert m["max_drawdown_days"] == longest
    assert m["calmar"] == pytest.approx(m["annual_return"] / abs(worst))
    holdings = np.array(data["curve"]["holdings"])
    assert m["exposure"] == pytest.approx(np.mean(holdings / np.array(curve)))
    traded = sum(f["quantity"] * f["price"] for f in data["fills"])
    assert m["turnover"] == pytest.approx(traded / 2 / np.mean(curve) * 252 / len(curve))


def test_monthly_returns_chain_to_the_total(report) -> None:  # type: ignore[no-untyped-def]
    _, data, _ = report
    total = np.prod([1 + r for r in data["monthly_returns"].values()]) - 1
    assert total == pytest.approx(data["metrics"]["total_return"])
    assert len(data["monthly_returns"]) >= 5


def test_benchmark_is_the_equal_weight_index_of_the_same_data(report) -> None:  # type: ignore[no-untyped-def]
    panel, data, _ = report
    bench = data["curve"]["benchmark"]
    first = panel.row(date.fromisoformat(data["curve"]["dates"][0]))
    value = data["initial_cash"]
    for k, day in enumerate(data["curve"]["dates"]):
        row = panel.row(date.fromisoformat(day))
        rets = panel.close[row] / panel.close[row - 1] - 1
        value *= 1 + float(np.mean(rets))
        assert bench[k] == pytest.approx(value), (k, first)
    assert data["benchmark_metrics"]["total_return"] == pytest.approx(bench[-1] / data["initial_cash"] - 1)


def test_html_is_self_contained_with_charts_heatmap_and_trades(report) -> None:  # type: ignore[no-untyped-def]
    _, data, html_path = report
    html = Path(html_path).read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "<polyline" in html and "<polygon" in html
    assert html.count('class="heat"') == 1
    assert html.count("<td>", html.index('class="trades"')) >= len(data["trades"])
    # nothing fetched from elsewhere: no src/href attributes, no URL but the SVG namespace
    assert not re.search(r"\s(src|href)=", html)
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    shown = re.search(r'data-key="total_return">([-0-9.]+)%', html)
    assert shown and float(shown.group(1)) == pytest.approx(data["metrics"]["total_return"] * 100, abs=0.006)


def test_the_json_report_lists_every_field_of_every_fill(report) -> None:  # type: ignore[no-untyped-def]
    from hantu.backtest.result import FillRecord

    _, data, _ = report
    assert data["fills"], "the toy run traded"
    names = list(FillRecord._fields)
    for fill in data["fills"]:
        assert list(fill) == names
        date.fromisoformat(fill["day"])
        assert fill["at"].startswith(fill["day"] + "T")


def test_metric_helpers_on_hand_made_curves() -> None:
    assert max_drawdown(np.array([100, 120, 90, 95, 130, 117])) == (pytest.approx(-0.25), 2)
    months = monthly_returns([date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1)],
                             np.array([110.0, 121.0, 108.9]), 100.0)
    assert months == {"2024-01": pytest.approx(0.21), "2024-02": pytest.approx(-0.1)}
