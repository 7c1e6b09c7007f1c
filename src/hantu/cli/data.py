"""`hantu data`: import, sync and inspect the local market data store ($HANTU_HOME/market)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from hantu.cli.common import EXIT_ERROR, EXIT_STALE_DATA, console, fail, print_json

app = typer.Typer(
    help="Market data: import KRX files, sync, generate the sample market, check the store.\n\n"
    "Example: hantu data sample --stocks 2500 --days 500 --seed 1",
    no_args_is_help=True,
)
import_app = typer.Typer(
    help="Import daily files into the store.\n\nExample: hantu data import krx-csv a.csv.gz",
    no_args_is_help=True,
)
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

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
        disable=not console().is_terminal,
    )


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
        results.append(
            {
                "path": str(path),
                "ok": True,
                "days": len(days),
                "rows": rows,
                "first": days[0].day if days else None,
                "last": days[-1].day if days else None,
            }
        )
        if not as_json:
            typer.echo(
                f"{path}: {rows} rows, {len(days)} days"
                + (f" ({days[0].day} … {days[-1].day})" if days else "")
            )
    if any(r["ok"] for r in results):
        _mirror_instruments(store)
    if as_json:
        print_json(results)
    if failed:
        raise typer.Exit(EXIT_ERROR)


@import_app.command("krx-csv")
def import_krx_csv(
    paths: list[Path] = typer.Argument(..., help="KRX daily CSV files (.csv or .csv.gz)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Import KRX daily CSV files (date,code,name,market,open,high,low,close,volume,amount,marcap,shares).

    A file with a malformed row or an unknown market is rejected whole, with every bad line listed.

    Example: hantu data import krx-csv ../shared/data/krx/krx-daily-2024q1.csv.gz
    """
    _import(paths, "krx-csv", as_json)


