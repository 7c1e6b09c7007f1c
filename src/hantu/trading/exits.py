"""Exit rules checked on every live price: stop loss, take profit, trailing stop, ATR stop, time exit.

The position's own stop/target (set from the candidate at entry) win over the configured percentages. The
strategy's `exit_reason` is asked after them (`exit_signal`, what the session loop and the backtest both ask).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from hantu.market import calendar
from hantu.strategy.base import HeldPosition, Strategy
from hantu.trading.risk import RiskConfig


@dataclass(frozen=True)
class ExitSignal:
    rule: str  # stop_loss | take_profit | trailing_stop | atr_stop | time_exit | strategy
    trigger_price: float
    text: str

    @property
    def alert_kind(self) -> str | None:
        if self.rule in ("stop_loss", "trailing_stop", "atr_stop"):
            return "stop_hit"
        if self.rule == "take_profit":
            return "target_hit"
        return None


def stop_level(position: HeldPosition, config: RiskConfig) -> float | None:
    if position.stop_price:
        return float(position.stop_price)
    if config.stop_loss_pct is not None:
        return position.avg_price * (1 - config.stop_loss_pct)
    return None


def target_level(position: HeldPosition, config: RiskConfig) -> float | None:
    if position.target_price:
        return float(position.target_price)
    if config.take_profit_pct is not None:
        return position.avg_price * (1 + config.take_profit_pct)
    return None


def has_exit_rule(position: HeldPosition, config: RiskConfig) -> bool:
    """Whether any rule of `check_exit` can ever fire for `position` (a backtest skips the check otherwise)."""
    return exit_rule_for(position.stop_price, position.target_price, position.atr, config)


def exit_rule_for(stop_price: int | None, target_price: int | None, atr: float, config: RiskConfig) -> bool:
    """`has_exit_rule` from the three fields of a position it depends on (a backtest asks it per entry fill,
    before any `HeldPosition` is made): a stop or target level exists (`stop_level`, `target_level`: the
    position's own, else the configured percentage), or a rule that needs no level is configured."""
    return (bool(stop_price) or config.stop_loss_pct is not None or bool(target_price)
            or config.take_profit_pct is not None or config.trailing_stop_pct is not None
            or (config.atr_stop_multiple is not None and atr > 0)
            or config.max_holding_days is not None or config.exit_time is not None)


def check_exit(position: HeldPosition, price: float, now: datetime, config: RiskConfig) -> ExitSignal | None:
    """The first exit rule `price` at `now` triggers for `position`, or None to hold."""
    if position.quantity <= 0 or price <= 0:
        return None
    stop = stop_level(position, config)
    if stop is not None and price <= stop:
        return ExitSignal("stop_loss", price, f"price {price:,.0f} <= stop {stop:,.0f}")
    if config.trailing_stop_pct is not None and position.high_since_entry > position.avg_price:
        trail = position.high_since_entry * (1 - config.trailing_stop_pct)
        if price <= trail:
            return ExitSignal("trailing_stop", price, f"price {price:,.0f} <= trailing stop {trail:,.0f}")
    if config.atr_stop_multiple is not None and position.atr > 0:
        level = position.high_since_entry - config.atr_stop_multiple * position.atr
        if price <= level:
            return ExitSignal("atr_stop", price, f"price {price:,.0f} <= ATR stop {level:,.0f}")
    target = target_level(position, config)
    if target is not None and price >= target:
        return ExitSignal("take_profit", price, f"price {price:,.0f} >= target {target:,.0f}")
    if config.max_holding_days is not None and position.entry_date < now.date():
        held = len(calendar.trading_days(position.entry_date, now.date())) - 1
        if held >= config.max_holding_days:
            return ExitSignal("time_exit", price, f"held {held} trading days >= {config.max_holding_days}")
    if config.exit_time is not None:
        hour, minute = (int(x) for x in config.exit_time.split(":"))
        if now.timetz().replace(tzinfo=None) >= time(hour, minute):
            return ExitSignal("time_exit", price, f"exit time {config.exit_time} reached")
    return None


def exit_signal(position: HeldPosition, price: float, now: datetime, config: RiskConfig, strategy: Strategy,
                day_open: float | None) -> ExitSignal | None:
    """Whether to sell `position` now: the risk manager's rules first (`check_exit`), then the strategy's
    `exit_reason` (rule `strategy`); None to hold."""
    signal = check_exit(position, price, now, config)
    if signal is not None:
        return signal
    why = strategy.exit_reason(position, price, now, day_open)
    return ExitSignal("strategy", price, why) if why else None
