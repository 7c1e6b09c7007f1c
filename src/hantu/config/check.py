"""`hantu config check`: every configuration problem in one run, values masked."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from hantu.config.pgpass import lookup_password, mode_is_private, pgpass_path
from hantu.config.settings import Settings, env_file_path, load_settings, validation_problems

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    level: Level
    key: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def mask(value: str | None) -> str:
    """Show just enough of a value to recognise it: `ab…yz` (or `***` when short)."""
    if not value:
        return "(unset)"
    return "***" if len(value) <= 8 else f"{value[:2]}…{value[-2:]}"


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _file_mode_findings(path: Path, key: str) -> list[Finding]:
    if path.is_file() and not mode_is_private(path):
        mode = oct(path.stat().st_mode & 0o777)
        return [Finding("error", key, f"{path} has mode {mode}; run: chmod 600 {path}")]
    return []


def _validation_findings(error: ValidationError) -> list[Finding]:
    return [Finding("error", key, f"invalid value: {why}") for key, why in validation_problems(error)]


def semantic_findings(settings: Settings) -> list[Finding]:
    """Rules that span several keys; each problem is its own finding."""
    found: list[Finding] = []
    if settings.trading_mode == "kis":
        for key, value in (("APP_KEY", settings.app_key), ("APP_SECRET", settings.app_secret),
                           ("ACCOUNT_NUMBER", settings.account_number)):
            if value is None:
                found.append(Finding("error", key, "missing: TRADING_MODE=kis needs it (alias KIS_" +
                                     {"APP_KEY": "APP_KEY", "APP_SECRET": "APP_SECRET",
                                      "ACCOUNT_NUMBER": "ACCOUNT_NO"}[key] + ")"))
        if settings.server == "prod" and not settings.real_trading_enabled:
            found.append(Finding("error", "REAL_TRADING_ENABLED",
                                 "SERVER=prod trades real money: set REAL_TRADING_ENABLED=true to opt in, "
                                 "or use SERVER=virtual"))
        if settings.kis_hts_id is None:
            found.append(Finding("warning", "KIS_HTS_ID", "missing: real-time fill notices are off, "
                                 "fills are learned by polling"))
    elif settings.server == "prod":
        found.append(Finding("info", "SERVER", "SERVER=prod is ignored while TRADING_MODE=paper"))

    if settings.telegram_bot_token is not None and not settings.telegram_chat_id:
        found.append(Finding("error", "TELEGRAM_CHAT_ID", "missing: TELEGRAM_BOT_TOKEN is set without it"))
    elif settings.telegram_chat_id and settings.telegram_bot_token is None:
        found.append(Finding("warning", "TELEGRAM_BOT_TOKEN", "missing: messages go to the log only"))

    if not is_loopback(settings.api_host) and settings.api_server_key is None:
        found.append(Finding("error", "API_SERVER_KEY",
                             f"missing: API_HOST={settings.api_host} is not loopback, the API server "
                             "refuses to start without a key"))
    if settings.uses_postgres and settings.database_url is None:
        for key, value in (("DB_USER", settings.db_user), ("DB_NAME", settings.db_name)):
            if value is None:
                found.append(Finding("error", key, "missing: DB_HOST is set, PostgreSQL needs it"))
        if settings.db_password is None and settings.db_user and settings.db_name:
            path = pgpass_path()
            if not path.is_file():
                found.append(Finding("warning", ".pgpass", f"{path} not found: connecting without a password"))
            elif lookup_password(settings.db_host or "", settings.db_port, settings.db_name,
                                 settings.db_user, path) is None and mode_is_private(path):
                found.append(Finding("warning", ".pgpass",
                                     f"no line in {path} matches {settings.db_host}:{settings.db_port}:"
                                     f"{settings.db_name}:{settings.db_user}"))
    if settings.uses_postgres:
        found.extend(_file_mode_findings(pgpass_path(), ".pgpass"))
    return found


def explain_defaults(settings: Settings) -> list[Finding]:
    """What the current configuration means, for a user who has set nothing yet."""
    if settings.trading_mode == "paper":
        mode = "paper trading on the local market data: no KIS credentials needed"
    elif settings.is_real_money:
        mode = "KIS real account (SERVER=prod, REAL_TRADING_ENABLED=true): REAL MONEY"
    else:
        mode = f"KIS {settings.server} account"
    db = "PostgreSQL" if settings.uses_postgres else f"SQLite at {settings.hantu_home / 'hantu.db'}"
    telegram = ("Telegram chat " + mask(settings.telegram_chat_id)) if settings.telegram_bot_token else \
        "Telegram not configured: messages are kept in the outbox and written to the log"
    api = f"API on {settings.api_host}:{settings.api_port}" + (
        " with key " + mask(settings.api_server_key.get_secret_value()) if settings.api_server_key
        else " (loopback only, no key)")
    return [
        Finding("info", "TRADING_MODE", mode),
        Finding("info", "DATABASE", db),
        Finding("info", "TELEGRAM", telegram),
        Finding("info", "API", api),
        Finding("info", "HANTU_HOME", f"data directory {settings.hantu_home}"),
        Finding("info", "APP_KEY", mask(settings.app_key.get_secret_value() if settings.app_key else None)),
        Finding("info", "ACCOUNT_NUMBER",
                mask(settings.account_number.get_secret_value() if settings.account_number else None)),
    ]


def check_configuration(env_file: Path | None = None) -> tuple[Settings | None, list[Finding]]:
    """Load and check everything; returns the settings (None when invalid) and all findings."""
    path = env_file if env_file is not None else env_file_path()
    findings = _file_mode_findings(path, ".env")
    try:
        settings = load_settings(path)
    except ValidationError as error:
        findings.extend(_validation_findings(error))
        # Keep going with the invalid keys at their defaults so the other rules still report in this run.
        defaults = {}
        for item in error.errors():
            name = _field_for_alias(str(item["loc"][0])) if item["loc"] else None
            if name:
                defaults[name] = Settings.model_fields[name].default
        try:
            fallback = load_settings(path, **defaults)
        except ValidationError:
            return None, findings
        invalid = {f.key for f in findings}
        findings.extend(f for f in semantic_findings(fallback) if f.key not in invalid)
        return None, findings
    findings.extend(semantic_findings(settings))
    return settings, findings


def _field_for_alias(alias: str) -> str | None:
    """The model field behind an environment key, so an invalid value can be dropped."""
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        names = [str(c) for c in choices] if choices else [str(field.validation_alias or name)]
        if alias.upper() in (n.upper() for n in names) or alias == name:
            return name
    return None
