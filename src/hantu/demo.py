"""`hantu demo`: the whole system on an embedded default, with nothing to set up.

A fresh `HANTU_HOME`, a market (the generated sample market, or KRX CSV files), the KIS sandbox on a free
loopback port sharing a simulated clock, and the real scheduler running its real jobs through the KIS client
against the sandbox (`TRADING_MODE=kis`, `SERVER=virtual`). Telegram messages are printed as they would be
sent. Idle hours are skipped; the trading session runs at `speed` simulated seconds per wall second.

`shadow=True` (`hantu demo --shadow`): the same day in shadow mode (`TRADING_MODE=shadow`) — the paper book
`shadow` fills from the sandbox's live WebSocket prices (REST polling while the socket is down) with the fill
model, and no order reaches the sandbox's account.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hantu.clock import KST, SimClock

MARKER = ".hantu-demo"
HISTORY_DAYS = 300  # trading days of history before the first simulated day (more than any built-in's lookback_days)
DEMO_RATE_LIMIT = 50.0  # requests/s the demo's client and sandbox allow (KIS virtual is 2/s)
DEMO_STOCKS = 2500


class DemoError(RuntimeError):
    """The demo cannot run as asked (a clear message for the user)."""


@dataclass
class DemoResult:
    home: Path
    days: list[date]
    job_runs: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    sandbox: dict[str, Any]
    messages: int
    report_path: str | None
    wall_seconds: float
    per_day: list[dict[str, Any]] = field(default_factory=list)


def prepare_home(home: Path) -> None:
    """Empty `home` for a new demo; refuse to delete a directory the demo did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise DemoError(f"{home} exists and is not a demo directory; choose another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by `hantu demo`; deleted and recreated by the next demo run\n")


def demo_days(first: date, count: int) -> list[date]:
    from hantu.market import calendar

    days = [first if calendar.is_trading_day(first) else calendar.next_trading_day(first)]
    while len(days) < count:
        days.append(calendar.next_trading_day(days[-1]))
    return days


def build_market(store: Any, data: str, days: int, stocks: int, seed: int, today: date) -> list[date]:
    """Fill the store; returns the trading days the demo will simulate (the last `days` of the data)."""
    from hantu.market import calendar

    if data == "sample":
        from hantu.market.sample import write_sample_market

        simulated = demo_days(calendar.next_trading_day(today), days)
        write_sample_market(store, stocks=stocks, days=HISTORY_DAYS + days, seed=seed, end=simulated[-1])
        return simulated
    from hantu.market.sources.krx_csv import KrxCsvSource

    source = Path(data)
    files = sorted(source.glob("*.csv*")) if source.is_dir() else [source]
    if not files or not all(f.is_file() for f in files):
        raise DemoError(f"--data {data}: no KRX CSV files found")
    for path in files:
        store.write_days(list(KrxCsvSource(path).read()), source="krx-csv")
    dates = store.trading_dates()
    if len(dates) < days + 20:
        raise DemoError(f"--data {data}: {len(dates)} trading days is too little history for {days} demo day(s)")
    return dates[-days:]


def configure_environment(home: Path, base_url: str, ws_url: str, account: Any, shadow: bool = False) -> None:
    """Point this process's settings at the demo home and the sandbox (before any settings are read)."""
    mode = "shadow" if shadow else "kis"
    values = {
        "HANTU_HOME": str(home), "HANTU_ENV_FILE": str(home / "demo.env"), "DATABASE_URL": "",
        "TRADING_MODE": mode, "SERVER": "virtual", "REAL_TRADING_ENABLED": "false",
        "APP_KEY": account.app_key, "APP_SECRET": account.app_secret,
        "ACCOUNT_NUMBER": account.account_number, "KIS_HTS_ID": account.hts_id,
        "KIS_BASE_URL": base_url, "KIS_WS_URL": ws_url, "KIS_RATE_LIMIT": str(DEMO_RATE_LIMIT),
        "HANTU_DATA_SOURCE": "none", "TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": "", "LOG_LEVEL": "WARNING",
    }
    for key in ("DB_HOST", "DB_USER", "DB_NAME", "DB_PASSWORD"):
        os.environ.pop(key, None)
    os.environ.update(values)
    # What `hantu api` needs to show this demo as it ran (no keys: the sandbox is gone when the demo ends).
    (home / "demo.env").write_text(f'HANTU_HOME="{home}"\nTRADING_MODE="{mode}"\nSERVER="virtual"\n'
                                   f'HANTU_LANGUAGE="{os.environ.get("HANTU_LANGUAGE", "ko")}"\n', encoding="utf-8")
    (home / "demo.env").chmod(0o600)
    from hantu.config import reset_settings_cache
    from hantu.store.db import reset_databases

    reset_settings_cache()
    reset_databases()


