"""`hantu trade` in a subprocess: JSON output, the kill switch (persisted, audited), risk settings, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from hantu import exitcodes

from helpers import run_hantu


def test_halt_and_resume_are_persisted_audited_and_alerted(isolated_env: Path) -> None:
    halted = run_hantu("trade", "halt", "--reason", "too volatile", "--json")
    assert halted.returncode == 0, halted.stderr
    assert json.loads(halted.stdout)["halted"] is True
    from hantu.store.models import AuditEntry, OutboxMessage
    from hantu.trading.halt import halt_state

    from helpers import configured_database

    database = configured_database()
    with database.session() as session:
        assert halt_state(session).reason == "too volatile"
        assert session.scalars(select(OutboxMessage.kind)).all() == ["risk_halt"]
    resumed = run_hantu("trade", "resume", "--json")
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["halted"] is False
    with database.session() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["halt", "resume"]


def test_risk_settings_are_shown_changed_and_validated(isolated_env: Path) -> None:
    changed = run_hantu("trade", "risk", "--set", "max_open_positions=3", "--set", "trailing_stop_pct=0.04",
                        "--json")
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(run_hantu("trade", "risk", "--json").stdout)
    assert shown["max_open_positions"] == 3 and shown["trailing_stop_pct"] == 0.04
    bad = run_hantu("trade", "risk", "--set", "max_positions=3")
    assert bad.returncode == 2 and "max_open_positions" in bad.stderr
    worse = run_hantu("trade", "risk", "--set", "max_drawdown=2")
    assert worse.returncode == 2 and "max_drawdown" in worse.stderr


def test_listings_on_an_empty_book(isolated_env: Path) -> None:
    for command in ("positions", "orders", "fills"):
        result = run_hantu("trade", command, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == []
    balance = json.loads(run_hantu("trade", "balance", "--json").stdout)
    assert balance["initialised"] is False and balance["broker"] == "paper"
    bad_day = run_hantu("trade", "orders", "--day", "yesterday")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr


def test_manual_orders_give_clear_errors(isolated_env: Path) -> None:
    no_data = run_hantu("trade", "buy", "005930", "1")
    assert no_data.returncode == 1 and "market data" in no_data.stderr
    from datetime import date

    from hantu.market.sample import write_sample_market

    from helpers import configured_store

    write_sample_market(configured_store(), stocks=5, days=10, end=date.today())
    unknown = run_hantu("trade", "buy", "999999", "1")
    assert unknown.returncode == 1 and "unknown stock code" in unknown.stderr
    zero = run_hantu("trade", "sell", "005930", "0")
    assert zero.returncode == 2 and "at least 1" in zero.stderr
    missing = run_hantu("trade", "cancel", "no-such-order")
    assert missing.returncode == 1 and "no order" in missing.stderr


def test_a_prod_account_without_the_opt_in_is_refused(isolated_env: Path) -> None:
    result = run_hantu("trade", "buy", "005930", "1", env={"TRADING_MODE": "kis", "SERVER": "prod",
                                                           "APP_KEY": "k" * 36, "APP_SECRET": "s" * 40,
                                                           "ACCOUNT_NUMBER": "12345678-01"})
    assert result.returncode == exitcodes.CONFIG and "REAL_TRADING_ENABLED" in result.stderr
