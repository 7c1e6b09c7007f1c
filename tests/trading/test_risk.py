"""Every risk limit blocks what it should, and still holds after a restart (a fresh process sees the same
database). Exit rules fire on live prices."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from simkit import at
from sqlalchemy import select

from hantu.broker.base import OrderStateUnknown
from hantu.domain.orders import OrderType, Side
from hantu.store.models import AuditEntry, OutboxMessage
from hantu.strategy.base import HeldPosition
from hantu.trading.engine import TradingEngine
from hantu.trading.exits import check_exit
from hantu.trading.halt import halt_state, set_halt
from hantu.trading.reconcile import reconcile
from hantu.trading.risk import RiskConfig, load_config, resume_trading, save_config

CODES = ["100000", "100010", "100020", "100030", "100040", "100050"]


def engine_for(rig) -> TradingEngine:  # type: ignore[no-untyped-def]
    reconcile(rig.database, rig.broker, rig.clock)
    return TradingEngine(rig.database, rig.broker, rig.clock)


def configure(rig, **values) -> None:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        save_config(session, load_config(session).with_values(**values), "cli", "test")


def buy(engine: TradingEngine, code: str, quantity: int = 1, price: int | None = None, purpose: str = "entry"):  # type: ignore[no-untyped-def]
    quote = engine.broker.quote(code)
    return engine.submit(code, Side.BUY, quantity, OrderType.LIMIT, price or quote.price, purpose, "t", "engine",
                         quote=quote)


def holds_after_restart(rig, check) -> None:  # type: ignore[no-untyped-def]
    """Run `check(engine)` now and again on a restarted process."""
    check(engine_for(rig))
    rig2 = rig.restart()
    check(TradingEngine(rig2.database, rig2.broker, rig2.clock))


def test_max_open_positions(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_open_positions=2, max_new_entries_per_day=10)
    engine = engine_for(rig)
    assert buy(engine, CODES[0]).ok and buy(engine, CODES[1]).ok

    def check(e: TradingEngine) -> None:
        result = buy(e, CODES[2])
        assert not result.ok and "max open positions" in result.verdict.reason
        assert buy(e, CODES[0]).ok  # adding to a held/pending stock is not a new position

    holds_after_restart(rig, check)


def test_max_new_entries_per_day(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_new_entries_per_day=1)
    engine = engine_for(rig)
    assert buy(engine, CODES[0]).ok

    def check(e: TradingEngine) -> None:
        result = buy(e, CODES[1])
        assert not result.ok and "entries per day" in result.verdict.reason

    holds_after_restart(rig, check)


def test_max_position_weight(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_position_weight=0.1)
    engine = engine_for(rig)
    price = engine.broker.quote(CODES[1]).price  # ~54,000: 10 % of 10 M is ~18 shares

    def check(e: TradingEngine) -> None:
        result = buy(e, CODES[1], quantity=int(1_000_000 // price) + 1, price=price)
        assert not result.ok and "of equity" in result.verdict.reason

    check(engine)
    assert buy(engine, CODES[1], quantity=int(1_000_000 // price) - 1, price=price).ok
    rig2 = rig.restart()
    result = buy(TradingEngine(rig2.database, rig2.broker, rig2.clock), CODES[1],
                 quantity=int(1_000_000 // price) + 1, price=price)
    assert not result.ok


def test_cash_check_includes_costs(rig) -> None:  # type: ignore[no-untyped-def]
    from hantu.market.rules import costs
    from hantu.trading.risk import OrderCheck

    configure(rig, max_position_weight=1.0)
    engine = engine_for(rig)
    quantity, price = 100, 19_000
    need = quantity * price + costs("buy", quantity * price, "KOSPI", rig.clock.today()).total
    assert need > quantity * price  # the commission is counted

    def verdict(orderable: int):  # type: ignore[no-untyped-def]
        with rig.database.session() as session:
            return engine.risk.check_order(session, OrderCheck(CODES[3], Side.BUY, quantity, OrderType.LIMIT, price,
                                                               "entry", price, "KOSPI", orderable_cash=orderable),
                                           rig.clock.now(), 10_000_000)

    assert not verdict(need - 1) and "insufficient cash" in verdict(need - 1).reason
    assert verdict(need)
    # The book's own cash counts too: an order worth more than the account is refused.
    too_many = engine.broker.cash().cash // 19_000 + 1
    result = buy(engine, CODES[3], quantity=too_many, price=19_000)
    assert not result.ok


class LostAnswers:
    """The paper broker, except that every order's answer is lost on the way back (a timeout after sending)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, item):  # type: ignore[no-untyped-def]
        return getattr(self.inner, item)

    def place(self, request):  # type: ignore[no-untyped-def]
        self.inner.place(request)
        raise OrderStateUnknown("read timeout")


