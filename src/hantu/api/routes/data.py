"""`/data`: how complete and how fresh the market data is; `/data/benchmark`: the cap-weighted market.

The only routes that need numpy (through `hantu.market.store`): a child process computes their figures
(`hantu.api.market_child`), so numpy and the market panel never enter the API process; the answers are cached
until a block, the master or the store's meta file changes.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from hantu.api import market_child
from hantu.api.context import ApiContext, get_ctx
from hantu.api.schemas import DataStatus, IsoDate, JobRunOut, MarketBenchmark, MarketDataStatus
from hantu.market.closes import market_root
from hantu.store.models import Instrument, JobRun

router = APIRouter(tags=["data"])

_cache: dict[str, tuple[tuple[object, ...], MarketDataStatus | None]] = {}
_lock = threading.Lock()


def _fingerprint(root: Path) -> tuple[object, ...]:
    paths = [*sorted((root / "blocks").glob("*.npz")), root / "meta.json", root / "instruments.json"]
    return tuple((p.name, p.stat().st_mtime) for p in paths if p.exists())


def store_fingerprint(hantu_home: Path) -> tuple[object, ...]:
    """What the answers of these routes read from files (the response cache keys them by it)."""
    return _fingerprint(market_root(hantu_home))


def market_status(root: Path) -> MarketDataStatus | None:
    key = _fingerprint(root)
    with _lock:
        cached = _cache.get(str(root))
        if cached is not None and cached[0] == key:
            return cached[1]
        found = market_child.run_child("status", str(root)) if key else None
        result = None if found is None else MarketDataStatus.model_validate(found)
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
    from hantu.market.calendar import required_close

    today = ctx.clock.today()
    stale = (today - market.last_date).days if market and market.last_date else None
    needed = required_close(today)
    fresh = market.last_date >= needed if market and market.last_date else False
    return DataStatus(market=market, instruments=int(instruments), last_sync=last_sync, stale_days=stale,
                      required_close=needed, fresh=fresh)


_bench_cache: dict[tuple[str, date | None, date | None], tuple[tuple[object, ...], MarketBenchmark]] = {}


def market_benchmark(root: Path, start: date | None, end: date | None) -> MarketBenchmark:
    """The cap-weighted KOSPI / KOSDAQ over the stored days of `start … end` (default: the last 120 days)."""
    key = _fingerprint(root)
    cache_key = (str(root), start, end)
    with _lock:  # one child at a time: fifty dashboards opening at once wait for the first one's answer
        cached = _bench_cache.get(cache_key)
        if cached is not None and cached[0] == key:
            return cached[1]
        if not key:
            result = MarketBenchmark(dates=[], indices={}, total_return={}, gap_days=[])
        else:
            result = MarketBenchmark.model_validate(market_child.run_child(
                "benchmark", str(root), start.isoformat() if start else "", end.isoformat() if end else ""))
        if len(_bench_cache) >= 16:
            _bench_cache.clear()
        _bench_cache[cache_key] = (key, result)
        return result


@router.get("/data/benchmark", response_model=MarketBenchmark,
            summary="Cap-weighted KOSPI and KOSDAQ computed from the store's market caps")
def data_benchmark(start: IsoDate | None = Query(None, alias="from", description="First day (default: 120 days ago)"),
                   end: IsoDate | None = Query(None, alias="to", description="Last day (default: the last stored)"),
                   ctx: ApiContext = Depends(get_ctx)) -> MarketBenchmark:
    return market_benchmark(market_root(ctx.settings.hantu_home), start, end)
