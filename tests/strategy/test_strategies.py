"""Intraday entries and exits of the built-ins, and the registry (params, errors, plugins via entry points)."""

from __future__ import annotations

import json
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest

from hantu.clock import KST
from hantu.config import get_settings
from hantu.strategy.base import Candidate, HeldPosition, Strategy
from hantu.strategy.config import StrategyConfigError
from hantu.strategy.registry import UnknownStrategyError, available_strategies, create_strategy

from helpers import run_hantu

DAY = date(2024, 2, 13)  # a Tuesday, a trading day


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=KST)


def candidate(**kw) -> Candidate:  # type: ignore[no-untyped-def]
    base = dict(code="005930", name="삼성전자", rank=1, entry_price=10_000, stop_price=9_500, target_price=11_000,
                weight=0.1, reason="test", atr=200.0)
    base.update(kw)
    return Candidate(**base)  # type: ignore[arg-type]


def position(**kw) -> HeldPosition:  # type: ignore[no-untyped-def]
    base = dict(code="005930", quantity=10, avg_price=10_000.0, entry_date=DAY, stop_price=9_500,
                target_price=11_000, high_since_entry=10_000.0, atr=200.0)
    base.update(kw)
    return HeldPosition(**base)  # type: ignore[arg-type]


def test_builtins_are_registered_and_satisfy_the_protocol() -> None:
    known = available_strategies()
    assert {"momentum", "volatility_breakout", "rsi2"} <= set(known)
    for name in ("momentum", "volatility_breakout", "rsi2"):
        strategy = create_strategy(name)
        assert isinstance(strategy, Strategy) and strategy.name == name and strategy.lookback_days >= 20
    assert create_strategy(get_settings().strategy).name == "momentum"  # the default HANTU_STRATEGY
    with pytest.raises(UnknownStrategyError, match="registered: momentum"):
        create_strategy("nope")
    with pytest.raises(StrategyConfigError, match=r"rules\.k"):
        create_strategy("volatility_breakout", {"rules.k": 5})
    assert create_strategy("volatility_breakout", {"k": "0.3"}).config.rules.k == 0.3
    assert create_strategy("volatility_breakout", {"exit": "close"}).flatten_at_close is True


def test_momentum_entry_and_every_exit_rule() -> None:
    s = create_strategy("momentum")
    now = at(DAY, 9, 30)
    assert s.on_price(candidate(), 10_000, now, 10_100).limit_price == 10_000
    assert s.on_price(candidate(), 10_050, now, None) is None  # above the limit: wait
    assert s.on_price(candidate(), 9_400, now, None) is None  # already through the stop: no entry
    assert s.exit_reason(position(), 10_200, now, None) is None
    assert s.exit_reason(position(), 9_500, now, None).startswith("stop")
    assert s.exit_reason(position(), 11_000, now, None).startswith("target")
    # trailing: the high ran 3 ATR above the entry; 2.5 ATR below that high sells
    assert s.exit_reason(position(high_since_entry=10_600), 10_100, now, None).startswith("trailing")
    assert s.exit_reason(position(high_since_entry=10_100), 9_700, now, None) is None  # trail not active yet
    # time: 10 trading days after the entry (2024-02-13 + 10 trading days = 2024-02-27)
    assert s.exit_reason(position(), 10_200, at(date(2024, 2, 26), 10, 0), None) is None
    assert s.exit_reason(position(), 10_200, at(date(2024, 2, 27), 10, 0), None).startswith("time")


def test_volatility_breakout_trigger_and_exits() -> None:
    s = create_strategy("volatility_breakout")
    c = candidate(entry_price=10_500, stop_price=9_000, extra={"range": 400.0, "k": 0.5})
    assert s.on_price(c, 10_190, at(DAY, 9, 5), 10_000) is None
    buy = s.on_price(c, 10_200, at(DAY, 9, 5), 10_000)  # open 10,000 + 0.5 × 400
    assert buy is not None and buy.action == "buy" and "10,200" in buy.reason
    assert s.on_price(c, 10_500, at(DAY, 15, 0), 10_000) is None  # too late in the day
    assert s.exit_reason(position(stop_price=None, target_price=None), 10_300, at(DAY, 10, 0), 10_000) is None
    assert s.exit_reason(position(stop_price=None), 10_300, at(date(2024, 2, 14), 9, 0), 10_300).startswith("next open")
    closing = create_strategy("volatility_breakout", {"exit": "close"})
    assert closing.exit_reason(position(stop_price=None, target_price=None), 10_300, at(DAY, 15, 0), None) is None
    assert closing.exit_reason(position(stop_price=None, target_price=None), 10_300, at(DAY, 15, 12), None) == \
        "close: the breakout trade ends with the day"


def test_rsi2_entry_and_exits() -> None:
    s = create_strategy("rsi2")
    now = at(DAY, 10, 0)
    assert s.on_price(candidate(), 9_900, now, None).limit_price == 10_000
    assert s.exit_reason(position(target_price=10_300), 10_300, now, None).startswith("mean reverted")
    assert s.exit_reason(position(), 9_400, now, None).startswith("stop")
    assert s.exit_reason(position(), 10_100, at(date(2024, 2, 20), 10, 0), None).startswith("time")  # 5 days


def test_a_plugin_strategy_from_an_entry_point_is_listed_and_usable(tmp_path: Path) -> None:
    """A user package registering `hantu.strategies` = its class, installed as a dist on the path."""
    (tmp_path / "my_strats.py").write_text(textwrap.dedent('''
        from pathlib import Path

        from hantu.strategy.builtin.momentum import MomentumStrategy

        class Narrow(MomentumStrategy):
            """Momentum on a short watchlist, with its own defaults file."""
            name = "narrow"
            description = "a user's own strategy"
            defaults_file = Path(__file__).with_name("narrow.toml")
    '''), encoding="utf-8")
    defaults = Path(__file__).resolve().parents[2] / "src/hantu/strategy/defaults/momentum.toml"
    (tmp_path / "narrow.toml").write_text(defaults.read_text(encoding="utf-8").replace("top_n = 30", "top_n = 3"),
                                          encoding="utf-8")
    dist = tmp_path / "my_strats-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-strats\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[hantu.strategies]\nnarrow = my_strats:Narrow\nmomentum = my_strats:Narrow\n", encoding="utf-8")
    result = run_hantu("strategy", "list", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["momentum"]["origin"] == "built-in"  # a plugin cannot take a built-in's name
    assert entries["momentum"]["settings"]["watchlist.top_n"] == 30
    assert entries["narrow"]["origin"] == "my-strats" and "error" not in entries["narrow"], entries["narrow"]
    assert entries["narrow"]["settings"]["watchlist.top_n"] == 3
    # and without the plugin on the path it is simply not there
    plain = json.loads(run_hantu("strategy", "list", "--json").stdout)
    assert "narrow" not in {e["name"] for e in plain}
