"""Message templates: one per kind, Korean by default and English on `HANTU_LANGUAGE=en`.

Every figure comes from the `data` the caller passes; nothing is a constant. `TEMPLATES[kind].required` lists
the keys a caller must provide (checked at enqueue time, so a mistake fails in the caller's test, not at
3 a.m.), `optional` the keys that add lines when present. Values are plain JSON-able things: numbers (int,
float or Decimal), strings, lists of dicts, and dates/datetimes (objects or ISO strings).

Rendering escapes every value for Telegram's HTML parse mode (see `formatting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hantu.notify.control_replies import CONTROL_REPLIES
from hantu.notify.drift_messages import DRIFT
from hantu.notify.kit import (
    Language,
    Priority,
    T,
    Template,
    _lines,
    _opt,
    _positions_lines,
    collect,
)
from hantu.notify.market_templates import MARKET_ALERTS
from hantu.notify.replies import REPLIES


class UnknownKindError(ValueError):
    """`enqueue` was given a kind no template exists for."""


class TemplateDataError(ValueError):
    """The data for a template lacks required keys or has values of the wrong shape."""


TEMPLATES: dict[str, Template] = {}  # every kind: the alerts below, then the command replies (`replies`)
template = collect(TEMPLATES)


def validate(kind: str, data: Mapping[str, Any]) -> Template:
    """The template for `kind`, after checking `data` has what it needs (clear errors otherwise)."""
    tpl = TEMPLATES.get(kind)
    if tpl is None:
        raise UnknownKindError(f"unknown notification kind {kind!r}; known kinds: {', '.join(sorted(TEMPLATES))}")
    if not isinstance(data, Mapping):
        raise TemplateDataError(f"{kind}: data must be a dict, got {type(data).__name__}")
    missing = [key for key in tpl.required if data.get(key) is None]
    if missing:
        raise TemplateDataError(f"{kind}: missing required keys {missing}; required: {list(tpl.required)}, "
                                f"optional: {list(tpl.optional)}")
    wrong = [key for key in tpl.list_keys if key in data and data[key] is not None
             and not isinstance(data[key], (list, tuple))]
    if wrong:
        raise TemplateDataError(f"{kind}: keys {wrong} must be lists")
    return tpl


def render(kind: str, data: Mapping[str, Any], language: Language = "ko") -> str:
    """The message text (HTML parse mode) for `kind` with `data`."""
    tpl = validate(kind, data)
    try:
        return tpl.render(data, T(language)).strip()
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise TemplateDataError(f"{kind}: data does not fit the template ({error}); "
                                f"required: {list(tpl.required)}, optional: {list(tpl.optional)}") from error


# =================================================================================================
# Scheduler and data
# =================================================================================================


@template("scheduler_started", required=["mode"], optional=["strategy", "version", "jobs", "server", "pid"])
def _scheduler_started(d: Mapping[str, Any], t: T) -> str:
    """mode: paper|kis; strategy: name; version: str; jobs: list of job names or a count; server: virtual|prod."""
    jobs = d.get("jobs")
    job_text = None
    if jobs is not None:
        count = len(jobs) if isinstance(jobs, (list, tuple)) else int(jobs)
        job_text = t(f"• 작업: {count}개", f"• Jobs: {count}")
    return _lines(
        t("🟢 <b>스케줄러 시작</b>", "🟢 <b>Scheduler started</b>"),
        t(f"• 모드: {t.s(d['mode'])}", f"• Mode: {t.s(d['mode'])}"),
        t(f"• 서버: {t.s(d['server'])}", f"• Server: {t.s(d['server'])}") if _opt(d, "server") else None,
        t(f"• 전략: {t.s(d['strategy'])}", f"• Strategy: {t.s(d['strategy'])}") if _opt(d, "strategy") else None,
        job_text,
        t(f"• 버전: {t.s(d['version'])}", f"• Version: {t.s(d['version'])}") if _opt(d, "version") else None,
        f"• PID: {t.s(d['pid'])}" if _opt(d, "pid") else None,
    )


@template("scheduler_stopped", required=["reason"], optional=["uptime_seconds"], floor="normal")
def _scheduler_stopped(d: Mapping[str, Any], t: T) -> str:
    """reason: why it stopped (e.g. "SIGTERM"); uptime_seconds: how long it ran."""
    uptime = None
    if _opt(d, "uptime_seconds"):
        secs = int(float(d["uptime_seconds"]))
        hours, rest = divmod(secs, 3600)
        uptime = t(f"• 가동 시간: {hours}시간 {rest // 60}분", f"• Uptime: {hours}h {rest // 60}m")
    return _lines(t("🔴 <b>스케줄러 종료</b>", "🔴 <b>Scheduler stopped</b>"),
                  t(f"• 사유: {t.reason(d['reason'])}", f"• Reason: {t.s(d['reason'])}"), uptime)


@template("heartbeat_missed", required=["process", "last_seen", "missed_seconds"], floor="high")
def _heartbeat_missed(d: Mapping[str, Any], t: T) -> str:
    """process: which process went quiet; last_seen: its last heartbeat; missed_seconds: silence so far."""
    return _lines(
        t("💔 <b>하트비트 누락</b>", "💔 <b>Heartbeat missed</b>"),
        t(f"• 프로세스: {t.s(d['process'])}", f"• Process: {t.s(d['process'])}"),
        t(f"• 마지막 신호: {t.when(d['last_seen'])}", f"• Last seen: {t.when(d['last_seen'])}"),
        t(f"• 무응답: {t.num(d['missed_seconds'])}초", f"• Silent for: {t.num(d['missed_seconds'])} s"),
    )


@template("data_sync_done", required=["trading_date", "stocks", "rows", "elapsed_seconds"],
          optional=["failed", "source"])
def _data_sync_done(d: Mapping[str, Any], t: T) -> str:
    """trading_date; stocks: instruments updated; rows: price rows written; elapsed_seconds; failed: count;
    source: where the data came from."""
    return _lines(
        t("📥 <b>데이터 동기화 완료</b>", "📥 <b>Data sync done</b>") + f" ({t.when(d['trading_date'])})",
        t(f"• 종목: {t.num(d['stocks'])}개", f"• Stocks: {t.num(d['stocks'])}"),
        t(f"• 행: {t.num(d['rows'])}", f"• Rows: {t.num(d['rows'])}"),
        t(f"• 실패: {t.num(d['failed'])}개", f"• Failed: {t.num(d['failed'])}") if _opt(d, "failed") else None,
        t(f"• 출처: {t.s(d['source'])}", f"• Source: {t.s(d['source'])}") if _opt(d, "source") else None,
        t(f"• 소요: {t.num(d['elapsed_seconds'], 1)}초", f"• Took: {t.num(d['elapsed_seconds'], 1)} s"),
    )


def _ranked(rows: Sequence[Mapping[str, Any]], t: T, limit: int = 10) -> list[str]:
    out = []
    for i, row in enumerate(rows[:limit], 1):
        extra = f" — {t.num(row['score'], 2)}" if row.get("score") is not None else ""
        out.append(f"{i}. {t.stock(row)}{extra}")
    if len(rows) > limit:
        out.append(t(f"… 외 {len(rows) - limit}개", f"… and {len(rows) - limit} more"))
    return out


@template("screening_done", required=["trading_date", "universe_size", "passed", "top"],
          optional=["strategy", "elapsed_seconds"], list_keys=["top"])
def _screening_done(d: Mapping[str, Any], t: T) -> str:
    """trading_date; universe_size: stocks screened; passed: stocks that passed; top: list of
    {code, name, score} best first (up to 10 are shown); strategy; elapsed_seconds."""
    universe, passed = int(d["universe_size"]), int(d["passed"])
    ratio = f" ({passed / universe * 100:.1f}%)" if universe else ""
    return _lines(
        t("🔍 <b>스크리닝 완료</b>", "🔍 <b>Screening done</b>") + f" ({t.when(d['trading_date'])})",
        t(f"• 전략: {t.s(d['strategy'])}", f"• Strategy: {t.s(d['strategy'])}") if _opt(d, "strategy") else None,
        t(f"• 대상 종목: {universe:,}개", f"• Universe: {universe:,} stocks"),
        t(f"• 통과: {passed:,}개{ratio}", f"• Passed: {passed:,}{ratio}"),
        t(f"• 소요: {t.num(d['elapsed_seconds'], 1)}초", f"• Took: {t.num(d['elapsed_seconds'], 1)} s")
        if _opt(d, "elapsed_seconds") else None,
        t("<b>상위 종목</b>", "<b>Top names</b>") if d["top"] else None,
        *_ranked(list(d["top"]), t),
    )


@template("selection_done", required=["trading_date", "selected"], optional=["strategy", "candidates"],
          list_keys=["selected"])
def _selection_done(d: Mapping[str, Any], t: T) -> str:
    """trading_date; selected: list of {code, name, score?, weight? (0..1), reason?}; strategy;
    candidates: how many were considered."""
    rows = list(d["selected"])
    lines = [t("🎯 <b>오늘의 선정 종목</b>", "🎯 <b>Today's selection</b>") + f" ({t.when(d['trading_date'])})"]
    if _opt(d, "strategy"):
        lines.append(t(f"• 전략: {t.s(d['strategy'])}", f"• Strategy: {t.s(d['strategy'])}"))
    count = t(f"• 선정: {len(rows)}개", f"• Selected: {len(rows)}")
    if _opt(d, "candidates"):
        count += t(f" / 후보 {t.num(d['candidates'])}개", f" of {t.num(d['candidates'])} candidates")
    lines.append(count)
    if not rows:
        lines.append(t("선정된 종목이 없습니다.", "Nothing selected."))
    for i, row in enumerate(rows, 1):
        bits = [f"{i}. {t.stock(row)}"]
        if row.get("score") is not None:
            bits.append(t(f"점수 {t.num(row['score'], 2)}", f"score {t.num(row['score'], 2)}"))
        if row.get("weight") is not None:
            bits.append(t(f"비중 {float(row['weight']) * 100:.1f}%", f"weight {float(row['weight']) * 100:.1f}%"))
        if row.get("reason"):
            bits.append(t.reason(row["reason"]))
        lines.append(" · ".join(bits))
    return _lines(*lines)


# =================================================================================================
# Orders and positions
# =================================================================================================


def _order_head(emoji: str, ko: str, en: str, d: Mapping[str, Any], t: T) -> str:
    return f"{emoji} <b>{t(ko, en)}</b> {t.side(d['side'])} {t.stock(d)}"


@template("order_placed", required=["code", "name", "side", "quantity", "order_type"],
          optional=["price", "client_order_id", "reason"])
def _order_placed(d: Mapping[str, Any], t: T) -> str:
    """code, name; side: buy|sell; quantity; order_type: limit|market; price (limit orders);
    client_order_id; reason."""
    kind = str(d["order_type"]).lower()
    type_text = {"limit": t("지정가", "limit"), "market": t("시장가", "market")}.get(kind, t.s(kind))
    price = f" @ {t.won(d['price'])}" if _opt(d, "price") else ""
    return _lines(
        _order_head("📝", "주문 접수", "Order placed", d, t),
        t(f"• 수량: {t.shares(d['quantity'])} ({type_text}{price})",
          f"• Quantity: {t.shares(d['quantity'])} ({type_text}{price})"),
        t(f"• 사유: {t.reason(d['reason'])}", f"• Reason: {t.s(d['reason'])}") if _opt(d, "reason") else None,
        t(f"• 주문번호: {t.s(d['client_order_id'])}", f"• Order id: {t.s(d['client_order_id'])}")
        if _opt(d, "client_order_id") else None,
    )


@template("order_filled", required=["code", "name", "side", "quantity", "price"],
          optional=["amount", "fees", "taxes", "realized_pnl", "client_order_id"])
def _order_filled(d: Mapping[str, Any], t: T) -> str:
    """code, name, side; quantity filled; price: average fill price; amount (default quantity × price);
    fees, taxes; realized_pnl (sells); client_order_id."""
    amount = d.get("amount")
    if amount is None:
        amount = float(d["quantity"]) * float(d["price"])
    costs = []
    if _opt(d, "fees"):
        costs.append(t(f"수수료 {t.won(d['fees'])}", f"fees {t.won(d['fees'])}"))
    if _opt(d, "taxes"):
        costs.append(t(f"세금 {t.won(d['taxes'])}", f"taxes {t.won(d['taxes'])}"))
    return _lines(
        _order_head("✅", "체결", "Filled", d, t),
        t(f"• {t.shares(d['quantity'])} @ {t.won(d['price'])} = {t.won(amount)}",
          f"• {t.shares(d['quantity'])} @ {t.won(d['price'])} = {t.won(amount)}"),
        "• " + ", ".join(costs) if costs else None,
        t(f"• 실현손익: {t.won(d['realized_pnl'], True)}", f"• Realized P&amp;L: {t.won(d['realized_pnl'], True)}")
        if _opt(d, "realized_pnl") else None,
        t(f"• 주문번호: {t.s(d['client_order_id'])}", f"• Order id: {t.s(d['client_order_id'])}")
        if _opt(d, "client_order_id") else None,
    )


@template("order_partially_filled", required=["code", "name", "side", "filled_quantity", "order_quantity", "price"],
          optional=["client_order_id"])
def _order_partially_filled(d: Mapping[str, Any], t: T) -> str:
    """code, name, side; filled_quantity: filled so far; order_quantity: ordered; price: average fill price."""
    filled, ordered = int(d["filled_quantity"]), int(d["order_quantity"])
    return _lines(
        _order_head("🟡", "부분 체결", "Partially filled", d, t),
        t(f"• 체결: {filled:,} / {ordered:,}주 @ {t.won(d['price'])} (잔량 {ordered - filled:,}주)",
          f"• Filled: {filled:,} / {ordered:,} sh @ {t.won(d['price'])} ({ordered - filled:,} remaining)"),
        t(f"• 주문번호: {t.s(d['client_order_id'])}", f"• Order id: {t.s(d['client_order_id'])}")
        if _opt(d, "client_order_id") else None,
    )


@template("order_rejected", required=["code", "name", "side", "quantity", "reason"],
          optional=["price", "client_order_id"], floor="high")
def _order_rejected(d: Mapping[str, Any], t: T) -> str:
    """code, name, side, quantity; reason: the broker's message; price; client_order_id."""
    price = f" @ {t.won(d['price'])}" if _opt(d, "price") else ""
    return _lines(
        _order_head("⛔", "주문 거부", "Order rejected", d, t),
        t(f"• 수량: {t.shares(d['quantity'])}{price}", f"• Quantity: {t.shares(d['quantity'])}{price}"),
        t(f"• 사유: {t.s(d['reason'])}", f"• Reason: {t.s(d['reason'])}"),
    )


