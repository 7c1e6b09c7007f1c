"""The configuration rules, in one place: `hantu config check` and `validate_env.sh` (`hantu ops validate-env`)
both render `configuration_report`, so they cannot disagree. Every problem in one run, values masked."""

from __future__ import annotations

import difflib
import importlib.util
import ipaddress
import os
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values
from pydantic import SecretStr, ValidationError

from hantu.config.pgpass import mode_is_private, parse_pgpass, pgpass_path
from hantu.config.real_money import RealMoneyNotConfirmed, require_real_money_opt_in
from hantu.config.settings import Settings, env_file_path, load_settings, validation_problems

# "ok" marks a confirmation (validate_env.sh prints it as ✓); `hantu config check` reports the other three.
Level = Literal["error", "warning", "info", "ok"]


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


def env_file_findings(path: Path) -> list[Finding]:
    """The `.env` file itself: absent (environment only), too open (secrets readable), or fine."""
    if not path.is_file():
        return [Finding("warning", ".env", f"not found at {path} (settings from the environment only)")]
    loose = _file_mode_findings(path, ".env")
    return loose or [Finding("ok", ".env", f"exists with correct permissions ({_mode(path)})")]


def _validation_findings(error: ValidationError) -> list[Finding]:
    return [Finding("error", key, f"invalid value: {why}") for key, why in validation_problems(error)]


@dataclass(frozen=True)
class Variable:
    """A variable a deployment names: unset and `required` is an error; unset with a `why` is a warning."""

    key: str  # our name, as `hantu config check` reports it
    guide_name: str  # the deployment guide's spelling, as validate_env.sh lists it
    is_set: bool
    required: bool
    why: str = ""  # why it is required, or what its absence means (then a warning)

    def finding(self) -> Finding | None:
        if self.is_set:
            return None
        if self.required:
            return Finding("error", self.key, f"missing: {self.why}")
        return Finding("warning", self.key, f"missing: {self.why}") if self.why else None


