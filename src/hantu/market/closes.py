"""Daily closes from the market store's month blocks, read with the standard library only: the price source of
the account view (`hantu.trading.account`) and the API's equity curve.

The store (`hantu.market.store`) writes each month as an uncompressed `.npz` (a zip of `.npy` files):
`dates` (T,) datetime64[D], `codes` (N,) sorted unicode, `close` (T, N) int32 — 0 where the stock did not
trade. A reader needs a handful of closes per request; reading them by seeking into the zip members keeps numpy
(and a whole month in memory) out of the lean processes (the API, the Telegram poller). `tests/api/test_api_closes.py` checks the answers
against `MarketStore.load`.
"""

from __future__ import annotations

import ast
import bisect
import struct
import threading
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

EPOCH = date(1970, 1, 1)


class Mark(NamedTuple):
    """A price and the trading day it is from (a stored close, or a live price's day)."""

    price: float
    day: date


def market_root(hantu_home: Path) -> Path:
    """Where `hantu.market.store.open_market_store` keeps the store (`$HANTU_HOME/market`)."""
    return Path(hantu_home) / "market"


@dataclass(frozen=True)
class _Header:
    descr: str
    shape: tuple[int, ...]
    offset: int  # where the data starts inside the member


def _read_header(handle: IO[bytes]) -> _Header:
    magic = handle.read(8)
    if magic[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy member")
    major = magic[6]
    size_bytes = 2 if major == 1 else 4
    (length,) = struct.unpack("<H" if size_bytes == 2 else "<I", handle.read(size_bytes))
    header: dict[str, Any] = ast.literal_eval(handle.read(length).decode("latin-1"))
    if header.get("fortran_order"):
        raise ValueError("fortran-ordered arrays are not supported")
    return _Header(header["descr"], tuple(header["shape"]), 8 + size_bytes + length)


@dataclass(frozen=True)
class _Block:
    path: Path
    mtime: float
    dates: list[date]
    codes: list[str]
    close_descr: str


class ClosesReader:
    """Last closes and per-day closes for a few codes; block indexes cached until a block file changes."""

    def __init__(self, root: Path) -> None:
        self.blocks_dir = root / "blocks"
        self._lock = threading.Lock()
        self._blocks: dict[str, _Block] = {}
        self._last: dict[tuple[object, ...], dict[str, Mark]] = {}

    def _block(self, path: Path) -> _Block:
        mtime = path.stat().st_mtime
        cached = self._blocks.get(path.name)
        if cached is not None and cached.mtime == mtime:
            return cached
        with zipfile.ZipFile(path) as archive:
            with archive.open("dates.npy") as handle:
                header = _read_header(handle)
                count = header.shape[0]
                days = struct.unpack(f"<{count}q", handle.read(8 * count))
            with archive.open("codes.npy") as handle:
                header = _read_header(handle)
                width = int(header.descr[2:])  # '<U6' -> 6 UTF-32 code units
                raw = handle.read(4 * width * header.shape[0])
                codes = [raw[i * 4 * width:(i + 1) * 4 * width].decode("utf-32-le").rstrip("\x00")
                         for i in range(header.shape[0])]
            with archive.open("close.npy") as handle:
                descr = _read_header(handle).descr
        block = _Block(path, mtime, [EPOCH + timedelta(days=d) for d in days], codes, descr)
        with self._lock:
            self._blocks[path.name] = block
        return block

    def _paths(self) -> list[Path]:
        if not self.blocks_dir.is_dir():
            return []
        return sorted(self.blocks_dir.glob("*.npz"))

    def fingerprint(self) -> tuple[tuple[str, float], ...]:
        """Changes whenever a block is added or rewritten (callers cache what they derive from closes)."""
        return tuple((p.name, p.stat().st_mtime) for p in self._paths())

    def closes(self, codes: list[str], since: date | None = None) -> dict[date, dict[str, int]]:
        """`{day: {code: close}}` for every stored day from `since` (all days when None); 0 closes left out."""
        out: dict[date, dict[str, int]] = {}
        for path in self._paths():
            if since is not None and path.stem < since.strftime("%Y-%m"):
                continue
            block = self._block(path)
            columns = {}
            for code in codes:
                i = bisect.bisect_left(block.codes, code)
                if i < len(block.codes) and block.codes[i] == code:
                    columns[code] = i
            if not columns:
                continue
            size = 4 if block.close_descr.endswith("4") else 8
            fmt = "<i" if size == 4 else "<q"
            with zipfile.ZipFile(path) as archive, archive.open("close.npy") as handle:
                start = _read_header(handle).offset
                n = len(block.codes)
                for row, day in enumerate(block.dates):
                    if since is not None and day < since:
                        continue
                    values = {}
                    for code, col in columns.items():
                        handle.seek(start + (row * n + col) * size)
                        (value,) = struct.unpack(fmt, handle.read(size))
                        if value > 0:
                            values[code] = int(value)
                    if values:
                        out.setdefault(day, {}).update(values)
        return out

    def last_closes(self, codes: list[str], lookback_months: int = 3) -> dict[str, int]:
        """The most recent non-zero close of each code, searching the newest `lookback_months` blocks."""
        return {code: int(mark.price) for code, mark in self.marks(codes, lookback_months).items()}

    def marks(self, codes: list[str], lookback_months: int = 3) -> dict[str, Mark]:
        """The most recent non-zero close of each code with its day, searching the newest `lookback_months`
        blocks (a code without one is left out)."""
        paths = self._paths()[-lookback_months:]
        if not paths or not codes:
            return {}
        key = (tuple(codes), lookback_months, tuple((p.name, p.stat().st_mtime) for p in paths))
        cached = self._last.get(key)
        if cached is not None:
            return dict(cached)
        since = date.fromisoformat(paths[0].stem + "-01")
        found: dict[str, Mark] = {}
        for day, values in sorted(self.closes(codes, since).items()):
            found.update({code: Mark(float(value), day) for code, value in values.items()})
        with self._lock:
            if len(self._last) > 64:
                self._last.clear()
            self._last[key] = dict(found)
        return found


_readers: dict[str, ClosesReader] = {}


def closes_reader(root: Path) -> ClosesReader:
    """One reader per store root and process (its block index and last-close caches are shared)."""
    key = str(root)
    if key not in _readers:
        _readers[key] = ClosesReader(root)
    return _readers[key]
