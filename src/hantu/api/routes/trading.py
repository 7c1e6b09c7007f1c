"""Account, positions, orders, fills and reconciliation differences, from the engine's tables."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from hantu.api import trading_views as views
from hantu.api.context import ApiContext, get_ctx
from hantu.api.schemas import Account, FillOut, IsoDate, Order, Page, PositionsOut, ReconciliationOut

router = APIRouter(tags=["trading"])

CODE = r"^[0-9A-Z]{6,12}$"


@router.get("/account", response_model=Account, summary="Cash, positions, equity at market and today's P&L")
async def account(ctx: ApiContext = Depends(get_ctx)) -> Account:
    with ctx.read() as session:
        return views.account_out(ctx.account.view(session, ctx.clock.today()))


@router.get("/positions", response_model=PositionsOut, summary="Held positions, valued at the latest price")
async def positions(ctx: ApiContext = Depends(get_ctx)) -> PositionsOut:
    with ctx.read() as session:
        view = ctx.account.view(session, ctx.clock.today())
    return PositionsOut(broker=view.broker, items=[views.position_out(p) for p in view.positions])


@router.get("/orders", response_model=Page[Order], summary="Orders, newest first, filtered and paginated")
async def orders(trading_date: IsoDate | None = Query(None, alias="date", description="One trading date"),
                 since: IsoDate | None = Query(None, alias="from"), until: IsoDate | None = Query(None, alias="to"),
                 code: str | None = Query(None, pattern=CODE),
                 side: str | None = Query(None, pattern="^(buy|sell)$"),
                 status: str | None = Query(None, pattern=f"^({'|'.join(views.ALL_STATUSES)})$"),
                 open_only: bool = Query(False, alias="open", description="Only orders not yet final"),
                 limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                 ctx: ApiContext = Depends(get_ctx)) -> Page[Order]:
    query = views.order_query(trading_date=trading_date, since=since, until=until, code=code, side=side,
                              status=status, open_only=open_only)
    with ctx.read() as session:
        items, total = views.orders(session, query, limit, offset)
    return Page[Order](items=items, total=total, limit=limit, offset=offset)


@router.get("/fills", response_model=Page[FillOut], summary="Executions, newest first")
async def fills(trading_date: IsoDate | None = Query(None, alias="date"),
                since: IsoDate | None = Query(None, alias="from"), until: IsoDate | None = Query(None, alias="to"),
                code: str | None = Query(None, pattern=CODE),
                limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                ctx: ApiContext = Depends(get_ctx)) -> Page[FillOut]:
    with ctx.read() as session:
        items, total = views.fills(session, trading_date=trading_date, since=since, until=until, code=code,
                                   limit=limit, offset=offset)
    return Page[FillOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/reconciliations", response_model=Page[ReconciliationOut],
            summary="Differences found between the database and the broker, newest first")
async def reconciliations(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                          ctx: ApiContext = Depends(get_ctx)) -> Page[ReconciliationOut]:
    with ctx.read() as session:
        items, total = views.reconciliations(session, limit, offset)
    return Page[ReconciliationOut](items=items, total=total, limit=limit, offset=offset)
