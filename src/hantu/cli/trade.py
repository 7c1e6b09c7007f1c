"""`hantu trade`: the book (balance, positions, orders, fills), manual orders, the kill switch, risk limits.

Manual orders pass the same risk checks as the engine's own; every manual order and halt/resume is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from hantu.cli.common import EXIT_ERROR, day_alias_option, fail, one_date, print_json

if TYPE_CHECKING:
    from hantu.trading.account import AccountView

app = typer.Typer(help="Trading: book, manual orders, kill switch, risk limits.\n\n"
                       "Example: hantu trade positions --json", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Machine-readable output.")
TRADE_DATE_HELP = "Trading date YYYY-MM-DD (default today, KST; --day is an alias)."
EXIT_BLOCKED = 3  # the risk manager or the broker refused the order


def _db():
    from hantu.cli.common import open_database

    return open_database()


def _broker_name() -> str:
    from hantu.config.settings import get_settings

    return get_settings().trading_mode


def _broker(database, clock=None):
    """The configured broker, from the one factory (`RealMoneyNotConfirmed` for prod without the opt-in: the
    command ends with the configuration exit status, see `hantu.cli.failures`)."""
    from hantu.clock import SystemClock
    from hantu.config.settings import get_settings
    from hantu.trading.factory import open_broker

    return open_broker(get_settings(), database, clock or SystemClock())


def _actions():
    """The configured market store's corporate actions (reconciliation explains splits with them)."""
    from hantu.config.settings import get_settings
    from hantu.market.store import open_market_store
    from hantu.trading.reconcile import known_actions

    return known_actions(open_market_store(get_settings()))


