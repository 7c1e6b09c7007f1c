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
from hantu.notify.i18n import label, reason
from hantu.notify.kit import Language

UP = "#d62728"  # red: up (Korean convention)
DOWN = "#1f5fbf"  # blue: down
GRID = "#e5e5e5"
MARKET_COLOURS = {"KOSPI": "#2ca02c", "KOSDAQ": "#9467bd"}  # the cap-weighted market indices

# metric key -> how it is formatted; the labels are the catalogue's `metric.<key>` (hantu.notify.i18n)
_KINDS = {
    "total_return": "pct", "annual_return": "pct", "volatility": "pct", "sharpe": "num", "sortino": "num",
    "max_drawdown": "pct", "max_drawdown_days": "int", "calmar": "num", "trades": "int", "win_rate": "pct",
    "profit_factor": "num", "avg_holding_days": "num", "turnover": "num", "exposure": "pct", "fees_paid": "won",
    "taxes_paid": "won", "final_equity": "won",
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


def figures_table(metrics: dict[str, Any], benchmark: dict[str, Any], lang: Language = "ko") -> str:
    """Strategy, equal-weight benchmark and (when the store has market caps) the cap-weighted KOSPI / KOSDAQ."""
    markets: dict[str, Any] = benchmark.get("market") or {}
    rows = []
    for key, kind in _KINDS.items():
        if key not in metrics:
            continue
        bench = _fmt(benchmark.get(key), kind) if key in benchmark else ""
        cells = "".join(f'<td data-market="{html.escape(name)}">{_fmt(fig.get(key), kind) if key in fig else ""}'
                        "</td>" for name, fig in markets.items())
        rows.append(f'<tr><th>{label("metric." + key, lang)}</th><td data-key="{key}">{_fmt(metrics[key], kind)}'
                    f"</td><td>{bench}</td>{cells}</tr>")
    heads = "".join(f"<th>{html.escape(name)} <small>{label('report.cap_weighted', lang)}</small></th>"
                    for name in markets)
    return (f'<table class="figures"><tr><th></th><th>{label("report.strategy", lang)}</th>'
            f'<th>{label("report.equal_weight", lang)}</th>' + heads + "</tr>" + "".join(rows) + "</table>")


_TRADE_COLUMNS = ("code", "name", "entry_date", "entry_price", "exit_date", "exit_price", "quantity", "reason",
                  "costs", "pnl", "days")


def trades_table(trades: Sequence[dict[str, Any]], lang: Language = "ko") -> str:
    rows = []
    for t in trades:
        colour = UP if t["pnl"] >= 0 else DOWN
        rows.append(
            f"<tr><td>{html.escape(t['code'])}</td><td>{html.escape(t['name'])}</td><td>{t['entry_date']}</td>"
            f"<td>{t['entry_price']:,.0f}</td><td>{t['exit_date'] or label('report.holding', lang)}</td>"
            f"<td>{'' if t['exit_price'] is None else format(t['exit_price'], ',.0f')}</td>"
            f"<td>{t['quantity']:,}</td><td>{html.escape(reason(t['exit_reason'], lang))}</td>"
            f"<td>{t['fees'] + t['taxes']:,}</td><td style=\"color:{colour}\">{t['pnl']:,.0f}</td>"
            f"<td>{t['holding_days']}</td></tr>")
    heads = "".join(f"<th>{label('trade.' + c, lang)}</th>" for c in _TRADE_COLUMNS)
    return f'<table class="trades"><tr>{heads}</tr>' + "".join(rows) + "</table>"


_CSS = """body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f6f6f6}.heat td{min-width:48px}.meta{color:#666;font-size:12px}
.warning{background:#fff3cd;border:1px solid #e0b400;padding:6px 10px;font-size:13px}"""


def render_html(outcome: BacktestOutcome, lang: Language = "ko", data: dict[str, Any] | None = None) -> str:
    """The whole report as one HTML document, in `lang` (HANTU_LANGUAGE); `data` is `outcome.to_dict()` when
    the caller made it already."""
    data = outcome.to_dict() if data is None else data
    dates = data["curve"]["dates"]
    equity = data["curve"]["equity"]
    drawdown = [float(x) for x in drawdown_series(outcome.equity)] if len(outcome.equity) else []
    bench_dd = [float(x) for x in drawdown_series(outcome.benchmark)] if len(outcome.benchmark) else []
    params = ", ".join(f"{k}={v}" for k, v in sorted(outcome.params.items())) or label("report.defaults", lang)
    title = f"{outcome.strategy} {outcome.start} – {outcome.end}"

    def t(key: str) -> str:
        return label(key, lang)

    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{t("report.title")} '
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{t('report.title')}: {html.escape(title)}</h1>"
        f'<p class="meta">{t("report.params")} {html.escape(params)} · {t("report.stocks")} {outcome.stocks:,} · '
        f"{t('report.days')} {len(dates):,} · {t('report.cash')} {outcome.initial_cash:,}{t('report.won')} · "
        f"{t('report.elapsed')} {outcome.elapsed_s:.2f}s</p>"
        + _risk_line(outcome.metrics.get("risk_limits"), lang)
        + _intraday_line(outcome.metrics.get("intraday"), lang)
        + "".join(f'<p class="warning">⚠ {t("report.warning")}: {html.escape(w)}</p>' for w in outcome.warnings)
        + f"<h2>{t('report.figures')}</h2>{figures_table(outcome.metrics, outcome.benchmark_metrics, lang)}"
        + _gap_note(outcome, lang)
        + f"<h2>{t('report.equity')} <small>({_legend(outcome, lang)})</small></h2>"
        + line_chart_svg(dates, [("benchmark", data["curve"]["benchmark"], "#999999"),
                                 *[(name, values, MARKET_COLOURS.get(name, "#555555"))
                                   for name, values in data["curve"]["market"].items()],
                                 ("strategy", equity, UP)])
        + f"<h2>{t('report.drawdown')}</h2>"
        + line_chart_svg(dates, [("benchmark", bench_dd, "#999999"), ("strategy", drawdown, DOWN)],
                         height=180, area=True, percent=True)
        + f"<h2>{t('report.monthly')}</h2>{heatmap_html(outcome.monthly)}"
        + f"<h2>{t('report.trades')} ({len(data['trades'])})</h2>{trades_table(data['trades'], lang)}"
        + f'<script type="application/json" id="backtest-data">{_json_for_script(data)}</script>'
        + "</body></html>"
    )


