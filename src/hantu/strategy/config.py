"""Strategy configuration: shipped defaults (one TOML per strategy in `defaults/`), a user override file, params.

Resolution, later wins: `defaults/<strategy>.toml` → the user file's `[<strategy>.<section>]` tables (path from
`--config`, else the `HANTU_STRATEGY_CONFIG` setting) → params (`{"section.key": value}` or a bare `key` that
names exactly one setting). The result is validated by the strategy's pydantic model, and every problem is
reported at once with its dotted key (`StrategyConfigError`).

The default values live only in the TOML files; the models below carry the types and the allowed ranges.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

M = TypeVar("M", bound=BaseModel)


class StrategyConfigError(ValueError):
    """A strategy configuration (file or params) that cannot be used; the message lists every problem."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filters(Section):
    """Phase 1 eligibility: who may be scored onto the watchlist at all."""

    min_avg_traded_value: float = Field(ge=0)
    traded_value_days: int = Field(ge=1, le=250)
    min_price: float = Field(ge=0)
    min_history_days: int = Field(ge=2, le=1000)
    exclude_untraded: bool
    exclude_halted: bool
    exclude_administrative: bool
    exclude_warned: bool  # 투자경고/위험, 단기과열, 정리매매 in the KIS master
    exclude_spac: bool
    exclude_preferred: bool


class Watchlist(Section):
    top_n: int = Field(ge=1, le=500)
    min_score: float = Field(ge=0, le=100)
    max_per_sector: int = Field(ge=0)


class Selection(Section):
    """Phase 2: how many names the market regime allows, and the sector cap."""

    bull_candidates: int = Field(ge=0, le=100)
    neutral_candidates: int = Field(ge=0, le=100)
    bear_candidates: int = Field(ge=0, le=100)
    max_per_sector: int = Field(ge=0)
    breadth_days: int = Field(ge=2, le=250)
    index_sma_days: int = Field(ge=2, le=250)
    breadth_bull: float = Field(ge=0, le=1)
    breadth_bear: float = Field(ge=0, le=1)
    max_weight: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Selection:
        if self.breadth_bear > self.breadth_bull:
            raise ValueError(f"breadth_bear ({self.breadth_bear}) must not exceed breadth_bull ({self.breadth_bull})")
        return self


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise StrategyConfigError(f"strategy config file not found: {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise StrategyConfigError(f"{path}: not valid TOML: {error}") from error


def shipped_defaults(strategy: str) -> dict[str, Any]:
    """The defaults shipped in the package for `strategy` (a TOML file in `hantu/strategy/defaults/`)."""
    resource = resources.files("hantu.strategy") / "defaults" / f"{strategy}.toml"
    return tomllib.loads(resource.read_text(encoding="utf-8"))


def user_config_path(explicit: Path | None = None) -> Path | None:
    """`explicit` (the `--config` option), else the `HANTU_STRATEGY_CONFIG` setting, else none."""
    if explicit is not None:
        return Path(explicit)
    from hantu.config import get_settings

    configured = get_settings().strategy_config
    return Path(configured) if configured else None


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _apply_params(data: dict[str, Any], params: dict[str, Any], strategy: str) -> tuple[dict[str, Any], list[str]]:
    """Put `{"section.key": v}` / `{"key": v}` params into `data`; unknown or ambiguous keys are errors."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    problems: list[str] = []
    for raw_key, value in params.items():
        key = str(raw_key).strip()
        if "." in key:
            section, _, name = key.partition(".")
            if not isinstance(out.get(section), dict) or name not in out[section]:
                problems.append(f"{key}: no such setting in {strategy} (see `hantu strategy list --json`)")
                continue
        else:
            owners = [s for s, v in out.items() if isinstance(v, dict) and key in v]
            if len(owners) != 1:
                problems.append(f"{key}: " + ("no such setting" if not owners else
                                              f"ambiguous, use one of {', '.join(f'{o}.{key}' for o in owners)}")
                                + f" in {strategy}")
                continue
            section, name = owners[0], key
        out[section][name] = value
    return out, problems


def _describe(error: ValidationError, prefix: str) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        elif item["type"] == "missing":
            message = "missing (the shipped defaults define it: is the package complete?)"
        lines.append(f"{prefix}{where}: {message}")
    return lines


def resolve_config(strategy: str, model: type[M], params: dict[str, Any] | None = None,
                   config_path: Path | None = None, use_settings: bool = True,
                   defaults_path: Path | None = None) -> M:
    """The validated configuration of `strategy`: defaults (the shipped TOML, or `defaults_path` for a plugin
    that brings its own), the user file, then `params`."""
    data = _load_toml(defaults_path) if defaults_path is not None else shipped_defaults(strategy)
    path = config_path if config_path is not None else (user_config_path() if use_settings else None)
    if path is not None:
        user = _load_toml(path)
        unknown_top = [k for k, v in user.items() if not isinstance(v, dict)]
        if unknown_top:
            raise StrategyConfigError(f"{path}: settings must sit in [<strategy>.<section>] tables; "
                                      f"found top-level keys {unknown_top}")
        section = user.get(strategy, {})
        data = _deep_merge(data, section)
    data, problems = _apply_params(data, dict(params or {}), strategy)
    try:
        config = model.model_validate(data)
    except ValidationError as error:
        problems.extend(_describe(error, f"{strategy}."))
        config = None
    if problems:
        source = f" ({path})" if path is not None else ""
        raise StrategyConfigError(f"invalid {strategy} configuration{source}:\n  " + "\n  ".join(problems))
    assert config is not None
    return config


def config_hash(config: BaseModel) -> str:
    """A short fingerprint of a resolved configuration, stored with each run (same hash = same settings)."""
    payload = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def flat_settings(config: BaseModel) -> dict[str, Any]:
    """`{"section.key": value}` of a resolved configuration: what `--param` can set."""
    out: dict[str, Any] = {}
    for section, values in config.model_dump(mode="json").items():
        if isinstance(values, dict):
            for key, value in values.items():
                out[f"{section}.{key}"] = value
        else:
            out[section] = values
    return out
