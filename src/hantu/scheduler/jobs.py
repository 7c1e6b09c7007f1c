"""The scheduler's jobs. Each takes a `JobContext` and returns the figures recorded in `job_runs`.

Jobs are idempotent per trading date: running one twice for the same date replaces its stored results
(screening, selection, daily report) or finds nothing left to do (sync, close-out).

Market data: the jobs of trading date D see the market *as known before D's session* — daily bars up to the
previous trading day (`KnownMarket`) — so a store that already holds D's bars (a replay, the demo) cannot leak
them into D's screening or selection.

Freshness: screening and selection of D refuse a market that ends before D's required close
(`calendar.required_close`, the previous trading day): they raise `StaleMarketData`, so the run is `failed` with the
dates in its error and the runner alerts through the Telegram outbox. The session trades no candidates of a
selection made on stale data (exits still run). `data_sync` fails when days it needed stay missing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hantu.clock import Clock
from hantu.config import Settings
from hantu.market import calendar
from hantu.market.instruments import DEFAULT_MARKET, market_or_default
from hantu.scheduler import memory
from hantu.scheduler.runner import JobContext, JobFunc, JobInterrupted
from hantu.store.db import Database

if TYPE_CHECKING:
    from hantu.notify.kit import Priority

log = logging.getLogger("hantu.scheduler.jobs")

BACKTEST_REFRESH_DAYS = 182  # calendar days of recent history the 18:00 backtest covers
BACKTEST_TIMEOUT_SECONDS = 1800
BACKUPS_KEPT = 4


class KnownMarket:
    """A read-only view of the market store that ends before trading date `day` (no look-ahead)."""

    def __init__(self, store: Any, day: date) -> None:
        self.store = store
        self.last = calendar.required_close(day)

    def load(self, days: int, end: date | None = None) -> Any:
        return self.store.load(days, end=min(end, self.last) if end else self.last)

    def load_range(self, start: date, end: date) -> Any:
        return self.store.load_range(start, min(end, self.last))

    def __getattr__(self, name: str) -> Any:  # instruments(), instrument(code), status() ...
        return getattr(self.store, name)


class DataSyncIncomplete(RuntimeError):
    """The store still lacks trading days the sync needed (the message names them and the source)."""


class Services:
    """What jobs share, built lazily once per scheduler process; brokers come from `hantu.trading.factory`."""

    def __init__(self, settings: Settings, clock: Clock, db: Database) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self._shadow: dict[date, Any] = {}

    @cached_property
    def store(self) -> Any:
        from hantu.market.store import open_market_store

        return open_market_store(self.settings)

    @cached_property
    def strategy(self) -> Any:
        from hantu.strategy.registry import create_strategy

        return create_strategy(self.settings.strategy)

    def known(self, day: date) -> KnownMarket:
        return KnownMarket(self.store, day)

    @cached_property
    def kis_api(self) -> Any:
        from hantu.broker.kis.api import KisApi
        from hantu.broker.kis.client import KisClient
        from hantu.broker.kis.config import KisConfig

        return KisApi(KisClient(KisConfig.from_settings(self.settings), self.clock))

    def broker(self, day: date) -> Any:
        """The broker for trading date `day`, from the factory (`hantu.trading.factory`): paper (replaying the
        store), KIS (virtual, or real with the opt-in) over the shared client, or the shadow book on live KIS
        prices over the same client; `RealMoneyNotConfirmed` else. The shadow book is built once per day: its
        live market holds the minutes the session saw, which the close-out's matching still needs."""
        from hantu.trading.factory import open_broker

        if self.settings.trading_mode == "shadow":
            return self.shadow_broker(day)
        if self.settings.trading_mode == "kis":
            return open_broker(self.settings, self.db, self.clock, day=day, kis_api=self.kis_api,
                               market_of=self._market_of)
        return open_broker(self.settings, self.db, self.clock, day=day, store=self.store)

    def shadow_broker(self, day: date) -> Any:
        """The day's shadow book (TRADING_MODE=shadow, or beside KIS with SHADOW_STRATEGY), one per day."""
        from hantu.trading.factory import open_shadow_broker

        cached = self._shadow.get(day)
        if cached is None:
            self._shadow.clear()
            cached = self._shadow[day] = open_shadow_broker(self.settings, self.db, self.clock,
                                                            kis_api=self.kis_api, market_of=self._market_of)
        return cached

    @cached_property
    def shadow_strategy(self) -> Any:
        """The strategy of the shadow book beside a KIS account (SHADOW_STRATEGY), None without one."""
        if self.settings.trading_mode != "kis" or not self.settings.shadow_strategy:
            return None
        from hantu.strategy.registry import create_strategy

        return create_strategy(self.settings.shadow_strategy)

    def _market_of(self, code: str) -> str:
        try:
            return market_or_default(str(self.store.instrument(code).market))
        except KeyError:
            return DEFAULT_MARKET

    def notify(self, kind: str, data: dict[str, Any], priority: Priority = "normal", dedupe_key: str | None = None,
               session: Any = None) -> None:
        """Enqueue a message (in `session`'s transaction when given); a template problem is logged, not fatal."""
        from hantu.notify.outbox import enqueue

        try:
            if session is not None:
                enqueue(session, kind, data, priority, dedupe_key, now=self.clock.now())
                return
            with self.db.session() as own:
                enqueue(own, kind, data, priority, dedupe_key, now=self.clock.now())
        except Exception:
            log.exception("could not enqueue %s", kind)