def run_demo(days: int = 1, speed: float = 600.0, data: str = "sample", home: Path | None = None,
             stocks: int = DEMO_STOCKS, seed: int = 1, today: date | None = None,
             on_message: Callable[[Any], None] | None = None,
             on_progress: Callable[[str], None] | None = None, cash: int | None = None,
             shadow: bool = False, scenario: str | None = None) -> DemoResult:
    """Run the demo; `on_message` sees each delivered Telegram message, `on_progress` short status lines.
    The sandbox account (and in `shadow` mode the shadow book) starts with `cash` (default: the
    PAPER_STARTING_CASH setting); `scenario` makes the
    first day a market-event day (`hantu.sandbox.kis.scenarios`: a circuit breaker, a halt, a VI cascade)."""
    from sqlalchemy import select

    from hantu.market.store import MarketStore
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    if cash is None:
        from hantu.config import get_settings

        cash = get_settings().paper_starting_cash
    say = on_progress or (lambda text: None)
    started = time.perf_counter()
    home = (home or Path("data") / "demo").resolve()
    prepare_home(home)
    today = today or datetime.now(KST).date()
    say(f"home {home}")
    store = MarketStore(home / "market")
    say("building the market" + (f" ({stocks:,} stocks, sample seed {seed})" if data == "sample" else f" from {data}"))
    simulated = build_market(store, data, days, stocks, seed, today)
    clock = SimClock(datetime.combine(simulated[0], datetime.min.time(), KST).replace(hour=5, minute=55), speed)
    options = SandboxOptions(rate_limits={"prod": DEMO_RATE_LIMIT, "virtual": DEMO_RATE_LIMIT})
    sandbox = start_kis_sandbox(home / "market", clock, options)
    try:
        account = sandbox.create_account("virtual", cash, rate_limit=DEMO_RATE_LIMIT)
        if scenario:
            try:
                loaded = sandbox.load_scenario(scenario, simulated[0])
            except ValueError as bad:
                raise DemoError(str(bad)) from None
            say(f"market-event day {simulated[0]}: {loaded['name']} — {loaded['summary']}"
                + (f" (stocks {', '.join(loaded['codes'])})" if loaded["codes"] else ""))
        configure_environment(home, sandbox.base_url, sandbox.ws_url, account, shadow)
        if shadow:
            os.environ["PAPER_STARTING_CASH"] = str(cash)
            say(f"KIS sandbox at {sandbox.base_url}: shadow mode, the paper book `shadow` ({cash:,}원) on its "
                f"live prices at {sandbox.ws_url}")
        else:
            say(f"KIS sandbox at {sandbox.base_url} (virtual account {account.cano}-{account.product_code}, "
                f"cash {cash:,}원)")
        from hantu.config import get_settings
        from hantu.log import setup_from_settings
        from hantu.scheduler.app import NotifyThreads, build_runner

        settings = get_settings()
        setup_from_settings(settings, "demo", to_file=True)
        stop_at = datetime.combine(simulated[-1], datetime.min.time(), KST).replace(hour=18, minute=45)
        runner = build_runner(settings, clock, stop_at=stop_at, skip_idle=True)
        notify = NotifyThreads(settings, runner.db, on_delivered=on_message)
        notify.start()
        watcher = _Watcher(runner, say)
        watcher.start()
        try:
            runner.run()
        finally:
            watcher.stop()
            notify.stop()
        from hantu.store.models import DailyReport, JobRun, OutboxMessage

        with runner.db.session() as session:
            runs: list[dict[str, Any]] = [{"job": r.job, "date": r.trading_date, "status": r.status, "figures": r.figures,
                     "error": r.error} for r in session.scalars(select(JobRun).order_by(JobRun.id))]
            reports: list[dict[str, Any]] = [{"date": r.trading_date, "equity": r.equity, "cash": r.cash, "realized": r.realized_pnl,
                        "unrealized": r.unrealized_pnl, "fees": r.fees, "taxes": r.taxes, "trades": r.trades,
                        "positions": len(r.positions)}
                       for r in session.scalars(select(DailyReport).order_by(DailyReport.trading_date))]
            messages = len(session.scalars(select(OutboxMessage.id)).all())
        stats = sandbox_summary(sandbox, account)
    finally:
        sandbox.stop()
    report_path = next((r["figures"].get("report_path") for r in reversed(runs)
                        if r["job"] == "backtest_refresh" and r["figures"]), None)
    per_day = [_day_summary(day, runs, reports) for day in simulated]
    return DemoResult(home, simulated, runs, reports, stats, messages, report_path,
                      time.perf_counter() - started, per_day)