@template("order_cancelled", required=["code", "name", "side", "quantity"],
          optional=["filled_quantity", "reason", "client_order_id"])
def _order_cancelled(d: Mapping[str, Any], t: T) -> str:
    """code, name, side; quantity: the cancelled (unfilled) quantity; filled_quantity; reason."""
    return _lines(
        _order_head("↩️", "주문 취소", "Order cancelled", d, t),
        t(f"• 취소 수량: {t.shares(d['quantity'])}", f"• Cancelled: {t.shares(d['quantity'])}"),
        t(f"• 체결된 수량: {t.shares(d['filled_quantity'])}", f"• Already filled: {t.shares(d['filled_quantity'])}")
        if _opt(d, "filled_quantity") else None,
        t(f"• 사유: {t.reason(d['reason'])}", f"• Reason: {t.s(d['reason'])}") if _opt(d, "reason") else None,
    )


def _exit_hit(emoji: str, ko: str, en: str, d: Mapping[str, Any], t: T) -> str:
    entry, trigger, qty = float(d["entry_price"]), float(d["trigger_price"]), float(d["quantity"])
    pnl = float(d["pnl"]) if _opt(d, "pnl") else (trigger - entry) * qty
    pnl_pct = float(d["pnl_pct"]) if _opt(d, "pnl_pct") else ((trigger / entry - 1) * 100 if entry else 0.0)
    return _lines(
        f"{emoji} <b>{t(ko, en)}</b> {t.stock(d)}",
        t(f"• 진입가 {t.won(entry)} → 현재가 {t.won(trigger)}", f"• Entry {t.won(entry)} → now {t.won(trigger)}"),
        t(f"• 수량: {t.shares(qty)}", f"• Quantity: {t.shares(qty)}"),
        t(f"• 손익: {t.won(pnl, True)} ({t.pct(pnl_pct)})", f"• P&amp;L: {t.won(pnl, True)} ({t.pct(pnl_pct)})"),
        t(f"• 기준: {t.s(d['rule'])}", f"• Rule: {t.s(d['rule'])}") if _opt(d, "rule") else None,
    )