def test_a_pending_market_buy_holds_cash(rig) -> None:  # type: ignore[no-untyped-def]
    """A market buy whose fate is unknown may still fill: it holds its quantity at the price it was checked at
    (the upper price limit) plus commission, and a second buy that needs that cash is refused."""
    from hantu.broker.fill_model import buy_cash_needed

    configure(rig, max_position_weight=1.0, max_new_entries_per_day=10)
    reconcile(rig.database, rig.broker, rig.clock)
    engine = TradingEngine(rig.database, LostAnswers(rig.broker), rig.clock)
    day = rig.clock.today()
    with rig.database.session() as session:
        free_before = engine.risk.free_cash(session, day, "KOSPI")
    quote = rig.broker.quote(CODES[0])
    checked_at = quote.upper_limit or quote.price
    quantity = int(free_before * 0.6 // checked_at)
    first = engine.submit(CODES[0], Side.BUY, quantity, OrderType.MARKET, None, "entry", "t", "engine", quote=quote)
    assert first.ok and first.order is not None
    assert first.order.status == "unknown" and first.order.reserve_price == checked_at
    with rig.database.session() as session:
        free_after = engine.risk.free_cash(session, day, "KOSPI")
    assert free_after == free_before - buy_cash_needed(quantity, checked_at, day, "KOSPI")

    other = rig.broker.quote(CODES[2])
    second = engine.submit(CODES[2], Side.BUY, int(free_before * 0.6 // (other.upper_limit or other.price)),
                           OrderType.MARKET, None, "entry", "t", "engine", quote=other)
    assert not second.verdict and "insufficient cash" in second.verdict.reason


def test_daily_loss_limit_blocks_entries_for_the_day_and_survives_restart(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, daily_loss_limit=0.02)
    engine = engine_for(rig)
    with rig.database.session() as session:
        assert engine.risk.update_equity(session, 10_000_000, rig.clock.now()) == []
        assert engine.risk.update_equity(session, 9_790_000, rig.clock.now()) == ["daily_loss"]

    def check(e: TradingEngine) -> None:
        result = buy(e, CODES[0])
        assert not result.ok and "daily loss" in result.verdict.reason

    holds_after_restart(rig, check)
    with rig.database.session() as session:
        assert session.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind == "risk_halt")).all()
        # The next day starts afresh.
        next_day = at("09:30", date(2026, 11, 9))
        assert engine.risk.entries_blocked(session, next_day) is None


def test_max_drawdown_halts_until_resumed_and_the_peak_is_persisted(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_drawdown=0.1, daily_loss_limit=0.5)
    engine = engine_for(rig)
    with rig.database.session() as session:
        engine.risk.update_equity(session, 12_000_000, rig.clock.now())  # the peak
    rig.clock.advance(timedelta(days=3))  # Monday: the peak is from an earlier day
    rig2 = rig.restart()
    engine2 = engine_for(rig2)
    with rig2.database.session() as session:
        assert engine2.risk.update_equity(session, 10_700_000, rig2.clock.now()) == ["max_drawdown"]
        state = halt_state(session)
        assert state.halted and state.by.startswith("risk")
    rig3 = rig2.restart()
    assert not buy(TradingEngine(rig3.database, rig3.broker, rig3.clock), CODES[0]).ok
    with rig3.database.session() as session:
        resume_trading(session, "cli", "test", "checked")
    assert buy(TradingEngine(rig3.database, rig3.broker, rig3.clock), CODES[0]).ok


def test_kill_switch_blocks_entries_not_exits_unless_configured(rig) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(rig)
    assert buy(engine, CODES[0], quantity=5, price=engine.broker.quote(CODES[0]).upper_limit).ok
    rig.clock.advance(timedelta(minutes=5))
    engine.orders.sync(rig.clock.today())
    with rig.database.session() as session:
        set_halt(session, True, "test", "cli", "tester")

    def check(e: TradingEngine) -> None:
        blocked = buy(e, CODES[1])
        assert not blocked.ok and "halted" in blocked.verdict.reason

    holds_after_restart(rig, check)
    sell = engine.submit(CODES[0], Side.SELL, 5, OrderType.MARKET, None, "exit", "stop", "engine")
    assert sell.ok
    configure(rig, halt_blocks_exits=True)
    rig.clock.advance(timedelta(minutes=5))
    engine.orders.sync(rig.clock.today())
    assert buy(engine, CODES[0], quantity=1).verdict.reason.startswith("trading halted")


@pytest.mark.parametrize(("moment", "allowed"), [("08:45", False), ("09:00", True), ("15:19", True),
                                                 ("15:20", False), ("16:00", False)])
