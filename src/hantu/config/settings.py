"""The settings model: one place that reads the environment and `.env`.

Key names follow the deployment guide the users already have (`APP_KEY`, `ACCOUNT_NUMBER`, `SERVER`, ...);
the `KIS_*` spellings used by the deployment scripts are accepted as aliases.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hantu import exitcodes
from hantu.config.database_url import build_database_url, url_password

ACCOUNT_RE = re.compile(r"^(\d{8})-?(\d{2})$")


DEFAULT_PAPER_STARTING_CASH = 10_000_000  # won


def env_file_path() -> Path:
    """The `.env` file read by every process: `$HANTU_ENV_FILE`, else `./.env`."""
    return Path(os.environ.get("HANTU_ENV_FILE", ".env"))


class Settings(BaseSettings):
    """Everything a process needs to know about its environment.

    Secrets are `SecretStr` so that printing the model never shows them.
    """

    model_config = SettingsConfigDict(
        env_file=None,  # set per instance by `load_settings` so tests can point elsewhere
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # --- KIS ---------------------------------------------------------------------------------------
    app_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("APP_KEY", "KIS_APP_KEY"),
        description="App key of your KIS Open API service. Real and virtual (모의투자) accounts have separate key pairs.")
    app_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("APP_SECRET", "KIS_APP_SECRET"),
        description="App secret that goes with APP_KEY.")
    account_number: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ACCOUNT_NUMBER", "KIS_ACCOUNT_NO"),
        description="KIS account: 8-digit CANO + 2-digit product code, written 12345678-01 or 1234567801 (stored without the dash).")
    server: Literal["virtual", "prod"] = Field(
        "virtual", validation_alias=AliasChoices("SERVER", "KIS_SERVER"),
        description="KIS server: virtual (모의투자) or prod (실전). KIS's own spellings vps and real are accepted. Ignored while TRADING_MODE=paper.")
    kis_hts_id: str | None = Field(
        None, validation_alias=AliasChoices("KIS_HTS_ID", "HTS_ID"),
        description="HTS ID: the tr_key of KIS's real-time fill notices over the WebSocket.")
    kis_base_url: str | None = Field(
        None, validation_alias="KIS_BASE_URL",
        description="Override of the KIS REST base URL (the KIS sandbox, a proxy). Unset: KIS's own server for SERVER.")
    kis_ws_url: str | None = Field(
        None, validation_alias="KIS_WS_URL",
        description="Override of the KIS WebSocket URL. Unset: KIS's own server for SERVER.")
    kis_rate_limit: float | None = Field(
        None, validation_alias="KIS_RATE_LIMIT", gt=0,
        description="Requests per second for this app key across all processes. Unset: 20 (prod) or 2 (virtual), KIS's published limits.")

    # --- trading ----------------------------------------------------------------------------------
    trading_mode: Literal["paper", "kis", "shadow"] = Field(
        "paper", validation_alias="TRADING_MODE",
        description="paper: the in-process paper broker on local market data, no credentials. kis: orders through the KIS account (SERVER decides virtual or real). shadow: the paper broker on today's live KIS prices (WebSocket, REST fallback) in its own book `shadow`; needs APP_KEY/APP_SECRET, places nothing at KIS.")
    real_trading_enabled: bool = Field(
        False, validation_alias="REAL_TRADING_ENABLED",
        description="The real-money opt-in: orders reach a real account only with TRADING_MODE=kis, SERVER=prod and this true.")
    strategy: str = Field(
        "momentum", validation_alias="HANTU_STRATEGY",
        description="The strategy the scheduler runs: a name from `hantu strategy list` (built-in or a `hantu.strategies` entry point).")
    shadow_strategy: str | None = Field(
        None, validation_alias="SHADOW_STRATEGY",
        description="With TRADING_MODE=kis: also run this strategy in a shadow book (`shadow`) beside the KIS account, on the same live prices (the KIS session's socket). Unset: no shadow book. Ignored in the other modes.")
    strategy_config: Path | None = Field(
        None, validation_alias="HANTU_STRATEGY_CONFIG",
        description="A TOML file of strategy settings over the shipped defaults, in `[<strategy>.<section>]` tables (docs/strategies.md).")
    data_source: Literal["none", "kis", "pykrx"] = Field(
        "none", validation_alias="HANTU_DATA_SOURCE",
        description="Where the 06:00 data_sync job gets missing daily bars: none (you import or sample data yourself; the job fails while days up to the previous trading day are missing), kis (per-stock daily charts through the KIS client) or pykrx (needs KRX_ID/KRX_PW).")
    commission_rate: float | None = Field(
        None, validation_alias="HANTU_COMMISSION_RATE", ge=0, le=0.01,
        description="Broker commission per side as a fraction (0.00015 = 0.015 %). Unset: 0.00015.")
    drift_alert_bps: float | None = Field(
        50.0, validation_alias="DRIFT_ALERT_BPS", ge=0,
        description="The nightly drift report alerts (Telegram, high priority) when the day's live-vs-model P&L difference exceeds this many basis points of the equity at the open. Unset or empty: never alert (the summary is still sent).")
    paper_starting_cash: int = Field(
        DEFAULT_PAPER_STARTING_CASH, validation_alias="PAPER_STARTING_CASH", ge=1,
        description="Starting cash in won of a new paper or shadow book (TRADING_MODE=paper or shadow, SHADOW_STRATEGY; an existing book keeps its own), and the default cash of `hantu backtest` and of the `hantu demo` account (both also take --cash).")

    # --- Telegram ---------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias="TELEGRAM_BOT_TOKEN",
        description="Telegram bot token. Unset: messages stay in the outbox and go to the log only.")
    telegram_chat_id: str | None = Field(
        None, validation_alias="TELEGRAM_CHAT_ID",
        description="The one chat that receives messages and whose commands (/status, /halt, ...) are obeyed.")
    telegram_api_base: str = Field(
        "https://api.telegram.org", validation_alias="TELEGRAM_API_BASE",
        description="Telegram Bot API base URL (the Telegram sandbox in tests and the demo).")
    notify_urls: SecretStr | None = Field(
        None, validation_alias="NOTIFY_URLS",
        description="More channels for every notification, beside Telegram: apprise URLs separated by spaces "
        "(discord://webhook_id/token, slack://T../B../token, mailtos://user:pass@host?to=addr, "
        "json://host/path). Each channel gets every message once, in order, with the outbox's retry rules. "
        "Unset: Telegram only.")
    language: Literal["ko", "en"] = Field(
        "ko", validation_alias="HANTU_LANGUAGE",
        description="Language of what a user reads — Telegram messages, dashboard labels, selection and exit "
        "reasons, backtest reports: ko or en (stored reasons, logs and --json stay English).")

    # --- API server -------------------------------------------------------------------------------
    api_host: str = Field(
        "127.0.0.1", validation_alias="API_HOST",
        description="Address the API server binds. A non-loopback address (0.0.0.0) requires API_SERVER_KEY.")
    api_port: int = Field(
        8000, validation_alias="API_PORT", ge=1, le=65535,
        description="Port of the API server and dashboard.")
    api_server_key: SecretStr | None = Field(
        None, validation_alias="API_SERVER_KEY",
        description="API key clients send in the X-API-Key header. Required for a non-loopback API_HOST.")
    api_cors_origins: str = Field(
        "", validation_alias="API_CORS_ORIGINS",
        description="Comma-separated origins allowed by CORS. Empty: none.")

    # --- storage and logging ----------------------------------------------------------------------
    hantu_home: Path = Field(
        Path("./data"), validation_alias="HANTU_HOME",
        description="Data directory: SQLite database, market store, logs, KIS token cache, reports, backups.")
    database_url: SecretStr | None = Field(
        None, validation_alias="DATABASE_URL",
        description="Full SQLAlchemy database URL (postgresql://user@host:5432/db or sqlite:///path). Wins over DB_*. Unset: DB_* if DB_HOST is set, else SQLite at $HANTU_HOME/hantu.db.")
    db_host: str | None = Field(
        None, validation_alias="DB_HOST",
        description="PostgreSQL host; setting it selects PostgreSQL built from the DB_* keys (password from ~/.pgpass).")
    db_port: int = Field(
        5432, validation_alias="DB_PORT", ge=1, le=65535,
        description="PostgreSQL port.")
    db_user: str | None = Field(
        None, validation_alias="DB_USER",
        description="PostgreSQL user (needed with DB_HOST).")
    db_name: str | None = Field(
        None, validation_alias="DB_NAME",
        description="PostgreSQL database name (needed with DB_HOST).")
    db_password: SecretStr | None = Field(
        None, validation_alias="DB_PASSWORD",
        description="PostgreSQL password in plain text; prefer ~/.pgpass (or PGPASSFILE), mode 600.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias="LOG_LEVEL",
        description="Log level of every process (stderr and the JSON log files).")
    # --- operations ------------------------------------------------------------------------------
    refresh_max_mb: int = Field(
        300, validation_alias="HANTU_REFRESH_MAX_MB", ge=100,
        description="Memory ceiling (MB RSS) of the scheduler's nightly backtest refresh child: refused before it starts when its panel would not fit (estimated from days × stocks), stopped when it grows past it, so that the scheduler's unit stays within its MemoryMax.")
    min_available_mb: int = Field(
        800, validation_alias="HANTU_MIN_AVAILABLE_MB", ge=0,
        description="Deploys and `hantu doctor` fail when less memory than this is available (MB).")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("server", mode="before")
    @classmethod
    def _server_alias(cls, value: object) -> object:
        """Accept the spellings KIS itself uses (`real`, `vps`) besides ours."""
        if isinstance(value, str):
            lowered = value.strip().lower()
            return {"real": "prod", "vps": "virtual", "paper": "virtual"}.get(lowered, lowered)
        return value

    @field_validator("account_number", mode="before")
    @classmethod
    def _normalise_account(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        match = ACCOUNT_RE.match(raw.strip())
        if not match:
            raise ValueError("must be 8 digits + 2 digits, as 12345678-01 or 1234567801")
        return SecretStr(match.group(1) + match.group(2))

    @model_validator(mode="before")
    @classmethod
    def _blank_means_unset(cls, values: object) -> object:
        """`KEY=""` in `.env` (as `.env.example` ships) means "not set": the default applies."""
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
        return values

    # --- derived values ---------------------------------------------------------------------------
    @property
    def cano(self) -> str | None:
        """The 8-digit account number (`CANO`)."""
        acct = self.account_number.get_secret_value() if self.account_number else None
        return acct[:8] if acct else None

    @property
    def account_product_code(self) -> str | None:
        """The 2-digit product code (`ACNT_PRDT_CD`)."""
        acct = self.account_number.get_secret_value() if self.account_number else None
        return acct[8:] if acct else None

    @property
    def is_real_money(self) -> bool:
        """Orders reach a real account only with both `SERVER=prod` and the explicit opt-in."""
        return self.trading_mode == "kis" and self.server == "prod" and self.real_trading_enabled

    @property
    def uses_postgres(self) -> bool:
        url = self.database_url.get_secret_value() if self.database_url else ""
        return url.startswith("postgresql") or (not url and self.db_host is not None)

    @cached_property
    def resolved_database_url(self) -> str:
        """`DATABASE_URL`, else one built from `DB_*` and `.pgpass`, else SQLite in `HANTU_HOME`."""
        return build_database_url(self)

    @property
    def logs_dir(self) -> Path:
        return self.hantu_home / "logs"

    def notify_url_list(self) -> list[str]:
        """The `NOTIFY_URLS` entries, in order."""
        raw = self.notify_urls.get_secret_value() if self.notify_urls is not None else ""
        return raw.split()  # not on commas: an apprise URL may hold some (mailtos://…?to=a@x,b@y)

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log masking filter."""
        values: list[str] = []
        for name in ("app_key", "app_secret", "account_number", "telegram_bot_token", "api_server_key",
                     "db_password"):
            secret = getattr(self, name)
            if secret is not None:
                values.append(secret.get_secret_value())
        values.extend(self.notify_url_list())  # webhook URLs carry their tokens
        password = url_password(self.resolved_database_url)
        if password:
            values.append(password)
        acct = self.cano
        if acct:
            values.append(acct)
        return [v for v in values if len(v) >= 4]


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment and the `.env` file (environment wins)."""
    path = env_file if env_file is not None else env_file_path()
    try:
        return Settings(_env_file=path if path.exists() else None, **overrides)
    except UnicodeDecodeError as error:  # a .env saved as CP949/EUC-KR: say so, not a traceback
        raise ConfigurationError([(".env", _not_utf8(error))], path) from None


def _not_utf8(error: UnicodeDecodeError) -> str:
    byte = error.object[error.start : error.start + 1].hex()
    return (f"not UTF-8 text (byte 0x{byte} at offset {error.start}); save it as UTF-8, "
            "e.g. iconv -f cp949 -t utf-8 .env > .env.utf8 && mv .env.utf8 .env")


EXIT_CONFIG = exitcodes.CONFIG  # every entry point's status on an invalid configuration (systemd does not restart it)


class ConfigurationError(Exception):
    """The `.env` or the environment holds invalid values: every bad key with why, never the values (one may be
    a secret pasted into the wrong key). Entry points print it and exit with `EXIT_CONFIG`."""

    def __init__(self, problems: list[tuple[str, str]], env_file: Path) -> None:
        self.problems = problems
        self.env_file = env_file
        lines = [f"  {key}: {why}" for key, why in problems]
        super().__init__(f"invalid configuration ({len(problems)} problem(s); .env: {env_file}):\n"
                         + "\n".join(lines) + "\nRun `hantu config check` for the whole report.")

    @classmethod
    def from_validation(cls, error: ValidationError, env_file: Path) -> ConfigurationError:
        return cls(validation_problems(error), env_file)


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(environment key, why) for each invalid value; pydantic's messages, never the values themselves."""
    return [(str(item["loc"][0]).upper() if item["loc"] else "?", str(item["msg"])) for item in error.errors()]


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, loaded once. Invalid values raise `ConfigurationError` (all of them)."""
    global _cached
    if _cached is None:
        try:
            _cached = load_settings()
        except ValidationError as error:
            raise ConfigurationError.from_validation(error, env_file_path()) from None
    return _cached


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and `hantu demo` change the environment)."""
    global _cached
    _cached = None