def _risk_line(limits: dict[str, Any] | None, lang: Language = "ko") -> str:
    """The risk limits the run used (the daily-loss and drawdown halts are live-only, not replayed)."""
    if not limits:
        return ""
    shown = ", ".join(f"{k}={v}" for k, v in limits.items()
                      if k not in ("daily_loss_limit", "max_drawdown", "halt_blocks_exits"))
    return f'<p class="meta" id="risk-limits">{label("report.risk_limits", lang)}: {html.escape(shown)}</p>'


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


def _intraday_line(figures: dict[str, Any] | None, lang: Language = "ko") -> str:
    text = intraday_text(figures)
    if not text:
        return ""
    return f'<p class="meta" id="intraday-path">{label("report.intraday", lang)}: {html.escape(text)}</p>'


def _legend(outcome: BacktestOutcome, lang: Language = "ko") -> str:
    parts = [label("report.legend_strategy", lang), label("report.legend_benchmark", lang)]
    parts += [f"{label('report.colour_' + m, lang) if m in MARKET_COLOURS else m}: {m} "
              f"{label('report.cap_weighted', lang)}" for m in outcome.markets]
    return ", ".join(parts)


def _gap_note(outcome: BacktestOutcome, lang: Language = "ko") -> str:
    """Marks the days whose benchmark return is 0 because the data has a gap before them."""
    if not outcome.benchmark_gap_days:
        return ""
    days = ", ".join(d.isoformat() for d in outcome.benchmark_gap_days)
    return f'<p class="meta" id="benchmark-gaps">{label("report.gaps", lang)}: {days}</p>'


def _json_for_script(data: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "fills"}, ensure_ascii=False).replace("</", "<\\/")


def write_report(outcome: BacktestOutcome, directory: Path, stem: str,
                 lang: Language = "ko") -> tuple[Path, Path]:
    """Write `<stem>.html` (in `lang`) and `<stem>.json` into `directory`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path = directory / f"{stem}.html"
    json_path = directory / f"{stem}.json"
    data = outcome.to_dict()  # made once for both files
    html_path.write_text(render_html(outcome, lang, data), encoding="utf-8")
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return html_path, json_path