@template("stop_hit", required=["code", "name", "entry_price", "trigger_price", "quantity"],
          optional=["pnl", "pnl_pct", "rule"], floor="high")
def _stop_hit(d: Mapping[str, Any], t: T) -> str:
    """code, name; entry_price: average cost; trigger_price: price that hit the stop; quantity;
    pnl / pnl_pct (computed from the prices when absent); rule: e.g. "-5% stop"."""
    return _exit_hit("🛑", "손절 도달", "Stop hit", d, t)


@template("target_hit", required=["code", "name", "entry_price", "trigger_price", "quantity"],
          optional=["pnl", "pnl_pct", "rule"], floor="normal")
def _target_hit(d: Mapping[str, Any], t: T) -> str:
    """Same data as stop_hit."""
    return _exit_hit("🎉", "목표가 도달", "Target hit", d, t)


# =================================================================================================
# Risk and reconciliation
# =================================================================================================


@template("risk_halt", required=["reason"], optional=["metric", "value", "limit", "source", "book"],
          floor="critical")
def _risk_halt(d: Mapping[str, Any], t: T) -> str:
    """reason; metric: e.g. "daily_loss_pct"; value and limit: the figure and the limit it broke (percent);
    source: risk|cli|api|telegram; book: the broker book whose limit it was (a shadow book halts only itself)."""
    figure = None
    if _opt(d, "metric") and _opt(d, "value"):
        limit = f" ({t('한도', 'limit')} {t.s(d['limit'])})" if _opt(d, "limit") else ""
        figure = f"• {t.s(d['metric'])}: {t.s(d['value'])}{limit}"
    return _lines(
        t("🚨 <b>거래 중단 (신규 진입 차단)</b>", "🚨 <b>Trading halted (no new entries)</b>"),
        t(f"• 사유: {t.s(d['reason'])}", f"• Reason: {t.s(d['reason'])}"),
        figure,
        t(f"• 출처: {t.s(d['source'])}", f"• Source: {t.s(d['source'])}") if _opt(d, "source") else None,
        t(f"• 장부: {t.s(d['book'])}", f"• Book: {t.s(d['book'])}") if _opt(d, "book") else None,
        t("재개: /resume 또는 hantu trade resume", "Resume with /resume or hantu trade resume"),
    )


