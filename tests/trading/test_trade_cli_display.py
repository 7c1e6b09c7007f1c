"""`hantu trade` as people read it: Korean names in the book's tables, won with thousands separators, the kill
switch's state in `trade risk`, no-op halt/resume said as such, and the actor recorded once."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from helpers import run_hantu

DAY = date(2026, 3, 13)


def _seed_book() -> None:
    from hantu.clock import KST
    from hantu.store.migrate import upgrade
    from hantu.store.models import Instrument, TradeFill, TradeOrder, TradePosition

    from helpers import configured_database

    database = configured_database()
    upgrade(database)
    at = datetime(2026, 3, 13, 9, 5, tzinfo=KST)
    with database.session() as session:
        session.add(Instrument(code="005930", name="삼성전자", market="KOSPI"))
        session.add(TradeOrder(client_order_id="c-1", broker="paper", broker_order_id="P000000001",
                               trading_date=DAY, code="005930", side="buy", order_type="limit", quantity=1200,
                               limit_price=71000, status="filled", filled_quantity=1200, avg_fill_price=71000.0,
                               purpose="entry", reason="", source="engine", message="filled", created_at=at,
                               updated_at=at))
        session.add(TradeFill(broker="paper", fill_id="f-1", broker_order_id="P000000001", order_id=1,
                              trading_date=DAY, code="005930", side="buy", quantity=1200, price=71000,
                              amount=85_200_000, commission=12780, tax=0, filled_at=at, recorded_at=at))
        session.add(TradePosition(broker="paper", code="005930", quantity=1200, avg_price=9710.0, entry_date=DAY,
                                  stop_price=9200, target_price=10500, high_since_entry=9800.0, updated_at=at))


def test_book_tables_show_names_and_won_with_separators(isolated_env: Path) -> None:
    _seed_book()
    wide = {"COLUMNS": "160"}
    orders = run_hantu("trade", "orders", "--day", DAY.isoformat(), env=wide)
    assert orders.returncode == 0, orders.stderr
    assert "삼성전자" in orders.stdout and "71,000" in orders.stdout and "1,200" in orders.stdout
    fills = run_hantu("trade", "fills", "--day", DAY.isoformat(), env=wide)
    assert fills.returncode == 0, fills.stderr
    assert "삼성전자" in fills.stdout and "85,200,000" in fills.stdout and "12,780" in fills.stdout
    positions = run_hantu("trade", "positions", env=wide)
    assert positions.returncode == 0, positions.stderr
    assert "9,710" in positions.stdout and "9710.0" not in positions.stdout and "10,500" in positions.stdout
    as_json = json.loads(run_hantu("trade", "orders", "--day", DAY.isoformat(), "--json").stdout)
    assert as_json[0]["name"] == "삼성전자"
    assert json.loads(run_hantu("trade", "fills", "--day", DAY.isoformat(), "--json").stdout)[0]["name"] == "삼성전자"


def test_kill_switch_state_no_ops_and_actor(isolated_env: Path) -> None:
    import getpass

    shown = json.loads(run_hantu("trade", "risk", "--json").stdout)
    assert shown["halt"]["halted"] is False and "max_open_positions" in shown
    assert "active" in run_hantu("trade", "risk").stdout

    resumed = run_hantu("trade", "resume")
    assert resumed.returncode == 0 and "not halted" in resumed.stdout and "trading resumed" not in resumed.stdout

    first = json.loads(run_hantu("trade", "halt", "--reason", "too volatile", "--json").stdout)
    assert first["halted"] is True and first["changed"] is True
    assert first["by"] == f"cli:{getpass.getuser()}"  # not cli:cli:<user>
    second = run_hantu("trade", "halt", "--reason", "another reason")
    assert second.returncode == 0 and "already halted" in second.stdout and "too volatile" in second.stdout

    risk = json.loads(run_hantu("trade", "risk", "--json").stdout)
    assert risk["halt"]["halted"] is True and risk["halt"]["reason"] == "too volatile"
    assert "HALTED: too volatile" in run_hantu("trade", "risk").stdout

    from hantu.store.models import AuditEntry, OutboxMessage

    from helpers import configured_database

    with configured_database().session() as session:
        assert session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == ["halt"]
        assert session.scalars(select(OutboxMessage.kind)).all() == ["risk_halt"]  # one alert, not two

    again = json.loads(run_hantu("trade", "resume", "--json").stdout)
    assert again["halted"] is False and again["changed"] is True


def test_unknown_code_is_said_once(isolated_env: Path) -> None:
    from hantu.market.sample import write_sample_market

    from helpers import configured_store

    write_sample_market(configured_store(), stocks=5, days=10, end=date.today())
    result = run_hantu("trade", "buy", "999999", "1")
    assert result.returncode == 1
    assert result.stderr.count("unknown stock code") == 1 and "Traceback" not in result.stderr
