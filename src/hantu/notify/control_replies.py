"""Templates of the trading controls (kinds `ctl_*`, from `hantu.bot.actions`) and of the read commands added
with them (/profit /daily /trades /risk /logs). Joined into `templates.TEMPLATES` like the other replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hantu.notify.kit import T, Template, _lines, _opt, collect

CONTROL_REPLIES: dict[str, Template] = {}
template = collect(CONTROL_REPLIES)

# The trading and read commands of this module, for /help (name: (Korean, English)).
CONTROL_COMMANDS: dict[str, tuple[str, str]] = {
    "sell": ("매도 — /sell 종목코드 [수량|all]", "Sell — /sell CODE [QTY|all]"),
    "buy": ("매수 (엔진과 같은 위험 검사) — /buy 종목코드 수량 [가격]", "Buy (the engine's risk checks) — /buy CODE QTY [PRICE]"),
    "cancel": ("주문 취소 — /cancel 주문번호|all", "Cancel — /cancel ORDER|all"),
    "flatten": ("전량 매도 (두 번 확인)", "Sell everything (confirmed twice)"),
    "profit": ("손익 — /profit [N일]", "Profit — /profit [N days]"),
    "daily": ("일별 손익 — /daily [N일]", "Daily P&L — /daily [N days]"),
    "trades": ("최근 체결 — /trades [N]", "Recent fills — /trades [N]"),
    "risk": ("위험 한도", "Risk limits"),
    "logs": ("최근 로그 (비밀값 가림) — /logs [N]", "Recent log lines (secrets masked) — /logs [N]"),
}

_KIND_NAMES = {"sell": ("매도", "Sell"), "buy": ("매수", "Buy"), "cancel": ("주문 취소", "Cancel"),
               "flatten": ("전량 매도", "Flatten"), "halt": ("거래 중단", "Halt"), "resume": ("거래 재개", "Resume")}


def kind_name(t: T, kind: Any) -> str:
    ko, en = _KIND_NAMES.get(str(kind), (str(kind), str(kind)))
    return t(ko, en)


def _order_type(t: T, row: Mapping[str, Any]) -> str:
    if row.get("price"):
        return t(f"지정가 {t.won(row['price'])}", f"limit {t.won(row['price'])}")
    return t("시장가", "market")


def preview_lines(kind: str, p: Mapping[str, Any], t: T) -> list[str]:
    """What the action will do, with prices and quantities (the confirmation shows exactly this)."""
    if kind in ("sell", "buy"):
        last = t(f" · 현재가 {t.won(p['last_price'])}", f" · last {t.won(p['last_price'])}") \
            if p.get("last_price") else ""
        amount = t(f" · 약 {t.won(p['amount'])}", f" · about {t.won(p['amount'])}") if p.get("amount") else ""
        return [f"• {t.side(kind)} {t.stock(p)} {t.shares(p['quantity'])} {_order_type(t, p)}{last}{amount}"]
    if kind == "cancel":
        return [f"• {t.side(o['side'])} {t.stock(o)} {int(o.get('filled_quantity') or 0):,}/{int(o['quantity']):,}"
                + (f" @ {t.won(o['price'])}" if o.get("price") else "") + f" [{t.s(o.get('client_order_id'))}]"
                for o in p.get("orders") or []]
    if kind == "flatten":
        rows = [f"• {t.side('sell')} {t.stock(r)} {t.shares(r['quantity'])} {t('시장가', 'market')}"
                + (f" · {t('현재가', 'last')} {t.won(r['last_price'])}" if r.get("last_price") else "")
                for r in p.get("positions") or []]
        return [*rows, t(f"합계 약 {t.won(p.get('amount') or 0)}", f"Total about {t.won(p.get('amount') or 0)}")]
    if _opt(p, "reason"):
        return [f"• {t('사유', 'Reason')}: {t.s(p['reason'])}"]
    return []


@template("ctl_confirm", required=["kind", "preview", "stage", "stages", "expires_at", "keyboard"],
          list_keys=["keyboard"])
def _ctl_confirm(d: Mapping[str, Any], t: T) -> str:
    """kind; preview: the action's preview (`hantu.bot.actions`); stage/stages: which confirmation this is;
    expires_at; keyboard: the inline buttons (rows of {text, callback_data}; sent as reply_markup)."""
    stage, stages = int(d["stage"]), int(d["stages"])
    if stage > 1:
        head = t(f"⚠️ <b>정말로 {kind_name(t, d['kind'])}하시겠습니까?</b> ({stage}/{stages}차 확인)",
                 f"⚠️ <b>Really {kind_name(t, d['kind']).lower()}?</b> (confirmation {stage}/{stages})")
    else:
        head = t(f"❓ <b>{kind_name(t, d['kind'])} 확인</b>", f"❓ <b>Confirm: {kind_name(t, d['kind'])}</b>") + \
            (f" (1/{stages})" if stages > 1 else "")
    return _lines(head, *preview_lines(str(d["kind"]), d["preview"], t),
                  t(f"확인 전에는 아무 주문도 나가지 않습니다. {t.when(d['expires_at'])} 까지 유효.",
                    f"Nothing is sent until you confirm. Valid until {t.when(d['expires_at'])}."))


@template("ctl_decided", required=["outcome", "kind"])
def _ctl_decided(d: Mapping[str, Any], t: T) -> str:
    """outcome: rejected | expired | already | unknown | denied | confirmed (what a tap did); kind."""
    name = kind_name(t, d["kind"])
    texts = {
        "rejected": t(f"🚫 {name}: 취소했습니다. 주문은 나가지 않았습니다.", f"🚫 {name}: cancelled; nothing was sent."),
        "expired": t(f"⌛ {name}: 확인 시간이 지나 만료되었습니다. 주문은 나가지 않았습니다.",
                     f"⌛ {name}: the confirmation expired; nothing was sent."),
        "already": t(f"ℹ️ {name}: 이미 처리된 요청입니다.", f"ℹ️ {name}: already handled."),
        "unknown": t("ℹ️ 알 수 없는 확인 요청입니다.", "ℹ️ Unknown confirmation."),
        "denied": t("⛔ 이 요청을 확인할 수 없습니다.", "⛔ Not yours to confirm."),
        "confirmed": t(f"⏳ {name}: 확인되었습니다. 주문을 보냅니다.", f"⏳ {name}: confirmed; sending."),
    }
    return texts.get(str(d["outcome"]), t.s(d["outcome"]))


@template("ctl_result", required=["kind", "status", "result"], optional=["preview", "actor", "source"],
          floor="high")
def _ctl_result(d: Mapping[str, Any], t: T) -> str:
    """kind; status: done | failed; result: {orders: [{code, side, quantity, price, status, client_order_id}],
    refused: [{code, quantity, reason}], error?} or, for halt/resume, {halted, changed, reason}; actor; source."""
    name, result = kind_name(t, d["kind"]), d["result"] or {}
    by = f" ({t.s(d['source'])}:{t.s(d['actor'])})" if _opt(d, "actor") else ""
    if d["status"] != "done":
        return _lines(t(f"❌ <b>{name} 실패</b>{by}", f"❌ <b>{name} failed</b>{by}"), t.s(result.get("error", "")))
    if d["kind"] in ("halt", "resume"):
        state = t("⛔ 신규 진입 중단", "⛔ new entries halted") if result.get("halted") else t("✅ 정상", "✅ active")
        same = "" if result.get("changed") else t(" (이미 그 상태)", " (already so)")
        return t(f"✅ <b>{name} 완료</b>{by}: {state}{same}", f"✅ <b>{name} done</b>{by}: {state}{same}")
    lines = [t(f"✅ <b>{name} 완료</b>{by}", f"✅ <b>{name} done</b>{by}")]
    for o in result.get("orders") or []:
        lines.append(f"• {t.side(o['side'])} {t.stock(o)} {t.shares(o['quantity'])} [{t.s(o.get('status'))}]")
    for r in result.get("refused") or []:
        lines.append(t(f"• ⛔ {t.s(r['code'])} {t.shares(r['quantity'])} 거부: {t.reason(r.get('reason'))}",
                       f"• ⛔ {t.s(r['code'])} {t.shares(r['quantity'])} refused: {t.s(r.get('reason'))}"))
    return _lines(*lines)


@template("ctl_refused", required=["ko", "en"])
def _ctl_refused(d: Mapping[str, Any], t: T) -> str:
    """ko, en: why the action could not be proposed (`ActionError`)."""
    return "⚠️ " + t(t.s(d["ko"]), t.s(d["en"]))


@template("cmd_profit", required=["days", "realized", "trades"],
          optional=["fees", "taxes", "wins", "losses", "unrealized", "start", "end"])
def _cmd_profit(d: Mapping[str, Any], t: T) -> str:
    """days; start, end; realized (after costs), fees, taxes, trades, wins, losses; unrealized (now)."""
    span = f" ({t.when(d['start'])} ~ {t.when(d['end'])})" if _opt(d, "start") else ""
    lines = [t(f"📈 <b>최근 {int(d['days'])}일 손익</b>{span}", f"📈 <b>Profit, last {int(d['days'])} days</b>{span}"),
             t(f"• 실현손익: {t.won(d['realized'], True)}", f"• Realized: {t.won(d['realized'], True)}"),
             t(f"• 매도 거래: {int(d['trades'])}건 (수익 {int(d.get('wins') or 0)} · 손실 {int(d.get('losses') or 0)})",
               f"• Closed trades: {int(d['trades'])} (won {int(d.get('wins') or 0)} · lost {int(d.get('losses') or 0)})")]
    if d.get("fees") is not None:
        lines.append(t(f"• 수수료 {t.won(d['fees'])} · 세금 {t.won(d.get('taxes') or 0)}",
                       f"• Fees {t.won(d['fees'])} · taxes {t.won(d.get('taxes') or 0)}"))
    if d.get("unrealized") is not None:
        lines.append(t(f"• 평가손익(현재): {t.won(d['unrealized'], True)}", f"• Unrealized now: {t.won(d['unrealized'], True)}"))
    return _lines(*lines)


@template("cmd_daily", required=["days"], list_keys=["days"])
def _cmd_daily(d: Mapping[str, Any], t: T) -> str:
    """days: list of {trading_date, equity, realized_pnl, day_return_pct?} from the daily reports, newest first."""
    rows = list(d["days"])
    if not rows:
        return t("ℹ️ 일일 리포트 데이터가 아직 없습니다.", "ℹ️ No daily report data yet.")
    lines = [t(f"🗓 <b>일별 손익 {len(rows)}일</b>", f"🗓 <b>Daily P&amp;L, {len(rows)} days</b>")]
    for r in rows:
        pct = f" ({t.pct(r['day_return_pct'])})" if r.get("day_return_pct") is not None else ""
        lines.append(f"• {t.when(r['trading_date'])}: {t.won(r['realized_pnl'], True)}{pct} · "
                     + t(f"평가자산 {t.won(r['equity'])}", f"equity {t.won(r['equity'])}"))
    return _lines(*lines)


@template("cmd_trades", required=["trades"], list_keys=["trades"])
def _cmd_trades(d: Mapping[str, Any], t: T) -> str:
    """trades: list of {filled_at, code, name, side, quantity, price, commission, tax}, newest first."""
    rows = list(d["trades"])
    if not rows:
        return t("ℹ️ 체결 내역이 없습니다.", "ℹ️ No fills yet.")
    lines = [t(f"🔁 <b>최근 체결 {len(rows)}건</b>", f"🔁 <b>Last {len(rows)} fills</b>")]
    for r in rows:
        lines.append(f"• {t.when(r['filled_at'])} {t.side(r['side'])} {t.stock(r)} {t.shares(r['quantity'])} "
                     f"@ {t.won(r['price'])}")
    return _lines(*lines)


_RISK_LABELS = {
    "max_open_positions": ("최대 보유 종목 수", "Max open positions", "count"),
    "max_position_weight": ("종목당 최대 비중", "Max weight per position", "pct"),
    "max_new_entries_per_day": ("하루 최대 신규 진입", "Max new entries a day", "count"),
    "daily_loss_limit": ("일일 손실 한도", "Daily loss limit", "pct"),
    "max_drawdown": ("최대 낙폭 한도", "Max drawdown", "pct"),
    "stop_loss_pct": ("손절 기준", "Stop loss", "pct"),
    "take_profit_pct": ("익절 기준", "Take profit", "pct"),
    "trailing_stop_pct": ("추적 손절", "Trailing stop", "pct"),
}


@template("cmd_risk", required=["limits", "halted"], optional=["halt_reason", "daily_blocked"])
def _cmd_risk(d: Mapping[str, Any], t: T) -> str:
    """limits: the risk config as a dict (fractions of equity); halted; halt_reason; daily_blocked: bool."""
    lines = [t("🛡 <b>위험 한도</b>", "🛡 <b>Risk limits</b>")]
    for key, value in dict(d["limits"]).items():
        ko, en, unit = _RISK_LABELS.get(key, (key, key, ""))
        if value is None:
            shown = t("끔", "off")
        elif unit == "pct":
            shown = t.pct(float(value) * 100, signed=False)
        elif isinstance(value, bool):
            shown = t("예", "yes") if value else t("아니오", "no")
        else:
            shown = t.s(value)
        lines.append(f"• {t(t.s(ko), t.s(en))}: {shown}")
    if d["halted"]:
        why = f" — {t.s(d['halt_reason'])}" if _opt(d, "halt_reason") else ""
        lines.append(t(f"⛔ 신규 진입 중단 중{why}", f"⛔ New entries halted{why}"))
    if d.get("daily_blocked"):
        lines.append(t("⛔ 오늘 일일 손실 한도 도달", "⛔ Daily loss limit reached today"))
    return _lines(*lines)


@template("cmd_logs", required=["lines"], optional=["file"], list_keys=["lines"])
def _cmd_logs(d: Mapping[str, Any], t: T) -> str:
    """lines: the last log lines (already masked); file: which process log."""
    rows = list(d["lines"])
    head = t("📜 <b>최근 로그</b>", "📜 <b>Recent log</b>") + (f" ({t.s(d['file'])})" if _opt(d, "file") else "")
    if not rows:
        return _lines(head, t("로그가 없습니다.", "No log lines."))
    return _lines(head, "<pre>" + t.s("\n".join(str(r)[:300] for r in rows)) + "</pre>")
