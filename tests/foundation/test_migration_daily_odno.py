"""Migration 0008: KIS order numbers restart daily, so the order key gains the trading date and KIS fill ids
gain the order date; the downgrade gives back the old ids."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hantu.clock import KST
from hantu.store.db import Database
from hantu.store.migrate import downgrade, upgrade

AT = datetime(2024, 3, 4, 10, 0, tzinfo=KST)


def _order(conn, client_id: str, day: date, odno: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text(
        "INSERT INTO trade_orders (client_order_id, broker, broker_order_id, trading_date, code, side, order_type,"
        " quantity, status, filled_quantity, avg_fill_price, purpose, reason, source, reprice_count, message,"
        " created_at, updated_at) VALUES (:c, 'kis', :o, :d, '005930', 'buy', 'limit', 1, 'filled', 1, 70000,"
        " 'entry', '', 'engine', 0, '', :at, :at)"), {"c": client_id, "o": odno, "d": day, "at": AT})


def _fill(conn, broker: str, fill_id: str, day: date) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text(
        "INSERT INTO trade_fills (broker, fill_id, broker_order_id, trading_date, code, side, quantity, price,"
        " amount, commission, tax, filled_at, recorded_at, in_base) VALUES (:b, :f, '0008000001', :d, '005930',"
        " 'buy', 1, 70000, 70000, 10, 0, :at, :at, false)"), {"b": broker, "f": fill_id, "d": day, "at": AT})


def _fill_ids(database: Database) -> list[tuple[str, str]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT broker, fill_id FROM trade_fills ORDER BY id"))]


def test_0008_dates_kis_fill_ids_and_order_numbers(db_url: str) -> None:
    database = Database(db_url)
    upgrade(database, "0007")
    with database.engine.begin() as conn:
        _order(conn, "H1", date(2024, 3, 4), "0008000001")
        _fill(conn, "kis", "0008000001-1", date(2024, 3, 4))
        _fill(conn, "paper", "P000000001-001", date(2024, 3, 4))
    upgrade(database)
    assert _fill_ids(database) == [("kis", "20240304-0008000001-1"), ("paper", "P000000001-001")]
    with database.engine.begin() as conn:  # the next day's order may carry the same ODNO now
        _order(conn, "H2", date(2024, 3, 5), "0008000001")
    with pytest.raises(IntegrityError), database.engine.begin() as conn:  # but not twice on one day
        _order(conn, "H3", date(2024, 3, 5), "0008000001")

    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM trade_orders WHERE client_order_id = 'H2'"))
    downgrade(database, "0007")
    assert _fill_ids(database) == [("kis", "0008000001-1"), ("paper", "P000000001-001")]
    database.dispose()