@template("reconciliation_mismatch", required=["items"], optional=["action"], floor="high", list_keys=["items"])
def _reconciliation_mismatch(d: Mapping[str, Any], t: T) -> str:
    """items: list of {id? (the trade_reconciliations row), code, name?, field (e.g. quantity|cash), ours,
    broker}; action: what was done. The id tells apart two differences that would otherwise read the same."""
    lines = [t("⚖️ <b>잔고 불일치</b>", "⚖️ <b>Reconciliation mismatch</b>"),
             t(f"• 불일치: {len(d['items'])}건", f"• Mismatches: {len(d['items'])}")]
    for item in list(d["items"])[:20]:
        who = t.stock(item) if item.get("code") else ""
        ref = f"#{t.s(item['id'])} " if item.get("id") is not None else ""
        lines.append(f"  - {ref}{who} {t.s(item.get('field', ''))}: "
                     f"{t('우리', 'ours')} {t.s(item.get('ours'))} / {t('증권사', 'broker')} {t.s(item.get('broker'))}")
    if _opt(d, "action"):
        lines.append(t(f"• 조치: {t.s(d['action'])}", f"• Action: {t.s(d['action'])}"))
    return _lines(*lines)


@template("corporate_action", required=["items"], floor="normal", list_keys=["items"])
def _corporate_action(d: Mapping[str, Any], t: T) -> str:
    """items: list of {code, name?, text (Korean: the action, quantity and average price before → after), ours,
    broker, avg_before, avg_after}: held positions a split, consolidation or bonus issue changed (reconciled as
    that event, not as a mismatch)."""
    lines = [t("🔀 <b>권리변동 반영</b>", "🔀 <b>Corporate action applied</b>")]
    for item in list(d["items"])[:20]:
        who = t.stock(item) if item.get("code") else ""
        lines.append(t(f"  - {who} {t.s(item.get('text', ''))}",
                       f"  - {who} quantity {t.s(item.get('ours'))} → {t.s(item.get('broker'))}, average price "
                       f"{t.s(item.get('avg_before'))} → {t.s(item.get('avg_after'))}"))
    return _lines(*lines)


