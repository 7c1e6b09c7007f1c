"""Configuration: the settings model, the real-money opt-in, `.pgpass` lookup and the configuration check."""

from hantu.config.real_money import RealMoneyNotConfirmed, require_real_money_opt_in
from hantu.config.settings import (
    EXIT_CONFIG,
    ConfigurationError,
    Settings,
    get_settings,
    load_settings,
    reset_settings_cache,
)

__all__ = ["EXIT_CONFIG", "ConfigurationError", "RealMoneyNotConfirmed", "Settings", "get_settings",
           "load_settings", "require_real_money_opt_in", "reset_settings_cache"]
