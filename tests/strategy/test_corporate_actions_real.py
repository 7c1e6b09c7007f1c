"""Corporate actions on the real KRX windows: detected from the data, adjusted series without artificial jumps
in momentum / ATR, and a backtest holding through one keeps its share count and P&L right."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np
import pytest

from hantu.market.store import MarketStore
from hantu.strategy import indicators as ind
from hantu.strategy.base import Decision, DecisionAction, Strategy

# (window, code, ex-date, factor, kind, raw previous close → raw close) as found in ../shared/data/krx, for
# stocks that traded on both sides of the ex-date
CASES = [
    ("2024q1", "336370", date(2024, 1, 8), 1 / 1.8, "bonus_issue", (27000, 15380)),  # 솔루스첨단소재
    ("2024q1", "079370", date(2024, 1, 16), 1 / 3, "bonus_issue", (52800, 17770)),  # 제우스
]
# detected while suspended around the ex-date (no price on one side inside the window)
SUSPENDED = [
    ("2024q1", "003560", date(2024, 1, 4), 16_423_709 / 5_474_569, "reverse_split"),  # IHQ 3,585 → 10,760
    (
        "2024q1",
        "076610",
        date(2024, 1, 8),
        127_265_994 / 25_453_198,
        "reverse_split",
    ),  # 해성옵틱스 312 → 1,518
    ("2023q1", "138360", date(2023, 1, 27), 0.5, "bonus_issue"),  # 협진 4,480 → 2,110
]


@pytest.mark.parametrize(("window", "code", "ex_date", "factor", "kind"), SUSPENDED)
def test_actions_while_suspended_are_detected(krx_stores, window, code, ex_date, factor, kind) -> None:  # type: ignore[no-untyped-def]
    """On a day without a trade KRX's base price is the close of the volume-0 row: detection reads it."""
    store = MarketStore(dict(krx_stores)[window])
    (action,) = [a for a in store.corporate_actions() if a.code == code]
    assert (action.ex_date, action.kind, action.source) == (ex_date, kind, "detected")
    assert action.factor == pytest.approx(factor, rel=1e-6)


def test_data_check_says_which_limit_moves_are_corporate_actions(krx_stores) -> None:  # type: ignore[no-untyped-def]
    from hantu.market.check import check_store

    store = MarketStore(dict(krx_stores)["2024q1"])
    limits = {(i.code, i.day): i.detail for i in check_store(store) if i.kind == "limit"}
    assert "corporate action: bonus_issue" in limits[("336370", date(2024, 1, 8))]
    assert "corporate action" not in limits[("419270", date(2024, 1, 12))]  # the SPAC's rise stays a question


def test_liquidation_runs_and_rises_without_shares_stay_raw(krx_stores) -> None:  # type: ignore[no-untyped-def]
    """크루셜텍's 정리매매 (five out-of-limit drops in a week) and 신영스팩7호's +85 % day are not actions."""
    store = MarketStore(dict(krx_stores)["2024q1"])
    codes = {a.code for a in store.corporate_actions()}
    assert "114120" not in codes and "419270" not in codes
    reasons = {(u.code, u.reason) for u in store.unexplained_moves()}
    assert ("419270", "rise beyond the limit without a share change") in reasons


def _store(krx_stores: list[tuple[str, Any]], window: str) -> MarketStore:
    return MarketStore(dict(krx_stores)[window])


