"""Which strategies exist: the built-ins plus every entry point in the `hantu.strategies` group.

A user strategy lives in the user's own package and registers itself in that package's `pyproject.toml`:

    [project.entry-points."hantu.strategies"]
    my_strategy = "my_package.strategies:MyStrategy"

The target is a class (or factory) called as `MyStrategy(params=dict)`; the object must be a
`hantu.strategy.base.Strategy` (the declared contract: screen, select, on_price, exit_reason, and the hooks with
their defaults). Subclassing `hantu.strategy.framework.ScreeningStrategy` gives the Phase 1 / Phase 2 machinery
for free. A plugin cannot replace a built-in under the same name (the built-in wins, with a warning in the log).
A target that breaks the contract is refused when it is loaded (`StrategyContractError`, saying what is
missing), not with an `AttributeError` in the middle of a trading day.
"""

from __future__ import annotations

import inspect
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


class StrategyContractError(TypeError):
    """A registered target that is not a `hantu.strategy.base.Strategy` (or one with a decision left abstract)."""


def check_contract(target: Any, name: str, where: str) -> None:
    """Refuse a strategy class that breaks the contract, naming what is wrong (a factory is checked on the
    object it returns). `where` is the "module:attribute" it was loaded from."""
    if not inspect.isclass(target):
        return
    if not issubclass(target, Strategy):
        raise StrategyContractError(
            f"strategy {name!r} ({where}) does not subclass hantu.strategy.base.Strategy: subclass it (or "
            "hantu.strategy.framework.ScreeningStrategy) to get the declared hooks (docs/strategies.md)")
    missing = sorted(target.__abstractmethods__)
    if missing:
        raise StrategyContractError(f"strategy {name!r} ({where}) does not implement {', '.join(missing)}")
    if "instruments" not in inspect.signature(target.screen).parameters:
        raise StrategyContractError(f"strategy {name!r} ({where}): its screen takes no `instruments` (the "
                                    "contract is screen(panel, on, instruments=None))")


def _checked(strategy: Any, name: str, where: str) -> Strategy:
    """The created object, if it is a `Strategy` whose declared hooks have their declared types."""
    if not isinstance(strategy, Strategy):
        raise StrategyContractError(f"strategy {name!r} ({where}) returned a {type(strategy).__name__}, "
                                    "not a hantu.strategy.base.Strategy")
    lookback = strategy.lookback_days
    if not isinstance(lookback, int) or isinstance(lookback, bool) or lookback <= 0:
        raise StrategyContractError(f"strategy {name!r} ({where}): lookback_days must be a positive int, "
                                    f"not {lookback!r}")
    if not strategy.name:
        raise StrategyContractError(f"strategy {name!r} ({where}) has no `name`")
    return strategy


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    target: str  # "module:attribute"
    origin: str  # "built-in" or the distribution that registered it

    def load(self) -> Any:
        """The target (class or factory); `StrategyContractError` when it breaks the contract."""
        module, _, attribute = self.target.partition(":")
        obj: Any = import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        check_contract(obj, self.name, self.target)
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
    return _checked(strategy, name, info.target)


def describe(name: str) -> dict[str, Any]:
    """Name, origin, description and (for configurable strategies) every setting with its default."""
    info = available_strategies()[name]
    entry: dict[str, Any] = {"name": name, "origin": info.origin, "target": info.target}
    try:
        strategy = _checked(info.load()(params={}), name, info.target)
        entry["description"] = strategy.summary()
        entry["settings"] = strategy.settings()
        entry["lookback_days"] = strategy.lookback_days
    except Exception as error:  # a broken plugin is listed with its error, not hidden
        entry["error"] = f"{type(error).__name__}: {error}"
    entry["default"] = name == DEFAULT_STRATEGY
    return entry
