"""`validate_env.sh`: is this host's configuration complete enough to deploy?

Reads `.env` and the environment exactly as the processes do (`hantu.config.load_settings`), so the guide's
names (`KIS_APP_KEY`, `KIS_APP_SECRET`, `KIS_ACCOUNT_NO`) and ours (`APP_KEY`, `APP_SECRET`,
`ACCOUNT_NUMBER`) are the same settings. PostgreSQL counts as configured when `DB_HOST` or a `postgresql`
`DATABASE_URL` is set; then `~/.pgpass` must exist, be private (600) and hold a line for the database, unless
the password is given some other way. A problem with `.pgpass` fails the validation: a deploy with a password
file libpq ignores would start processes that cannot reach their database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

Mark = Literal["ok", "warn", "fail"]
MARKS: dict[Mark, str] = {"ok": "✓", "warn": "⚠", "fail": "✗"}
RULE = "=" * 42


@dataclass(frozen=True)
class Check:
    mark: Mark
    name: str
    message: str

    def line(self) -> str:
        return f"{MARKS[self.mark]} {self.name}: {self.message}"


@dataclass
class EnvReport:
    """Every check, grouped as the guide prints them, and the verdict."""

    sections: list[tuple[str, list[Check]]] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    uses_postgres: bool = False

    @property
    def checks(self) -> list[Check]:
        return [check for _, checks in self.sections for check in checks]

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.mark == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def pgpass_failed(self) -> bool:
        return any(c.mark == "fail" and c.name == ".pgpass" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "missing_required": self.missing_required,
            "uses_postgres": self.uses_postgres,
            "checks": [{"mark": c.mark, "name": c.name, "message": c.message} for c in self.checks],
        }

    def alert_data(self) -> dict[str, Any]:
        """What the env-validation alert needs to say."""
        return {
            "missing": list(self.missing_required),
            "missing_count": len(self.missing_required),
            "problems": [c.line() for c in self.failures if c.name not in self.missing_required],
            "pgpass_problem": self.pgpass_failed,
            "uses_postgres": self.uses_postgres,
        }


@dataclass(frozen=True)
class DatabaseTarget:
    """Where PostgreSQL is, and whether a password is given other than through `.pgpass`."""

    host: str | None
    port: int
    database: str | None
    user: str | None
    password_source: str | None  # "DATABASE_URL" | "DB_PASSWORD" | None (libpq reads .pgpass)


def database_target(settings: Any) -> DatabaseTarget:
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        parts = urlsplit(url.replace("postgresql+psycopg", "postgresql", 1))
        try:
            port = parts.port or 5432
        except ValueError:
            port = 5432
        return DatabaseTarget(parts.hostname, port, unquote(parts.path.lstrip("/")) or None,
                              unquote(parts.username) if parts.username else None,
                              "DATABASE_URL" if parts.password else None)
    return DatabaseTarget(settings.db_host, settings.db_port, settings.db_name, settings.db_user,
                          "DB_PASSWORD" if settings.db_password is not None else None)


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)[2:]


def pgpass_checks(target: DatabaseTarget) -> list[Check]:
    """The `.pgpass` lines of the report, using the same rules libpq applies."""
    from hantu.config.pgpass import mode_is_private, parse_pgpass, pgpass_path

    path = pgpass_path()
    if not path.is_file():
        if target.password_source:
            return [Check("warn", ".pgpass", f"Not found at {path}; the password comes from "
                          f"{target.password_source} (a private ~/.pgpass is recommended)")]
        return [Check("fail", ".pgpass", f"Not found at {path}: create it with a line "
                      "host:port:database:user:password and run chmod 600 on it")]
    if not mode_is_private(path):
        return [Check("fail", ".pgpass", f"Permissions {_mode(path)} are too open; libpq ignores the file: "
                      f"chmod 600 {path}")]
    try:
        entries = parse_pgpass(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return [Check("fail", ".pgpass", f"Cannot read {path}: {error}")]
    found = [Check("ok", ".pgpass", f"Exists with correct permissions ({_mode(path)})")]
    if target.password_source:
        return found
    if not entries:
        return [Check("fail", ".pgpass", f"{path} has no valid line (host:port:database:user:password)")]
    if target.host and target.user and target.database:
        if not any(e.matches(target.host, target.port, target.database, target.user) for e in entries):
            wanted = f"{target.host}:{target.port}:{target.database}:{target.user}"
            return [Check("fail", ".pgpass", f"No line matches {wanted} (the password for the database "
                          f"is missing from {path})")]
        found = [Check("ok", ".pgpass", f"Exists with correct permissions ({_mode(path)}), "
                       f"entry for {target.host}:{target.port}:{target.database}:{target.user}")]
    return found


def _is_set(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def validate_environment(env_file: Path | None = None) -> EnvReport:
    """Check configuration file, database authentication, required and optional variables."""
    from pydantic import ValidationError

    from hantu.config.check import _field_for_alias, is_loopback
    from hantu.config.pgpass import mode_is_private
    from hantu.config.settings import Settings, env_file_path, load_settings

    report = EnvReport()
    path = env_file if env_file is not None else env_file_path()
    file_checks: list[Check] = []
    if not path.is_file():
        file_checks.append(Check("warn", ".env", f"Not found at {path} (using environment variables only)"))
    elif not mode_is_private(path):
        file_checks.append(Check("fail", ".env", f"Permissions {_mode(path)} are too open: chmod 600 {path}"))
    else:
        file_checks.append(Check("ok", ".env", f"Exists with correct permissions ({_mode(path)})"))
    try:
        settings = load_settings(path)
    except ValidationError as error:
        defaults: dict[str, object] = {}
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else "?"
            file_checks.append(Check("fail", key.upper(), f"Invalid value: {item['msg']}"))
            name = _field_for_alias(key)
            if name:
                defaults[name] = Settings.model_fields[name].default
        try:
            settings = load_settings(path, **defaults)
        except ValidationError:
            report.sections.append(("Checking configuration file...", file_checks))
            return report
    report.sections.append(("Checking configuration file...", file_checks))

    report.uses_postgres = settings.uses_postgres
    target = database_target(settings)
    if settings.uses_postgres:
        report.sections.append(("Checking PostgreSQL authentication...", pgpass_checks(target)))
    else:
        report.sections.append(("Checking PostgreSQL authentication...", [
            Check("ok", "Database", "SQLite (PostgreSQL not configured; .pgpass not needed)")]))

    required: list[tuple[str, object]] = []
    if settings.uses_postgres and settings.database_url is not None:
        required.append(("DATABASE_URL", settings.database_url))
    elif settings.uses_postgres:
        required += [("DB_HOST", settings.db_host), ("DB_USER", settings.db_user), ("DB_NAME", settings.db_name)]
    required += [("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
                 ("TELEGRAM_CHAT_ID", settings.telegram_chat_id)]
    kis = [("KIS_APP_KEY", settings.app_key), ("KIS_APP_SECRET", settings.app_secret),
           ("KIS_ACCOUNT_NO", settings.account_number)]
    api_key = ("API_SERVER_KEY", settings.api_server_key)
    optional: list[tuple[str, object]] = []
    if settings.trading_mode == "kis":
        required += kis  # the scheduler cannot trade through KIS without them
    else:
        optional += kis
    if is_loopback(settings.api_host):
        optional.append(api_key)
    else:
        required.append(api_key)  # the API server refuses a non-loopback address without a key

    required_checks = []
    for name, value in required:
        if _is_set(value):
            required_checks.append(Check("ok", name, "Set"))
        else:
            required_checks.append(Check("fail", name, "Missing (Required)"))
            report.missing_required.append(name)
    report.sections.append(("Checking required variables...", required_checks))
    report.sections.append(("Checking optional variables...", [
        Check("ok", name, "Set") if _is_set(value) else Check("warn", name, "Missing (Optional)")
        for name, value in optional]))
    return report


def render_report(report: EnvReport) -> str:
    """The report in the guide's shape: ✓/⚠/✗ lines, then `Validation: PASSED` or `FAILED`."""
    lines = [RULE, "Environment Variable Validation", RULE, ""]
    for title, checks in report.sections:
        if not checks:
            continue
        lines.append(title)
        lines.extend(check.line() for check in checks)
        lines.append("")
    lines.append(RULE)
    if report.passed:
        lines.append("✓ All required environment variables are set")
        lines.append("Validation: PASSED")
    else:
        if report.missing_required:
            lines.append("✗ Missing required variables: " + ", ".join(report.missing_required))
        others = [c for c in report.failures if c.name not in report.missing_required]
        if others:
            lines.append(f"✗ Other problems: {len(others)} (" + ", ".join(c.name for c in others) + ")")
        lines.append("Validation: FAILED")
    return "\n".join(lines) + "\n"