def _services(ctx: JobContext) -> Services:
    assert isinstance(ctx.services, Services), "the scheduler passes Services to every job"
    return ctx.services


def _quotes(broker: Any, codes: list[str]) -> dict[str, float]:
    from hantu.broker.base import BrokerError

    prices: dict[str, float] = {}
    for code in codes:
        try:
            prices[code] = float(broker.quote(code).price)
        except BrokerError as error:
            log.warning("no quote for %s: %s", code, error)
    return prices


# --- 06:00 ---------------------------------------------------------------------------------------------
def data_sync(ctx: JobContext) -> dict[str, Any]:
    """Bring the store up to the previous trading day from the configured source; report what is missing."""
    from hantu.broker.kis.daily_source import KisDailySource, missing_days
    from hantu.market.sources.base import DailySource
    from hantu.market.store import sync_instruments_to_db

    services = _services(ctx)
    store = services.store
    target = calendar.required_close(ctx.day)
    known = store.trading_dates()
    started = time.perf_counter()
    missing = missing_days(store, calendar.next_trading_day(known[-1]), target) if known and known[-1] < target \
        else ([] if known else [target])
    source = services.settings.data_source
    rows = 0
    if missing and source != "none":
        reader: DailySource
        if source == "kis":
            reader = KisDailySource(services.kis_api, store.instruments(), missing)
        else:
            from hantu.market.sources.pykrx_source import PykrxSource

            reader = PykrxSource(missing)
        fetched = list(reader.read())
        store.write_days(fetched, source=source)
        rows = sum(len(day.codes) for day in fetched)
    stored = store.trading_dates() if rows else known
    still_missing = [d for d in missing if d not in set(stored)]
    with ctx.db.session() as session:
        stocks = sync_instruments_to_db(store, session)
        figures = {"trading_date": ctx.day.isoformat(), "source": source, "stocks": stocks, "rows": rows,
                   "elapsed_seconds": round(time.perf_counter() - started, 2), "failed": len(still_missing),
                   "last_day": stored[-1].isoformat() if stored else None,
                   "missing_days": [d.isoformat() for d in still_missing]}
        services.notify("data_sync_done", figures, "low" if not still_missing else "high",
                        dedupe_key=f"data_sync_done:{ctx.day}", session=session)
    if still_missing:
        ctx.figures.update(figures)
        shown = ", ".join(d.isoformat() for d in still_missing[:10])
        more = f" and {len(still_missing) - 10} more" if len(still_missing) > 10 else ""
        hint = ("HANTU_DATA_SOURCE is none: import them (`hantu data import ...`) or set a source"
                if source == "none" else f"source {source} did not deliver them")
        raise DataSyncIncomplete(f"market data still lacks {len(still_missing)} trading day(s) up to {target}: "
                                 f"{shown}{more} ({hint})")
    return figures