@pytest.mark.parametrize(("window", "code", "ex_date", "factor", "kind", "closes"), CASES)
def test_detected_and_adjusted_without_a_jump(
    krx_stores, window, code, ex_date, factor, kind, closes
) -> None:  # type: ignore[no-untyped-def]
    store = _store(krx_stores, window)
    found = {(a.code, a.ex_date): a for a in store.corporate_actions()}
    action = found[(code, ex_date)]
    assert (action.kind, action.source) == (kind, "detected")
    assert action.factor == pytest.approx(factor, rel=1e-6)

    panel = store.load(1000)
    col, row = panel.column(code), panel.row(ex_date)
    raw = ind.fill_untraded(panel.close, panel.volume)[:, col]
    assert (raw[row - 1], raw[row]) == closes
    adj_panel = panel.adjusted()
    adj = ind.fill_untraded(adj_panel.close, adj_panel.volume)[:, col]
    assert adj[-1] == raw[-1]  # backward-adjusted: the last day is raw won
    assert abs(raw[row] / raw[row - 1] - 1) > 0.3  # the raw series jumps beyond the daily limit ...
    assert abs(adj[row] / adj[row - 1] - 1) < 0.3  # ... the adjusted one moves like a normal day

    # momentum over the ex-date: the raw 5-day return carries the jump, the adjusted one does not
    raw_ret = ind.n_day_return(raw[:, None], 5)[row + 2, 0]
    adj_ret = ind.n_day_return(adj[:, None], 5)[row + 2, 0]
    assert abs(adj_ret) < 0.3 < abs(raw_ret)
    # ATR through the framework's adjusted inputs: no spike on the ex-date
    from hantu.strategy.framework import adjusted_prices

    prices = adjusted_prices(panel)
    raw_prices = ind.prepared(panel.open, panel.high, panel.low, panel.close, panel.volume, panel.amount)
    atr_adj = ind.atr(prices.high[:, [col]], prices.low[:, [col]], prices.close[:, [col]], 3)[:, 0]
    atr_raw = ind.atr(raw_prices.high[:, [col]], raw_prices.low[:, [col]], raw_prices.close[:, [col]], 3)[
        :, 0
    ]
    jump = abs(closes[1] - closes[0] * factor)  # what is left of the move once adjusted
    assert atr_raw[row] - atr_raw[row - 1] > abs(closes[1] - closes[0]) / 3 * 0.9
    assert atr_adj[row] - atr_adj[row - 1] < max(jump, raw[row] * 0.3) / 3 * 1.1 + 1e-9


def test_screen_factors_use_the_adjusted_series(krx_stores) -> None:  # type: ignore[no-untyped-def]
    """The momentum strategy's 5-day return of 솔루스첨단소재 right after its ex-date is the adjusted one."""
    from hantu.strategy.registry import create_strategy

    store = _store(krx_stores, "2024q1")
    panel = store.load(1000)
    on = panel.date_at(panel.row(date(2024, 1, 8)) + 2)
    strategy = create_strategy("momentum", {"indicators.return_days": 5}, use_settings=False)
    explained = strategy.explain(panel, on, "336370")
    view = panel.upto(on)
    adj = ind.fill_untraded(view.adjusted().close, view.volume)[:, view.column("336370")]
    assert explained["indicators"]["return5"] == pytest.approx(adj[-1] / adj[-6] - 1, abs=1e-6)
    assert explained["indicators"]["return5"] > -0.3  # the raw series says about -45 %


# --- a backtest holding through an action --------------------------------------------------------------


@dataclass
class BuyAndHold(Strategy):
    """Buys `code` at the open of the first day and holds it to the end (no exits)."""

    code: str
    name: ClassVar[str] = "buy_and_hold"
    params: dict[str, Any] = field(default_factory=dict)

    def screen(self, panel, on, instruments=None):  # type: ignore[no-untyped-def]
        from hantu.strategy.base import ScreenResult

        return ScreenResult(on=on, scores=[], watchlist=[self.code])

    def select(self, panel, screen, on):  # type: ignore[no-untyped-def]
        from hantu.strategy.base import Candidate

        return [
            Candidate(
                code=self.code,
                name=self.code,
                rank=1,
                entry_price=0,
                stop_price=0,
                target_price=0,
                weight=0.1,
                reason="hold",
            )
        ]

    def on_price(self, candidate, price: float, now: datetime, day_open):  # type: ignore[no-untyped-def]
        return Decision(DecisionAction.BUY, candidate.code, "buy")

    def exit_reason(self, position, price, now, day_open):  # type: ignore[no-untyped-def]
        return None


def test_backtest_holding_through_a_bonus_issue_keeps_shares_and_pnl(krx_stores) -> None:  # type: ignore[no-untyped-def]
    from hantu.backtest.engine import BacktestConfig, BacktestEngine
    from hantu.backtest.screens import WindowScreens
    from hantu.trading.risk import RiskConfig

    store = _store(krx_stores, "2024q1")
    panel = store.load(1000)
    code, ex_date, factor = "336370", date(2024, 1, 8), 1 / 1.8
    col, ex_row = panel.column(code), panel.row(ex_date)
    strategy = BuyAndHold(code)
    risk = RiskConfig(stop_loss_pct=0.35, take_profit_pct=None, max_position_weight=0.1)
    config = BacktestConfig(initial_cash=100_000_000, risk=risk)
    engine = BacktestEngine(strategy, panel, config, screens=WindowScreens(strategy, panel, lookback=5))
    outcome = engine.run(panel.date_at(ex_row - 3), panel.date_at(panel.shape[0] - 1))

    buys = [f for f in outcome.fills if f.side == "buy"]
    assert len(buys) == 1 and not [
        f for f in outcome.fills if f.side == "sell"
    ]  # the -43 % raw drop is no 35 % stop
    (trade,) = outcome.trades
    bought = buys[0].quantity
    held = int(np.floor(bought / factor))
    assert trade.quantity == held and not trade.closed  # 1.8 new shares per old share
    last_close = float(panel.close[-1, col])
    fraction_cash = round((bought / factor - held) * panel.close[ex_row - 1, col] * factor)
    cash_after_buy = config.initial_cash - buys[0].amount - buys[0].commission
    assert outcome.final_equity == pytest.approx(cash_after_buy + fraction_cash + held * last_close)
    # the same P&L as holding the raw shares through the adjusted price series
    adj_last = last_close / factor
    assert trade.pnl == pytest.approx(bought * adj_last - buys[0].amount - buys[0].commission, rel=1e-3)
    # equity never shows the artificial drop
    rows = np.arange(ex_row - 1, ex_row + 1) - (ex_row - 3)
    assert outcome.equity[rows[1]] / outcome.equity[rows[0]] > 0.95


