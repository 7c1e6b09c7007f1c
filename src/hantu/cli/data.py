"""`hantu data`: import, sync and inspect the local market data store ($HANTU_HOME/market)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from hantu.cli.common import EXIT_ERROR, console, fail, print_json

app = typer.Typer(help="Market data: import KRX files, sync, generate the sample market, check the store.\n\n"
                  "Example: hantu data sample --stocks 2500 --days 500 --seed 1",
                  no_args_is_help=True)
import_app = typer.Typer(help="Import daily files into the store.\n\nExample: hantu data import krx-csv a.csv.gz",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")


def _parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date as YYYY-MM-DD, got {text!r}", code=2)


def _default_end() -> date:
    """The last trading day before today (KST)."""
    from hantu.clock import SystemClock
    from hantu.market.calendar import previous_trading_day

    return previous_trading_day(SystemClock().today())


def _progress(description: str, total: int | None):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console(), transient=True, disable=not console().is_terminal)


def _mirror_instruments(store) -> int:  # type: ignore[no-untyped-def]
    """Copy the instrument master into the database so the API and the CLI show Korean names."""
    from hantu.cli.common import open_database
    from hantu.market.store import sync_instruments_to_db

    database = open_database()
    with database.session() as session:
        return sync_instruments_to_db(store, session)


def _import(paths: list[Path], kind: str, as_json: bool) -> None:
    from hantu.market.sources.base import SourceError
    from hantu.market.store import open_market_store

    store = open_market_store()
    results: list[dict[str, object]] = []
    failed = False
    for path in paths:
        try:
            if kind == "krx-csv":
                from hantu.market.sources.krx_csv import KrxCsvSource

                days = KrxCsvSource(path).read_all()
            else:
                from hantu.market.sources.marcap import MarcapSource

                days = MarcapSource(path).read_all()
        except SourceError as error:
            failed = True
            typer.echo(f"error: {error}", err=True)
            results.append({"path": str(path), "ok": False, "error": str(error)})
            continue
        with _progress(f"storing {path.name}", len(days)) as progress:
            task = progress.add_task(f"storing {path.name}", total=len(days))
            store.write_days(days, source=kind, progress=lambda n, task=task: progress.advance(task, n))
        rows = sum(len(d) for d in days)
        results.append({"path": str(path), "ok": True, "days": len(days), "rows": rows,
                        "first": days[0].day if days else None, "last": days[-1].day if days else None})
        if not as_json:
            typer.echo(f"{path}: {rows} rows, {len(days)} days"
                       + (f" ({days[0].day} … {days[-1].day})" if days else ""))
    if any(r["ok"] for r in results):
        _mirror_instruments(store)
    if as_json:
        print_json(results)
    if failed:
        raise typer.Exit(EXIT_ERROR)


@import_app.command("krx-csv")
def import_krx_csv(paths: list[Path] = typer.Argument(..., help="KRX daily CSV files (.csv or .csv.gz)"),
                   as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Import KRX daily CSV files (date,code,name,market,open,high,low,close,volume,amount,marcap,shares).

    A file with a malformed row or an unknown market is rejected whole, with every bad line listed.

    Example: hantu data import krx-csv ../shared/data/krx/krx-daily-2024q1.csv.gz
    """
    _import(paths, "krx-csv", as_json)


