"""The backtest report: one self-contained HTML file (inline SVG charts, no script, no CDN) plus its JSON.

Colours follow the Korean convention: red for gains, blue for losses.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hantu.backtest.metrics import drawdown_series
from hantu.backtest.result import BacktestOutcome

UP = "#d62728"  # red: up (Korean convention)
DOWN = "#1f5fbf"  # blue: down
GRID = "#e5e5e5"
MARKET_COLOURS = {"KOSPI": "#2ca02c", "KOSDAQ": "#9467bd"}  # the cap-weighted market indices

_LABELS = {
    "total_return": ("총수익률", "Total return", "pct"), "annual_return": ("연수익률", "Annual return", "pct"),
    "volatility": ("변동성", "Volatility", "pct"), "sharpe": ("샤프", "Sharpe", "num"),
    "sortino": ("소르티노", "Sortino", "num"), "max_drawdown": ("최대낙폭", "Max drawdown", "pct"),
    "max_drawdown_days": ("낙폭 기간(일)", "Drawdown days", "int"), "calmar": ("칼마", "Calmar", "num"),
    "trades": ("거래 수", "Trades", "int"), "win_rate": ("승률", "Win rate", "pct"),
    "profit_factor": ("손익비", "Profit factor", "num"),
    "avg_holding_days": ("평균 보유일", "Avg holding (days)", "num"),
    "turnover": ("회전율(연)", "Turnover (annual)", "num"), "exposure": ("투자 비중", "Exposure", "pct"),
    "fees_paid": ("수수료", "Fees paid", "won"), "taxes_paid": ("세금", "Taxes paid", "won"),
    "final_equity": ("최종 자산", "Final equity", "won"),
}


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "won":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _scale(values: Sequence[float], lo: float, hi: float, out_lo: float, out_hi: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [out_lo + (v - lo) / span * (out_hi - out_lo) for v in values]


def line_chart_svg(dates: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], *,
                   width: int = 900, height: int = 260, area: bool = False, percent: bool = False) -> str:
    """An SVG line (or area) chart of one or more series sharing the x axis."""
    pad_l, pad_r, pad_t, pad_b = 86, 12, 10, 24
    values = [v for _, ys, _ in series for v in ys]
    if not values or not dates:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    lo, hi = min(values), max(values)
    if area:
        hi = max(hi, 0.0)
    n = len(dates)
    xs = _scale(range(n), 0, max(n - 1, 1), pad_l, width - pad_r)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" font-family="sans-serif" font-size="11">']
    for k in range(5):  # horizontal grid and labels
        v = lo + (hi - lo) * k / 4
        y = _scale([v], lo, hi, height - pad_b, pad_t)[0]
        label = f"{v * 100:.1f}%" if percent else f"{v:,.0f}"
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{pad_l - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for i in sorted({0, n // 2, n - 1}):
        anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
        parts.append(f'<text x="{xs[i]:.1f}" y="{height - 6}" text-anchor="{anchor}">{html.escape(dates[i])}</text>')
    for name, ys, colour in series:
        py = _scale(ys, lo, hi, height - pad_b, pad_t)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, py, strict=True))
        if area:
            base = _scale([0.0], lo, hi, height - pad_b, pad_t)[0]
            parts.append(f'<polygon points="{xs[0]:.1f},{base:.1f} {points} {xs[-1]:.1f},{base:.1f}" '
                         f'fill="{colour}" fill-opacity="0.35" stroke="{colour}"><title>{html.escape(name)}'
                         f'</title></polygon>')
        else:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5">'
                         f'<title>{html.escape(name)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap_html(monthly: dict[str, float]) -> str:
    """Years × months table, each cell coloured by its return (red up, blue down)."""
    years = sorted({key[:4] for key in monthly})
    head = "".join(f"<th>{m}</th>" for m in range(1, 13))
    rows = []
    for year in years:
        cells = []
        for month in range(1, 13):
            value = monthly.get(f"{year}-{month:02d}")
            if value is None:
                cells.append("<td></td>")
                continue
            strength = min(abs(value) / 0.10, 1.0)  # full colour at ±10 % a month
            colour = UP if value >= 0 else DOWN
            alpha = f"{int(40 + 180 * strength):02x}"
            cells.append(f'<td style="background:{colour}{alpha}" title="{year}-{month:02d}">'
                         f"{value * 100:.1f}%</td>")
        rows.append(f"<tr><th>{year}</th>{''.join(cells)}</tr>")
    return f'<table class="heat"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def figures_table(metrics: dict[str, Any], benchmark: dict[str, Any]) -> str:
    """Strategy, equal-weight benchmark and (when the store has market caps) the cap-weighted KOSPI / KOSDAQ."""
    markets: dict[str, Any] = benchmark.get("market") or {}
    rows = []
    for key, (ko, en, kind) in _LABELS.items():
        if key not in metrics:
            continue
        bench = _fmt(benchmark.get(key), kind) if key in benchmark else ""
        cells = "".join(f'<td data-market="{html.escape(name)}">{_fmt(fig.get(key), kind) if key in fig else ""}'
                        "</td>" for name, fig in markets.items())
        rows.append(f'<tr><th>{ko} <small>{en}</small></th><td data-key="{key}">{_fmt(metrics[key], kind)}</td>'
                    f"<td>{bench}</td>{cells}</tr>")
    heads = "".join(f"<th>{html.escape(name)} <small>시가총액가중 cap-weighted</small></th>" for name in markets)
    return ('<table class="figures"><tr><th></th><th>전략 Strategy</th><th>동일가중 Equal weight</th>'
            + heads + "</tr>" + "".join(rows) + "</table>")


def trades_table(trades: Sequence[dict[str, Any]]) -> str:
    rows = []
    for t in trades:
        colour = UP if t["pnl"] >= 0 else DOWN
        rows.append(
            f"<tr><td>{html.escape(t['code'])}</td><td>{html.escape(t['name'])}</td><td>{t['entry_date']}</td>"
            f"<td>{t['entry_price']:,.0f}</td><td>{t['exit_date'] or '보유중'}</td>"
            f"<td>{'' if t['exit_price'] is None else format(t['exit_price'], ',.0f')}</td>"
            f"<td>{t['quantity']:,}</td><td>{html.escape(t['exit_reason'] or '')}</td>"
            f"<td>{t['fees'] + t['taxes']:,}</td><td style=\"color:{colour}\">{t['pnl']:,.0f}</td>"
            f"<td>{t['holding_days']}</td></tr>")
    return ('<table class="trades"><tr><th>코드</th><th>종목</th><th>매수일</th><th>매수가</th><th>매도일</th>'
            "<th>매도가</th><th>수량</th><th>사유</th><th>비용</th><th>손익</th><th>보유일</th></tr>"
            + "".join(rows) + "</table>")


_CSS = """body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f6f6f6}.heat td{min-width:48px}.meta{color:#666;font-size:12px}
.warning{background:#fff3cd;border:1px solid #e0b400;padding:6px 10px;font-size:13px}"""


def render_html(outcome: BacktestOutcome) -> str:
    """The whole report as one HTML document."""
    data = outcome.to_dict()
    dates = data["curve"]["dates"]
    equity = data["curve"]["equity"]
    drawdown = [float(x) for x in drawdown_series(outcome.equity)] if len(outcome.equity) else []
    bench_dd = [float(x) for x in drawdown_series(outcome.benchmark)] if len(outcome.benchmark) else []
    params = ", ".join(f"{k}={v}" for k, v in sorted(outcome.params.items())) or "defaults"
    title = f"{outcome.strategy} {outcome.start} – {outcome.end}"
    return (
        f'<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>백테스트 {html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>백테스트 Backtest: {html.escape(title)}</h1>"
        f'<p class="meta">파라미터 {html.escape(params)} · 종목 {outcome.stocks:,} · 거래일 {len(dates):,} · '
        f"초기자금 {outcome.initial_cash:,}원 · 실행 {outcome.elapsed_s:.2f}s</p>"
        + _risk_line(outcome.metrics.get("risk_limits"))
        + _intraday_line(outcome.metrics.get("intraday"))
        + "".join(f'<p class="warning">⚠ 경고 Warning: {html.escape(w)}</p>' for w in outcome.warnings)
        + f"<h2>성과 Figures</h2>{figures_table(outcome.metrics, outcome.benchmark_metrics)}"
        + _gap_note(outcome)
        + f"<h2>자산 Equity <small>({_legend(outcome)})</small></h2>"
        + line_chart_svg(dates, [("benchmark", data["curve"]["benchmark"], "#999999"),
                                 *[(name, values, MARKET_COLOURS.get(name, "#555555"))
                                   for name, values in data["curve"]["market"].items()],
                                 ("strategy", equity, UP)])
        + "<h2>낙폭 Drawdown</h2>"
        + line_chart_svg(dates, [("benchmark", bench_dd, "#999999"), ("strategy", drawdown, DOWN)],
                         height=180, area=True, percent=True)
        + f"<h2>월별 수익률 Monthly returns</h2>{heatmap_html(outcome.monthly)}"
        + f"<h2>거래 내역 Trades ({len(data['trades'])})</h2>{trades_table(data['trades'])}"
        + f'<script type="application/json" id="backtest-data">{_json_for_script(data)}</script>'
        + "</body></html>"
    )


def _risk_line(limits: dict[str, Any] | None) -> str:
    """The risk limits the run used (the daily-loss and drawdown halts are live-only, not replayed)."""
    if not limits:
        return ""
    shown = ", ".join(f"{k}={v}" for k, v in limits.items()
                      if k not in ("daily_loss_limit", "max_drawdown", "halt_blocks_exits"))
    return f'<p class="meta" id="risk-limits">위험 한도 Risk limits: {html.escape(shown)}</p>'


def intraday_text(figures: dict[str, Any] | None) -> str:
    """Which intraday path the run walked: stock-days on recorded minute bars vs the synthetic path ("" when the
    run predates the count)."""
    if not figures:
        return ""
    days = figures.get("minute_bar_days") or []
    shown = ", ".join(days[:10]) + (f" … (+{len(days) - 10})" if len(days) > 10 else "")
    recorded = f"{figures.get('minute_bar_stock_days', 0):,} stock-days on recorded minute bars"
    return (recorded + (f" ({shown})" if shown else "")
            + f", {figures.get('synthetic_stock_days', 0):,} on the synthetic path")


def _intraday_line(figures: dict[str, Any] | None) -> str:
    text = intraday_text(figures)
    if not text:
        return ""
    return f'<p class="meta" id="intraday-path">장중 경로 (분봉 기록 / 합성) Intraday path: {html.escape(text)}</p>'


def _legend(outcome: BacktestOutcome) -> str:
    names = {"KOSPI": "초록", "KOSDAQ": "보라"}
    parts = ["빨강: 전략", "회색: 동일가중 지수"]
    parts += [f"{names.get(m, m)}: {m} 시가총액가중" for m in outcome.markets]
    return ", ".join(parts)


def _gap_note(outcome: BacktestOutcome) -> str:
    """Marks the days whose benchmark return is 0 because the data has a gap before them."""
    if not outcome.benchmark_gap_days:
        return ""
    days = ", ".join(d.isoformat() for d in outcome.benchmark_gap_days)
    return (f'<p class="meta" id="benchmark-gaps">벤치마크: 데이터 공백 다음 날의 수익률은 0으로 계산 '
            f"(the benchmarks count 0 return over a gap in the data): {days}</p>")


def _json_for_script(data: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "fills"}, ensure_ascii=False).replace("</", "<\\/")


def write_report(outcome: BacktestOutcome, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write `<stem>.html` and `<stem>.json` into `directory`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path = directory / f"{stem}.html"
    json_path = directory / f"{stem}.json"
    html_path.write_text(render_html(outcome), encoding="utf-8")
    json_path.write_text(json.dumps(outcome.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return html_path, json_path