# --- 06:30 ---------------------------------------------------------------------------------------------
def screening(ctx: JobContext) -> dict[str, Any]:
    """Phase 1 over the whole market, stored with its watchlist."""
    from hantu.strategy.runs import run_screening

    services = _services(ctx)
    outcome = run_screening(ctx.db, services.known(ctx.day), services.strategy, on=ctx.day, clock=ctx.clock)
    top = [{"code": s.code, "name": s.name, "score": round(float(s.score), 3)} for s in outcome.watchlist[:10]]
    services.notify("screening_done", {"trading_date": ctx.day.isoformat(), "universe_size": outcome.universe,
                                       "passed": outcome.passed, "top": top, "strategy": outcome.strategy,
                                       "elapsed_seconds": round(outcome.elapsed_s, 2)},
                    dedupe_key=f"screening_done:{ctx.day}:{outcome.strategy}")
    figures = dict(outcome.figures())
    shadow = services.shadow_strategy
    if shadow is not None and shadow.name != services.strategy.name:
        figures["shadow"] = _beside("screening", lambda: dict(run_screening(
            ctx.db, services.known(ctx.day), shadow, on=ctx.day, clock=ctx.clock).figures()))
    return figures


def _beside(what: str, work: Any) -> dict[str, Any]:
    """The shadow book's part of a job (SHADOW_STRATEGY): its figures, or its error — it never fails the job of
    the account that trades."""
    try:
        return dict(work())
    except Exception as error:
        log.exception("shadow %s failed", what)
        return {"error": str(error)[:500]}


# --- 08:30 ---------------------------------------------------------------------------------------------
def selection(ctx: JobContext) -> dict[str, Any]:
    """Pre-open checks (token, balance, reconciliation), then Phase 2 from the day's watchlist."""
    from hantu.strategy.runs import run_selection
    from hantu.trading.reconcile import known_actions, reconcile

    services = _services(ctx)
    broker = services.broker(ctx.day)
    checks: dict[str, Any] = {"broker": broker.name}
    cash = broker.cash()  # also proves the token and the account work
    checks["cash"] = cash.cash
    report = reconcile(ctx.db, broker, ctx.clock, ctx.day, actions=known_actions(services.store))
    checks["reconciliation"] = report.as_dict()
    outcome = run_selection(ctx.db, services.known(ctx.day), services.strategy, on=ctx.day, clock=ctx.clock)
    selected = [{"code": c.code, "name": c.name, "score": round(float(c.score), 3), "weight": float(c.weight),
                 "reason": c.reason} for c in outcome.candidates]
    services.notify("selection_done", {"trading_date": ctx.day.isoformat(), "selected": selected,
                                       "strategy": outcome.strategy, "candidates": outcome.max_candidates},
                    dedupe_key=f"selection_done:{ctx.day}:{outcome.strategy}")
    figures = {**dict(outcome.figures()), "pre_open": checks}
    shadow = services.shadow_strategy
    if shadow is not None and shadow.name != services.strategy.name:
        figures["shadow"] = _beside("selection", lambda: dict(run_selection(
            ctx.db, services.known(ctx.day), shadow, on=ctx.day, clock=ctx.clock).figures()))
    return figures


# --- 09:00-15:30 ---------------------------------------------------------------------------------------
def trading_session(ctx: JobContext) -> dict[str, Any]:
    """The session loop over the day's candidates; interrupted (to resume after a restart) when stopped early."""
    from hantu.market.freshness import StaleMarketData, check_fresh
    from hantu.strategy.runs import selection_data_date, stored_candidates
    from hantu.trading.reconcile import known_actions
    from hantu.trading.session import Beside
    from hantu.trading.session import run as run_session

    services = _services(ctx)
    strategy = services.strategy
    candidates = stored_candidates(ctx.db, ctx.day, strategy.name) or []
    refused = None
    if candidates:
        try:
            check_fresh(selection_data_date(ctx.db, ctx.day, strategy.name), ctx.day, "the session's entries")
        except StaleMarketData as stale:  # a selection made with --allow-stale: no entries, exits still run
            refused, candidates = str(stale), []
            services.notify("error", {"error_kind": "job:trading_session", "message": refused,
                                      "where": f"trading_session {ctx.day}"}, "high",
                            dedupe_key=f"stale_entries:{ctx.day}")
    broker = services.broker(ctx.day)
    beside = None
    if services.shadow_strategy is not None:  # SHADOW_STRATEGY beside the KIS account, on this session's socket
        shadow = services.shadow_strategy
        beside = Beside(stored_candidates(ctx.db, ctx.day, shadow.name) or [], shadow,
                        services.shadow_broker(ctx.day))
    report = run_session(ctx.day, candidates, strategy, broker, ctx.clock, ctx.stop, database=ctx.db,
                         home=services.settings.hantu_home, actions=known_actions(services.store), beside=beside)
    figures = {k: v for k, v in report.as_dict().items() if k != "reconciliations"}
    figures["candidates"] = len(candidates)
    if refused:
        figures["entries_refused"] = refused
    figures["reconciliation_differences"] = sum(len(r.as_dict().get("differences") or [])
                                                for r in report.reconciliations)
    ctx.figures.update(figures)
    if ctx.stop.is_set() and ctx.clock.now() < calendar.session(ctx.day).close:
        raise JobInterrupted("stopped during the session; it resumes (after reconciliation) on restart")
    return figures