@import_app.command("marcap")
def import_marcap(paths: list[Path] = typer.Argument(..., help="marcap-YYYY.parquet files"),
                  as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Import yearly parquet files of the public marcap dataset (needs the optional pyarrow).

    Example: hantu data import marcap ~/marcap/data/marcap-2024.parquet
    """
    _import(paths, "marcap", as_json)


@app.command("sync")
def sync(source: str = typer.Option(..., "--source", help="pykrx or kis"),
         start: str | None = typer.Option(None, help="first day (default: the day after the store's last)"),
         end: str | None = typer.Option(None, help="last day (default: the last trading day before today)"),
         codes: str | None = typer.Option(None, help="kis: comma-separated codes (default: every stored one)"),
         timeout: float = typer.Option(600.0, help="pykrx: seconds before the child process is stopped"),
         as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Fetch the trading days missing from the store.

    pykrx: all stocks, one request per day (needs `pip install hantu[pykrx]` and KRX_ID/KRX_PW).
    kis: per-stock daily charts through the KIS API (needs APP_KEY/APP_SECRET), within the rate limit.

    Example: hantu data sync --source kis --start 2026-01-05
    """
    from hantu.market.sources.base import SourceError
    from hantu.market.sources.kis_source import missing_days
    from hantu.market.store import open_market_store

    if source not in ("pykrx", "kis"):
        fail(f"unknown source {source!r} (pykrx or kis)", code=2)
    store = open_market_store()
    last_day = _parse_day(end, "--end") or _default_end()
    stored = store.trading_dates()
    first_day = _parse_day(start, "--start")
    if first_day is None:
        if not stored:
            fail("the store is empty: give --start, or import files first (hantu data import ...)")
        first_day = stored[-1]
    days = missing_days(store, first_day, last_day)
    if not days:
        if as_json:
            print_json({"source": source, "days": 0, "rows": 0})
        else:
            typer.echo("nothing to fetch: the store has every trading day in that range")
        return
    try:
        if source == "pykrx":
            from hantu.market.sources.pykrx_source import PykrxSource

            fetched = list(PykrxSource(days, timeout=timeout).read())
        elif source == "kis":
            fetched = _sync_kis(store, days, codes)
        else:
            fail(f"unknown source {source!r} (pykrx or kis)", code=2)
    except SourceError as error:
        fail(str(error))
    store.write_days(fetched, source=source)
    _mirror_instruments(store)
    rows = sum(len(d) for d in fetched)
    if as_json:
        print_json({"source": source, "days": len(fetched), "rows": rows,
                    "fetched": [d.day for d in fetched], "asked": days})
    else:
        typer.echo(f"{source}: {len(fetched)} of {len(days)} missing day(s) stored, {rows} rows")


def _sync_kis(store, days: list[date], codes: str | None):  # type: ignore[no-untyped-def]
    from hantu.config.settings import get_settings
    from hantu.market.sources.base import SourceError
    from hantu.market.sources.kis_source import KisDailySource

    try:
        from hantu.broker.kis.api import KisApi
        from hantu.broker.kis.client import KisClient
        from hantu.broker.kis.config import KisConfig
    except ImportError as error:
        raise SourceError(f"the KIS client is not available: {error}") from None
    master = {i.code: i for i in store.instruments()}
    if codes:
        wanted = [c.strip() for c in codes.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in master]
        if unknown:
            raise SourceError(f"unknown stock code(s) {', '.join(unknown)} (not in the instrument master)")
        instruments = [master[c] for c in wanted]
    else:
        instruments = [i for i in master.values() if i.delisted_on is None]
    if not instruments:
        raise SourceError("no instruments to fetch: import a KRX file first (hantu data import krx-csv ...)")
    try:
        config = KisConfig.from_settings(get_settings())
    except ValueError as error:
        raise SourceError(str(error)) from None
    api = KisApi(KisClient(config))
    try:
        with _progress("kis daily charts", len(instruments)) as progress:
            task = progress.add_task("kis daily charts", total=len(instruments))
            return list(KisDailySource(api, instruments, days,
                                       progress=lambda n: progress.advance(task, n)).read())
    finally:
        api.close()


@app.command("sample")
def sample(stocks: int = typer.Option(2500, min=1, help="number of stocks"),
           days: int = typer.Option(500, min=1, help="number of trading days"),
           seed: int = typer.Option(1, help="random seed (same seed → same market)"),
           end: str | None = typer.Option(None, help="last day (default: the last trading day before today)"),
           as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Replace the store with a deterministic synthetic market (no network, no credentials).

    Example: hantu data sample --stocks 2500 --days 500 --seed 1 --end 2026-03-31
    """
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    last = _parse_day(end, "--end") or _default_end()
    store = open_market_store()
    with _progress("generating", days) as progress:
        task = progress.add_task("generating the sample market", total=days)
        market = write_sample_market(store, stocks, days, seed, last, progress=lambda n: progress.advance(task, n))
    _mirror_instruments(store)
    summary = {"stocks": stocks, "days": len(market.dates), "first": market.dates[0],
               "last": market.dates[-1], "seed": seed, "root": str(store.root)}
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"sample market: {stocks} stocks × {len(market.dates)} days "
                   f"({summary['first']} … {summary['last']}) in {store.root}")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Range, stocks, gaps and last update of the store.

    Example: hantu data status --json
    """
    from dataclasses import asdict

    from hantu.market.store import open_market_store

    store = open_market_store()
    st = store.status()
    payload = asdict(st)
    payload["day_counts"] = {d.isoformat(): n for d, n in store.day_counts().items()}
    if as_json:
        print_json(payload)
        return
    if st.days == 0:
        typer.echo(f"the store at {st.root} is empty (try: hantu data sample, or hantu data import krx-csv)")
        return
    typer.echo(f"store: {st.root}")
    typer.echo(f"range: {st.first_date} … {st.last_date} ({st.days} trading days)")
    typer.echo(f"stocks: {st.stocks} in the master, {st.stocks_last_day} on the last day")
    typer.echo(f"gaps: {len(st.gaps)}" + (f" ({', '.join(str(g) for g in st.gaps[:10])})" if st.gaps else ""))
    typer.echo(f"last update: {st.last_update or '-'} ({st.last_source or '-'})")


@app.command("check")
def check(as_json: bool = typer.Option(False, "--json", help="print the issues as JSON"),
          limit: int = typer.Option(50, min=0, help="issues to list (all are counted)")) -> None:
    """Check the store: gaps against the calendar, non-positive prices on traded days, high < low,
    limit violations, duplicates. Reported, never fixed; exit code 1 when there are issues.

    Example: hantu data check
    """
    from collections import Counter
    from dataclasses import asdict

    from hantu.market.check import check_store
    from hantu.market.store import open_market_store

    issues = check_store(open_market_store())
    counts = Counter(i.kind for i in issues)
    if as_json:
        print_json({"ok": not issues, "counts": dict(counts), "issues": [asdict(i) for i in issues[:limit]]})
    else:
        if not issues:
            typer.echo("no issues")
        for issue in issues[:limit]:
            typer.echo(f"{issue.day} {issue.kind:<11} {issue.code or '-':<6} {issue.detail}")
        if len(issues) > limit:
            typer.echo(f"... {len(issues) - limit} more")
        if issues:
            typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if issues:
        raise typer.Exit(EXIT_ERROR)
