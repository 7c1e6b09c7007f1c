"""One name for a trading date across the CLI: `--date` (shown), `--day` a hidden alias where it used to be."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import typer.main

from helpers import run_hantu


def _commands(command, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():  # typer's (vendored) click groups
        yield from _commands(sub, (*path, name))


def test_no_command_shows_a_day_option() -> None:
    from hantu.cli.main import app

    shown_day, dated = [], []
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name != "option":
                continue
            if "--day" in param.opts and not param.hidden:
                shown_day.append(" ".join(path))
            if "--date" in param.opts:
                dated.append(" ".join(path))
    assert shown_day == []
    assert {"trade orders", "trade fills", "screen", "select", "explain", "jobs run"} <= set(dated)


def _seed_order(day: date) -> None:
    from hantu.clock import KST
    from hantu.store.migrate import upgrade
    from hantu.store.models import TradeOrder

    from helpers import configured_database

    database = configured_database()
    upgrade(database)
    at = datetime(day.year, day.month, day.day, 9, 5, tzinfo=KST)
    with database.session() as session:
        session.add(
            TradeOrder(
                client_order_id="c-1",
                broker="paper",
                broker_order_id="P000000001",
                trading_date=day,
                code="005930",
                side="buy",
                order_type="limit",
                quantity=10,
                limit_price=71000,
                status="filled",
                filled_quantity=10,
                avg_fill_price=71000.0,
                purpose="entry",
                reason="",
                source="engine",
                message="filled",
                created_at=at,
                updated_at=at,
            )
        )


def test_trade_orders_takes_date_and_the_old_day_alias(isolated_env: Path) -> None:
    day = "2026-03-13"
    _seed_order(date.fromisoformat(day))
    by_date = run_hantu("trade", "orders", "--date", day, "--json")
    assert by_date.returncode == 0, by_date.stderr
    assert [o["client_order_id"] for o in json.loads(by_date.stdout)] == ["c-1"]
    assert json.loads(run_hantu("trade", "orders", "--day", day, "--json").stdout) == json.loads(
        by_date.stdout
    )
    assert json.loads(run_hantu("trade", "fills", "-d", day, "--json").stdout) == []
    both = run_hantu("trade", "orders", "--date", day, "--day", "2026-03-12")
    assert both.returncode == 2 and "alias" in both.stderr
    shown = run_hantu("trade", "orders", "--help", env={"COLUMNS": "200"}).stdout.splitlines()
    assert not any(line.strip().startswith("--day") for line in shown)
