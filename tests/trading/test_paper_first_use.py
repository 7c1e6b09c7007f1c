"""The paper account from the user's side: one starting-cash setting, and `trade balance` works on first use."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from helpers import run_hantu


def _sample_market() -> None:
    from hantu.market.sample import write_sample_market

    from helpers import configured_store

    write_sample_market(configured_store(), stocks=5, days=10, end=date.today())


def test_balance_initialises_the_book_on_first_use(isolated_env: Path) -> None:
    _sample_market()
    first = run_hantu("trade", "balance")
    assert first.returncode == 0, first.stderr
    assert "no account yet" not in first.stdout and "initialised" in first.stdout
    assert "cash 10,000,000 won" in first.stdout
    again = json.loads(run_hantu("trade", "balance", "--json").stdout)
    assert again["initialised"] is True and again["initialised_now"] is False and again["cash"] == 10_000_000


def test_balance_without_market_data_says_why_it_cannot_initialise(isolated_env: Path) -> None:
    result = run_hantu("trade", "balance", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["initialised"] is False and "market data" in payload["initialise_error"]


def test_paper_starting_cash_is_one_setting(isolated_env: Path) -> None:
    _sample_market()
    env = {"PAPER_STARTING_CASH": "25000000"}
    shown = json.loads(run_hantu("trade", "balance", "--json", env=env).stdout)
    assert shown["cash"] == 25_000_000
    from hantu.store.models import PaperAccount

    from helpers import configured_database

    with configured_database().session() as session:
        account = session.get(PaperAccount, "paper")
        assert account is not None and account.starting_cash == 25_000_000
    backtest = run_hantu("backtest", "--strategy", "momentum", "--json", "--allow-short-history", env=env)
    assert backtest.returncode == 0, backtest.stderr
    assert json.loads(backtest.stdout)["initial_cash"] == 25_000_000
    explicit = run_hantu(
        "backtest", "--strategy", "momentum", "--json", "--allow-short-history", "--cash", "7000000", env=env
    )
    assert json.loads(explicit.stdout)["initial_cash"] == 7_000_000
    bad = run_hantu("trade", "balance", env={"PAPER_STARTING_CASH": "0"})
    assert bad.returncode != 0 and "PAPER_STARTING_CASH" in bad.stderr