@import_app.command("marcap")
def import_marcap(
    paths: list[Path] = typer.Argument(..., help="marcap-YYYY.parquet files"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Import yearly parquet files of the public marcap dataset (needs the optional pyarrow).

    Example: hantu data import marcap ~/marcap/data/marcap-2024.parquet
    """
    _import(paths, "marcap", as_json)


@app.command("sync")
def sync(source: str | None = typer.Option(None, "--source", help="pykrx or kis (optional with --master)"),
         start: str | None = typer.Option(None, help="first day (default: the day after the store's last)"),
         end: str | None = typer.Option(None, help="last day (default: the last trading day before today)"),
         codes: str | None = typer.Option(None, help="kis: comma-separated codes (default: every stored one)"),
         timeout: float = typer.Option(600.0, help="pykrx: seconds before the child process is stopped"),
         master: bool = typer.Option(False, "--master", help="load the KIS stock master (sectors, 관리종목, "
                                     "거래정지, warnings) from KIS, or from --master-file"),
         master_file: list[Path] = typer.Option([], "--master-file", help="a local kospi_code.mst / "
                                                "kosdaq_code.mst (or .mst.zip); repeat for both (implies --master)"),
         as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Fetch the trading days missing from the store, and/or load the KIS stock master.

    pykrx: all stocks, one request per day (needs `pip install hantu[pykrx]` and KRX_ID/KRX_PW).
    kis: per-stock daily charts through the KIS API (needs APP_KEY/APP_SECRET), within the rate limit.
    --master: KIS's kospi_code.mst / kosdaq_code.mst (KIS's download host; the KIS sandbox when KIS_BASE_URL
    points at one), or local files with --master-file.

    Example: hantu data sync --source kis --start 2026-01-05
    Example: hantu data sync --master-file kospi_code.mst --master-file kosdaq_code.mst
    """
    from hantu.broker.kis.daily_source import missing_days
    from hantu.market.sources.base import SourceError
    from hantu.market.store import open_market_store

    if source is None and not (master or master_file):
        fail("give --source (pykrx or kis), --master or --master-file", code=2)
    if source is not None and source not in ("pykrx", "kis"):
        fail(f"unknown source {source!r} (pykrx or kis)", code=2)
    store = open_market_store()
    loaded = None
    if master or master_file:
        loaded = _sync_master(store, master_file)
        if source is None:
            if as_json:
                print_json({"master": loaded})
            else:
                typer.echo(f"master ({loaded['source']}): {loaded['stocks']:,} stocks "
                           f"{loaded['by_market']}, 관리종목 {loaded['administrative']}, 거래정지 {loaded['halted']}, "
                           f"warnings {loaded['warned']}, SPAC {loaded['spac']}, 우선주 {loaded['preferred']}, "
                           f"{loaded['sectors']} sectors")
            return
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
    unfilled = missing_days(store, days[0], days[-1])
    if as_json:
        print_json({"source": source, "days": len(fetched), "rows": rows,
                    "fetched": [d.day for d in fetched], "asked": days, "unfilled": unfilled,
                    **({"master": loaded} if loaded else {})})
    else:
        typer.echo(f"{source}: {len(fetched)} of {len(days)} missing day(s) stored, {rows} rows")
    if unfilled:
        shown = ", ".join(d.isoformat() for d in unfilled[:10]) + (" ..." if len(unfilled) > 10 else "")
        fail(f"{len(unfilled)} of the {len(days)} trading day(s) asked for are still missing: {shown}",
             EXIT_STALE_DATA)


def _sync_master(store, files: list[Path]) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Load the KIS master from `files`, else from KIS (or the sandbox); exits 1 with the reason on failure."""
    from hantu.clock import SystemClock
    from hantu.config.settings import get_settings
    from hantu.market.kis_master import (
        MasterFormatError,
        download_master,
        load_master,
        master_urls,
        read_master_file,
    )

    try:
        if files:
            rows = [row for path in files for row in read_master_file(path)]
            origin = ", ".join(str(p) for p in files)
        else:
            urls = master_urls(get_settings().kis_base_url or "")
            rows = download_master(urls)
            origin = ", ".join(urls.values())
    except MasterFormatError as error:
        fail(str(error))
    summary = load_master(store, rows, origin, SystemClock().today())
    _mirror_instruments(store)
    return summary.as_dict()


def _sync_kis(store, days: list[date], codes: str | None):  # type: ignore[no-untyped-def]
    from hantu.broker.kis.daily_source import KisDailySource
    from hantu.config.settings import get_settings
    from hantu.market.sources.base import SourceError

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
            return list(
                KisDailySource(api, instruments, days, progress=lambda n: progress.advance(task, n)).read()
            )
    finally:
        api.close()


def _refuse_to_replace_real_data(store) -> None:  # type: ignore[no-untyped-def]
    """Stop `data sample` from silently discarding days that came from real files or a sync."""
    st = store.status()
    source = st.last_source or "unknown source"
    if st.days == 0 or source.startswith("sample("):
        return
    fail(
        f"the store at {st.root} holds imported data: {st.days} trading days ({st.first_date} … "
        f"{st.last_date}), {st.stocks} stocks, last written by {source} at {st.last_update or '?'}.\n"
        "  `hantu data sample` would replace all of it. Either keep it and put the sample elsewhere:\n"
        "    HANTU_HOME=./sample-home hantu data sample\n"
        "  or replace it on purpose: hantu data sample --force"
    )


@app.command("sample")
def sample(
    stocks: int = typer.Option(2500, min=1, help="number of stocks"),
    days: int = typer.Option(500, min=1, help="number of trading days"),
    seed: int = typer.Option(1, help="random seed (same seed → same market)"),
    end: str | None = typer.Option(None, help="last day (default: the last trading day before today)"),
    force: bool = typer.Option(False, "--force", help="replace a store that holds imported data"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Replace the store with a deterministic synthetic market (no network, no credentials).

    A store holding imported or synced data is not replaced without --force: use another HANTU_HOME for
    the sample instead. Example: HANTU_HOME=./sample-home hantu data sample --stocks 2500 --days 500
    """
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    last = _parse_day(end, "--end") or _default_end()
    store = open_market_store()
    if not force:
        _refuse_to_replace_real_data(store)
    with _progress("generating", days) as progress:
        task = progress.add_task("generating the sample market", total=days)
        market = write_sample_market(
            store, stocks, days, seed, last, progress=lambda n: progress.advance(task, n)
        )
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
    from hantu.clock import SystemClock
    from hantu.market.calendar import required_close

    needed = required_close(SystemClock().today())
    payload["required_close"] = needed
    payload["fresh"] = bool(st.last_date and st.last_date >= needed)
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
    typer.echo(f"fresh: {'yes' if payload['fresh'] else 'no'} (today's decisions need the close of {needed}; "
               "screen/select refuse older data)")


@app.command("check")
def check(
    as_json: bool = typer.Option(False, "--json", help="print the issues as JSON"),
    limit: int = typer.Option(20, min=0, help="rows listed per kind (0: all; every issue is counted)"),
) -> None:
    """Check the store: price jumps beyond the daily limits, non-positive prices on traded days, high < low,
    duplicates, gaps against the calendar. Reported, never fixed; exit code 1 when there are issues.

    Grouped by kind, most important first (price jumps, then broken rows, then gaps as date ranges), with
    counts. Example: hantu data check --limit 0
    """
    from dataclasses import asdict

    from hantu.market.check import KINDS, by_importance, check_store, gap_ranges
    from hantu.market.store import open_market_store

    issues = check_store(open_market_store())
    groups = by_importance(issues)
    counts = {kind: len(found) for kind, found in groups.items()}
    ranges = gap_ranges(groups.get("gap", []))
    shown = {kind: found if limit == 0 else found[:limit] for kind, found in groups.items()}
    if as_json:
        print_json(
            {
                "ok": not issues,
                "counts": counts,
                "issues": [asdict(i) for found in shown.values() for i in found],
                "gap_ranges": [{"first": a, "last": b, "days": n} for a, b, n in ranges],
            }
        )
    else:
        if not issues:
            typer.echo("no issues")
        for kind, found in groups.items():
            title = KINDS.get(kind, kind)
            if kind == "gap":
                typer.echo(f"{title}: {len(found)} in {len(ranges)} range(s)")
                listed = ranges if limit == 0 else ranges[:limit]
                for first, last, n in listed:
                    typer.echo(f"  {first} … {last}  {n} trading day(s)" if n > 1 else f"  {first}")
                hidden = len(ranges) - len(listed)
            else:
                typer.echo(f"{title}: {len(found)}")
                for issue in shown[kind]:
                    typer.echo(f"  {issue.day} {issue.code or '-':<6} {issue.detail}")
                hidden = len(found) - len(shown[kind])
            if hidden:
                typer.echo(f"  ... {hidden} more (--limit 0 lists all)")
        if issues:
            typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if issues:
        raise typer.Exit(EXIT_ERROR)
