"""The order book (`hantu.trading.book`) is the only product code that writes the trade tables.

A scan of every product module's syntax tree: outside the book (and the models and migrations that define the
tables) nothing constructs a trade row, issues an INSERT / UPDATE / DELETE on a trade table, or — in a module
that can hold trade rows (it names a trade model, or imports a module that hands them out) — assigns a trade
column, deletes a row or sets an attribute by name. Non-trade rows such modules do write are listed below, each
with what it is, so a new one is a decision someone makes in review. And at run time: a paper trading day,
its close-out and a user's cancel, watched by SQLAlchemy events, construct and change trade rows only from the
book's frames.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simkit import DAY, DipBuyer, at, candidates_for
from sqlalchemy import event

import hantu
from hantu.store.models import Reconciliation, TradeAccount, TradeFill, TradeOrder, TradePosition

from helpers import hantu_home

ROOT = Path(hantu.__file__).resolve().parent
MODELS = {m.__name__: m for m in (TradeOrder, TradeFill, TradePosition, TradeAccount, Reconciliation)}
TABLES = {m.__tablename__ for m in MODELS.values()}
COLUMNS = set().union(*({c.key for c in m.__table__.columns} for m in MODELS.values()))
WRITER = "trading/book.py"
DEFINERS = ("store/models/", "store/migrations/")
# Modules that hand out trade rows: a module importing one of them can hold a row without naming its model.
ROW_SOURCES = ("hantu.trading.ledger", "hantu.trading.lookup", "hantu.trading.orders", "hantu.trading.engine",
               "hantu.trading.book")
NOT_TRADE_ROWS = {  # (module, what the scan reports): what the row is
    ("api/controls.py", "assigns row.updated_at"): "a key_values row (queued control requests)",
    ("trading/reconcile.py", "assigns cursor.updated_at"): "a key_values row (the last reconciliation row alerted)",
    ("scheduler/reports.py", "setattr(row, ...)"): "a daily_reports row (the day's figures replaced)",
    ("bot/actions.py", "assigns row.status"): "a control_actions row (a confirmation decided or settled)",
}
RAW_WRITE = re.compile(rf"\b(insert\s+into|update|delete\s+from)\s+({'|'.join(sorted(TABLES))})\b", re.I)


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == WRITER or rel.startswith(DEFINERS):
            continue
        found.append((rel, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return found


def _holds_rows(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if names & set(MODELS) or node.module in ROW_SOURCES or any(
                    f"{node.module}.{n}" in ROW_SOURCES for n in names):
                return True
        if isinstance(node, ast.Import) and any(a.name in ROW_SOURCES for a in node.names):
            return True
    return False


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        else:
            flat.append(target)
    return flat


def writes(modules: list[tuple[str, ast.Module]],
           allowed: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Every write to a trade table the scan finds in `modules` (but the `allowed` ones), as
    `module:line: what`."""
    found: list[str] = []
    for rel, tree in modules:
        holds = _holds_rows(tree)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                called = _name(node.func)
                if called in MODELS:
                    found.append(f"{where}: constructs {called}")
                elif called in ("insert", "update", "delete") and node.args and _name(node.args[0]) in MODELS:
                    found.append(f"{where}: {called}({_name(node.args[0])})")
                elif holds and called in ("delete", "merge", "bulk_save_objects") \
                        and isinstance(node.func, ast.Attribute):
                    found.append(f"{where}: session.{called}(...)")
                elif holds and called == "setattr" and node.args:
                    found.append(f"{where}: setattr({ast.unparse(node.args[0])}, ...)")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_WRITE.search(node.value):
                found.append(f"{where}: raw SQL {RAW_WRITE.search(node.value).group(0)!r}")  # type: ignore[union-attr]
            if not holds:
                continue
            for target in _targets(node):
                if not isinstance(target, ast.Attribute) or target.attr not in COLUMNS:
                    continue
                if isinstance(target.value, ast.Name) and target.value.id == "self":
                    continue  # the object's own field, not a row's
                found.append(f"{where}: assigns {ast.unparse(target)}")
    return [f for f in found if (f.split(":", 1)[0], f.split(": ", 1)[1]) not in (allowed or {})]


