"""The local daily market store: OHLCV of the whole market plus the instrument master, on disk.

Layout (root = `$HANTU_HOME/market`; why this layout: `docs/market-data.md`):

    root/
      blocks/2024-01.npz     one file per calendar month: dates (T,), codes (N,), open/high/low/close (T, N)
                             int32 won, volume/amount (T, N) int64; volume -1 = not listed that day;
                             shares (T, N) int64 listed shares (0 = unknown; blocks written before it
                             have no `shares` array and read as unknown)
      instruments.json       the instrument master (code, name, market, shares, listing, flags, sector)
      actions.json           corporate actions: (code, ex-date, factor, kind, source), see `corporate_actions`
      meta.json              last update time and source
      .lock                  writers take an exclusive flock: one writer at a time across processes

Every file is written to a temporary file in the same directory, fsync'ed and moved into place with
`os.replace`, so a crash mid-write leaves the previous version: the store stays readable. A month block is
self-contained (it carries its own codes), so a multi-month write interrupted half-way leaves whole days of
either the old or the new data, never a torn day.

Stored values are raw KRX values (a zero-volume day keeps KRX's close and its zero open/high/low); `load`
turns them into the `DailyPanel` contract: volume 0 → NaN prices, not listed → NaN everywhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hantu.clock import KST, SystemClock
from hantu.market.calendar import trading_days
from hantu.market.codekeys import code_keys
from hantu.market.corporate_actions import CorporateAction, Unexplained, detect_days, effective, factor_matrix
from hantu.market.kis_master import STOCK_GROUPS
from hantu.market.panel import DailyPanel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hantu.config.settings import Settings

PRICE_FIELDS = ("open", "high", "low", "close")
INT_FIELDS = ("volume", "amount")
OPTIONAL_FIELDS = ("shares",)  # int64, 0 = unknown; absent from blocks written before it was added
SHARES = "shares"  # the per-day listed shares (market caps, corporate-action detection)
NOT_LISTED = -1
UNKNOWN = 0  # shares of a stock and day the source did not give


@dataclass
class Instrument:
    """One row of the instrument master."""

    code: str
    name: str
    market: str  # KOSPI | KOSDAQ | KONEX
    listed_shares: int | None = None
    listed_on: date | None = None
    delisted_on: date | None = None
    is_halted: bool = False
    is_administrative: bool = False
    sector: str | None = None
    is_spac: bool = False
    is_preferred: bool = False
    first_date: date | None = None  # first day with data in the store
    last_date: date | None = None  # last day with data in the store
    # from the KIS stock master (`kis_master`) and the intraday quote; None/"" where no master was loaded
    sector_large: str | None = None  # 지수업종 대/중/소분류 codes
    sector_mid: str | None = None
    sector_small: str | None = None
    sector_name: str | None = None  # bstp_kor_isnm of the quote (KIS's 업종 name)
    warning: str = ""  # 시장경고: "" | caution (투자주의) | warning (투자경고) | danger (투자위험)
    is_overheated: bool = False  # 단기과열
    is_liquidating: bool = False  # 정리매매
    master_on: date | None = None  # day the KIS master (or a quote) last set these flags

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in out.items():
            if isinstance(value, date):
                out[key] = value.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instrument:
        known = _INSTRUMENT_FIELDS
        values = {k: v for k, v in data.items() if k in known}
        for key in _INSTRUMENT_DATES:
            if values.get(key):
                values[key] = date.fromisoformat(values[key])
        return cls(**values)

    def copy(self) -> Instrument:
        """A copy the caller may change (every field is immutable: shallow is enough). `dataclasses.replace`
        re-runs `__init__` field by field: 0.1–0.3 s for the 2,900 rows `MarketStore.instruments` hands out."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone


_INSTRUMENT_FIELDS = frozenset(f.name for f in fields(Instrument))
_INSTRUMENT_DATES = ("listed_on", "delisted_on", "first_date", "last_date", "master_on")


def guess_is_preferred(code: str, name: str) -> bool:
    """KRX preferred shares: a code not ending in 0 (005935) or a name ending in 우/우B."""
    return (code.isdigit() and code[-1] != "0") or name.endswith(("우", "우B", "우C"))