def _cell(value: Any) -> str:
    """Won amounts and counts with thousands separators (a float price is shown in whole won)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return str(value)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    from hantu.cli.common import console

    figures = {"qty", "avg", "price", "stop", "target", "filled", "fill avg", "fees", "tax", "amount"}
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in figures else "left",
                         no_wrap=column in figures or column in ("code", "time", "since"))
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    console().print(table)


def _initialise_book(database) -> str | None:
    """The engine's first reconciliation, run now: the broker's cash and holdings become the book's base.
    Returns why it could not (no market data for the paper broker, KIS unreachable), or None."""
    from hantu.clock import SystemClock
    from hantu.config import RealMoneyNotConfirmed
    from hantu.trading.reconcile import reconcile

    clock = SystemClock()
    try:
        reconcile(database, _broker(database, clock), clock, actions=_actions())
    except RealMoneyNotConfirmed:
        raise
    except Exception as error:
        return str(error) or type(error).__name__
    return None


def _account_view() -> AccountView:
    """The account view the API and Telegram show (`hantu.trading.account`), of today (KST)."""
    from hantu.clock import SystemClock
    from hantu.config.settings import get_settings
    from hantu.trading.account import AccountService

    settings = get_settings()
    service = AccountService.for_home(settings.trading_mode, settings.hantu_home)
    with _db().session() as session:
        return service.view(session, SystemClock().today())


def _holding(p: Any) -> dict[str, Any]:
    return {"code": p.code, "name": p.name or p.code, "quantity": p.quantity, "avg_price": round(p.avg_price, 2),
            "last_price": p.last_price, "last_price_date": p.last_price_date, "market_value": round(p.market_value),
            "unrealized_pnl": round(p.unrealized_pnl), "entry_date": p.entry_date, "stop_price": p.stop_price,
            "target_price": p.target_price, "high_since_entry": p.high_since_entry, "stop_guard": p.guard,
            "broker_stop_trigger": p.guard_trigger}


def _guard_text(row: dict[str, Any]) -> str:
    """Who executes the stop: the broker (its stop-limit works while the engine is down) or the engine."""
    if row["stop_guard"] == "broker":
        return f"broker stop @{row['broker_stop_trigger']:,}" if row["broker_stop_trigger"] else "broker stop"
    return "engine stop" if row["stop_guard"] == "engine" else "-"


@app.command("balance")
def balance(as_json: bool = JSON, live: bool = typer.Option(False, "--live", help="Also ask the broker.")) -> None:
    """Cash, holdings and equity at market (the newest stored close; at cost without one) of the engine's book,
    the same figures as the API's /account and Telegram's /balance (and the broker's with --live). A book not
    yet initialised is initialised on first use from the broker, as the engine's first reconciliation does.

    Example: hantu trade balance --json
    """
    from hantu.trading import ledger

    database = _db()
    name = _broker_name()
    with database.session() as session:
        fresh = ledger.get_account(session, name) is None
    problem = _initialise_book(database) if fresh else None
    view = _account_view()
    ready = view.initialised
    cost = int(view.positions_cost)
    payload: dict[str, Any] = {"broker": name, "initialised": ready, "cash": view.cash if ready else None,
                               "holdings_at_cost": cost, "positions": len(view.positions),
                               "equity_at_cost": (view.cash + cost) if ready else None,
                               "initialised_now": fresh and ready,
                               "positions_value": round(view.positions_value),
                               "equity": round(view.equity) if ready else None,
                               "unrealized_pnl": round(view.unrealized_pnl),
                               "day_pnl": None if view.day_pnl is None else round(view.day_pnl),
                               "realized_pnl_today": view.realized_pnl_today, "priced": view.priced,
                               "as_of": view.as_of, "prices_as_of": view.prices_as_of,
                               "trading_date": view.trading_date, "open_orders": len(view.open_orders),
                               "holdings": [_holding(p) for p in view.positions]}
    if problem is not None:
        payload["initialise_error"] = problem
    if live:
        from hantu.config import RealMoneyNotConfirmed

        try:
            cash = _broker(database).cash()
            payload["broker_cash"] = {"cash": cash.cash, "orderable": cash.orderable, "equity": cash.equity}
        except RealMoneyNotConfirmed:
            raise
        except Exception as error:
            fail(f"broker unavailable: {error}")
    if as_json:
        print_json(payload)
        return
    if not ready:
        typer.echo(f"{name}: no account yet: could not initialise it from the broker ({problem}); the engine "
                   "initialises it at its first reconciliation")
        return
    if payload["initialised_now"]:
        typer.echo(f"{name}: account initialised from the broker (first use)")
    prices = (f"closes of {view.prices_as_of}" if view.prices_as_of else "no prices") + \
        ("" if view.priced else ", some at cost")
    typer.echo(f"broker {name}: cash {payload['cash']:,} won, {payload['positions']} positions "
               f"({payload['positions_value']:,} won at market, {cost:,} at cost), equity "
               f"{payload['equity']:,} won ({prices})")
    if "broker_cash" in payload:
        typer.echo(f"broker reports: cash {payload['broker_cash']['cash']:,}, orderable "
                   f"{payload['broker_cash']['orderable']:,}")


@app.command("positions")
def positions(as_json: bool = JSON) -> None:
    """Held positions with their exit levels, their value at the newest stored close, and what guards each stop:
    `broker stop @trigger` (a stop-limit resting at the broker — KIS real `CNDT_PRIC`, or the paper book — that
    fires even while the engine is down) or `engine stop` (the session loop's own check: the fallback, and the
    only guard in KIS virtual mode).

    Example: hantu trade positions
    """
    rows = [_holding(p) for p in _account_view().positions]
    if as_json:
        print_json(rows)
        return
    _table("positions", ["code", "name", "qty", "avg", "price", "stop", "guard", "target", "since"],
           [[r["code"], r["name"], r["quantity"], r["avg_price"], r["last_price"], r["stop_price"], _guard_text(r),
             r["target_price"], r["entry_date"]] for r in rows])


def _parse_day(day: str | None):
    from datetime import date

    if day is None:
        from hantu.clock import SystemClock

        return SystemClock().today()
    try:
        return date.fromisoformat(day)
    except ValueError:
        fail(f"bad date {day!r}: use YYYY-MM-DD", 2)


@app.command("orders")
def orders(day: str = typer.Option(None, "--date", "-d", help=TRADE_DATE_HELP),
           open_only: bool = typer.Option(False, "--open", help="Only orders that may still trade."),
           day_alias: str = day_alias_option(),
           as_json: bool = JSON) -> None:
    """Orders of a day with their state.

    Example: hantu trade orders --date 2026-03-13 --json
    """
    from sqlalchemy import select

    from hantu.domain.order_state import OPEN
    from hantu.market.names import display_names
    from hantu.store.models import TradeOrder

    on = _parse_day(one_date(day, day_alias))
    with _db().session() as session:
        query = select(TradeOrder).where(TradeOrder.trading_date == on).order_by(TradeOrder.id)
        if open_only:
            query = query.where(TradeOrder.status.in_(OPEN))
        found = list(session.scalars(query))
        names = display_names(session, (o.code for o in found))
        rows = [{"id": o.id, "client_order_id": o.client_order_id, "broker_order_id": o.broker_order_id,
                 "code": o.code, "name": names[o.code], "side": o.side, "type": o.order_type, "quantity": o.quantity,
                 "limit_price": o.limit_price, "status": o.status, "filled_quantity": o.filled_quantity,
                 "avg_fill_price": o.avg_fill_price, "purpose": o.purpose, "source": o.source, "reason": o.reason,
                 "message": o.message, "created_at": o.created_at} for o in found]
    if as_json:
        print_json(rows)
        return
    _table(f"orders {on}", ["id", "code", "name", "side", "qty", "price", "status", "filled", "purpose", "message"],
           [[r["id"], r["code"], r["name"], r["side"], r["quantity"], r["limit_price"] or "market", r["status"],
             r["filled_quantity"], r["purpose"], (r["message"] or "")[:40]] for r in rows])


@app.command("fills")
def fills(day: str = typer.Option(None, "--date", "-d", help=TRADE_DATE_HELP),
          day_alias: str = day_alias_option(), as_json: bool = JSON) -> None:
    """Fills of a day, each recorded once.

    Example: hantu trade fills --date 2026-03-13 --json
    """
    from sqlalchemy import select

    from hantu.market.names import display_names
    from hantu.store.models import TradeFill

    on = _parse_day(one_date(day, day_alias))
    with _db().session() as session:
        found = list(session.scalars(select(TradeFill).where(TradeFill.trading_date == on)
                                     .order_by(TradeFill.filled_at, TradeFill.id)))
        names = display_names(session, (f.code for f in found))
        rows = [{"fill_id": f.fill_id, "broker_order_id": f.broker_order_id, "code": f.code, "name": names[f.code],
                 "side": f.side, "quantity": f.quantity, "price": f.price, "amount": f.amount,
                 "commission": f.commission, "tax": f.tax, "filled_at": f.filled_at} for f in found]
    if as_json:
        print_json(rows)
        return
    _table(f"fills {on}", ["time", "code", "name", "side", "qty", "price", "amount", "fees", "tax"],
           [[f"{r['filled_at']:%H:%M:%S}", r["code"], r["name"], r["side"], r["quantity"], r["price"], r["amount"],
             r["commission"], r["tax"]] for r in rows])


def _manual_order(side_name: str, code: str, quantity: int, price: int | None, as_json: bool) -> None:
    from hantu.broker.base import BrokerError
    from hantu.clock import SystemClock
    from hantu.config.settings import get_settings
    from hantu.domain.orders import OrderType, Side
    from hantu.store.audit import cli_actor
    from hantu.trading.factory import open_engine
    from hantu.trading.reconcile import reconcile

    if quantity <= 0:
        fail("quantity must be at least 1", 2)
    database = _db()
    clock = SystemClock()
    try:
        broker = _broker(database, clock)
        with database.session() as session:
            from hantu.trading import ledger

            fresh = ledger.get_account(session, broker.name) is None
        if fresh:
            reconcile(database, broker, clock, actions=_actions())
        try:
            quote = broker.quote(code)
        except (BrokerError, KeyError) as error:
            detail = str(error.args[0]) if error.args else str(error)
            if "unknown stock code" not in detail:
                detail = f"unknown stock code {code!r}: {detail}"
            fail(f"{detail} (codes are 6 digits, e.g. 005930; `hantu data status` shows the stored market)")
        engine = open_engine(get_settings(), database, clock, broker)
        result = engine.submit(code, Side(side_name), quantity, OrderType.LIMIT if price else OrderType.MARKET,
                               price, "manual" if side_name == "buy" else "exit", "manual order", "cli",
                               quote=quote, actor=cli_actor())
    except BrokerError as error:
        fail(str(error))
    payload: dict[str, Any] = {"allowed": bool(result.verdict), "reason": result.verdict.reason,
               "order": None if result.order is None else {
                   "id": result.order.id, "client_order_id": result.order.client_order_id,
                   "broker_order_id": result.order.broker_order_id, "status": result.order.status,
                   "message": result.order.message, "limit_price": result.order.limit_price}}
    if as_json:
        print_json(payload)
    elif not result.verdict:
        typer.echo(f"blocked: {result.verdict.reason}", err=True)
    else:
        order = payload["order"]
        typer.echo(f"{side_name} {code} x{quantity}: {order['status']} (order {order['client_order_id']}"
                   f"{', ' + order['message'] if order['message'] else ''})")
    if not result.verdict or (result.order is not None and result.order.status == "rejected"):
        raise typer.Exit(EXIT_BLOCKED)


@app.command("buy")
def buy(code: str = typer.Argument(..., help="6-digit stock code."),
        quantity: int = typer.Argument(..., help="Shares."),
        price: int = typer.Option(None, "--price", help="Limit price in won (rounded down to the tick); "
                                                         "omit for a market order."),
        as_json: bool = JSON) -> None:
    """Buy through the risk manager (same checks as the engine). Exit code 3 when blocked or rejected.

    Example: hantu trade buy 005930 10 --price 71000
    """
    _manual_order("buy", code, quantity, price, as_json)


@app.command("sell")
def sell(code: str = typer.Argument(..., help="6-digit stock code."),
         quantity: int = typer.Argument(..., help="Shares."),
         price: int = typer.Option(None, "--price", help="Limit price in won (rounded up to the tick); "
                                                          "omit for a market order."),
         as_json: bool = JSON) -> None:
    """Sell through the risk manager. Exit code 3 when blocked or rejected.

    Example: hantu trade sell 005930 10
    """
    _manual_order("sell", code, quantity, price, as_json)


@app.command("cancel")
def cancel(order: str = typer.Argument(..., help="Client order id, broker order id (the newest trading date's "
                                                   "when KIS reused the number) or row id."),
           as_json: bool = JSON) -> None:
    """Cancel a live order at the broker.

    Example: hantu trade cancel 42
    """
    from hantu.clock import SystemClock
    from hantu.domain.order_state import LIVE, CancelReason
    from hantu.store.audit import audit, cli_actor
    from hantu.trading.lookup import find_order
    from hantu.trading.orders import OrderManager

    database = _db()
    with database.session() as session:
        row = find_order(session, order)  # a broker order number means the newest trading date's order
        if row is None:
            fail(f"no order {order!r}")
        if row.status not in LIVE:
            fail(f"order {order} is {row.status}: nothing to cancel")
        order_id = row.id
        audit(session, "cli", cli_actor(), "cancel_order", {"order": row.client_order_id, "code": row.code})
    clock = SystemClock()
    result = OrderManager(database, _broker(database, clock), clock).cancel(
        order_id, CancelReason.USER, "user: cancelled from the CLI")
    payload = {"id": result.id, "client_order_id": result.client_order_id, "status": result.status}
    if as_json:
        print_json(payload)
    else:
        typer.echo(f"order {result.client_order_id}: {result.status}")


@app.command("halt")
def halt(reason: str = typer.Option("manual halt", "--reason", help="Why (shown in alerts and the API)."),
         as_json: bool = JSON) -> None:
    """Kill switch on: no new entries from now on (survives restarts; audited).

    Example: hantu trade halt --reason "market too volatile"
    """
    from hantu.store.audit import cli_user
    from hantu.trading.alerts import alert
    from hantu.trading.halt import halt_state, set_halt

    with _db().session() as session:
        state = halt_state(session)
        changed = not state.halted
        if changed:  # a second halt keeps the first one's reason (resume first to change it)
            state = set_halt(session, True, reason, "cli", cli_user())
            alert(session, "risk_halt", {"reason": reason, "source": "cli"}, priority="critical")
    if as_json:
        print_json({**state.as_dict(), "changed": changed})
    elif changed:
        typer.echo(f"trading halted: {reason}")
    else:
        typer.echo(f"trading was already halted ({_halt_text(state)}): nothing changed")


@app.command("resume")
def resume(reason: str = typer.Option("manual resume", "--reason", help="Why."), as_json: bool = JSON) -> None:
    """Kill switch off (a drawdown halt also restarts the drawdown measurement; audited).

    Example: hantu trade resume
    """
    from hantu.store.audit import cli_user
    from hantu.trading.halt import halt_state
    from hantu.trading.risk import resume_trading

    with _db().session() as session:
        before = halt_state(session)
        if before.halted:
            resume_trading(session, "cli", cli_user(), reason)
        state = halt_state(session)
    if as_json:
        print_json({**state.as_dict(), "changed": before.halted})
    elif before.halted:
        typer.echo(f"trading resumed (was halted: {_halt_text(before)})")
    else:
        typer.echo("trading was not halted: nothing to resume")


def _halt_text(state: Any) -> str:
    when = f" at {state.at:%Y-%m-%d %H:%M}" if state.at else ""
    return f"{state.reason or 'no reason given'}, by {state.by or '?'}{when}"


@app.command("risk")
def risk(settings: list[str] = typer.Option(None, "--set", help="KEY=VALUE, repeatable (`none` switches a rule "
                                                                   "off)."),
         as_json: bool = JSON) -> None:
    """Show or change the risk limits (persisted; audited), and whether the kill switch is on.

    --json prints the limits with a `halt` object ({"halted", "reason", "by", "at"}).
    Example: hantu trade risk --set max_open_positions=3 --set daily_loss_limit=0.02
    """
    from dataclasses import asdict

    from hantu.store.audit import cli_actor
    from hantu.trading.halt import halt_state
    from hantu.trading.risk import load_config, save_config

    with _db().session() as session:
        config = load_config(session)
        if settings:
            try:
                config = config.with_settings(settings)
            except ValueError as error:
                fail(str(error), 2)
            save_config(session, config, "cli", cli_actor())
        halt = halt_state(session)
    if as_json:
        print_json({**asdict(config), "halt": halt.as_dict()})
    else:
        typer.echo(f"{'trading':24} " + (f"HALTED: {_halt_text(halt)} (`hantu trade resume` to clear)"
                                         if halt.halted else "active (kill switch off)"))
        for key, value in asdict(config).items():
            typer.echo(f"{key:24} {value}")



@app.command("reconcile")
def reconcile_cmd(as_json: bool = JSON) -> None:
    """Reconcile the book with the broker now (differences are stored, logged and alerted).

    Example: hantu trade reconcile --json
    """
    from hantu.clock import SystemClock
    from hantu.config import RealMoneyNotConfirmed
    from hantu.trading.reconcile import reconcile

    database = _db()
    clock = SystemClock()
    try:
        report = reconcile(database, _broker(database, clock), clock, actions=_actions())
    except RealMoneyNotConfirmed:
        raise
    except Exception as error:
        fail(f"reconciliation failed: {error}", EXIT_ERROR)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(f"{report.new_fills} new fills, {len(report.adopted_orders)} adopted orders, "
                   f"{len(report.mismatches)} mismatches{' (rebased on the broker)' if report.rebased else ''}")