def test_only_the_order_book_writes_the_trade_tables() -> None:
    assert writes(_modules(), NOT_TRADE_ROWS) == []


def test_the_allowed_non_trade_writes_still_exist() -> None:
    """A listed exception that the code no longer has is removed from the list (it must not hide a new one)."""
    found = {(f.split(":", 1)[0], f.split(": ", 1)[1]) for f in writes(_modules())}
    assert set(NOT_TRADE_ROWS) <= found


SOME_WRITER = """
from sqlalchemy import text, update
from hantu.store.models import TradeFill, TradeOrder
from hantu.trading import ledger

def sneak(session, fill):
    for position in ledger.positions(session, "paper"):
        position.quantity, position.avg_price = 0, 0.0
    account = ledger.get_account(session, "paper")
    account.cash += 1
    session.add(TradeFill(fill_id=fill))
    session.execute(update(TradeOrder).values(status="filled"))
    session.execute(text("DELETE FROM trade_positions"))
    session.delete(position)
    setattr(account, "cash", 0)
"""


def test_the_scan_sees_each_kind_of_write() -> None:
    found = [line.split(": ", 1)[1] for line in writes([("elsewhere.py", ast.parse(SOME_WRITER))])]
    assert sorted(found) == sorted([
        "assigns position.quantity", "assigns position.avg_price", "assigns account.cash",
        "constructs TradeFill", "update(TradeOrder)", "raw SQL 'DELETE FROM trade_positions'",
        "session.delete(...)", "setattr(account, ...)"])
    # the book itself, scanned as if it were any module, is full of writes
    book = ast.parse((ROOT / WRITER).read_text(encoding="utf-8"))
    assert len(writes([(WRITER, book)])) > 40


@pytest.fixture
def writers() -> Iterator[set[str]]:
    """The product module (path under `hantu/`) that constructed or changed each trade row while it ran."""
    found: set[str] = set()
    store = (ROOT / "store").as_posix()

    def note(*_: Any, **__: Any) -> None:
        frame = inspect.currentframe()
        while frame is not None:
            name = Path(frame.f_code.co_filename).resolve().as_posix()
            if name.startswith(ROOT.as_posix() + "/") and not name.startswith(store):
                found.add(Path(name).relative_to(ROOT).as_posix())
                return
            frame = frame.f_back

    hooks = [(model, "init") for model in MODELS.values()] + [
        (getattr(model, column.key), "set") for model in MODELS.values() for column in model.__table__.columns]
    for target, name in hooks:
        event.listen(target, name, note)
    try:
        yield found
    finally:
        for target, name in hooks:
            event.remove(target, name, note)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_trading_day_writes_trade_rows_only_through_the_book(rig, writers: set[str]) -> None:  # type: ignore[no-untyped-def]
    from hantu.domain.orders import OrderType, Side
    from hantu.store.kv import kv_set
    from hantu.trading.engine import TradingEngine
    from hantu.trading.orders import LIVE
    from hantu.trading.reconcile import reconcile
    from hantu.trading.session import CANCEL_REQUESTS_KEY, SessionConfig, TradingSession, close_out

    rig.clock.set(at("12:30"))
    reconcile(rig.database, rig.broker, rig.clock)
    floor = rig.broker.quote("100000").lower_limit  # a bid at the day's lower limit: it stays open
    low = TradingEngine(rig.database, rig.broker, rig.clock).submit(
        "100000", Side.BUY, 1, OrderType.LIMIT, floor, "manual", "stays open", "cli")
    assert low.ok and low.order is not None and low.order.status in LIVE
    with rig.database.session() as session:  # what the API and Telegram queue for the session loop
        kv_set(session, CANCEL_REQUESTS_KEY, [{"order_id": low.order.client_order_id, "by": "api:test"}])
    config = SessionConfig(poll_seconds=120, decision_seconds=120, reprice_after_seconds=600, max_reprices=1)
    report = TradingSession(rig.database, rig.broker, rig.clock, config=config, home=hantu_home()).run(
        DAY, candidates_for(rig.panel), DipBuyer(exit_after="14:30"))
    assert report.orders_sent > 0 and report.errors == 0
    close_out(rig.database, rig.broker, rig.clock, DAY)
    assert writers == {WRITER}
