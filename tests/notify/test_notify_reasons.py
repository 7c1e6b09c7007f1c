"""Reasons are stored in English; Korean messages translate the phrases the engine and the built-in strategies
write, and leave a plug-in's own words alone."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from hantu.clock import KST
from hantu.notify.reasons import korean_reason
from hantu.notify.templates import render
from hantu.sandbox.telegram import parse_html
from hantu.strategy.base import HeldPosition
from hantu.trading.exits import check_exit
from hantu.trading.risk import RiskConfig

# what may stay Latin in a Korean reason: indicator names and "n/a"
LATIN_ALLOWED = re.compile(r"\b(SMA\d*|ATR|RSI\d*|n/a)|--until")  # names, and an option


def english_left(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", LATIN_ALLOWED.sub("", text))


def exit_reasons() -> list[str]:
    """Every exit rule's reason as the session writes it (`f"{rule}: {text}"`), from the real rules."""
    now = datetime(2026, 3, 16, 14, 0, tzinfo=KST)
    position = HeldPosition(code="005930", quantity=10, avg_price=10_000, entry_date=date(2026, 3, 2),
                            stop_price=None, target_price=None, high_since_entry=12_000, atr=300.0)
    cases = [
        (RiskConfig(stop_loss_pct=0.05), 9_000),
        (RiskConfig(take_profit_pct=0.1), 11_500),
        (RiskConfig(trailing_stop_pct=0.05), 11_000),
        (RiskConfig(atr_stop_multiple=2.0), 11_000),
        (RiskConfig(max_holding_days=5), 10_100),
        (RiskConfig(exit_time="13:30"), 10_100),
    ]
    reasons = []
    for config, price in cases:  # one rule at a time: each config switches on one
        signal = check_exit(position, price, now, config)
        assert signal is not None, config
        reasons.append(f"{signal.rule}: {signal.text}")
    return reasons


STRATEGY_REASONS = [  # the built-in strategies' forms (momentum, rsi2, volatility_breakout), entries and exits
    "momentum score 89.9; regime bull (breadth 62%, index vs SMA +1.2%); limit 17,500 (close 17,400 +0.5%), "
    "stop 16,900 (2×ATR 300), target 18,400 (3×ATR)",
    "price 17,410 at or below limit 17,500",
    "strategy: trailing stop: 17,000 <= 17,200 (2×ATR below the high)",
    "strategy: time: held 3 trading days (max 5)",
    "RSI2 4 < 10 above SMA200; regime bear (breadth 30%, index vs SMA -2.0%); limit 17,500, exit at SMA5 18,000, "
    "stop 16,000 (2×ATR)",
    "oversold entry: 17,000 <= 17,100",
    "strategy: mean reverted: 18,000 >= SMA5 17,900",
    "breakout score 70.0; regime neutral (breadth n/a, index vs SMA n/a); buy above open + 0.5 × range 600 "
    "(≈17,300 if it opens at 17,000); exit next open",
    "breakout: 17,500 >= open 17,000 + 0.5 × range = 17,450",
    "strategy: next open: the breakout trade lasts one day",
    "strategy: close: the breakout trade ends with the day",
    "reprice #1: price 17,410 at or below limit 17,500",
    "end of day: flatten", "end of day", "unfilled: cancelled by the engine", "user: cancel requested",
    "unfilled at the close", "manual order", "reached --until 2026-11-27 18:45", "stop requested",
]


@pytest.mark.parametrize("reason", exit_reasons() + STRATEGY_REASONS)
def test_known_reasons_read_in_korean(reason: str) -> None:
    korean = korean_reason(reason)
    assert english_left(korean) == [], (reason, korean)
    assert re.findall(r"[\d,.]+", reason) == re.findall(r"[\d,.]+", korean) or "≈" in reason  # figures kept


def test_examples_and_unknown_words() -> None:
    assert korean_reason("stop_loss: price 9,000 <= stop 9,500") == "손절: 현재가 9,000 ≤ 손절가 9,500"
    assert korean_reason("price 17,410 at or below limit 17,500") == "현재가 17,410 ≤ 지정가 17,500"
    assert korean_reason("my plug-in's own words") == "my plug-in's own words"


def test_messages_show_the_reason_in_the_chosen_language() -> None:
    data = {"code": "005930", "name": "삼성전자", "side": "sell", "quantity": 10, "order_type": "market",
            "reason": "take_profit: price 11,500 >= target 11,000"}
    assert "• 사유: 익절: 현재가 11,500 ≥ 목표가 11,000" in parse_html(render("order_placed", data))
    assert "• Reason: take_profit: price 11,500 >= target 11,000" in parse_html(render("order_placed", data,
                                                                                        language="en"))
    assert "사유: 장 마감" in parse_html(render("order_cancelled", {**data, "reason": "end of day"}))
    stopped = parse_html(render("scheduler_stopped", {"reason": "reached --until 2026-11-27 18:45"}))
    assert "• 사유: --until 2026-11-27 18:45 도달" in stopped
