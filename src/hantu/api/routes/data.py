"""`/data`: how complete and how fresh the market data is.

The one route that loads numpy (through `hantu.market.store`), lazily; its answer is cached until a block or
the store's meta file changes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from hantu.api.context import ApiContext, get_ctx
from hantu.api.prices import market_root
from hantu.api.schemas import DataStatus, JobRunOut, MarketDataStatus
from hantu.store.models import Instrument, JobRun

router = APIRouter(tags=["data"])

_cache: dict[str, tuple[tuple[object, ...], MarketDataStatus | None]] = {}
_lock = threading.Lock()


def _fingerprint(root: Path) -> tuple[object, ...]:
    paths = [*sorted((root / "blocks").glob("*.npz")), root / "meta.json", root / "instruments.json"]
    return tuple((p.name, p.stat().st_mtime) for p in paths if p.exists())


def market_status(root: Path) -> MarketDataStatus | None:
    key = _fingerprint(root)
    with _lock:
        cached = _cache.get(str(root))
        if cached is not None and cached[0] == key:
            return cached[1]
        if not key:
            result = None
        else:
            from hantu.market.store import MarketStore

            status = MarketStore(root).status()
            result = None if status.days == 0 else MarketDataStatus(
                first_date=status.first_date, last_date=status.last_date, days=status.days, stocks=status.stocks,
                stocks_last_day=status.stocks_last_day, gaps=status.gaps, last_update=status.last_update,
                last_source=status.last_source)
        _cache[str(root)] = (key, result)
        return result


@router.get("/data", response_model=DataStatus, summary="Market data coverage, gaps and the last sync")
def data_status(ctx: ApiContext = Depends(get_ctx)) -> DataStatus:
    market = market_status(market_root(ctx.settings.hantu_home))
    with ctx.read() as session:
        instruments = session.scalar(select(func.count()).select_from(Instrument)) or 0
        last = session.scalar(select(JobRun).where(JobRun.job == "data_sync")
                              .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
        last_sync = JobRunOut.model_validate(last) if last is not None else None
    stale = (ctx.clock.today() - market.last_date).days if market and market.last_date else None
    return DataStatus(market=market, instruments=int(instruments), last_sync=last_sync, stale_days=stale)