# --- 15:40 ---------------------------------------------------------------------------------------------
def close_out(ctx: JobContext) -> dict[str, Any]:
    """Cancel leftovers, reconcile with the broker, record the day's equity."""
    from hantu.trading.reconcile import known_actions
    from hantu.trading.session import close_out as close_day

    services = _services(ctx)
    figures = close_day(ctx.db, services.broker(ctx.day), ctx.clock, ctx.day, actions=known_actions(services.store))
    if services.shadow_strategy is not None:
        figures["shadow"] = _beside("close-out", lambda: close_day(
            ctx.db, services.shadow_broker(ctx.day), ctx.clock, ctx.day, actions=known_actions(services.store)))
    return figures


# --- 15:50 ---------------------------------------------------------------------------------------------
DRIFT_CATCH_UP_DAYS = 5  # trading days back the drift job looks for a day still without its report


def drift_report(ctx: JobContext) -> dict[str, Any]:
    """Live vs model for the trading days (up to `DRIFT_CATCH_UP_DAYS` back) that have orders or candidates, their
    daily bars in the store and no report yet (`hantu.backtest.drift_run`): a day whose bars arrive only with the
    next morning's data_sync is reported the next evening."""
    from sqlalchemy import select

    from hantu.backtest.drift_run import DriftDataMissing, run_drift
    from hantu.backtest.engine import BacktestConfig
    from hantu.backtest.single import load_market
    from hantu.broker.fill_model import FillParams
    from hantu.market import rules
    from hantu.store.models import DriftReport, TradeOrder
    from hantu.strategy.runs import stored_candidates
    from hantu.trading.risk import load_config

    services = _services(ctx)
    settings = services.settings
    broker = services.broker(ctx.day).name
    strategy = services.strategy
    stored = [d for d in services.store.trading_dates() if d <= ctx.day]
    days = calendar.trading_days(ctx.day - timedelta(days=14), ctx.day)[-DRIFT_CATCH_UP_DAYS:]
    with ctx.db.session() as session:
        done = set(session.scalars(select(DriftReport.trading_date).where(DriftReport.broker == broker)))
        traded = set(session.scalars(select(TradeOrder.trading_date).where(TradeOrder.broker == broker,
                                                                            TradeOrder.trading_date.in_(days))))
        risk = load_config(session)
    config = BacktestConfig(risk=risk, fill=FillParams(
        commission_rate=rules.commission_rate(settings.commission_rate)))
    reported: list[dict[str, Any]] = []
    waiting: list[str] = []
    for day in days:
        candidates = stored_candidates(ctx.db, day, strategy.name) or []
        if day in done or not (candidates or day in traded):
            continue
        if day not in stored:
            waiting.append(day.isoformat())
            continue
        try:
            market = load_market(services.store, day, day, warmup_days=10)
            reported.append(run_drift(ctx.db, broker, day, strategy, market, candidates, config, ctx.clock.now(),
                                      settings.drift_alert_bps))
        except DriftDataMissing as missing:
            waiting.append(f"{day.isoformat()}: {missing}")
    return {"reported": reported, "waiting_for_data": waiting}


# --- 16:00 ---------------------------------------------------------------------------------------------
def daily_report(ctx: JobContext) -> dict[str, Any]:
    """P&L, positions, trades, fees and taxes of the day: stored and sent (once per date)."""
    services = _services(ctx)
    figures = _book_report(ctx, services, services.broker(ctx.day))
    if services.shadow_strategy is not None:
        figures["shadow"] = _beside("daily report", lambda: _book_report(ctx, services,
                                                                         services.shadow_broker(ctx.day)))
    return figures


