"""Migration 0009: the order state hidden in `message` text (never arrived, why a cancel was asked) becomes
columns, and the broker's reported filled quantity gets its own; the downgrade writes the markers back."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text

from hantu.clock import KST
from hantu.store.db import Database
from hantu.store.migrate import downgrade, upgrade

AT = datetime(2024, 3, 4, 10, 0, tzinfo=KST)
ROWS = {  # client order id -> (status, filled, message)
    "H1": ("expired", 0, "not found at the broker: never arrived"),
    "H2": ("cancelled", 2, "unfilled: cancelled by the engine"),
    "H3": ("cancelled", 0, "end of day"),
    "H4": ("cancelled", 0, "user: cancel requested"),
    "H5": ("filled", 5, "filled"),
}


def _order(conn, client_id: str, status: str, filled: int, message: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO trade_orders (client_order_id, broker, broker_order_id, trading_date, code, side, order_type,"
            " quantity, status, filled_quantity, avg_fill_price, purpose, reason, source, reprice_count, message,"
            " created_at, updated_at) VALUES (:c, 'kis', NULL, :d, '005930', 'buy', 'limit', 5, :s, :f, 70000,"
            " 'entry', '', 'engine', 0, :m, :at, :at)"
        ),
        {"c": client_id, "d": date(2024, 3, 4), "s": status, "f": filled, "m": message, "at": AT},
    )


def test_0012_moves_order_state_out_of_message_text_and_back(db_url: str) -> None:
    database = Database(db_url)
    upgrade(database, "0011")
    with database.engine.begin() as conn:
        for client_id, (status, filled, message) in ROWS.items():
            _order(conn, client_id, status, filled, message)
    upgrade(database)
    with database.engine.connect() as conn:
        rows = {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                text(
                    "SELECT client_order_id, never_arrived, cancel_reason, reported_filled_quantity FROM trade_orders"
                )
            )
        }
    assert rows == {
        "H1": (True, None, 0),
        "H2": (False, "unfilled", 2),
        "H3": (False, "end_of_day", 0),
        "H4": (False, "user", 0),
        "H5": (False, None, 5),
    }

    with database.engine.begin() as conn:  # a cancel asked after the upgrade leaves the message alone
        conn.execute(text("UPDATE trade_orders SET message = 'broker text' WHERE client_order_id = 'H2'"))
        conn.execute(text("UPDATE trade_orders SET message = '' WHERE client_order_id = 'H1'"))
    downgrade(database, "0011")
    with database.engine.connect() as conn:
        messages = dict(conn.execute(text("SELECT client_order_id, message FROM trade_orders")).all())
    assert messages == {
        "H1": "not found at the broker: never arrived",
        "H2": "unfilled: cancelled by the engine",
        "H3": "end of day",
        "H4": "user: cancel requested",
        "H5": "filled",
    }
    database.dispose()
