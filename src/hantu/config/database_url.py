"""Turn settings into one SQLAlchemy URL (SQLite by default, PostgreSQL through psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr

from hantu.config.pgpass import lookup_password


class DatabaseSettings(Protocol):
    """The settings the URL is built from (`hantu.config.settings.Settings` has them)."""

    @property
    def database_url(self) -> SecretStr | None: ...
    @property
    def db_host(self) -> str | None: ...
    @property
    def db_port(self) -> int: ...
    @property
    def db_user(self) -> str | None: ...
    @property
    def db_name(self) -> str | None: ...
    @property
    def db_password(self) -> SecretStr | None: ...
    @property
    def hantu_home(self) -> Path: ...


def normalise_postgres_url(url: str) -> str:
    """Use the psycopg 3 driver whatever PostgreSQL spelling the user wrote."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def url_password(url: str) -> str | None:
    """The password in a URL, decoded (None when absent or unparsable)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def build_database_url(settings: DatabaseSettings) -> str:
    if settings.database_url is not None:
        return normalise_postgres_url(settings.database_url.get_secret_value())
    if settings.db_host:
        user = settings.db_user or "postgres"
        name = settings.db_name or user
        password = (
            settings.db_password.get_secret_value()
            if settings.db_password is not None
            else lookup_password(settings.db_host, settings.db_port, name, user)
        )
        auth = quote(user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        return f"postgresql+psycopg://{auth}@{settings.db_host}:{settings.db_port}/{quote(name, safe='')}"
    path = (settings.hantu_home / "hantu.db").resolve()
    return f"sqlite:///{path}"
