"""Which strategies exist: the built-ins plus every entry point in the `hantu.strategies` group.

A user strategy lives in the user's own package and registers itself in that package's `pyproject.toml`:

    [project.entry-points."hantu.strategies"]
    my_strategy = "my_package.strategies:MyStrategy"

The target is a class (or factory) called as `MyStrategy(params=dict)`; the object must satisfy
`hantu.strategy.base.Strategy` (screen, select, on_price, exit_reason; `name`, `params`). Subclassing
`hantu.strategy.framework.ScreeningStrategy` gives the Phase 1 / Phase 2 machinery for free. A plugin cannot
replace a built-in under the same name (the built-in wins, with a warning in the log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from hantu.strategy.base import Strategy
from hantu.strategy.config import StrategyConfigError

log = logging.getLogger(__name__)

GROUP = "hantu.strategies"

# name -> "module:attribute" (also listed in pyproject's entry points; this dict works without reinstalling)
BUILTIN: dict[str, str] = {
    "momentum": "hantu.strategy.builtin.momentum:MomentumStrategy",
    "volatility_breakout": "hantu.strategy.builtin.volatility_breakout:VolatilityBreakoutStrategy",
    "rsi2": "hantu.strategy.builtin.rsi2:Rsi2Strategy",
}
DEFAULT_STRATEGY = "momentum"


class UnknownStrategyError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    target: str  # "module:attribute"
    origin: str  # "built-in" or the distribution that registered it

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        obj: Any = import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        return obj


def available_strategies() -> dict[str, StrategyInfo]:
    """Every registered strategy by name (built-ins first, then plugins in name order)."""
    found = {name: StrategyInfo(name, target, "built-in") for name, target in BUILTIN.items()}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        origin = ep.dist.name if ep.dist is not None else "entry point"
        if ep.name in found:
            if found[ep.name].target != ep.value:
                log.warning("strategy %r from %s ignored: a built-in has that name", ep.name, origin)
            continue
        found[ep.name] = StrategyInfo(ep.name, ep.value, origin)
    return found


def create_strategy(name: str, params: dict[str, Any] | None = None, **options: Any) -> Strategy:
    """An instance of strategy `name` (the callers pass the `HANTU_STRATEGY` setting) with `params` over its
    defaults.

    `UnknownStrategyError` names the registered ones; `StrategyConfigError` lists every bad param.
    `options` (e.g. `config_path=`) go to built-in strategies' constructors.
    """
    known = available_strategies()
    info = known.get(name)
    if info is None:
        raise UnknownStrategyError(f"unknown strategy {name!r}; registered: {', '.join(known)}")
    factory = info.load()
    try:
        strategy = factory(params=dict(params or {}), **options) if options else factory(params=dict(params or {}))
    except StrategyConfigError:
        raise
    except TypeError as error:
        raise StrategyConfigError(f"strategy {name!r} could not be created: {error}") from error
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy {name!r} ({info.target}) does not implement hantu.strategy.base.Strategy")
    return strategy


def describe(name: str) -> dict[str, Any]:
    """Name, origin, description and (for configurable strategies) every setting with its default."""
    info = available_strategies()[name]
    entry: dict[str, Any] = {"name": name, "origin": info.origin, "target": info.target}
    try:
        factory = info.load()
        entry["description"] = getattr(factory, "description", "") or (factory.__doc__ or "").strip().split("\n")[0]
        strategy = factory(params={})
        settings = getattr(strategy, "settings", None)
        entry["settings"] = settings() if callable(settings) else dict(getattr(strategy, "params", {}))
        entry["lookback_days"] = getattr(strategy, "lookback_days", None)
    except Exception as error:  # a broken plugin is listed with its error, not hidden
        entry["error"] = f"{type(error).__name__}: {error}"
    entry["default"] = name == DEFAULT_STRATEGY
    return entry
