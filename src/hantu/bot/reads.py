"""The read commands added with the trading controls: /profit /daily /trades /risk /logs.

Each returns the data dict of its `cmd_*` template (`hantu.notify.control_replies`). Money figures come from the
same places the CLI and the API read: `hantu.trading.pnl.realized_for` over the fills, the account view for the
positions now, the scheduler's `daily_reports`, the persisted risk config. Log lines are masked again on the way
out (`hantu.log.parse_log_line`), so no secret reaches the chat.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from hantu.bot.queries import Answers
from hantu.log import parse_log_line, tail_lines
from hantu.market.names import stock_names
from hantu.store.models import TradeFill
from hantu.store.models.scheduler import DailyReport
from hantu.trading.halt import halt_state
from hantu.trading.pnl import realized_for
from hantu.trading.risk import daily_block, load_config

MAX_DAYS = 365
MAX_ROWS = 30
MAX_LOG_LINES = 50


def count_arg(args: str, default: int, most: int) -> int:
    """`/trades 5` → 5: the first word as a count in 1..`most` (`default` when absent or not a number)."""
    word = args.split()[0] if args.split() else ""
    word = word.removesuffix("d").removesuffix("일")
    return max(1, min(int(word), most)) if word.isdigit() else default


def profit(session: Session, answers: Answers, now: datetime, args: str) -> dict[str, Any]:
    days = count_arg(args, 30, MAX_DAYS)
    end = now.date()
    start = end - timedelta(days=days - 1)
    pnl = realized_for(session, answers.account.broker, start, end)
    view = answers.account.view(session, end)
    return {"days": days, "start": start, "end": end, "realized": pnl.realized, "fees": pnl.fees,
            "taxes": pnl.taxes, "trades": pnl.sells, "wins": pnl.wins, "losses": pnl.losses,
            "unrealized": round(view.unrealized_pnl) if view.positions else None}


def daily(session: Session, answers: Answers, args: str) -> dict[str, Any]:
    count = count_arg(args, 7, MAX_ROWS)
    rows = session.scalars(select(DailyReport).where(DailyReport.broker == answers.account.broker)
                           .order_by(desc(DailyReport.trading_date), desc(DailyReport.id)).limit(count * 2)).all()
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:  # the newest report of each day
        seen.setdefault(row.trading_date, {"trading_date": row.trading_date, "equity": row.equity,
                                           "realized_pnl": row.realized_pnl, "day_return_pct": row.day_return_pct})
    return {"days": list(seen.values())[:count]}


def trades(session: Session, answers: Answers, args: str) -> dict[str, Any]:
    count = count_arg(args, 10, MAX_ROWS)
    fills = session.scalars(select(TradeFill).where(TradeFill.broker == answers.account.broker)
                            .order_by(desc(TradeFill.filled_at), desc(TradeFill.id)).limit(count)).all()
    names = stock_names(session, [f.code for f in fills])
    return {"trades": [{"filled_at": f.filled_at, "code": f.code, "name": names.get(f.code), "side": f.side,
                        "quantity": f.quantity, "price": f.price, "commission": f.commission, "tax": f.tax}
                       for f in fills]}


def risk(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    state = halt_state(session)
    block = daily_block(session, answers.account.broker)
    return {"limits": asdict(load_config(session)), "halted": state.halted, "halt_reason": state.reason,
            "daily_blocked": block.get("day") == now.date().isoformat()}


def logs(logs_dir: Path | None, args: str) -> dict[str, Any]:
    """The last lines of the newest process log (the scheduler's first), masked."""
    count = count_arg(args, 20, MAX_LOG_LINES)
    if logs_dir is None or not logs_dir.is_dir():
        return {"lines": []}
    files = sorted(logs_dir.glob("*.jsonl"), key=lambda p: (p.stem != "scheduler", -p.stat().st_mtime))
    if not files:
        return {"lines": []}
    path = files[0]
    lines = []
    for raw in tail_lines(path, count):
        row = parse_log_line(path.stem, raw)
        time = (row.get("time") or "")[11:19]
        lines.append(" ".join(x for x in (time, row.get("level") or "", row.get("message") or "") if x))
    return {"file": path.stem, "lines": lines}
