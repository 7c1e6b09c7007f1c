"""The optimiser's report: one self-contained HTML file (inline SVG, no script, no CDN) plus its JSON —
optimisation history per fold, parameter importances, in- and out-of-sample figures, stability, and the
chained out-of-sample equity."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from hantu.backtest.report import _CSS, DOWN, GRID, UP, line_chart_svg


def history_svg(history: list[list[Any]], width: int = 900, height: int = 220) -> str:
    """Each trial's objective (dots; pruned ones hollow at the bottom) and the best so far (line)."""
    pad_l, pad_r, pad_t, pad_b = 60, 12, 10, 24
    values = [v for _, v, s in history if v is not None and s == "complete"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'font-family="sans-serif" font-size="11" class="history">']
    if not values:
        return "".join(parts) + "</svg>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = max(len(history) - 1, 1)

    def x(i: int) -> float:
        return pad_l + i / n * (width - pad_l - pad_r)

    def y(v: float) -> float:
        return height - pad_b - (v - lo) / span * (height - pad_t - pad_b)

    for k in range(5):
        v = lo + span * k / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>'
                     f'<text x="{pad_l - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    best: float | None = None
    line = []
    for i, (number, value, state) in enumerate(history):
        if state != "complete" or value is None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{height - pad_b:.1f}" r="3" fill="none" stroke="#999">'
                         f"<title>#{number} pruned</title></circle>")
            continue
        best = value if best is None else max(best, value)
        line.append(f"{x(i):.1f},{y(best):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{DOWN}">'
                     f"<title>#{number}: {value:.4f}</title></circle>")
    parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{UP}" stroke-width="1.5"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 6}">trial 1</text>'
                 f'<text x="{width - pad_r}" y="{height - 6}" text-anchor="end">trial {len(history)}</text>')
    return "".join(parts) + "</svg>"


def importance_svg(importances: dict[str, float], width: int = 600) -> str:
    rows = sorted(importances.items(), key=lambda kv: -kv[1])
    height = 24 * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" '
             f'font-family="sans-serif" font-size="11" class="importances">']
    for i, (key, value) in enumerate(rows):
        bar = max(1.0, value * (width - 260))
        parts.append(f'<text x="0" y="{i * 24 + 18}">{html.escape(key)}</text>'
                     f'<rect x="200" y="{i * 24 + 6}" width="{bar:.1f}" height="16" fill="{DOWN}"/>'
                     f'<text x="{204 + bar:.1f}" y="{i * 24 + 18}">{value:.2f}</text>')
    return "".join(parts) + "</svg>"


def _figures(metrics: dict[str, Any]) -> str:
    keys = ("total_return", "sharpe", "calmar", "max_drawdown", "trades", "win_rate")
    return "".join(f"<td>{_fmt(metrics.get(k), k)}</td>" for k in keys)


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "–"
    if key in ("total_return", "max_drawdown", "win_rate"):
        return f"{value * 100:.2f}%"
    if key == "trades":
        return f"{int(value):,}"
    return f"{value:.2f}"


def render_optimization_html(data: dict[str, Any]) -> str:
    """The HTML page of one optimisation, from its JSON form (`OptimizationResult.to_dict()`)."""
    space = ", ".join(f"{k} {_space_text(d)}" for k, d in data["space"].items())
    head = ("<tr><th>fold</th><th>in-sample</th><th>out-of-sample</th><th>best point</th><th>IS objective</th>"
            "<th>OOS objective</th><th>stability</th><th>trials (pruned)</th></tr>")
    rows = []
    for i, fold in enumerate(data["folds"], start=1):
        train, test = f"{fold['fold'][0]} – {fold['fold'][1]}", f"{fold['fold'][2]} – {fold['fold'][3]}"
        point = ", ".join(f"{k}={v}" for k, v in fold["best_params"].items())
        rows.append(f"<tr><td>{i}</td><td>{train}</td><td>{test}</td><td>{html.escape(point)}</td>"
                    f"<td>{_num(fold['in_sample_value'])}</td><td>{_num(fold['out_of_sample_value'])}</td>"
                    f"<td>{_num(fold['stability'])}</td><td>{fold['trials']} ({fold['pruned']})</td></tr>")
    figures = ("<tr><th></th><th>return</th><th>sharpe</th><th>calmar</th><th>max dd</th><th>trades</th>"
               "<th>win rate</th></tr>")
    for i, fold in enumerate(data["folds"], start=1):
        figures += f"<tr><th>fold {i} in-sample</th>{_figures(fold['in_sample'])}</tr>"
        figures += f"<tr><th>fold {i} out-of-sample</th>{_figures(fold['out_of_sample'])}</tr>"
    figures += f"<tr><th>out-of-sample, chained</th>{_figures(data['out_of_sample'])}</tr>"
    charts = "".join(
        f"<h3>fold {i}</h3>{history_svg(fold['history'])}"
        + (f"<h4>중요도 Importance</h4>{importance_svg(fold['importances'])}" if fold["importances"] else "")
        for i, fold in enumerate(data["folds"], start=1))
    curve = data.get("curve") or {}
    equity = line_chart_svg(curve.get("dates", []), [("out-of-sample", curve.get("equity", []), UP)])
    title = f"{data['strategy']} {data['start']} – {data['end']}"
    recommended = ", ".join(f"{k}={v}" for k, v in sorted(data['recommended'].items()))
    return (
        f'<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>최적화 {html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>최적화 Optimisation: {html.escape(title)}</h1>"
        f'<p class="meta">study {html.escape(data["name"])} · 목표 objective {html.escape(data["objective"])} · '
        f"공간 space {html.escape(space)} · 실행 {data['ran_trials']} trials (+{data['resumed_trials']} resumed) · "
        f"workers {data['workers']} · {data['elapsed_s']:.1f}s</p>"
        + "".join(f'<p class="warning">⚠ 경고 Warning: {html.escape(w)}</p>' for w in data['warnings'])
        + f"<p>추천 Recommended (last fold's best): <b>{html.escape(recommended)}</b></p>"
        + f"<h2>폴드 Folds</h2><table>{head}{''.join(rows)}</table>"
        + f"<h2>성과 Figures</h2><table>{figures}</table>"
        + f"<h2>표본 외 자산 Out-of-sample equity</h2>{equity}"
        + f"<h2>최적화 이력 History <small>(점: 시행, 선: 최고)</small></h2>{charts}"
        + '<script type="application/json" id="optimization-data">'
        + json.dumps(data, ensure_ascii=False, default=str).replace("</", "<\\/") + "</script></body></html>")


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _space_text(dimension: dict[str, Any]) -> str:
    if dimension["kind"] == "categorical":
        return "{" + ",".join(map(str, dimension["choices"])) + "}"
    step = f":{dimension['step']}" if dimension.get("step") else ""
    return f"{dimension['low']}:{dimension['high']}{step}"


def write_optimization_report(data: dict[str, Any], directory: Path, stem: str) -> tuple[Path, Path]:
    """`<stem>.html` and `<stem>.json` in `directory` from the optimisation's JSON form."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path, json_path = directory / f"{stem}.html", directory / f"{stem}.json"
    html_path.write_text(render_optimization_html(data), encoding="utf-8")
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return html_path, json_path
