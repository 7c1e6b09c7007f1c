"""`/status`: mode, clock, the scheduler's heartbeat, every halt and the account, in one answer."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hantu import __version__
from hantu.api.context import ApiContext, get_ctx
from hantu.api.heartbeat import Heartbeat, read_heartbeat
from hantu.api.queries import risk_halts
from hantu.api.schemas import HaltInfo, ModeInfo, NextJob, SchedulerStatus, Status
from hantu.api.trading_views import account_out
from hantu.trading.halt import halt_state

router = APIRouter(tags=["status"])


def scheduler_status(heartbeat: Heartbeat | None, ctx: ApiContext) -> SchedulerStatus:
    if heartbeat is None:
        return SchedulerStatus(published=False, fresh=False)
    now = ctx.clock.now()
    return SchedulerStatus(
        published=True, fresh=heartbeat.is_fresh(now), at=heartbeat.at, age_seconds=heartbeat.age_seconds(now),
        pid=heartbeat.pid, clock=heartbeat.clock, sim_now=heartbeat.sim_now, state=heartbeat.state,
        next_jobs=[NextJob(**job) for job in heartbeat.next_jobs], running=heartbeat.running)


@router.get("/status", response_model=Status, summary="Mode, clock, scheduler heartbeat, halts and the account")
async def status(ctx: ApiContext = Depends(get_ctx)) -> Status:
    settings = ctx.settings
    with ctx.read() as session:
        heartbeat = read_heartbeat(session)
        halt = halt_state(session)
        risk = risk_halts(session, ctx.account.broker, ctx.clock.today())
        account = account_out(ctx.account.view(session, ctx.clock.today()))
    return Status(
        now=ctx.clock.now(),
        mode=ModeInfo(trading_mode=settings.trading_mode, server=settings.server,
                      real_money=settings.is_real_money, strategy=settings.strategy, language=settings.language),
        scheduler=scheduler_status(heartbeat, ctx),
        halt=HaltInfo(halted=halt.halted, reason=halt.reason, by=halt.by, at=halt.at),
        risk=risk,
        account=account,
        version=__version__,
    )
