"""Templates of the market-status alerts (joined into `templates.TEMPLATES`): an order the engine holds back
because of a VI auction, a trading halt or an upper-limit lock (`hantu.trading.market_hold`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hantu.notify.kit import T, Template, _lines, _opt, collect

MARKET_ALERTS: dict[str, Template] = {}
template = collect(MARKET_ALERTS)

_VI_KO = {"static": "정적 VI", "dynamic": "동적 VI", "static+dynamic": "정적·동적 VI"}


def _why(d: Mapping[str, Any], t: T) -> str:
    status = str(d["status"])
    if status == "halted":
        return t("거래정지 종목 — 거래 재개 후 주문합니다", "trading halted — the order goes once trading resumes")
    if status == "vi":
        vi = str(d.get("vi") or "")
        name_ko = _VI_KO.get(vi, "VI")
        name_en = {"static": "static VI", "dynamic": "dynamic VI"}.get(vi, "VI")
        return t(f"{name_ko} 발동 (2분 단일가 매매) — 시장가 주문은 해제 후 보냅니다",
                 f"{name_en} (2-minute single-price auction) — the market order goes after it ends")
    if status == "upper_lock":
        return t("상한가 잠김 (매도 물량 없음) — 시장가 매수를 보류합니다",
                 "locked at the upper limit (no sellers) — market buy held")
    return t.s(d.get("reason") or status)


@template("order_held", required=["code", "name", "side", "quantity", "status"],
          optional=["vi", "order_type", "price", "reason", "order_reason", "purpose", "since"], floor="high")
def _order_held(d: Mapping[str, Any], t: T) -> str:
    """code, name, side; quantity; status: vi|halted|upper_lock; vi: static|dynamic|static+dynamic; order_type;
    price: the last price; reason: the engine's hold reason (English); order_reason: why the order was wanted;
    since: when the hold began."""
    kind = str(d.get("order_type") or "").lower()
    type_text = {"limit": t("지정가", "limit"), "market": t("시장가", "market")}.get(kind, t.s(kind)) if kind else ""
    quantity = f"{t.shares(d['quantity'])} ({type_text})" if type_text else t.shares(d["quantity"])
    return _lines(
        f"⏸️ <b>{t('주문 대기', 'Order held')}</b> {t.side(d['side'])} {t.stock(d)}",
        t(f"• 사유: {_why(d, t)}", f"• Why: {_why(d, t)}"),
        t(f"• 수량: {quantity}", f"• Quantity: {quantity}"),
        t(f"• 현재가: {t.won(d['price'])}", f"• Last price: {t.won(d['price'])}") if _opt(d, "price") else None,
        t(f"• 주문 사유: {t.reason(d['order_reason'])}", f"• Order reason: {t.s(d['order_reason'])}")
        if _opt(d, "order_reason") else None,
    )
