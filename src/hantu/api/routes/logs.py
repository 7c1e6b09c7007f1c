"""`/logs`: the tail of the processes' JSON-lines logs (masked)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from hantu.api.context import ApiContext, get_ctx
from hantu.api.logtail import NAME_RE, log_files, parse_line, tail_lines
from hantu.api.schemas import ErrorOut, LogLine, LogTail

router = APIRouter(tags=["logs"])

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@router.get("/logs", response_model=LogTail, summary="Last lines of a process log (secrets masked)",
            responses={404: {"model": ErrorOut}})
def logs(file: str | None = Query(None, max_length=64, description="Process name, e.g. scheduler; default: all"),
         lines: int = Query(100, ge=1, le=1000),
         level: str | None = Query(None, description="Minimum level", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$"),
         ctx: ApiContext = Depends(get_ctx)) -> LogTail:
    logs_dir = ctx.settings.logs_dir
    available = log_files(logs_dir)
    if file is not None:
        if not NAME_RE.match(file) or file not in available:
            raise HTTPException(404, f"no log named {file!r}")
        chosen = [file]
    else:
        chosen = available
    minimum = LEVELS.index(level) if level else 0
    out: list[LogLine] = []
    for name in chosen:
        for raw in tail_lines(logs_dir / f"{name}.jsonl", lines):
            entry = LogLine(**parse_line(name, raw))
            if entry.level in LEVELS and LEVELS.index(entry.level) < minimum:
                continue
            out.append(entry)
    out.sort(key=lambda e: e.time or "")
    return LogTail(files=available, lines=out[-lines:])
