"""Controls: halt and resume trading, ask the scheduler to run a job, ask the engine to cancel an order."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from hantu.api import controls
from hantu.api.context import ApiContext, actor_of, get_ctx
from hantu.api.queries import order_is_open
from hantu.api.schemas import (
    ActionConfirm,
    ActionOut,
    ActionRequest,
    CancelRequestOut,
    ErrorOut,
    HaltInfo,
    HaltRequest,
    JobRequestOut,
    JobRunRequest,
)
from hantu.trading.halt import set_halt

router = APIRouter(prefix="/controls", tags=["controls"])

# extra OpenAPI responses, in the shape FastAPI's `responses=` takes
ALREADY_PENDING: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut, "description": "the same request is pending already"}}
TOO_MANY: dict[int | str, dict[str, Any]] = {429: {"model": ErrorOut, "description": "too many requests pending, or asked too fast "
                  "(`Retry-After` says when to ask again)"}}


def _refused(error: controls.RequestRefused) -> HTTPException:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return HTTPException(error.status, str(error), headers=headers)

JOB_NAME = r"^[a-z][a-z0-9_.\-]{0,63}$"


@router.post("/halt", response_model=HaltInfo, summary="Halt new orders (the kill switch)")
async def halt(body: HaltRequest, request: Request, ctx: ApiContext = Depends(get_ctx)) -> HaltInfo:
    with ctx.read() as session:
        state = set_halt(session, True, body.reason or "halted from the API", source="api",
                         actor=actor_of(request), now=ctx.clock.now())
    return HaltInfo(halted=state.halted, reason=state.reason, by=state.by, at=state.at)


@router.post("/resume", response_model=HaltInfo, summary="Resume trading after a halt")
async def resume(body: HaltRequest, request: Request, ctx: ApiContext = Depends(get_ctx)) -> HaltInfo:
    # resume_trading also restarts a drawdown halt's peak; imported here so the read routes stay lean
    from hantu.trading.risk import resume_trading

    with ctx.read() as session:
        state = resume_trading(session, "api", actor_of(request), body.reason or "resumed from the API",
                               ctx.clock.now())
    return HaltInfo(halted=state.halted, reason=state.reason, by=state.by, at=state.at)


@router.post("/jobs/{job}/run", response_model=JobRequestOut, status_code=202,
             summary="Ask the scheduler to run a job (it picks the request up; the API runs nothing)",
             responses={404: {"model": ErrorOut}, **ALREADY_PENDING, **TOO_MANY})
async def run_job(request: Request, body: JobRunRequest | None = None,
                  job: str = Path(..., pattern=JOB_NAME, description="Job name, as in /jobs"),
                  ctx: ApiContext = Depends(get_ctx)) -> JobRequestOut:
    from hantu.api.queries import known_jobs

    try:
        ctx.job_runs.take(ctx.clock.now())
        with ctx.read() as session:
            known = known_jobs(session, ctx.settings.hantu_home)
            if known and job not in known:
                raise HTTPException(404, f"unknown job {job!r}; known jobs: {', '.join(sorted(known))}")
            item = controls.request_job_run(session, job, body.date if body else None, actor_of(request),
                                            ctx.clock.now())
    except controls.RequestRefused as error:
        raise _refused(error) from None
    return JobRequestOut.model_validate(item)


@router.post("/orders/{order_id}/cancel", response_model=CancelRequestOut, status_code=202,
             summary="Ask the trading engine to cancel an open order (the API never calls the broker)",
             responses={404: {"model": ErrorOut},
                        409: {"model": ErrorOut, "description": "the order is not open, or its cancel is pending"},
                        **TOO_MANY})
async def cancel_order(request: Request, order_id: str = Path(..., min_length=1, max_length=64,
                                                              pattern=r"^[A-Za-z0-9_.:\-]+$"),
                       ctx: ApiContext = Depends(get_ctx)) -> CancelRequestOut:
    from hantu.trading.lookup import find_order  # the CLI's rule too (an ODNO names the newest day's order)

    with ctx.read() as session:
        order = find_order(session, order_id)
        if order is None:
            raise HTTPException(404, f"no order {order_id!r}")
        if not order_is_open(order):
            raise HTTPException(409, f"order {order_id!r} is not open")
        try:
            item = controls.request_cancel(session, order, actor_of(request), ctx.clock.now())
        except controls.RequestRefused as error:
            raise _refused(error) from None
    return CancelRequestOut.model_validate(item)


# --- the action layer (`hantu.bot.actions`): propose, then confirm; the same rows and audit as Telegram -------


def _actions(ctx: ApiContext) -> Any:
    from hantu.bot.actions import ActionService

    # no engine: the API never calls the broker; a confirmed order waits for the scheduler's executor
    return ActionService(ctx.account, ctx.clock)


def _action_out(row: Any, outcome: str | None = None) -> ActionOut:
    from hantu.bot.actions import describe

    return ActionOut.model_validate({**describe(row), "outcome": outcome})


@router.post("/actions", response_model=ActionOut, status_code=201,
             summary="Propose a control action (sell, buy, cancel, flatten, halt, resume): nothing happens until "
                     "it is confirmed",
             responses={409: {"model": ErrorOut, "description": "not possible now (no such position, order ...)"},
                        **TOO_MANY})
async def propose_action(body: ActionRequest, request: Request, ctx: ApiContext = Depends(get_ctx)) -> ActionOut:
    from hantu.bot.actions import ActionError

    params = body.model_dump(exclude_none=True, exclude={"kind"})
    with ctx.read() as session:
        try:
            row = _actions(ctx).propose(session, body.kind, params, source="api", actor=actor_of(request))
        except ActionError as error:
            raise HTTPException(error.status, error.text(ctx.settings.language)) from None
        return _action_out(row)


@router.get("/actions/{token}", response_model=ActionOut, responses={404: {"model": ErrorOut}},
            summary="A proposed action: its preview, state and result")
async def get_action(token: str = Path(..., pattern=r"^[0-9a-f]{8,32}$"),
                     ctx: ApiContext = Depends(get_ctx)) -> ActionOut:
    from sqlalchemy import select

    from hantu.store.models import ControlAction

    with ctx.read() as session:
        row = session.scalar(select(ControlAction).where(ControlAction.token == token))
        if row is None:
            raise HTTPException(404, f"no action {token!r}")
        return _action_out(row)


async def _decide(token: str, stage: int | None, request: Request, ctx: ApiContext) -> ActionOut:
    from sqlalchemy import select

    from hantu.store.models import ControlAction

    with ctx.read() as session:
        decision = _actions(ctx).decide(session, token, stage, source="api", actor=actor_of(request))
        if decision.outcome == "unknown":
            raise HTTPException(404, f"no action {token!r}")
        if decision.outcome == "denied":
            raise HTTPException(403, "this action was asked from another surface")
        row = session.scalar(select(ControlAction).where(ControlAction.token == token))
        return _action_out(row, decision.outcome)


@router.post("/actions/{token}/confirm", response_model=ActionOut,
             summary="Confirm a proposed action (an expired or decided one does nothing; see `outcome`)",
             responses={404: {"model": ErrorOut}, 403: {"model": ErrorOut}})
async def confirm_action(request: Request, body: ActionConfirm | None = None,
                         token: str = Path(..., pattern=r"^[0-9a-f]{8,32}$"),
                         ctx: ApiContext = Depends(get_ctx)) -> ActionOut:
    return await _decide(token, body.stage if body else 1, request, ctx)


@router.post("/actions/{token}/reject", response_model=ActionOut, summary="Say no to a proposed action",
             responses={404: {"model": ErrorOut}, 403: {"model": ErrorOut}})
async def reject_action(request: Request, token: str = Path(..., pattern=r"^[0-9a-f]{8,32}$"),
                        ctx: ApiContext = Depends(get_ctx)) -> ActionOut:
    return await _decide(token, None, request, ctx)