# =================================================================================================
# Reports
# =================================================================================================


@template("daily_report",
          required=["trading_date", "realized_pnl", "unrealized_pnl", "equity", "cash", "positions", "trades",
                    "fees", "taxes"],
          optional=["day_return_pct", "total_return_pct", "buys", "sells"], floor="normal",
          list_keys=["positions"])
def _daily_report(d: Mapping[str, Any], t: T) -> str:
    """trading_date; realized_pnl, unrealized_pnl, equity, cash (won); positions: list of {code, name,
    quantity, avg_price?, last_price?, pnl?, pnl_pct?}; trades: number of fills today; buys/sells: counts;
    fees, taxes (won, today); day_return_pct, total_return_pct (percent)."""
    total = float(d["realized_pnl"]) + float(d["unrealized_pnl"])
    ret = f" ({t.pct(d['day_return_pct'])})" if _opt(d, "day_return_pct") else ""
    trade_detail = ""
    if _opt(d, "buys") or _opt(d, "sells"):
        trade_detail = t(f" (매수 {int(d.get('buys') or 0)} / 매도 {int(d.get('sells') or 0)})",
                         f" ({int(d.get('buys') or 0)} buys / {int(d.get('sells') or 0)} sells)")
    positions = list(d["positions"])
    return _lines(
        t("📊 <b>일일 리포트</b>", "📊 <b>Daily report</b>") + f" ({t.when(d['trading_date'])})",
        t(f"• 손익: {t.won(total, True)}{ret}", f"• P&amp;L: {t.won(total, True)}{ret}"),
        t(f"  실현 {t.won(d['realized_pnl'], True)} / 평가 {t.won(d['unrealized_pnl'], True)}",
          f"  realized {t.won(d['realized_pnl'], True)} / unrealized {t.won(d['unrealized_pnl'], True)}"),
        t(f"• 평가자산: {t.won(d['equity'])} (현금 {t.won(d['cash'])})",
          f"• Equity: {t.won(d['equity'])} (cash {t.won(d['cash'])})"),
        t(f"• 누적 수익률: {t.pct(d['total_return_pct'])}", f"• Total return: {t.pct(d['total_return_pct'])}")
        if _opt(d, "total_return_pct") else None,
        t(f"• 체결: {int(d['trades'])}건{trade_detail}", f"• Trades: {int(d['trades'])}{trade_detail}"),
        t(f"• 수수료 {t.won(d['fees'])} · 세금 {t.won(d['taxes'])}",
          f"• Fees {t.won(d['fees'])} · taxes {t.won(d['taxes'])}"),
        t(f"<b>보유 종목 {len(positions)}개</b>", f"<b>{len(positions)} positions</b>"),
        *(_positions_lines(positions, t) or [t("보유 종목 없음", "No positions")]),
    )


