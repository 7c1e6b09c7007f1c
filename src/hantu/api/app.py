"""The FastAPI application factory.

`create_app()` is what every entry point serves: `hantu api`, `python api-server/main.py` and systemd's
`uvicorn --factory hantu.api.app:create_app`. It reads the database and the scheduler's published state only.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from hantu import __version__
from hantu.api.context import ApiContext
from hantu.api.metrics import ApiMetrics
from hantu.api.middleware import ApiKeyMiddleware, MetricsMiddleware
from hantu.api.schemas import ErrorOut
from hantu.api.security import api_key_header, check_bind
from hantu.clock import Clock, SystemClock
from hantu.config.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def cors_origins(settings: Settings) -> list[str]:
    return [origin.strip() for origin in settings.api_cors_origins.split(",") if origin.strip()]


def _schema_present(ctx: ApiContext) -> bool:
    from sqlalchemy import inspect

    try:
        return inspect(ctx.database.engine).has_table("kv_settings")
    except Exception:
        return False


def _migrate_in_child() -> None:
    """Bring a fresh database's schema up in a child process: Alembic stays out of this lean process."""
    import subprocess
    import sys

    log.info("database has no schema yet: running `hantu db upgrade`")
    subprocess.run([sys.executable, "-m", "hantu", "db", "upgrade"], check=False, timeout=120)


def _lifespan(ctx: ApiContext) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if not _schema_present(ctx):
            _migrate_in_child()
        # Everything built so far (modules, routes, schemas) lives as long as the process: move it out of the
        # cyclic collector's reach, so that collections during requests stay short (latency tail, P4).
        gc.collect()
        gc.freeze()
        yield
        if ctx.version is not None:
            ctx.version.close()
        ctx.database.dispose()

    return lifespan


async def _validation_error(_request: Any, error: Exception) -> JSONResponse:
    """422 with where and why, but never the rejected input (it may be a secret pasted in the wrong place)."""
    from hantu.log import mask_secrets

    errors = error.errors() if isinstance(error, RequestValidationError) else []
    detail = [{"loc": list(e.get("loc", ())), "msg": mask_secrets(str(e.get("msg", ""))),
               "type": str(e.get("type", ""))} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Any, error: Exception) -> Any:
    """FastAPI answers 400 "There was an error parsing the body" when a JSON body is not UTF-8 or nests too deep
    to parse, and 422 for every other malformed body: one fault, one status — 422, declared by every route
    with a body — with the reason in FastAPI's own shape."""
    from fastapi.exception_handlers import http_exception_handler

    assert isinstance(error, HTTPException)
    if error.status_code == 400 and isinstance(error.__cause__, (ValueError, RecursionError)):
        reason = ("not UTF-8" if isinstance(error.__cause__, UnicodeDecodeError)
                  else "nested too deep" if isinstance(error.__cause__, RecursionError) else "unreadable")
        return JSONResponse({"detail": [{"loc": ["body"], "msg": f"JSON decode error: {reason}",
                                         "type": "json_invalid"}]}, status_code=422)
    return await http_exception_handler(request, error)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app for `settings` (default: the configured ones) on `clock` (default: the system clock)."""
    from hantu.config import get_settings
    from hantu.log import register_secrets
    from hantu.store.db import get_database

    settings = settings or get_settings()
    check_bind(settings.api_host, settings.api_server_key.get_secret_value() if settings.api_server_key else None)
    register_secrets(settings.secret_values())
    ctx = ApiContext(settings=settings, clock=clock or SystemClock(),
                     database=get_database(settings.resolved_database_url), metrics=ApiMetrics())
    app = FastAPI(title="Hantu Quant API", version=__version__, lifespan=_lifespan(ctx), redoc_url=None,
                  description="Read-only views of the trading system and a few audited controls. "
                  "Send the API key as `X-API-Key` when the server has one.")
    app.state.ctx = ctx
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    _mount_routes(app)
    _observe_state(ctx)

    from hantu.api.cache import DataVersion, ResponseCache

    ctx.version = DataVersion(ctx.database)
    from hantu.api.dashboard import DashboardPage

    app.add_middleware(DashboardPage, language=settings.language, key_required=ctx.api_key is not None)
    from hantu.api.routes.data import store_fingerprint

    app.add_middleware(ResponseCache, version=ctx.version, clock=ctx.clock, metrics=ctx.metrics,
                       uncached=(f"{API_PREFIX}/logs",),
                       files={f"{API_PREFIX}/data": lambda: store_fingerprint(settings.hantu_home)})
    app.add_middleware(ApiKeyMiddleware, key=ctx.api_key)
    origins = cors_origins(settings)
    if origins:  # outside the key check, so that preflights and 401s carry the CORS headers
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics, paths=lambda: route_paths(app))
    return app


def route_paths(app: FastAPI) -> list[str]:
    """Every path the app serves (collected when the routes were mounted: building the OpenAPI document just
    to list them would cost this lean process megabytes)."""
    return list(app.state.route_paths)


HIDDEN_PATHS = ("/", "/openapi.json", "/docs", "/docs/oauth2-redirect")


def _router_paths(router: APIRouter) -> list[str]:
    """The paths of a router's endpoints (what the OpenAPI document lists)."""
    return [route.path for route in router.routes if isinstance(route, APIRoute)]


def _mount_routes(app: FastAPI) -> None:
    from fastapi import Security

    from hantu.api import dashboard
    from hantu.api.routes import (
        backtests,
        controls,
        data,
        drift,
        jobs,
        logs,
        performance,
        status,
        strategy,
        system,
        trading,
    )

    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Security(api_key_header)],
                   responses={401: {"model": ErrorOut, "description": "missing or wrong X-API-Key"},
                              503: {"model": ErrorOut, "description": "database unavailable"}})
    paths: list[str] = []
    for module in (status, trading, performance, strategy, backtests, jobs, data, logs, controls, drift):
        v1.include_router(module.router)
        paths.extend(API_PREFIX + path for path in _router_paths(module.router))
    app.include_router(v1)
    app.include_router(system.router)
    app.include_router(dashboard.router)
    paths.extend(_router_paths(system.router))
    app.state.route_paths = sorted({*paths, *HIDDEN_PATHS})


def _observe_state(ctx: ApiContext) -> None:
    """Gauges that read the database at scrape time (scrapes are rare; requests stay cheap)."""
    from hantu.api.heartbeat import read_heartbeat
    from hantu.trading.halt import is_halted

    def refresh() -> None:
        try:
            with ctx.database.session() as session:
                ctx.metrics.halted.set(1 if is_halted(session) else 0)
                heartbeat = read_heartbeat(session)
                age = heartbeat.age_seconds(ctx.clock.now()) if heartbeat else None
                ctx.metrics.heartbeat_age.set(-1 if age is None else age)
        except Exception:
            log.warning("metrics refresh failed", exc_info=True)

    ctx.metrics.on_scrape(refresh)