def sandbox_summary(sandbox: Any, account: Any) -> dict[str, Any]:
    """What the sandbox saw of the demo account: requests, tokens, orders and fills (the broker's truth)."""
    stats = sandbox.stats(account.app_key)
    orders = [o for o in sandbox.state.exchange.orders if o.account is account and o.kind != "cancel"]
    fills = [f for o in orders for f in o.fills]
    return {"requests": len(stats["requests"]), "token_issuances": len(stats["token_issuances"]),
            "ws_connections": stats["ws_connections"],
            "orders_received": stats["orders_received"], "orders": len(orders), "fills": len(fills),
            "filled_orders": sum(1 for o in orders if o.fills), "cash": account.cash,
            "holdings": {code: p.quantity for code, p in account.positions.items() if p.quantity > 0}}


def _day_summary(day: date, runs: list[dict[str, Any]], reports: list[dict[str, Any]]) -> dict[str, Any]:
    def figures(job: str) -> dict[str, Any]:
        return next((r["figures"] or {} for r in runs if r["job"] == job and r["date"] == day
                     and r["status"] == "success"), {})

    screen, select_, session = figures("screening"), figures("selection"), figures("trading_session")
    report = next((r for r in reports if r["date"] == day), {})
    return {"date": day, "universe": screen.get("universe"), "passed": screen.get("passed"),
            "watchlist": screen.get("watchlist"), "selected": len(select_.get("candidates") or []),
            "regime": select_.get("regime"), "orders": session.get("orders_sent"),
            "trades": report.get("trades"), "equity": report.get("equity"),
            "pnl": (report.get("realized") or 0) + (report.get("unrealized") or 0) if report else None,
            "costs": (report.get("fees") or 0) + (report.get("taxes") or 0) if report else None,
            "jobs_ok": sum(1 for r in runs if r["date"] == day and r["status"] == "success"),
            "jobs_failed": sum(1 for r in runs if r["date"] == day and r["status"] == "failed")}


class _Watcher:
    """Reports job starts and ends as they happen (from the runner's state, on its own thread)."""

    def __init__(self, runner: Any, say: Callable[[str], None]) -> None:
        self.runner = runner
        self.say = say
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-watcher", daemon=True)
        self._started: set[int] = set()
        self._ended: set[int] = set()
        self._done_below = 0  # every run with an id up to this one has been reported as ended

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=2)

    def _run(self) -> None:
        """Job starts and ends from the `job_runs` rows, stamped with their own times (polling the runner's
        state would miss a job as quick as data_sync and stamp an end with the time of the next start)."""
        last_minute = None
        while not self.stop_event.wait(0.25):
            self._report_runs()
            now = self.runner.clock.now()
            running = {name for name, _ in list(self.runner.running)}
            if "trading_session" in running and (last_minute is None or now - last_minute >= timedelta(hours=1)):
                last_minute = now
                self.say(f"{now:%Y-%m-%d %H:%M}   session running …")
        self._report_runs()

    def _report_runs(self) -> None:
        from sqlalchemy import select

        from hantu.store.models import JobRun

        try:
            with self.runner.db.session() as session:
                rows = [(r.id, r.job, r.status, r.started_at, r.finished_at)
                        for r in session.scalars(select(JobRun).where(JobRun.id > self._done_below)
                                                 .order_by(JobRun.id))]
        except Exception:  # progress lines only; the run itself reports its errors
            return
        for row_id, job, status, started, finished in rows:
            if row_id not in self._started:
                self._started.add(row_id)
                if finished is not None and finished == started and status != "success":
                    self._ended.add(row_id)  # recorded without running (skipped)
                    self.say(f"{started:%Y-%m-%d %H:%M} · {job} {status}")
                    continue
                self.say(f"{started:%Y-%m-%d %H:%M} ▶ {job}")
            if finished is not None and row_id not in self._ended:
                self._ended.add(row_id)
                self.say(f"{finished:%Y-%m-%d %H:%M} " + (f"✓ {job} finished" if status == "success"
                                                          else f"✗ {job} {status}"))
        while self._done_below + 1 in self._ended:
            self._done_below += 1