@template("weekly_summary",
          required=["week_start", "week_end", "start_equity", "end_equity", "realized_pnl", "trades", "fees",
                    "taxes"],
          optional=["win_rate", "best", "worst", "trading_days"], floor="normal")
def _weekly_summary(d: Mapping[str, Any], t: T) -> str:
    """week_start, week_end; start_equity, end_equity, realized_pnl (won); trades: fills in the week;
    win_rate: 0..1 of closed trades; best / worst: {code, name, pnl}; fees, taxes; trading_days."""
    start, end = float(d["start_equity"]), float(d["end_equity"])
    change = end - start
    pct = (change / start * 100) if start else 0.0
    lines = [
        t("🗓️ <b>주간 요약</b>", "🗓️ <b>Weekly summary</b>") + f" ({t.when(d['week_start'])} ~ {t.when(d['week_end'])})",
        t(f"• 평가자산: {t.won(start)} → {t.won(end)} ({t.won(change, True)}, {t.pct(pct)})",
          f"• Equity: {t.won(start)} → {t.won(end)} ({t.won(change, True)}, {t.pct(pct)})"),
        t(f"• 실현손익: {t.won(d['realized_pnl'], True)}", f"• Realized P&amp;L: {t.won(d['realized_pnl'], True)}"),
        t(f"• 체결: {int(d['trades'])}건", f"• Trades: {int(d['trades'])}"),
    ]
    if _opt(d, "win_rate"):
        lines.append(t(f"• 승률: {float(d['win_rate']) * 100:.1f}%", f"• Win rate: {float(d['win_rate']) * 100:.1f}%"))
    if _opt(d, "trading_days"):
        lines.append(t(f"• 거래일: {int(d['trading_days'])}일", f"• Trading days: {int(d['trading_days'])}"))
    lines.append(t(f"• 수수료 {t.won(d['fees'])} · 세금 {t.won(d['taxes'])}",
                   f"• Fees {t.won(d['fees'])} · taxes {t.won(d['taxes'])}"))
    for key, ko, en in (("best", "최고", "Best"), ("worst", "최저", "Worst")):
        if _opt(d, key):
            row = d[key]
            lines.append(f"• {t(ko, en)}: {t.stock(row)} {t.won(row.get('pnl', 0), True)}")
    return _lines(*lines)


# =================================================================================================
# Errors and operations
# =================================================================================================


@template("error", required=["error_kind", "message"], optional=["where", "suppressed"], floor="high")
def _error(d: Mapping[str, Any], t: T) -> str:
    """error_kind: a stable name used for rate limiting (one message per kind per window, see
    `outbox.ERROR_RATE_WINDOW`); message: the error text (secrets masked by the caller's logging rules);
    where: job or module. `suppressed` is filled by the outbox: how many of this kind were held back."""
    message = str(d["message"])
    if len(message) > 1500:
        message = message[:1500] + " …"
    return _lines(
        t("❗ <b>오류</b>", "❗ <b>Error</b>") + f" [{t.s(d['error_kind'])}]",
        t(f"• 위치: {t.s(d['where'])}", f"• Where: {t.s(d['where'])}") if _opt(d, "where") else None,
        f"<code>{t.s(message)}</code>",
        t(f"• 같은 종류의 오류 {int(d['suppressed'])}건은 생략했습니다", f"• {int(d['suppressed'])} more of this kind held back")
        if _opt(d, "suppressed") else None,
    )


def _deploy_priority(d: Mapping[str, Any]) -> Priority:
    failures = int(d.get("consecutive_failures") or 0)
    return "critical" if failures >= 5 else "high" if failures >= 2 else "normal"


