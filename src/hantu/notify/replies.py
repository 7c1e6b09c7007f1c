"""Templates for the answers to Telegram commands (kinds `cmd_*`); data comes from `hantu.bot.queries`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hantu.notify.control_replies import CONTROL_COMMANDS
from hantu.notify.kit import T, Template, _lines, _opt, _positions_lines, collect

REPLIES: dict[str, Template] = {}  # joined into `templates.TEMPLATES`
template = collect(REPLIES)

COMMANDS: dict[str, tuple[str, str]] = {
    "status": ("시스템 상태", "System status"),
    "balance": ("잔고 (현금·평가자산)", "Balance (cash, equity)"),
    "positions": ("보유 종목", "Positions"),
    "orders": ("오늘의 주문", "Today's orders"),
    "today": ("오늘 요약 (스크리닝·선정·체결)", "Today (screening, selection, fills)"),
    "report": ("최근 일일 리포트", "Latest daily report"),
    "drift": ("실거래-모델 차이 (최근 리포트)", "Live vs model drift (latest report)"),
    "halt": ("신규 진입 중단 — /halt 사유", "Halt new entries — /halt reason"),
    "resume": ("거래 재개", "Resume trading"),
    "help": ("도움말", "This help"),
}


def _missing(t: T, what_ko: str, what_en: str) -> str:
    return t(f"ℹ️ {what_ko} 데이터가 아직 없습니다.", f"ℹ️ No {what_en} data yet.")


@template("cmd_help", required=[])
def _cmd_help(d: Mapping[str, Any], t: T) -> str:
    """No data."""
    return _lines(
        t("🤖 <b>명령어</b>", "🤖 <b>Commands</b>"),
        *[f"/{name} — {t.s(t(ko, en))}" for name, (ko, en) in {**COMMANDS, **CONTROL_COMMANDS}.items()],
        t("거래 명령은 확인 버튼을 눌러야 실행됩니다.", "Trading commands run only after you tap confirm."),
    )


@template("cmd_unknown", required=["command"])
def _cmd_unknown(d: Mapping[str, Any], t: T) -> str:
    """command: what was typed."""
    return t(
        f"알 수 없는 명령: {t.s(d['command'])}\n/help 로 명령어를 확인하세요.",
        f"Unknown command: {t.s(d['command'])}\nSee /help.",
    )


@template(
    "cmd_status",
    required=["now", "halted", "outbox"],
    optional=["halt_reason", "halted_by", "mode", "jobs", "positions", "equity", "open_orders"],
)
def _cmd_status(d: Mapping[str, Any], t: T) -> str:
    """now; halted: bool; halt_reason; halted_by; mode; outbox: {status: count}; jobs: list of
    {job, status, trading_date, finished_at}; positions: count; open_orders: count; equity (won)."""
    outbox = d["outbox"] or {}
    halted = bool(d["halted"])
    lines = [t("📟 <b>상태</b>", "📟 <b>Status</b>") + f" ({t.when(d['now'])})"]
    if _opt(d, "mode"):
        lines.append(t(f"• 모드: {t.s(d['mode'])}", f"• Mode: {t.s(d['mode'])}"))
    if halted:
        reason = f" — {t.s(d['halt_reason'])}" if _opt(d, "halt_reason") else ""
        by = f" ({t.s(d['halted_by'])})" if _opt(d, "halted_by") else ""
        lines.append(t(f"• 거래: ⛔ 중단됨{reason}{by}", f"• Trading: ⛔ halted{reason}{by}"))
    else:
        lines.append(t("• 거래: ✅ 정상", "• Trading: ✅ active"))
    if d.get("positions") is not None:
        lines.append(t(f"• 보유 종목: {int(d['positions'])}개", f"• Positions: {int(d['positions'])}"))
    if d.get("open_orders") is not None:
        lines.append(
            t(f"• 미체결 주문: {int(d['open_orders'])}건", f"• Open orders: {int(d['open_orders'])}")
        )
    if d.get("equity") is not None:
        lines.append(t(f"• 평가자산: {t.won(d['equity'])}", f"• Equity: {t.won(d['equity'])}"))
    pending = int(outbox.get("pending", 0)) + int(outbox.get("sending", 0))
    lines.append(t(f"• 알림 대기: {pending}건", f"• Messages waiting: {pending}"))
    for key, ko, en in (
        ("uncertain", "전송 불확실", "uncertain delivery"),
        ("failed", "전송 실패", "failed"),
        ("logged", "로그에만 기록", "logged only (no Telegram)"),
    ):
        if outbox.get(key):
            lines.append(t(f"• {ko}: {int(outbox[key])}건", f"• {en}: {int(outbox[key])}"))
    jobs = d.get("jobs") or []
    if jobs:
        lines.append(t("<b>최근 작업</b>", "<b>Recent jobs</b>"))
        for job in jobs:
            lines.append(
                f"• {t.s(job.get('job'))}: {t.s(job.get('status'))}"
                + (f" ({t.when(job['finished_at'])})" if job.get("finished_at") else "")
            )
    return _lines(*lines)


@template(
    "cmd_balance",
    required=["available"],
    optional=["as_of", "cash", "equity", "positions_value", "prices_as_of", "realized_pnl_today", "source",
              "positions", "fills", "fees", "taxes"],
    list_keys=["positions"],
)
def _cmd_balance(d: Mapping[str, Any], t: T) -> str:
    """available: False when no account data exists; as_of; cash, equity, positions_value (won, at market);
    prices_as_of: the trading day of the oldest price used; realized_pnl_today; source: the account (broker);
    positions: list of {code, name, quantity, avg_price?, last_price?, pnl?, pnl_pct?}; fills, fees, taxes:
    today's (not shown)."""
    if not d["available"]:
        return _missing(t, "잔고", "balance")
    lines = [
        t("💰 <b>잔고</b>", "💰 <b>Balance</b>") + (f" ({t.when(d['as_of'])})" if _opt(d, "as_of") else "")
    ]
    if d.get("cash") is not None:
        lines.append(t(f"• 현금: {t.won(d['cash'])}", f"• Cash: {t.won(d['cash'])}"))
    if d.get("positions_value") is not None:
        basis = (t(f" ({t.when(d['prices_as_of'])} 종가 기준)", f" (closes of {t.when(d['prices_as_of'])})")
                 if _opt(d, "prices_as_of") else "")
        lines.append(
            t(f"• 주식 평가액: {t.won(d['positions_value'])}{basis}",
              f"• Stocks: {t.won(d['positions_value'])}{basis}")
        )
    if d.get("equity") is not None:
        lines.append(t(f"• 총 평가자산: {t.won(d['equity'])}", f"• Equity: {t.won(d['equity'])}"))
    if d.get("realized_pnl_today") is not None:
        lines.append(
            t(
                f"• 오늘 실현손익: {t.won(d['realized_pnl_today'], True)}",
                f"• Realized today: {t.won(d['realized_pnl_today'], True)}",
            )
        )
    lines.extend(_positions_lines(list(d.get("positions") or []), t))
    return _lines(*lines)