def _is_set(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and str(value).strip() != ""


def variables(settings: Settings) -> list[Variable]:
    """Which variables this configuration needs (required) and which it could use (optional)."""
    found: list[Variable] = []
    if settings.uses_postgres and settings.database_url is not None:
        found.append(Variable("DATABASE_URL", "DATABASE_URL", True, True))
    elif settings.uses_postgres:
        for key, value in (
            ("DB_HOST", settings.db_host),
            ("DB_USER", settings.db_user),
            ("DB_NAME", settings.db_name),
        ):
            found.append(Variable(key, key, _is_set(value), True, "DB_HOST is set, PostgreSQL needs it"))
    token, chat = _is_set(settings.telegram_bot_token), _is_set(settings.telegram_chat_id)
    found.append(
        Variable(
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_BOT_TOKEN",
            token,
            False,
            "Telegram is optional; without it messages stay in the outbox and go to the log only",
        )
    )
    found.append(
        Variable(
            "TELEGRAM_CHAT_ID",
            "TELEGRAM_CHAT_ID",
            chat,
            token,
            "TELEGRAM_BOT_TOKEN is set without it" if token else "",
        )
    )
    kis_mode, kis_data = settings.trading_mode == "kis", settings.data_source == "kis"
    for key, guide, secret, needed_for_data in (
        ("APP_KEY", "KIS_APP_KEY", settings.app_key, True),
        ("APP_SECRET", "KIS_APP_SECRET", settings.app_secret, True),
        ("ACCOUNT_NUMBER", "KIS_ACCOUNT_NO", settings.account_number, False),
    ):
        if kis_mode:
            found.append(
                Variable(key, guide, _is_set(secret), True, f"TRADING_MODE=kis needs it (alias {guide})")
            )
        elif kis_data and needed_for_data:
            found.append(
                Variable(
                    key,
                    guide,
                    _is_set(secret),
                    True,
                    f"HANTU_DATA_SOURCE=kis reads daily charts through KIS (alias {guide})",
                )
            )
        else:
            found.append(Variable(key, guide, _is_set(secret), False))
    if kis_mode:
        found.append(
            Variable(
                "KIS_HTS_ID",
                "KIS_HTS_ID",
                _is_set(settings.kis_hts_id),
                False,
                "real-time fill notices are off, fills are learned by polling",
            )
        )
    public = not is_loopback(settings.api_host)
    found.append(
        Variable(
            "API_SERVER_KEY",
            "API_SERVER_KEY",
            _is_set(settings.api_server_key),
            public,
            f"API_HOST={settings.api_host} is not loopback, the API server refuses to start without a key"
            if public
            else "",
        )
    )
    return found


def strategy_findings(settings: Settings, strategies: Collection[str]) -> list[Finding]:
    """HANTU_STRATEGY must name a registered strategy (the scheduler would fail at 06:30 otherwise)."""
    if settings.strategy in strategies:
        return []
    known = sorted(strategies)
    close = difflib.get_close_matches(settings.strategy, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return [
        Finding(
            "error",
            "HANTU_STRATEGY",
            f"unknown strategy {settings.strategy!r}{hint}; known: "
            + ", ".join(known)
            + " (`hantu strategy list`)",
        )
    ]


def data_source_findings(settings: Settings, env_file: Path | None = None) -> list[Finding]:
    """HANTU_DATA_SOURCE=pykrx needs the optional package and the KRX login in the process environment."""
    if settings.data_source != "pykrx":
        return []
    found: list[Finding] = []
    if importlib.util.find_spec("pykrx") is None:
        found.append(
            Finding(
                "error",
                "HANTU_DATA_SOURCE",
                "pykrx is not installed: pip install 'hantu[pykrx]' (or HANTU_DATA_SOURCE=none)",
            )
        )
    in_file = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
    for key in ("KRX_ID", "KRX_PW"):
        if not os.environ.get(key):
            where = (
                (
                    " (it is in .env, but pykrx reads the process environment only: export it, or add it to the "
                    "unit's Environment=)"
                )
                if in_file.get(key)
                else ""
            )
            found.append(
                Finding(
                    "error",
                    key,
                    f"missing: HANTU_DATA_SOURCE=pykrx needs the data.krx.co.kr "
                    f"login in the environment{where}",
                )
            )
    return found


def semantic_findings(
    settings: Settings, strategies: Collection[str] | None = None, env_file: Path | None = None
) -> list[Finding]:
    """Rules that span several keys; each problem is its own finding (`strategies`: the registered names)."""
    found = [f for f in (v.finding() for v in variables(settings)) if f is not None]
    if settings.trading_mode == "kis":
        try:
            require_real_money_opt_in(settings.server, settings.real_trading_enabled)
        except RealMoneyNotConfirmed as refused:
            found.append(Finding("error", refused.key, str(refused)))
    elif settings.server == "prod":
        found.append(Finding("info", "SERVER", "SERVER=prod is ignored while TRADING_MODE=paper"))
    if strategies is not None:
        found.extend(strategy_findings(settings, strategies))
    found.extend(data_source_findings(settings, env_file))
    found.extend(notify_url_findings(settings))
    return found


def notify_url_findings(settings: Settings) -> list[Finding]:
    """An error per NOTIFY_URLS entry apprise cannot use (named by place and scheme: the URL holds a token).

    Imports apprise (~1 s), only when NOTIFY_URLS is set."""
    urls = settings.notify_url_list()
    if not urls:
        return []
    try:
        import apprise
    except ImportError:
        return [Finding("error", "NOTIFY_URLS", "NOTIFY_URLS is set but apprise is not installed "
                                                "(pip install -e .: it is a dependency)")]
    found = []
    for place, url in enumerate(urls, 1):
        if not apprise.Apprise().add(url):
            scheme = url.split("://", 1)[0] if "://" in url else "no scheme"
            found.append(Finding("error", "NOTIFY_URLS", f"entry {place} ({scheme}://…) is not a URL apprise "
                                 "can use: see https://github.com/caronc/apprise/wiki for the syntax"))
    return found


@dataclass(frozen=True)
class DatabaseTarget:
    """Where PostgreSQL is, and whether a password is given other than through `.pgpass`."""

    host: str | None
    port: int
    database: str | None
    user: str | None
    password_source: str | None  # "DATABASE_URL" | "DB_PASSWORD" | None (libpq reads .pgpass)


def database_target(settings: Settings) -> DatabaseTarget:
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        parts = urlsplit(url.replace("postgresql+psycopg", "postgresql", 1))
        try:
            port = parts.port or 5432
        except ValueError:
            port = 5432
        return DatabaseTarget(
            parts.hostname,
            port,
            unquote(parts.path.lstrip("/")) or None,
            unquote(parts.username) if parts.username else None,
            "DATABASE_URL" if parts.password else None,
        )
    return DatabaseTarget(
        settings.db_host,
        settings.db_port,
        settings.db_name,
        settings.db_user,
        "DB_PASSWORD" if settings.db_password is not None else None,
    )


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)[2:]


def pgpass_findings(target: DatabaseTarget) -> list[Finding]:
    """`~/.pgpass` with PostgreSQL, by the rules libpq applies: a file libpq ignores (too open) or without the
    database's line is an error, since the processes would start and fail to reach their database."""
    path = pgpass_path()
    if not path.is_file():
        if target.password_source:
            return [
                Finding(
                    "warning",
                    ".pgpass",
                    f"not found at {path}; the password comes from "
                    f"{target.password_source} (a private ~/.pgpass is recommended)",
                )
            ]
        return [
            Finding(
                "error",
                ".pgpass",
                f"not found at {path}: create it with a line "
                "host:port:database:user:password and run chmod 600 on it",
            )
        ]
    if not mode_is_private(path):
        return [
            Finding(
                "error",
                ".pgpass",
                f"permissions {_mode(path)} are too open; libpq ignores the file: chmod 600 {path}",
            )
        ]
    try:
        entries = parse_pgpass(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return [Finding("error", ".pgpass", f"cannot read {path}: {error}")]
    ok = Finding("ok", ".pgpass", f"exists with correct permissions ({_mode(path)})")
    if target.password_source:
        return [ok]
    if not entries:
        return [Finding("error", ".pgpass", f"{path} has no valid line (host:port:database:user:password)")]
    if target.host and target.user and target.database:
        wanted = f"{target.host}:{target.port}:{target.database}:{target.user}"
        if not any(e.matches(target.host, target.port, target.database, target.user) for e in entries):
            return [
                Finding(
                    "error",
                    ".pgpass",
                    f"no line matches {wanted} (the password for the database is missing from {path})",
                )
            ]
        return [
            Finding("ok", ".pgpass", f"exists with correct permissions ({_mode(path)}), entry for {wanted}")
        ]
    return [ok]


@dataclass
class ConfigReport:
    """Every rule's verdict on one configuration, grouped; `hantu config check` and validate_env.sh render it."""

    settings: Settings | None  # None when a value is invalid
    effective: Settings | None  # the settings the other rules ran on (invalid keys at their defaults)
    file: list[Finding] = field(default_factory=list)
    invalid: list[Finding] = field(default_factory=list)
    database: list[Finding] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    rules: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """The problems and notes (not the confirmations), each key once."""
        out = [f for f in self.file + self.invalid if f.level != "ok"]
        invalid = {f.key for f in self.invalid}
        out += [f for f in self.database + self.rules if f.level != "ok" and f.key not in invalid]
        return out

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]


def configuration_report(
    env_file: Path | None = None, strategies: Collection[str] | None = None
) -> ConfigReport:
    """Load the configuration and run every rule; an invalid value is reported and the other rules still run
    with that key at its default. `strategies`: the registered strategy names (the caller's registry)."""
    path = env_file if env_file is not None else env_file_path()
    report = ConfigReport(None, None, file=env_file_findings(path))
    try:
        report.settings = report.effective = load_settings(path)
    except ValidationError as error:
        report.invalid = _validation_findings(error)
        defaults = {}
        for item in error.errors():
            name = _field_for_alias(str(item["loc"][0])) if item["loc"] else None
            if name:
                defaults[name] = Settings.model_fields[name].default
        try:
            report.effective = load_settings(path, **defaults)
        except ValidationError:
            return report
    settings = report.effective
    if settings.uses_postgres:
        report.database = pgpass_findings(database_target(settings))
    report.variables = variables(settings)
    report.rules = semantic_findings(settings, strategies, path)
    return report


def explain_defaults(settings: Settings) -> list[Finding]:
    """What the current configuration means, for a user who has set nothing yet."""
    if settings.trading_mode == "paper":
        mode = "paper trading on the local market data: no KIS credentials needed"
    elif settings.is_real_money:
        mode = "KIS real account (SERVER=prod, REAL_TRADING_ENABLED=true): REAL MONEY"
    else:
        mode = f"KIS {settings.server} account"
    db = "PostgreSQL" if settings.uses_postgres else f"SQLite at {settings.hantu_home / 'hantu.db'}"
    telegram = (
        ("Telegram chat " + mask(settings.telegram_chat_id))
        if settings.telegram_bot_token
        else "Telegram not configured: messages are kept in the outbox and written to the log"
    )
    api = f"API on {settings.api_host}:{settings.api_port}" + (
        " with key " + mask(settings.api_server_key.get_secret_value())
        if settings.api_server_key
        else " (loopback only, no key)"
    )
    urls = settings.notify_url_list()
    channels = (f"{len(urls)} more channel(s) beside Telegram: "
                + ", ".join(u.split("://", 1)[0] + "://…" for u in urls)) if urls else "Telegram only"
    return [
        Finding("info", "TRADING_MODE", mode),
        Finding("info", "DATABASE", db),
        Finding("info", "TELEGRAM", telegram),
        Finding("info", "NOTIFY_URLS", channels),
        Finding("info", "API", api),
        Finding("info", "HANTU_HOME", f"data directory {settings.hantu_home}"),
        Finding("info", "APP_KEY", mask(settings.app_key.get_secret_value() if settings.app_key else None)),
        Finding(
            "info",
            "ACCOUNT_NUMBER",
            mask(settings.account_number.get_secret_value() if settings.account_number else None),
        ),
    ]


def check_configuration(
    env_file: Path | None = None, strategies: Collection[str] | None = None
) -> tuple[Settings | None, list[Finding]]:
    """Load and check everything; returns the settings (None when invalid) and all findings."""
    report = configuration_report(env_file, strategies)
    return report.settings, report.findings


def _field_for_alias(alias: str) -> str | None:
    """The model field behind an environment key, so an invalid value can be dropped."""
    for name, info in Settings.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        names = [str(c) for c in choices] if choices else [str(info.validation_alias or name)]
        if alias.upper() in (n.upper() for n in names) or alias == name:
            return name
    return None