DEFAULT_PROJECT_DIR = "/opt/hantu_quant"  # the deployment guide's install directory


def _commands(*lines: str) -> str:
    """Shell commands as a preformatted block (Telegram HTML)."""
    return "<pre>" + "\n".join(lines) + "</pre>"


@template("deploy_failures", required=["consecutive_failures"],
          optional=["at", "branch", "commit", "last_success", "reason", "project_dir"], floor=_deploy_priority)
def _deploy_failures(d: Mapping[str, Any], t: T) -> str:
    """consecutive_failures (≥ 2: high, ≥ 5: critical); at: time of the failure; branch; commit;
    last_success: time of the last good deploy; reason: why it failed; project_dir: where to deploy by hand."""
    failures = int(d["consecutive_failures"])
    head = "🚨🚨🚨" if failures >= 5 else "⚠️"
    info = [
        t(f"• 브랜치: {t.s(d['branch'])}", f"• Branch: {t.s(d['branch'])}") if _opt(d, "branch") else None,
        t(f"• 커밋: {t.s(d['commit'])}", f"• Commit: {t.s(d['commit'])}") if _opt(d, "commit") else None,
        t(f"• 마지막 성공: {t.when(d['last_success'])}", f"• Last success: {t.when(d['last_success'])}")
        if _opt(d, "last_success") else None,
        t(f"• 실패 이유: {t.s(d['reason'])}", f"• Reason: {t.s(d['reason'])}") if _opt(d, "reason") else None,
    ]
    info = [line for line in info if line]
    return _lines(
        head + t(" <b>배포 연속 실패 알림</b>", " <b>Consecutive deploy failures</b>"),
        "",
        t(f"⏰ 시간: {t.when(d['at'])}", f"⏰ Time: {t.when(d['at'])}") if _opt(d, "at") else None,
        t("🔴 상태: 배포 실패", "🔴 Status: deploy failed"),
        t(f"📊 연속 실패: {failures}회", f"📊 Consecutive failures: {failures}"),
        "",
        t("⚠️ 조속한 확인 필요", "⚠️ Please check soon"),
        *(["", t("📝 배포 정보:", "📝 Deploy:"), *info] if info else []),
        "",
        t("🔧 조치 사항:", "🔧 What to do:"),
        t("1. 서버 로그 확인\n2. 배포 스크립트 점검\n3. 환경 변수 검증\n4. 의존성 확인",
          "1. Check the server logs\n2. Check the deploy script\n3. Validate the environment\n4. Check dependencies"),
        "",
        t("💡 수동 배포:", "💡 Deploy by hand:"),
        _commands(f"cd {t.s(d.get('project_dir') or DEFAULT_PROJECT_DIR)}",
                  f"git pull origin {t.s(d.get('branch') or 'main')}", "./scripts/deployment/deploy.sh"),
    )


def _memory_priority(d: Mapping[str, Any]) -> Priority:
    return "critical" if int(d.get("retries") or 0) >= 3 else "high"


@template("low_memory", required=["available_mb", "threshold_mb"], optional=["at", "total_mb", "retries"],
          floor=_memory_priority)
def _low_memory(d: Mapping[str, Any], t: T) -> str:
    """available_mb: free memory now; threshold_mb: what is needed; total_mb; at; retries (≥ 3: critical)."""
    available, threshold = float(d["available_mb"]), float(d["threshold_mb"])
    used = ""
    if _opt(d, "total_mb") and float(d["total_mb"]) > 0:
        total = float(d["total_mb"])
        used = t(f"\n📊 메모리 사용: {total - available:,.0f} MB / {total:,.0f} MB ({(total - available) / total * 100:.1f}%)",
                 f"\n📊 Memory used: {total - available:,.0f} MB / {total:,.0f} MB ({(total - available) / total * 100:.1f}%)")
    head = "🚨" if _memory_priority(d) == "critical" else "⚠️"
    return _lines(
        head + t(" <b>메모리 부족 알림</b>", " <b>Low memory</b>"),
        "",
        t(f"⏰ 시간: {t.when(d['at'])}", f"⏰ Time: {t.when(d['at'])}") if _opt(d, "at") else None,
        t(f"📉 가용 메모리: {available:,.0f} MB (기준 {threshold:,.0f} MB)",
          f"📉 Available: {available:,.0f} MB (needs {threshold:,.0f} MB)") + used,
        t(f"🔄 재시도: {int(d['retries'])}회", f"🔄 Retries: {int(d['retries'])}") if _opt(d, "retries") else None,
        "",
        t("조속한 확인 필요", "Please check soon"),
        "",
        t("🔍 원인 분석:", "🔍 Possible causes:"),
        t("• 대량 데이터 처리 중일 수 있음\n• 메모리 누수 가능성\n• 시스템 리소스 부족",
          "• Heavy data processing may be running\n• A memory leak\n• Too little memory for the system"),
        "",
        t("🔧 권장 조치:", "🔧 What to do:"),
        t("1. 실행 중인 프로세스 확인\n2. 불필요한 프로세스 종료\n3. 시스템 재시작 고려\n"
          "4. 메모리 임계값 조정 (HANTU_MIN_AVAILABLE_MB)",
          "1. Look at the running processes\n2. Stop the ones not needed\n3. Consider a reboot\n"
          "4. Adjust the threshold (HANTU_MIN_AVAILABLE_MB)"),
        "",
        t("💡 시스템 확인:", "💡 Check the system:"),
        _commands("free -m", "ps aux --sort=-%mem | head -10", "systemctl status hantu-*"),
    )


