"""`/jobs`: recent runs of scheduled jobs, what runs next, and the run requests waiting for the scheduler."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from hantu.api.context import ApiContext, get_ctx
from hantu.api.heartbeat import read_heartbeat
from hantu.api.queries import job_requests, job_runs
from hantu.api.schemas import JobRunOut, JobsOut, NextJob, Page

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobsOut, summary="Job runs (newest first), next jobs and pending requests")
async def jobs(job: str | None = Query(None, max_length=64), status: str | None = Query(None, max_length=16),
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
               ctx: ApiContext = Depends(get_ctx)) -> JobsOut:
    with ctx.read() as session:
        runs, total = job_runs(session, job, status, limit, offset)
        heartbeat = read_heartbeat(session)
        requested = job_requests(session)
    return JobsOut(
        runs=Page[JobRunOut](items=runs, total=total, limit=limit, offset=offset),
        next_jobs=[NextJob(**j) for j in heartbeat.next_jobs] if heartbeat else [],
        running=heartbeat.running if heartbeat else [],
        requested=requested,
    )
