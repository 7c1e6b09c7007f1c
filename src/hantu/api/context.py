"""What every route needs, built once per app: settings, clock, database, metrics, the account service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from hantu.api.controls import JOB_RUN_RATE, RateLimit
from hantu.api.metrics import ApiMetrics
from hantu.clock import Clock
from hantu.config.settings import Settings
from hantu.store.db import Database
from hantu.trading.account import AccountService


@dataclass
class ApiContext:
    settings: Settings
    clock: Clock
    database: Database
    metrics: ApiMetrics
    version: Any = None  # hantu.api.cache.DataVersion, set by create_app
    job_runs: RateLimit = field(default_factory=lambda: RateLimit(JOB_RUN_RATE))  # job-run requests

    @property
    def account(self) -> AccountService:
        """The read service of the configured trading mode's account (the CLI and Telegram use the same)."""
        return AccountService.for_home(self.settings.trading_mode, self.settings.hantu_home)

    @property
    def api_key(self) -> str | None:
        key = self.settings.api_server_key
        return key.get_secret_value() if key is not None else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for one request; a missing table or unreachable database is a 503, not a 500."""
        try:
            with self.database.session() as session:
                yield session
        except (OperationalError, ProgrammingError) as error:
            raise HTTPException(503, "database unavailable or not migrated (run `hantu db upgrade`): "
                                f"{type(error.orig).__name__ if error.orig else 'error'}") from None


async def get_ctx(request: Request) -> ApiContext:
    """The app's context. A coroutine: FastAPI runs a plain-function dependency on its thread pool, one thread hop
    per request for an attribute read (latency, P4)."""
    return request.app.state.ctx


def actor_of(request: Request) -> str:
    """How a control action is attributed in the audit log (source `api`): the client address, never the key."""
    client = request.client
    return client.host if client else "unknown"