DATABASE_KEYS = ("DB_HOST", "DB_PORT", "DB_USER", "DB_NAME", "DATABASE_URL", ".pgpass")


@template("env_validation_failed", required=["missing"], optional=["invalid", "at", "project_dir"],
          floor="critical", list_keys=["missing", "invalid"])
def _env_validation_failed(d: Mapping[str, Any], t: T) -> str:
    """missing: list of required variable names not set; invalid: list of "KEY: problem" strings; at;
    project_dir: where the `.env` lives."""
    missing, invalid = list(d["missing"]), list(d.get("invalid") or [])
    project = t.s(d.get("project_dir") or DEFAULT_PROJECT_DIR)
    database = any(str(item).startswith(DATABASE_KEYS) for item in [*missing, *invalid])
    return _lines(
        t("🚨 <b>환경변수 검증 실패</b>", "🚨 <b>Environment validation failed</b>"),
        "",
        t(f"⏰ 시간: {t.when(d['at'])}", f"⏰ Time: {t.when(d['at'])}") if _opt(d, "at") else None,
        t("🔴 상태: 필수 환경변수 누락", "🔴 Status: required variables missing") if missing else None,
        t(f"📊 누락 개수: {len(missing)}개", f"📊 Missing: {len(missing)}"),
        "",
        t("⚠️⚠️⚠️ 배포 차단됨 ⚠️⚠️⚠️", "⚠️⚠️⚠️ Deploy blocked ⚠️⚠️⚠️"),
        *(["", t("📝 누락된 환경변수:", "📝 Missing variables:")] + [f"• {t.s(name)}" for name in missing]
          if missing else []),
        *([t("📝 잘못된 값:", "📝 Invalid values:")] + [f"• {t.s(item)}" for item in invalid] if invalid else []),
        *(["", t("📦 데이터베이스 인증:", "📦 Database credentials:"),
           t("• .pgpass 파일 확인 필요 (권한 600)", "• Check the .pgpass file (mode 600)"),
           "", t("📦 데이터베이스 설정:", "📦 Database settings:"),
           _commands("DB_HOST=localhost", "DB_PORT=5432", "DB_USER=hantu", "DB_NAME=hantu_quant")]
          if database else []),
        "",
        t("🔧 조치 방법:", "🔧 How to fix:"),
        t("1. 서버 접속", "1. Log in to the server"),
        _commands(t("ssh ubuntu@서버IP", "ssh ubuntu@SERVER_IP"), f"cd {project}"),
        t("2. 환경변수 설정", "2. Set the variables"),
        _commands("nano .env", t("# 누락된 변수 추가", "# add the missing variables")),
        t("3. 검증 및 재배포", "3. Validate and deploy again"),
        _commands("./scripts/deployment/validate_env.sh", "./scripts/deployment/deploy.sh"),
    )


@template("text", required=["text"], optional=["title"])
def _text(d: Mapping[str, Any], t: T) -> str:
    """text: free text (escaped); title: bold first line. For `hantu notify send` and one-off notes."""
    return _lines(f"<b>{t.s(d['title'])}</b>" if _opt(d, "title") else None, t.s(d["text"]))


# Command replies are templates too (kinds `cmd_*`), collected in `hantu.notify.replies`.
TEMPLATES.update(REPLIES)
TEMPLATES.update(DRIFT)  # the drift report's messages and /drift (`hantu.notify.drift_messages`)
TEMPLATES.update(CONTROL_REPLIES)  # the trading controls (`hantu.bot.actions`) and their read commands
TEMPLATES.update(MARKET_ALERTS)  # market-status alerts (`order_held`), in `hantu.notify.market_templates`