def test_no_order_outside_the_session(rig, moment: str, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    from hantu.clock import FrozenClock

    engine = engine_for(rig)
    engine.clock = engine.orders.clock = FrozenClock(at(moment))
    result = buy(engine, CODES[0])
    assert result.ok is allowed, result.verdict.reason
    if not allowed:
        assert "outside the trading session" in result.verdict.reason


def test_price_limits_and_ticks(rig) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(rig)
    quote = engine.broker.quote(CODES[1])
    above = buy(engine, CODES[1], price=quote.upper_limit + 100)  # rounded down to a tick, still above
    assert not above.ok and "upper limit" in above.verdict.reason
    rounded = buy(engine, CODES[1], price=54_030)  # 54,030 is off the 100-won grid: rounded down for a buy
    assert rounded.ok and rounded.order.limit_price == 54_000
    with rig.database.session() as session:
        from hantu.trading.risk import OrderCheck

        verdict = engine.risk.check_order(session, OrderCheck(CODES[1], Side.BUY, 1, OrderType.LIMIT, 54_030,
                                                              "entry", 54_000, "KOSPI"), rig.clock.now(), 10**7)
    assert not verdict and "tick" in verdict.reason


def test_manual_orders_pass_the_same_checks_and_are_audited(rig) -> None:  # type: ignore[no-untyped-def]
    configure(rig, max_new_entries_per_day=0)
    engine = engine_for(rig)
    quote = engine.broker.quote(CODES[0])
    result = engine.submit(CODES[0], Side.BUY, 1, OrderType.LIMIT, quote.price, "manual", "t", "cli", quote=quote,
                           actor="cli:tester")
    assert not result.ok and "entries per day" in result.verdict.reason
    with rig.database.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "order_buy")).one()
        assert entry.outcome == "denied" and entry.actor == "cli:tester"


def test_config_is_validated_and_persisted(rig) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        RiskConfig(max_drawdown=0)
    with pytest.raises(ValueError, match="unknown risk settings"):
        RiskConfig().with_values(max_positions=3)
    configure(rig, max_open_positions=3, trailing_stop_pct=0.04)
    rig2 = rig.restart()
    with rig2.database.session() as session:
        config = load_config(session)
    assert config.max_open_positions == 3 and config.trailing_stop_pct == 0.04


POSITION = HeldPosition("100000", 10, 10_000.0, date(2026, 11, 2), None, None, 10_800.0, atr=300.0)


@pytest.mark.parametrize(("price", "config", "rule"), [
    (9_400, RiskConfig(stop_loss_pct=0.05), "stop_loss"),
    (9_600, RiskConfig(stop_loss_pct=0.05), None),
    (10_500, RiskConfig(stop_loss_pct=None, take_profit_pct=0.05), "take_profit"),
    (10_300, RiskConfig(stop_loss_pct=None, trailing_stop_pct=0.04), "trailing_stop"),
    (10_300, RiskConfig(stop_loss_pct=None, atr_stop_multiple=1.5), "atr_stop"),
    (10_400, RiskConfig(stop_loss_pct=None, atr_stop_multiple=1.5), None),
    (10_100, RiskConfig(stop_loss_pct=None, max_holding_days=3), "time_exit"),
    (10_100, RiskConfig(stop_loss_pct=None, exit_time="15:00"), "time_exit"),
])
def test_exit_rules(price: int, config: RiskConfig, rule: str | None) -> None:
    signal = check_exit(POSITION, price, at("15:05"), config)
    assert (signal.rule if signal else None) == rule


def test_position_levels_win_over_percentages() -> None:
    held = HeldPosition("100000", 10, 10_000.0, date(2026, 11, 6), 9_800, 10_200, 10_000.0)
    config = RiskConfig(stop_loss_pct=0.05, take_profit_pct=0.10)
    assert check_exit(held, 9_790, at("10:00"), config).rule == "stop_loss"
    assert check_exit(held, 10_200, at("10:00"), config).rule == "take_profit"
    assert check_exit(held, 10_100, at("10:00"), config) is None


def test_two_books_in_one_database_keep_their_own_equity_marks(rig) -> None:  # type: ignore[no-untyped-def]
    """A shadow book beside the account (5 M won against 10 M) is measured against its own peak and day start:
    the account's marks never read as its drawdown, and its breach blocks only its own entries."""
    from hantu.trading.risk import RiskManager

    configure(rig, max_drawdown=0.1, daily_loss_limit=0.5)
    account = RiskManager("kis")
    shadow = RiskManager("shadow", owns_kill_switch=False)
    now = rig.clock.now()
    with rig.database.session() as session:
        assert account.update_equity(session, 10_000_000, now) == []
        assert shadow.update_equity(session, 5_000_000, now) == []  # not a 50 % drawdown of the account's peak
        assert account.update_equity(session, 10_100_000, now) == []
        assert shadow.update_equity(session, 4_400_000, now) == ["max_drawdown"]  # 12 % of its own 5 M
        assert not halt_state(session).halted  # the shadow book does not halt the account
        assert account.entries_blocked(session, now) is None
        assert "max drawdown" in (shadow.entries_blocked(session, now) or "")
        assert shadow.update_equity(session, 4_300_000, now) == []  # tripped once
    with rig.database.session() as session:
        resume_trading(session, "cli", "test", "checked")
    with rig.database.session() as session:
        assert shadow.entries_blocked(session, now) is None
        assert shadow.update_equity(session, 4_300_000, now) == []  # measured from 4.4 M again, not from 5 M
        assert account.update_equity(session, 9_000_000, now) == ["max_drawdown"]  # the account's own 10.1 M
        assert halt_state(session).halted  # the account owns the kill switch
