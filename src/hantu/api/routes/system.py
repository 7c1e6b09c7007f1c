"""Liveness, readiness and metrics: cheap, and never a broker call."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, Security
from sqlalchemy import text

from hantu.api.context import ApiContext, get_ctx
from hantu.api.heartbeat import read_heartbeat
from hantu.api.schemas import ErrorOut, Health, Ready, ReadyChecks
from hantu.api.security import api_key_header

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers (public)")
async def health() -> Health:
    return Health()


@router.get("/ready", response_model=Ready, summary="Readiness: database reachable, scheduler heartbeat fresh",
            responses={503: {"model": Ready, "description": "not ready"}})
async def ready(response: Response, ctx: ApiContext = Depends(get_ctx)) -> Ready:
    database = scheduler = False
    try:
        with ctx.database.session() as session:
            session.execute(text("SELECT 1"))
            database = True
            heartbeat = read_heartbeat(session)
            scheduler = heartbeat is not None and heartbeat.is_fresh(ctx.clock.now())
    except Exception:  # any failure means "not ready"; the reason is in the server log, not the response
        import logging

        logging.getLogger(__name__).warning("readiness check failed", exc_info=True)
    result = Ready(ready=database and scheduler, checks=ReadyChecks(database=database, scheduler=scheduler))
    if not result.ready:
        response.status_code = 503
    return result


@router.get("/metrics", summary="Prometheus metrics (needs the key when one is set)",
            response_class=Response, dependencies=[Security(api_key_header)],
            responses={200: {"content": {"text/plain": {}}},
                       401: {"model": ErrorOut, "description": "missing or wrong X-API-Key"}})
async def metrics(ctx: ApiContext = Depends(get_ctx)) -> Response:
    return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)
