"""The real-money opt-in (quality bar S5): one function, one error type, one message, at every entry point.

A prod KIS account without `REAL_TRADING_ENABLED=true` is refused by `hantu trade ...` and `hantu run` (real
subprocesses, the configuration's exit status), by the scheduler's jobs and the broker factory, by `KisBroker`
itself however it is built, and reported by `hantu config check` — each with the message of
`require_real_money_opt_in`. (The API builds no broker: its controls queue requests the scheduler carries out.)
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hantu import exitcodes
from hantu.config import RealMoneyNotConfirmed, load_settings, require_real_money_opt_in

from helpers import run_hantu

KEYS = {"APP_KEY": "k" * 36, "APP_SECRET": "s" * 40, "ACCOUNT_NUMBER": "12345678-01"}
PROD = {"TRADING_MODE": "kis", "SERVER": "prod", **KEYS}


def refusal() -> str:
    with pytest.raises(RealMoneyNotConfirmed) as refused:
        require_real_money_opt_in("prod", False)
    return str(refused.value)


def test_the_one_check_refuses_prod_without_the_opt_in_only() -> None:
    message = refusal()
    assert "SERVER=prod" in message and "REAL_TRADING_ENABLED=true" in message
    require_real_money_opt_in("prod", True)
    require_real_money_opt_in("virtual", False)


@pytest.mark.parametrize("command", [("trade", "buy", "005930", "1"), ("trade", "sell", "005930", "1"),
                                     ("trade", "reconcile"), ("trade", "balance", "--json")])
def test_trade_commands_refuse_prod_without_the_opt_in(command: tuple[str, ...]) -> None:
    result = run_hantu(*command, env=PROD)
    assert result.returncode == exitcodes.CONFIG, result.stdout + result.stderr
    assert f"error: {refusal()}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_scheduler_refuses_to_start_on_prod_without_the_opt_in() -> None:
    result = run_hantu("run", "--clock", "sim", "--start", "2026-11-27 05:55", "--until", "2026-11-27 06:00",
                       env=PROD, timeout=60)
    assert result.returncode == exitcodes.CONFIG, result.stdout + result.stderr
    assert f"error: {refusal()}" in result.stderr


def test_a_manual_job_run_refuses_prod_without_the_opt_in() -> None:
    result = run_hantu("jobs", "run", "close_out", "--date", "2026-11-27", "--force", env=PROD)
    assert result.returncode == exitcodes.CONFIG, result.stdout + result.stderr
    assert f"error: {refusal()}" in result.stderr


def test_config_check_reports_the_same_refusal() -> None:
    result = run_hantu("config", "check", "--json", env=PROD)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert {"level": "error", "key": "REAL_TRADING_ENABLED", "message": refusal()} in findings
    opted_in = run_hantu("config", "check", "--json", env={**PROD, "REAL_TRADING_ENABLED": "true"})
    assert not [f for f in json.loads(opted_in.stdout)["findings"] if f["key"] == "REAL_TRADING_ENABLED"]


def test_scheduler_jobs_get_their_broker_from_the_guarded_factory(isolated_env: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from hantu.clock import FrozenClock, parse_kst
    from hantu.scheduler.jobs import Services
    from hantu.store.db import get_database

    for key, value in PROD.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    database = get_database(settings.resolved_database_url)
    services = Services(settings, FrozenClock(parse_kst("2026-11-27 08:30")), database)
    with pytest.raises(RealMoneyNotConfirmed, match="REAL_TRADING_ENABLED"):
        services.broker(date(2026, 11, 27))


def test_the_factory_builds_each_broker_and_refuses_prod_without_the_opt_in(isolated_env: Path) -> None:
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.paper import PaperBroker
    from hantu.clock import FrozenClock, parse_kst
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store
    from hantu.store.db import get_database
    from hantu.store.migrate import ensure_schema
    from hantu.trading.factory import open_broker, open_engine

    clock = FrozenClock(parse_kst("2026-11-27 10:00"))
    paper = load_settings(isolated_env / "none.env", commission_rate=0.0001, paper_starting_cash=5_000_000)
    database = get_database(paper.resolved_database_url)
    ensure_schema(database)
    write_sample_market(open_market_store(paper), stocks=5, days=10, end=date(2026, 11, 27))
    broker = open_broker(paper, database, clock)
    assert isinstance(broker, PaperBroker) and broker.commission_rate == pytest.approx(0.0001)
    assert broker.cash().cash == 5_000_000
    engine = open_engine(paper, database, clock, broker)
    assert engine.risk.fees.commission_rate == pytest.approx(0.0001)  # the risk check charges the same costs

    virtual = load_settings(isolated_env / "none.env", trading_mode="kis", server="virtual", **_keys())
    assert isinstance(open_broker(virtual, database, clock), KisBroker)
    real = load_settings(isolated_env / "none.env", trading_mode="kis", server="prod", **_keys())
    with pytest.raises(RealMoneyNotConfirmed) as refused:
        open_broker(real, database, clock)
    assert str(refused.value) == refusal()
    opted_in = load_settings(isolated_env / "none.env", trading_mode="kis", server="prod",
                             real_trading_enabled=True, **_keys())
    assert open_broker(opted_in, database, clock).config.server == "prod"


def test_no_kis_broker_on_a_prod_account_exists_without_the_opt_in(isolated_env: Path) -> None:
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.kis.config import KisConfig

    prod = KisConfig(app_key="k" * 36, app_secret="s" * 40, server="prod", home=isolated_env)
    with pytest.raises(RealMoneyNotConfirmed) as refused:
        KisBroker.from_config(prod)
    assert str(refused.value) == refusal()
    assert KisBroker.from_config(prod.with_(real_trading_enabled=True)).config.server == "prod"
    assert KisBroker.from_config(prod.with_(server="virtual")).config.is_virtual


def _keys() -> dict[str, object]:
    return {"app_key": KEYS["APP_KEY"], "app_secret": KEYS["APP_SECRET"], "account_number": KEYS["ACCOUNT_NUMBER"]}


def test_shadow_mode_reads_prices_only_and_a_kis_account_beside_it_keeps_the_guard(
        isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TRADING_MODE=shadow places nothing at KIS, so a prod key pair needs no opt-in for it; the book is its own
    (`shadow`). A KIS account traded beside a shadow book (SHADOW_STRATEGY) is refused without the opt-in,
    exactly as without one."""
    from hantu.broker.paper.shadow import ShadowBroker
    from hantu.clock import FrozenClock, parse_kst
    from hantu.scheduler.jobs import Services
    from hantu.store.db import get_database
    from hantu.store.migrate import ensure_schema
    from hantu.trading.factory import open_broker

    clock = FrozenClock(parse_kst("2026-11-27 10:00"))
    shadow = load_settings(isolated_env / "none.env", trading_mode="shadow", server="prod",
                           paper_starting_cash=3_000_000, **_keys())
    database = get_database(shadow.resolved_database_url)
    ensure_schema(database)
    broker = open_broker(shadow, database, clock)
    assert isinstance(broker, ShadowBroker) and broker.name == "shadow" and broker.account == "shadow"
    assert broker.cash().cash == 3_000_000
    with pytest.raises(RealMoneyNotConfirmed):
        require_real_money_opt_in(shadow.server, shadow.real_trading_enabled)  # the same keys would need it at KIS

    for key, value in {**PROD, "SHADOW_STRATEGY": "momentum"}.items():
        monkeypatch.setenv(key, value)
    beside = load_settings()
    services = Services(beside, FrozenClock(parse_kst("2026-11-27 08:30")), database)
    assert services.shadow_strategy is not None and services.shadow_strategy.name == "momentum"
    assert isinstance(services.shadow_broker(date(2026, 11, 27)), ShadowBroker)
    with pytest.raises(RealMoneyNotConfirmed, match="REAL_TRADING_ENABLED"):
        services.broker(date(2026, 11, 27))
    result = run_hantu("run", "--clock", "sim", "--start", "2026-11-27 05:55", "--until", "2026-11-27 06:00",
                       env={**PROD, "SHADOW_STRATEGY": "momentum"}, timeout=60)
    assert result.returncode == exitcodes.CONFIG, result.stdout + result.stderr


def test_config_check_knows_shadow_mode() -> None:
    missing = run_hantu("config", "check", "--json", env={"TRADING_MODE": "shadow"})
    assert missing.returncode == 1
    keys = {f["key"] for f in json.loads(missing.stdout)["findings"] if f["level"] == "error"}
    assert {"APP_KEY", "APP_SECRET"} <= keys and "ACCOUNT_NUMBER" not in keys
    unknown = run_hantu("config", "check", "--json", env={**PROD, "REAL_TRADING_ENABLED": "true",
                                                            "SHADOW_STRATEGY": "no-such"})
    errors = [f for f in json.loads(unknown.stdout)["findings"] if f["level"] == "error"]
    assert [f["key"] for f in errors] == ["SHADOW_STRATEGY"], errors