def guess_is_spac(name: str) -> bool:
    return "스팩" in name or "SPAC" in name.upper()


@dataclass
class DayBars:
    """All stocks' bars of one day, as written to the store (raw KRX values, integer won and shares).

    `names`, `markets`, `shares` feed the instrument master (the latest day wins). Optional flags
    (`halted`, `administrative`, `sectors`) update it where a source knows them.
    """

    day: date
    codes: np.ndarray  # str (N,)
    open: np.ndarray  # int (N,)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    amount: np.ndarray
    names: np.ndarray | None = None
    markets: np.ndarray | None = None
    shares: np.ndarray | None = None
    halted: np.ndarray | None = None
    administrative: np.ndarray | None = None
    sectors: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.codes.shape[0])


@dataclass
class StoreStatus:
    first_date: date | None
    last_date: date | None
    days: int
    stocks: int  # instruments in the master
    stocks_last_day: int  # stocks with a row on the last day
    gaps: list[date] = field(default_factory=list)  # calendar trading days missing inside the range
    last_update: str | None = None
    last_source: str | None = None
    root: str = ""


def atomic_write(path: Path, write: Any) -> None:
    """Write via `write(fileobj)` to a temp file next to `path`, fsync, rename over `path`, fsync the dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class _Block:
    """One month: dates (T,), codes (N,), int arrays (T, N)."""

    dates: np.ndarray
    codes: np.ndarray
    arrays: dict[str, np.ndarray]


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class MarketStoreCorrupt(Exception):
    """A store file is truncated or unreadable: a clear message naming it, instead of numpy's or json's error.
    Writers read before they write, so a damaged file is never overwritten by a partial update."""

    def __init__(self, path: Path, error: BaseException) -> None:
        self.path = path
        self.reason = f"{type(error).__name__}: {error}"[:200]
        super().__init__(f"the market store file {path} cannot be read ({self.reason}); nothing was changed. "
                         "Restore it from a backup, or re-import the data (`hantu data import`)")


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    try:
        yield
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as error:
        raise MarketStoreCorrupt(path, error) from None


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time under `root` (an flock on `root/.lock`); readers never wait (writes are atomic)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class MarketStore:
    """Daily bars of the whole market and the instrument master under `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blocks_dir = self.root / "blocks"
        self._dates_cache: tuple[tuple[tuple[str, float], ...], list[date]] | None = None
        self._master_cache: tuple[int, list[Instrument]] | None = None
        self._actions_cache: tuple[int, list[CorporateAction]] | None = None

    # --- reading --------------------------------------------------------------------------------------
    def _block_paths(self) -> list[Path]:
        if not self.blocks_dir.is_dir():
            return []
        return sorted(p for p in self.blocks_dir.glob("*.npz") if not p.name.startswith("."))

    @staticmethod
    def _read_block(path: Path, only: Sequence[str] | None = None) -> _Block:
        """A month's arrays; without `only`, every field, an optional one missing from an old block filled
        with `UNKNOWN`."""
        with reading(path), np.load(path, allow_pickle=False) as npz:
            names = only if only is not None else (*PRICE_FIELDS, *INT_FIELDS, *OPTIONAL_FIELDS)
            arrays = {k: npz[k] for k in names if k not in OPTIONAL_FIELDS or k in npz.files}
            for k in names:
                if k not in arrays:  # an optional field an older block lacks
                    arrays[k] = np.full(npz["volume"].shape, UNKNOWN, dtype=np.int64)
            return _Block(dates=npz["dates"], codes=npz["codes"], arrays=arrays)

    def trading_dates(self) -> list[date]:
        """Every day with data in the store, ascending."""
        paths = self._block_paths()
        key = tuple((p.name, p.stat().st_mtime) for p in paths)
        if self._dates_cache is not None and self._dates_cache[0] == key:
            return list(self._dates_cache[1])
        out: list[date] = []
        for path in paths:
            with reading(path), np.load(path, allow_pickle=False) as npz:
                out.extend(d.item() for d in npz["dates"].astype("datetime64[D]"))
        self._dates_cache = (key, out)
        return list(out)

    def trading_dates_uncached(self) -> list[date]:
        self._dates_cache = None
        return self.trading_dates()

    def load(self, days: int, end: date | None = None) -> DailyPanel:
        """The last `days` stored trading days up to and including `end` (default: the last stored day)."""
        if days <= 0:
            raise ValueError("days must be positive")
        dates = self.trading_dates()
        if end is not None:
            dates = [d for d in dates if d <= end]
        chosen = dates[-days:]
        if not chosen:
            return self._empty_panel()
        return self.load_range(chosen[0], chosen[-1])

    def load_range(self, start: date, end: date) -> DailyPanel:
        """Every stored day from `start` to `end` inclusive, all stocks with a row in that range."""
        wanted = [p for p in self._block_paths() if _month_key(start) <= p.stem <= _month_key(end)]
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        # two passes over the months, so that only one month's raw arrays are in memory beside the output:
        # the first reads volume alone (who is listed, which days), the second fills the output month by month
        months: list[tuple[Path, np.ndarray]] = []
        listed: list[np.ndarray] = []
        for path in wanted:
            block = self._read_block(path, only=("volume",))
            mask = (block.dates >= lo) & (block.dates <= hi)
            if mask.any():
                months.append((path, block.dates[mask]))
                listed.append(block.codes[(block.arrays["volume"][mask] != NOT_LISTED).any(axis=0)])
        if not months:
            return self._empty_panel()
        codes = np.unique(np.concatenate(listed))
        total_days = sum(d.shape[0] for _, d in months)
        shape = (total_days, codes.shape[0])
        out = {name: np.full(shape, np.nan, dtype=np.float64)
               for name in (*PRICE_FIELDS, *INT_FIELDS, *OPTIONAL_FIELDS)}
        all_dates: list[np.ndarray] = []
        row = 0
        for path, month_dates in months:
            block = self._read_block(path, only=(*PRICE_FIELDS, *INT_FIELDS, *OPTIONAL_FIELDS))
            mask = np.isin(block.dates, month_dates)  # the first pass's days (a sync may have appended one since)
            n = int(mask.sum())
            same = block.codes.shape == codes.shape and bool((block.codes == codes).all())
            if same:  # the common case: no column shuffling, rows go straight into the output
                def pick_rows(a: np.ndarray, mask: np.ndarray = mask) -> np.ndarray:
                    return a if mask.all() else a[mask]
                pick: Callable[[np.ndarray], np.ndarray] = pick_rows
                dst: Any = slice(row, row + n)
            else:
                cols_src = np.flatnonzero(np.isin(block.codes, codes))

                def pick_moved(a: np.ndarray, mask: np.ndarray = mask, cols: np.ndarray = cols_src) -> np.ndarray:
                    return a[mask][:, cols]
                pick = pick_moved
                dst = (slice(row, row + n), np.searchsorted(codes, block.codes[cols_src]))
            volume = pick(block.arrays["volume"])
            no_trade = volume <= 0
            not_listed = volume == NOT_LISTED
            for name in PRICE_FIELDS:
                values = pick(block.arrays[name]).astype(np.float64)
                values[no_trade] = np.nan
                out[name][dst] = values
            for name in INT_FIELDS:
                values = pick(block.arrays[name]).astype(np.float64)
                values[not_listed] = np.nan
                out[name][dst] = values
            for name in OPTIONAL_FIELDS:
                values = pick(block.arrays[name]).astype(np.float64)
                values[not_listed | (values <= 0)] = np.nan
                out[name][dst] = values
            all_dates.append(month_dates)
            row += n
        if np.isnan(out["shares"]).all():
            del out["shares"]  # a source without share counts (the sample market): no array to carry
        master = {i.code: i for i in self._master()}
        names = np.array([master[c].name if c in master else c for c in codes.tolist()], dtype=str)
        markets = np.array([master[c].market if c in master else "" for c in codes.tolist()], dtype=str)
        panel_dates = np.concatenate(all_dates).astype("datetime64[D]")
        factor = factor_matrix(panel_dates, codes, self.corporate_actions())
        return DailyPanel(dates=panel_dates, codes=codes.astype(str), names=names, markets=markets, **out,
                          factor=factor)

    @staticmethod
    def _empty_panel() -> DailyPanel:
        empty = np.zeros((0, 0), dtype=np.float64)
        return DailyPanel(dates=np.zeros(0, dtype="datetime64[D]"), codes=np.zeros(0, dtype=str),
                          names=np.zeros(0, dtype=str), markets=np.zeros(0, dtype=str), open=empty,
                          high=empty, low=empty, close=empty, volume=empty, amount=empty)

    def day_counts(self) -> dict[date, int]:
        """Stocks with a row on each stored day."""
        out: dict[date, int] = {}
        for path in self._block_paths():
            block = self._read_block(path, only=("volume",))
            counts = (block.arrays["volume"] != NOT_LISTED).sum(axis=1)
            for d, c in zip(block.dates.astype("datetime64[D]").tolist(), counts.tolist(), strict=True):
                out[d] = int(c)
        return out

    def iter_raw_days(self, start: date | None = None,
                      end: date | None = None) -> Iterator[tuple[date, np.ndarray, dict[str, np.ndarray]]]:
        """(day, codes, raw int arrays of that day restricted to listed stocks), for checks, exports and the
        corporate-action detector; `start`/`end` bound the days (inclusive)."""
        for path in self._block_paths():
            if (start is not None and path.stem < _month_key(start)) or (end is not None and path.stem > _month_key(end)):
                continue
            block = self._read_block(path)
            for i, d in enumerate(block.dates.astype("datetime64[D]").tolist()):
                if (start is not None and d < start) or (end is not None and d > end):
                    continue
                listed = block.arrays["volume"][i] != NOT_LISTED
                yield d, block.codes[listed], {k: v[i][listed] for k, v in block.arrays.items()}

    # --- instrument master --------------------------------------------------------------------------
    @property
    def instruments_path(self) -> Path:
        return self.root / "instruments.json"

    def instruments(self) -> list[Instrument]:
        """The instrument master, sorted by code: copies, which the caller may change."""
        return [i.copy() for i in self._master()]

    def _master(self) -> list[Instrument]:
        """The cached master itself (re-read when the file changes): for reading inside the store only."""
        try:
            mtime = self.instruments_path.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if self._master_cache is None or self._master_cache[0] != mtime:
            with reading(self.instruments_path):
                data = json.loads(self.instruments_path.read_text(encoding="utf-8"))
                self._master_cache = (mtime, [Instrument.from_json(row) for row in data])
        return self._master_cache[1]

    def instrument(self, code: str) -> Instrument:
        """One instrument; a clear `KeyError` for an unknown code."""
        for inst in self._master():
            if inst.code == code:
                return inst.copy()
        raise KeyError(f"unknown stock code {code!r}")

    def write_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Replace the instrument master (atomic)."""
        with writer_lock(self.root):
            self._write_master(instruments)

    def meta(self) -> dict[str, Any]:
        path = self.root / "meta.json"
        if not path.exists():
            return {}
        with reading(path):
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return data

    # --- writing --------------------------------------------------------------------------------------
    def append_day(self, bars: DayBars, source: str = "unknown") -> None:
        """Add (or replace) one day atomically."""
        self.write_days([bars], source=source)

    def write_days(self, days: Sequence[DayBars], source: str = "unknown",
                   progress: Any | None = None) -> None:
        """Add (or replace) whole days: a day already in the store is replaced by the new one, never
        duplicated. Each month block is replaced atomically; the instrument master follows the latest day.
        `progress(n)` is called after each month written."""
        if not days:
            return
        by_month: dict[str, list[DayBars]] = {}
        for bars in sorted(days, key=lambda b: b.day):
            by_month.setdefault(_month_key(bars.day), []).append(bars)
        with writer_lock(self.root):
            self.meta()  # a damaged store is reported (MarketStoreCorrupt), not written over
            for month, month_days in sorted(by_month.items()):
                self._write_month(month, month_days)
                if progress is not None:
                    progress(len(month_days))
            self._update_master(days)
            self._detect_actions(min(b.day for b in days), max(b.day for b in days))
            meta = {"last_update": datetime.now(KST).isoformat(timespec="seconds"),
                    "last_source": source}
            payload = json.dumps(meta).encode()
            atomic_write(self.root / "meta.json", lambda fh: fh.write(payload))
        self._dates_cache = None

    def _write_month(self, month: str, new_days: list[DayBars]) -> None:
        path = self.blocks_dir / f"{month}.npz"
        new_dates = {b.day for b in new_days}
        old_rows: list[tuple[date, np.ndarray, dict[str, np.ndarray]]] = []
        if path.exists():
            block = self._read_block(path)
            for i, d in enumerate(block.dates.astype("datetime64[D]").tolist()):
                if d in new_dates:
                    continue
                listed = block.arrays["volume"][i] != NOT_LISTED
                old_rows.append((d, block.codes[listed], {k: v[i][listed] for k, v in block.arrays.items()}))

        def fields_of(b: DayBars) -> dict[str, np.ndarray]:
            values = {k: np.asarray(getattr(b, k)) for k in (*PRICE_FIELDS, *INT_FIELDS)}
            values["shares"] = (np.asarray(b.shares) if b.shares is not None
                                else np.full(len(b), UNKNOWN, dtype=np.int64))
            return values

        rows = old_rows + [(b.day, np.asarray(b.codes).astype(str), fields_of(b)) for b in new_days]
        rows.sort(key=lambda r: r[0])
        row_keys = [code_keys(r[1]) for r in rows]
        keys, first = np.unique(np.concatenate(row_keys), return_index=True)
        codes = np.concatenate([r[1] for r in rows])[first].astype("U6")
        t, n = len(rows), codes.shape[0]
        arrays = {k: np.zeros((t, n), dtype=np.int32) for k in PRICE_FIELDS}
        arrays.update({k: np.full((t, n), NOT_LISTED, dtype=np.int64) for k in INT_FIELDS})
        arrays.update({k: np.full((t, n), UNKNOWN, dtype=np.int64) for k in OPTIONAL_FIELDS})
        for i, (_, _, values) in enumerate(rows):
            cols = np.searchsorted(keys, row_keys[i])
            for k in (*PRICE_FIELDS, *INT_FIELDS, *OPTIONAL_FIELDS):
                arrays[k][i, cols] = values[k]
        dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
        atomic_write(path, lambda fh: np.savez(fh, allow_pickle=False, dates=dates, codes=codes, **arrays))

    def _update_master(self, days: Sequence[DayBars]) -> None:
        """The latest day of each code sets its name, market, shares and flags; first/last dates widen."""
        master = {i.code: i for i in self.instruments()}
        ordered = sorted(days, key=lambda b: b.day)
        all_codes = np.concatenate([np.asarray(b.codes).astype("U6") for b in ordered])
        all_keys = code_keys(all_codes)
        day_of = np.repeat(np.arange(len(ordered)), [len(b) for b in ordered])
        pos_in_day = np.concatenate([np.arange(len(b)) for b in ordered])
        _, first_at = np.unique(all_keys, return_index=True)
        _, last_rev = np.unique(all_keys[::-1], return_index=True)
        last_at = len(all_codes) - 1 - last_rev
        uniq = all_codes[first_at]
        for code, f, idx in zip(uniq.tolist(), first_at.tolist(), last_at.tolist(), strict=True):
            bars, j = ordered[int(day_of[idx])], int(pos_in_day[idx])
            first_day = ordered[int(day_of[f])].day
            inst = master.get(code)
            if inst is None:
                inst = master[code] = Instrument(code=code, name=code, market="")
            inst.first_date = min(inst.first_date or first_day, first_day)
            if inst.last_date is None or bars.day >= inst.last_date:
                inst.last_date = bars.day
                if bars.names is not None:
                    inst.name = str(bars.names[j])
                if bars.markets is not None:
                    inst.market = str(bars.markets[j])
                if bars.shares is not None:
                    inst.listed_shares = int(bars.shares[j])
                if bars.halted is not None:
                    inst.is_halted = bool(bars.halted[j])
                if bars.administrative is not None:
                    inst.is_administrative = bool(bars.administrative[j])
                if bars.sectors is not None and str(bars.sectors[j]):
                    inst.sector = str(bars.sectors[j])
            if inst.master_on is None:  # the KIS master's flags win over guesses from the name
                inst.is_preferred = guess_is_preferred(code, inst.name)
                inst.is_spac = guess_is_spac(inst.name)
        self._write_master(master.values())

    def _write_master(self, instruments: Iterable[Instrument]) -> None:
        rows = sorted((i.to_json() for i in instruments), key=lambda r: r["code"])
        payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).replace("},{", "},\n{")
        atomic_write(self.instruments_path, lambda fh: fh.write(payload.encode("utf-8")))
        self._master_cache = None

    # --- the KIS stock master ---------------------------------------------------------------------------
    @property
    def master_info_path(self) -> Path:
        return self.root / "master.json"

    def master_info(self) -> dict[str, Any] | None:
        """Where and when the KIS master was last loaded (`source`, `loaded_on`, `stocks`), None if never."""
        path = self.master_info_path
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def apply_master(self, rows: Iterable[Any], source: str, loaded_on: date) -> int:
        """Set sector codes and flags from KIS master rows (`kis_master.MasterRow`); stocks not yet in the store
        are added (they may trade later). Non-stock groups (ETF, ETN, REIT, ...) are skipped. Returns the
        stocks updated."""
        count = 0
        with writer_lock(self.root):
            master = {i.code: i for i in self.instruments()}
            for row in rows:
                if row.group not in STOCK_GROUPS:
                    continue
                inst = master.get(row.code) or Instrument(code=row.code, name=row.name, market=row.market)
                master[row.code] = replace(
                    inst, name=inst.name if inst.last_date else row.name, market=inst.market or row.market,
                    sector=row.sector, sector_large=row.sector_large or None, sector_mid=row.sector_mid or None,
                    sector_small=row.sector_small or None, is_halted=row.halted, is_administrative=row.administrative,
                    warning=row.warning, is_overheated=row.overheat, is_liquidating=row.liquidation,
                    is_spac=row.spac or guess_is_spac(inst.name), is_preferred=row.preferred,
                    listed_shares=row.listed_shares or inst.listed_shares, listed_on=row.listed_on or inst.listed_on,
                    master_on=loaded_on)
                count += 1
            self._write_master(master.values())
            info = {"source": source, "loaded_on": loaded_on.isoformat(), "stocks": count,
                    "loaded_at": datetime.now(KST).isoformat(timespec="seconds")}
            payload = json.dumps(info, ensure_ascii=False).encode("utf-8")
            atomic_write(self.master_info_path, lambda fh: fh.write(payload))
        return count

    # --- corporate actions ----------------------------------------------------------------------------
    @property
    def actions_path(self) -> Path:
        return self.root / "actions.json"

    def corporate_actions(self, all_sources: bool = False) -> list[CorporateAction]:
        """The adjustment-factor table: one action per (code, ex-date), the strongest source winning
        (`all_sources`: every stored row)."""
        try:
            mtime = self.actions_path.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if self._actions_cache is None or self._actions_cache[0] != mtime:
            rows = json.loads(self.actions_path.read_text(encoding="utf-8"))
            self._actions_cache = (mtime, [CorporateAction.from_json(r) for r in rows])
        stored = list(self._actions_cache[1])
        return stored if all_sources else effective(stored)

    def _write_actions(self, actions: Iterable[CorporateAction]) -> None:
        rows = sorted((a.to_json() for a in actions), key=lambda r: (r["ex_date"], r["code"], r["source"]))
        payload = json.dumps(rows, ensure_ascii=False, indent=0).encode("utf-8")
        atomic_write(self.actions_path, lambda fh: fh.write(payload))
        self._actions_cache = None

    def replace_actions(self, source: str, actions: Iterable[CorporateAction], codes: Iterable[str] | None = None,
                        start: date | None = None, end: date | None = None) -> None:
        """Replace the rows of `source` (for `codes`, with ex-dates in [start, end], when given) by `actions`."""
        wanted = set(codes) if codes is not None else None

        def replaced(a: CorporateAction) -> bool:
            return (a.source == source and (wanted is None or a.code in wanted)
                    and (start is None or a.ex_date >= start) and (end is None or a.ex_date <= end))

        with writer_lock(self.root):
            kept = [a for a in self.corporate_actions(all_sources=True) if not replaced(a)]
            self._write_actions([*kept, *actions])

    def add_action(self, action: CorporateAction) -> None:
        """Add (or replace) one action of its source for (code, ex-date): a manual entry, a KIS cross-check."""
        self.replace_actions(action.source, [action], codes=[action.code], start=action.ex_date,
                             end=action.ex_date)

    def _detect_actions(self, start: date, end: date) -> list[Unexplained]:
        """Re-detect actions for the stored days from `start` (its previous stored day is the base) through the
        day after `end` (its base changed). Runs under the writer lock, inside `write_days`."""
        dates = self.trading_dates_uncached()
        if not dates:
            return []
        lo = int(np.searchsorted(np.array(dates, dtype="datetime64[D]"), np.datetime64(start, "D")))
        hi = int(np.searchsorted(np.array(dates, dtype="datetime64[D]"), np.datetime64(end, "D"), side="right"))
        first, last = dates[max(lo - 1, 0)], dates[min(hi, len(dates) - 1)]
        markets = {i.code: i.market for i in self._master()}
        found, unexplained = detect_days(self.iter_raw_days(first, last), markets)
        kept = [a for a in self.corporate_actions(all_sources=True)
                if not (a.source == "detected" and first < a.ex_date <= last)]
        if found or len(kept) != len(self.corporate_actions(all_sources=True)):
            self._write_actions([*kept, *found])
        return unexplained

    def unexplained_moves(self) -> list[Unexplained]:
        """Out-of-limit moves over the whole store that no detected action explains (for `data check`)."""
        markets = {i.code: i.market for i in self._master()}
        return detect_days(self.iter_raw_days(), markets)[1]

    def set_instrument_fields(self, code: str, **changes: Any) -> Instrument:
        """Change fields of one instrument (listing dates, flags, sector); `KeyError` for an unknown code."""
        with writer_lock(self.root):
            master = {i.code: i for i in self.instruments()}
            if code not in master:
                raise KeyError(f"unknown stock code {code!r}")
            master[code] = replace(master[code], **changes)
            self._write_master(master.values())
            return master[code]

    def clear(self) -> None:
        """Remove every block, the master and the metadata (the sample market regenerates from scratch)."""
        with writer_lock(self.root):
            for path in self._block_paths():
                path.unlink()
            for name in ("instruments.json", "meta.json", "actions.json", "master.json"):
                with contextlib.suppress(FileNotFoundError):
                    (self.root / name).unlink()
        self._dates_cache = None

    # --- status ---------------------------------------------------------------------------------------
    def status(self) -> StoreStatus:
        dates = self.trading_dates()
        counts = self.day_counts()
        meta = self.meta()
        gaps: list[date] = []
        if dates:
            have = set(dates)
            gaps = [d for d in trading_days(dates[0], dates[-1]) if d not in have]
        return StoreStatus(
            first_date=dates[0] if dates else None, last_date=dates[-1] if dates else None, days=len(dates),
            stocks=len(self._master()), stocks_last_day=counts.get(dates[-1], 0) if dates else 0,
            gaps=gaps, last_update=meta.get("last_update"), last_source=meta.get("last_source"),
            root=str(self.root))


def open_market_store(settings: Settings) -> MarketStore:
    """The configured store, `$HANTU_HOME/market`."""
    from hantu.market.closes import market_root

    return MarketStore(market_root(settings.hantu_home))


def sync_instruments_to_db(store: MarketStore, session: Session) -> int:
    """Mirror the instrument master into the `instruments` table (insert or update; rows for codes no longer
    in the master are kept). Returns the number of rows written. Runs inside the caller's transaction."""
    from hantu.store.models.core import Instrument as InstrumentRow

    now = SystemClock().now()
    existing = {row.code: row for row in session.query(InstrumentRow).all()}
    count = 0
    for inst in store.instruments():
        row = existing.get(inst.code)
        if row is None:
            row = InstrumentRow(code=inst.code)
            session.add(row)
        row.name = inst.name[:100]
        row.market = inst.market
        row.sector = inst.sector
        row.listed_shares = inst.listed_shares
        row.listed_on = inst.listed_on
        row.delisted_on = inst.delisted_on
        row.is_halted = inst.is_halted
        row.is_administrative = inst.is_administrative
        row.is_spac = inst.is_spac
        row.is_preferred = inst.is_preferred
        row.warning = inst.warning
        row.master_on = inst.master_on
        row.updated_at = now
        count += 1
    session.flush()
    return count