@template("cmd_positions", required=["available", "positions"], list_keys=["positions"])
def _cmd_positions(d: Mapping[str, Any], t: T) -> str:
    """available: False when no position table exists; positions: list of {code, name, quantity, avg_price?,
    last_price?, pnl?, pnl_pct?}."""
    if not d["available"]:
        return _missing(t, "보유 종목", "position")
    rows = list(d["positions"])
    if not rows:
        return t("📦 보유 종목이 없습니다.", "📦 No positions.")
    return _lines(
        t(f"📦 <b>보유 종목 {len(rows)}개</b>", f"📦 <b>{len(rows)} positions</b>"),
        *_positions_lines(rows, t),
    )


@template("cmd_orders", required=["available", "trading_date", "orders"], list_keys=["orders"])
def _cmd_orders(d: Mapping[str, Any], t: T) -> str:
    """available; trading_date; orders: list of {code, name, side, quantity, filled_quantity, price?, status,
    created_at?}."""
    if not d["available"]:
        return _missing(t, "주문", "order")
    rows = list(d["orders"])
    head = t("🧾 <b>오늘의 주문</b>", "🧾 <b>Today's orders</b>") + f" ({t.when(d['trading_date'])})"
    if not rows:
        return _lines(head, t("주문이 없습니다.", "No orders."))
    lines = [head]
    for row in rows[:40]:
        price = f" @ {t.won(row['price'])}" if row.get("price") else ""
        lines.append(
            f"• {t.side(row['side'])} {t.stock(row)} {int(row.get('filled_quantity') or 0):,}/"
            f"{int(row['quantity']):,}{price} [{t.s(row.get('status'))}]"
        )
    if len(rows) > 40:
        lines.append(t(f"… 외 {len(rows) - 40}건", f"… and {len(rows) - 40} more"))
    return _lines(*lines)