def _book_report(ctx: JobContext, services: Services, broker: Any) -> dict[str, Any]:
    """One book's daily report (the account's, or the shadow book's beside it): stored and sent."""
    from hantu.scheduler.reports import daily_figures, save_daily_report
    from hantu.trading import ledger

    with ctx.db.session() as session:
        book = ledger.derive_book(session, broker.name)
    prices = _quotes(broker, list(book.positions))
    with ctx.db.session() as session:
        holdings = {code: (h.quantity, h.avg_price) for code, h in book.positions.items()}
        figures = daily_figures(session, broker.name, ctx.day, book.cash, holdings, prices)
        save_daily_report(session, broker.name, ctx.day, figures, ctx.clock.now())
        services.notify("daily_report", figures, dedupe_key=f"daily_report:{ctx.day}:{broker.name}",
                        session=session)
    return {k: v for k, v in figures.items() if k != "positions"} | {"positions": len(figures["positions"])}


# --- 17:00 ---------------------------------------------------------------------------------------------
def performance(ctx: JobContext) -> dict[str, Any]:
    """How the day's selections did (entry level vs close, traded or not) and P&L attribution per stock."""
    from sqlalchemy import select

    from hantu.store.models import DailyReport
    from hantu.strategy.runs import stored_candidates
    from hantu.trading.pnl import realized_for

    services = _services(ctx)
    broker = services.broker(ctx.day)
    candidates = stored_candidates(ctx.db, ctx.day, services.strategy.name) or []
    closes = _quotes(broker, [c.code for c in candidates])
    with ctx.db.session() as session:
        pnl = realized_for(session, broker.name, ctx.day, ctx.day)
        rows: list[dict[str, Any]] = []
        for c in candidates:
            close = closes.get(c.code)
            rows.append({"code": c.code, "name": c.name, "rank": c.rank, "entry_price": c.entry_price,
                         "close": close, "change_pct": round((close / c.entry_price - 1) * 100, 2)
                         if close and c.entry_price else None, "realized_pnl": pnl.by_code.get(c.code, 0)})
        moved = [r["change_pct"] for r in rows if r["change_pct"] is not None]
        review = {"selections": rows, "average_change_pct": round(sum(moved) / len(moved), 3) if moved else None,
                  "hit_rate": round(sum(m > 0 for m in moved) / len(moved), 3) if moved else None,
                  "attribution": pnl.by_code, "fees": pnl.fees, "taxes": pnl.taxes}
        report = session.scalars(select(DailyReport).where(DailyReport.trading_date == ctx.day,
                                                           DailyReport.broker == broker.name)).first()
        if report is not None:
            report.selection_review = review
    return {"selections": len(rows), "average_change_pct": review["average_change_pct"],
            "hit_rate": review["hit_rate"], "realized_by_code": pnl.by_code}


