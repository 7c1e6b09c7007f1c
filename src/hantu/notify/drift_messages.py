"""Messages of the nightly drift report (`hantu.backtest.drift`): the summary, the threshold alert and the
answer to /drift. Joined into `templates.TEMPLATES`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hantu.notify.kit import T, Template, _lines, collect

DRIFT: dict[str, Template] = {}
template = collect(DRIFT)

CAUSE_LABELS: dict[str, tuple[str, str]] = {
    "signal": ("신호 차이", "different signal"),
    "slippage": ("체결가 차이(슬리피지)", "fill price (slippage)"),
    "missed_fill": ("미체결", "missed fill"),
    "extra_fill": ("초과 체결", "extra fill"),
    "latency": ("지연", "latency"),
    "risk_block": ("리스크 차단", "risk block"),
    "manual": ("수동 주문", "manual action"),
}


def _bps(value: Any) -> str:
    return f"{float(value):+.1f}bp"


def _body(d: Mapping[str, Any], t: T) -> list[str]:
    causes = {k: float(v) for k, v in (d.get("causes") or {}).items() if float(v or 0) != 0}
    lines = [
        t(f"• 실거래 손익 {t.won(d['live_pnl'], True)} / 모델 {t.won(d['model_pnl'], True)}",
          f"• Live P&amp;L {t.won(d['live_pnl'], True)} / model {t.won(d['model_pnl'], True)}"),
        t(f"• 차이 {t.won(d['drift'], True)} ({_bps(d['drift_bps'])})",
          f"• Drift {t.won(d['drift'], True)} ({_bps(d['drift_bps'])})"),
    ]
    for cause, value in sorted(causes.items(), key=lambda kv: -abs(kv[1])):
        ko, en = CAUSE_LABELS.get(cause, (cause, cause))
        lines.append(f"  - {t(ko, en)}: {t.won(value, True)}")
    if not causes:
        lines.append(t("  - 차이 없음", "  - no difference"))
    return lines


@template("drift_report", required=["trading_date", "live_pnl", "model_pnl", "drift", "drift_bps", "causes"],
          optional=["broker", "trades"], floor="normal")
def _drift_report(d: Mapping[str, Any], t: T) -> str:
    """trading_date; live_pnl, model_pnl, drift (won); drift_bps (of the equity at the open); causes: cause ->
    won; broker; trades: lines compared."""
    return _lines(t("🔍 <b>실거래-모델 차이 리포트</b>", "🔍 <b>Drift report</b>") + f" ({t.when(d['trading_date'])})",
                  *_body(d, t))


@template("drift_alert", required=["trading_date", "drift", "drift_bps", "threshold_bps", "live_pnl", "model_pnl",
                                   "causes"], optional=["broker", "trades"], floor="high")
def _drift_alert(d: Mapping[str, Any], t: T) -> str:
    """As drift_report, plus threshold_bps: the user's limit (`DRIFT_ALERT_BPS`) that |drift_bps| exceeded."""
    return _lines(t(f"⚠️ <b>실거래-모델 차이가 한도({float(d['threshold_bps']):.0f}bp)를 넘었습니다</b>",
                    f"⚠️ <b>Drift beyond the limit ({float(d['threshold_bps']):.0f}bp)</b>")
                  + f" ({t.when(d['trading_date'])})", *_body(d, t))


@template("cmd_drift", required=["available"], optional=["trading_date", "live_pnl", "model_pnl", "drift",
                                                         "drift_bps", "causes", "days", "cumulative"])
def _cmd_drift(d: Mapping[str, Any], t: T) -> str:
    """available; the newest report's figures as in drift_report; days: reports stored; cumulative: the summed
    drift of those days (won)."""
    if not d["available"]:
        return t("ℹ️ 실거래-모델 차이 리포트가 아직 없습니다.", "ℹ️ No drift report yet.")
    extra = []
    if d.get("days"):
        extra.append(t(f"• 누적 {int(d['days'])}일: {t.won(d.get('cumulative') or 0, True)}",
                       f"• {int(d['days'])} days in total: {t.won(d.get('cumulative') or 0, True)}"))
    return _lines(t("🔍 <b>실거래-모델 차이</b>", "🔍 <b>Drift</b>") + f" ({t.when(d['trading_date'])})",
                  *_body(d, t), *extra)