def test_the_paper_broker_holds_through_a_real_bonus_issue(krx_stores, database) -> None:  # type: ignore[no-untyped-def]
    """제우스 (079370), 1:3 bonus issue on 2024-01-16 (52,800 → 17,770 raw): the paper broker replaying the store
    turns 10 shares into 30 at a third of the price, and its ex-date limits stand around the adjusted base
    17,600 (raw, the day's every price would sit below the lower limit and a market order fill at 36,960)."""
    from datetime import timedelta

    from hantu.broker.base import OrderRequest
    from hantu.broker.paper import PaperBroker
    from hantu.broker.paper.feed import PaperFeed
    from hantu.clock import KST, FrozenClock
    from hantu.domain.orders import OrderType, Side
    from hantu.market.corporate_actions import CorporateAction
    from hantu.store.migrate import upgrade
    from hantu.trading.reconcile import known_actions, reconcile

    store = _store(krx_stores, "2024q1")
    code, ex_date, before = "079370", date(2024, 1, 16), date(2024, 1, 15)
    upgrade(database)
    clock = FrozenClock(datetime(2024, 1, 15, 9, 30, tzinfo=KST))
    broker = PaperBroker(database, PaperFeed.from_store(store, ex_date), clock)
    reconcile(database, broker, clock)
    broker.place(OrderRequest("before-the-issue", code, Side.BUY, 10, OrderType.MARKET))
    clock.advance(timedelta(minutes=10))
    assert reconcile(database, broker, clock).mismatches == []
    (held,) = broker.positions()
    assert held.quantity == 10 and 40_000 < held.avg_price < 60_000

    clock.set(datetime(2024, 1, 16, 9, 30, tzinfo=KST))
    (after,) = broker.positions()
    assert after.quantity == 30 and after.avg_price == pytest.approx(held.avg_price / 3)
    quote = broker.quote(code)
    assert (quote.lower_limit, quote.upper_limit) == (12_320, 22_850)  # 17,600 ∓ 30 %, on the tick grid
    assert quote.lower_limit <= quote.price <= quote.upper_limit
    actions = [a for a in known_actions(store) if a.code == code]
    assert [(a.ex_date, a.kind) for a in actions] == [(ex_date, "bonus_issue")]
    assert isinstance(actions[0], CorporateAction) and before < ex_date
    report = reconcile(database, broker, clock, actions=actions)
    assert report.mismatches == [] and report.rebased


def test_the_kis_sandbox_quotes_the_adjusted_base_on_a_real_ex_date(krx_stores, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same 제우스 ex-date through the KIS sandbox's inquire-price: the limits stand around the adjusted base
    17,600, as KRX sets them; the day's price is inside them and no static VI is open all day."""
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.clock import KST, FrozenClock
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    root = dict(krx_stores)["2024q1"]
    clock = FrozenClock(datetime(2024, 1, 16, 11, 0, tzinfo=KST))
    with start_kis_sandbox(root, clock, SandboxOptions(rate_limits={"prod": 500.0, "virtual": 500.0})) as handle:
        account = handle.create_account("virtual")
        config = KisConfig(app_key=account.app_key, app_secret=account.app_secret, server="virtual",
                           account=account.cano + account.product_code, base_url=handle.base_url,
                           rate_limit=200.0, home=tmp_path, timeout=5.0)
        api = KisApi(KisClient(config, clock))
        try:
            price = api.price("079370")
        finally:
            api.close()
    assert (price.lower_limit, price.upper_limit) == (12_320, 22_850)
    assert price.lower_limit <= price.price <= price.upper_limit and not price.in_vi
