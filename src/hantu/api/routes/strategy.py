"""Screening (the watchlist with reasons) and selections (the day's picks)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from hantu.api import selections as views
from hantu.api.context import ApiContext, get_ctx
from hantu.api.schemas import IsoDate, Page, ScreeningOut, ScreenRunOut, SelectionRunOut, SelectionsOut

router = APIRouter(tags=["strategy"])

STRATEGY = r"^[a-z][a-z0-9_\-]{0,63}$"


@router.get("/screening", response_model=ScreeningOut,
            summary="The newest screening on or before a date: its figures and the watchlist with reasons")
async def screening(on: IsoDate | None = Query(None, alias="date"), strategy: str | None = Query(None, pattern=STRATEGY),
                    ctx: ApiContext = Depends(get_ctx)) -> ScreeningOut:
    with ctx.read() as session:
        return views.screening(session, on, strategy, ctx.settings.language)


@router.get("/watchlist", response_model=ScreeningOut, summary="The current watchlist (the newest screening)")
async def watchlist(ctx: ApiContext = Depends(get_ctx)) -> ScreeningOut:
    with ctx.read() as session:
        return views.screening(session, None, None, ctx.settings.language)


@router.get("/screening/runs", response_model=Page[ScreenRunOut], summary="Screening runs, newest first")
async def screening_runs(limit: int = Query(30, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                         ctx: ApiContext = Depends(get_ctx)) -> Page[ScreenRunOut]:
    with ctx.read() as session:
        items, total = views.screen_runs(session, limit, offset)
    return Page[ScreenRunOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/selections", response_model=SelectionsOut,
            summary="The newest selection (on or before `date` if given): the picks in rank order")
async def selections(on: IsoDate | None = Query(None, alias="date"), strategy: str | None = Query(None, pattern=STRATEGY),
                     ctx: ApiContext = Depends(get_ctx)) -> SelectionsOut:
    with ctx.read() as session:
        # no date: the newest run. Live, no run is dated after today; a simulated day (the demo) may be
        return views.selections(session, on, strategy, ctx.settings.language)


@router.get("/selections/runs", response_model=Page[SelectionRunOut], summary="Selection runs, newest first")
async def selection_runs(limit: int = Query(30, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                         ctx: ApiContext = Depends(get_ctx)) -> Page[SelectionRunOut]:
    with ctx.read() as session:
        items, total = views.selection_runs(session, limit, offset)
    return Page[SelectionRunOut](items=items, total=total, limit=limit, offset=offset)