# --- 18:00 ---------------------------------------------------------------------------------------------
def backtest_refresh(ctx: JobContext) -> dict[str, Any]:
    """The running strategy over recent data, stored with its report (listed by the API and the dashboard).

    It runs as a child process (`hantu backtest … --lean --json`): a backtest needs several times the memory of
    the idle scheduler, and a child returns all of it to the OS when it ends, keeping the long-running process
    lean; `--lean` (no thread computing the next screening chunk ahead) bounds the child, so that the scheduler's
    tree stays within its unit's memory (`bench/scheduler_rss.py` prints the tree's peak during this job).
    The child has a ceiling, `HANTU_REFRESH_MAX_MB`: it refuses a panel that would not fit (`--max-mb`) and is
    stopped if it grows past it; before it starts, the scheduler hands what the day's jobs freed back to the OS.
    """
    import json

    services = _services(ctx)
    dates = [d for d in services.store.trading_dates() if d <= ctx.day]
    if len(dates) < 30:
        return {"skipped": f"only {len(dates)} trading days of data"}
    start = max(dates[0], ctx.day - timedelta(days=BACKTEST_REFRESH_DAYS))
    ceiling = services.settings.refresh_max_mb
    command = [sys.executable, "-m", "hantu", "backtest", "--strategy", services.strategy.name,
               "--from", start.isoformat(), "--to", dates[-1].isoformat(), "--lean", "--json",
               "--max-mb", str(ceiling)]
    held = memory.rss_mb()
    memory.release(collect=True)  # what the day's jobs freed goes back to the OS before the child takes its share
    scheduler_mb = memory.rss_mb()
    try:  # a stopping scheduler lets the child finish, as every job finishes its in-flight work
        done = memory.run_bounded(command, ceiling_mb=ceiling, timeout=BACKTEST_TIMEOUT_SECONDS)
    except memory.OverCeiling as error:
        raise RuntimeError(f"backtest stopped: {error} (HANTU_REFRESH_MAX_MB)") from error
    if done.returncode != 0:
        raise RuntimeError(f"backtest exited {done.returncode}: {done.stderr.strip()[-800:]}")
    result = json.loads(done.stdout)
    metrics = result.get("metrics") or {}
    return {"backtest_id": result.get("id"), "start": result.get("start"), "end": result.get("end"),
            "report_path": result.get("report_path"), "final_equity": result.get("final_equity"),
            "total_return": metrics.get("total_return"), "max_drawdown": metrics.get("max_drawdown"),
            "sharpe": metrics.get("sharpe"), "child_peak_rss_mb": done.peak_mb, "child_ceiling_mb": ceiling,
            "scheduler_rss_mb": scheduler_mb, "scheduler_rss_before_release_mb": held}


# --- Saturday 03:00 ------------------------------------------------------------------------------------
def weekly_maintenance(ctx: JobContext) -> dict[str, Any]:
    """Database backup and vacuum, log rotation, and the weekly summary."""
    from sqlalchemy import text

    from hantu.ops.logrotate import rotate_logs
    from hantu.scheduler.reports import weekly_figures

    services = _services(ctx)
    home = services.settings.hantu_home
    figures: dict[str, Any] = {}
    backups = home / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    if ctx.db.is_sqlite:
        target = backups / f"hantu-{ctx.day:%Y%m%d}.db"
        target.unlink(missing_ok=True)
        with ctx.db.engine.connect() as connection:
            connection.exec_driver_sql(f"VACUUM INTO '{target}'")
            connection.exec_driver_sql("PRAGMA optimize")
    else:
        target = backups / f"hantu-{ctx.day:%Y%m%d}.dump"
        _pg_dump(ctx.db, target)
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
        figures["vacuum"] = "VACUUM (ANALYZE)"
    for old in sorted(backups.glob("hantu-*"))[:-BACKUPS_KEPT]:
        old.unlink()
    figures["backup"] = str(target)
    figures["backup_bytes"] = target.stat().st_size
    lines: list[str] = []
    figures["log_rotation_exit"] = rotate_logs([services.settings.logs_dir], clock=ctx.clock, echo=lines.append)
    figures["log_rotation"] = lines[-6:]
    week_end = ctx.day - timedelta(days=1)
    broker_name = services.settings.trading_mode  # the book of the configured mode: paper, kis or shadow
    with ctx.db.session() as session:
        summary = weekly_figures(session, broker_name, week_end)
        if summary is not None:
            services.notify("weekly_summary", summary, dedupe_key=f"weekly_summary:{week_end}", session=session)
    figures["weekly_summary"] = summary is not None
    return figures


def _pg_dump(db: Database, target: Path) -> None:
    """`pg_dump -Fc` of the configured database; the password goes through the environment, not argv."""
    import subprocess

    from sqlalchemy.engine import make_url

    binary = shutil.which("pg_dump")
    if binary is None:
        raise RuntimeError("pg_dump not found: install postgresql-client for the weekly backup")
    url = make_url(db.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    subprocess.run([binary, "--format=custom", f"--file={target}", f"--dbname={dsn}"], check=True, env=env,
                   capture_output=True, timeout=1800)


JOBS: Mapping[str, JobFunc] = {
    "data_sync": data_sync,
    "screening": screening,
    "selection": selection,
    "trading_session": trading_session,
    "close_out": close_out,
    "drift_report": drift_report,
    "daily_report": daily_report,
    "performance": performance,
    "backtest_refresh": backtest_refresh,
    "weekly_maintenance": weekly_maintenance,
}
