"""`.env.example` documents every setting, and loads as a valid configuration."""

from __future__ import annotations

import re

from hantu.config.settings import Settings, load_settings

from helpers import REPO_ROOT


def example_keys() -> set[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z_]+)=", text, flags=re.M))


def test_every_setting_documented() -> None:
    keys = example_keys()
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        primary = str(choices[0]) if choices else str(field.validation_alias or name.upper())
        assert primary in keys, f"{primary} is missing from .env.example"


def test_example_loads() -> None:
    settings = load_settings(REPO_ROOT / ".env.example")
    assert settings.trading_mode == "paper"
