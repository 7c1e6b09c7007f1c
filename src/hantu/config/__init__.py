"""Configuration: the settings model, `.pgpass` lookup and the configuration check."""

from hantu.config.settings import (
    EXIT_CONFIG,
    ConfigurationError,
    Settings,
    get_settings,
    load_settings,
    reset_settings_cache,
)

__all__ = ["EXIT_CONFIG", "ConfigurationError", "Settings", "get_settings", "load_settings",
           "reset_settings_cache"]