@template(
    "cmd_today",
    required=["trading_date"],
    optional=["screening", "selection", "fills", "realized_pnl", "fees", "taxes", "orders", "missing"],
)
def _cmd_today(d: Mapping[str, Any], t: T) -> str:
    """trading_date; screening: {universe_size, passed}; selection: list of {code, name}; orders: count;
    fills: count; realized_pnl, fees, taxes (won); missing: list of areas with no data yet."""
    lines = [t("📅 <b>오늘</b>", "📅 <b>Today</b>") + f" ({t.when(d['trading_date'])})"]
    screening = d.get("screening")
    if screening:
        lines.append(
            t(
                f"• 스크리닝: {int(screening['universe_size']):,}개 중 {int(screening['passed']):,}개 통과",
                f"• Screening: {int(screening['passed']):,} of {int(screening['universe_size']):,} passed",
            )
        )
    selection = d.get("selection")
    if selection is not None:
        names = ", ".join(t.stock(row) for row in selection[:10]) or t("없음", "none")
        lines.append(t(f"• 선정: {len(selection)}개 — {names}", f"• Selected: {len(selection)} — {names}"))
    if d.get("orders") is not None:
        lines.append(t(f"• 주문: {int(d['orders'])}건", f"• Orders: {int(d['orders'])}"))
    if d.get("fills") is not None:
        lines.append(t(f"• 체결: {int(d['fills'])}건", f"• Fills: {int(d['fills'])}"))
    if d.get("realized_pnl") is not None:
        lines.append(
            t(
                f"• 실현손익: {t.won(d['realized_pnl'], True)}",
                f"• Realized: {t.won(d['realized_pnl'], True)}",
            )
        )
    if d.get("fees") is not None or d.get("taxes") is not None:
        lines.append(
            t(
                f"• 수수료 {t.won(d.get('fees') or 0)} · 세금 {t.won(d.get('taxes') or 0)}",
                f"• Fees {t.won(d.get('fees') or 0)} · taxes {t.won(d.get('taxes') or 0)}",
            )
        )
    areas = {"screening": ("스크리닝", "Screening"), "selection": ("선정", "Selection")}
    for area in d.get("missing") or []:
        ko, en = areas.get(str(area), (str(area), str(area)))
        lines.append(t(f"• {t.s(ko)}: 데이터 없음", f"• {t.s(en)}: no data"))
    return _lines(*lines)


@template("cmd_report", required=["available"], optional=["text"])
def _cmd_report(d: Mapping[str, Any], t: T) -> str:
    """available; text: the latest daily report as already rendered (HTML parse mode)."""
    if not d["available"]:
        return _missing(t, "일일 리포트", "daily report")
    return str(d["text"])


@template("cmd_halt", required=["halted", "changed"], optional=["reason", "by"])
def _cmd_halt(d: Mapping[str, Any], t: T) -> str:
    """halted: the state now; changed: whether this command changed it; reason; by."""
    reason = f"\n• {t('사유', 'Reason')}: {t.s(d['reason'])}" if _opt(d, "reason") else ""
    if d["halted"]:
        head = (
            t("⛔ <b>신규 진입을 중단했습니다</b>", "⛔ <b>New entries halted</b>")
            if d["changed"]
            else t("⛔ 이미 중단된 상태입니다", "⛔ Already halted")
        )
    else:
        head = (
            t("✅ <b>거래를 재개했습니다</b>", "✅ <b>Trading resumed</b>")
            if d["changed"]
            else t("✅ 이미 정상 상태입니다", "✅ Already active")
        )
    return head + reason
