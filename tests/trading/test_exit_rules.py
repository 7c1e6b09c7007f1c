"""`exit_rule_for` (what the backtest asks per entry fill) says whether `check_exit` can ever sell a position:
False means no price at no time sells it, True means some price or time does."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from hantu.clock import KST
from hantu.strategy.base import HeldPosition
from hantu.trading.exits import check_exit, exit_rule_for, has_exit_rule
from hantu.trading.risk import RiskConfig

ENTRY = date(2024, 3, 4)  # a Monday
PRICES = [1.0, 500.0, 9_000.0, 9_990.0, 10_000.0, 10_010.0, 11_000.0, 50_000.0, 10_000_000.0]
TIMES = [datetime(2024, 3, 4, 9, 0, tzinfo=KST), datetime(2024, 3, 4, 15, 19, tzinfo=KST),
         datetime(2024, 6, 28, 15, 19, tzinfo=KST)]


def _fires_somewhere(position: HeldPosition, config: RiskConfig) -> bool:
    return any(check_exit(position, price, now, config) is not None for price in PRICES for now in TIMES)


def test_exit_rule_for_says_whether_check_exit_can_ever_fire() -> None:
    settings = itertools.product((None, 0.05), (None, 0.1), (None, 0.03), (None, 2.0), (None, 5), (None, "15:00"))
    positions = itertools.product((None, 9_500), (None, 10_500), (0.0, 300.0), (10_000.0, 10_400.0))
    cases = list(itertools.product(settings, positions))
    for (stop_pct, take_pct, trail_pct, atr_multiple, holding, exit_time), (stop, target, atr, high) in cases:
        config = RiskConfig(stop_loss_pct=stop_pct, take_profit_pct=take_pct, trailing_stop_pct=trail_pct,
                            atr_stop_multiple=atr_multiple, max_holding_days=holding, exit_time=exit_time)
        position = HeldPosition(code="005930", quantity=10, avg_price=10_000.0, entry_date=ENTRY, stop_price=stop,
                                target_price=target, high_since_entry=high, atr=atr)
        can = exit_rule_for(stop, target, atr, config)
        assert can == has_exit_rule(position, config)
        if not can:
            assert not _fires_somewhere(position, config), (config, position)
        elif trail_pct is None or high > position.avg_price or any(
                x is not None for x in (stop, target, stop_pct, take_pct, holding, exit_time)) or (
                atr_multiple is not None and atr > 0):
            # a trailing stop alone fires only once the high has risen above the entry price
            assert _fires_somewhere(position, config), (config, position)
    assert len(cases) == 64 * 16
