"""The one interface every market data source implements, and the row validation they share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np

from hantu.market.store import DayBars

CODE_RE = re.compile(r"^[0-9A-Z]{6}$")
# Market names as KRX files spell them → the store's market.
SOURCE_MARKETS = {"KOSPI": "KOSPI", "KOSDAQ": "KOSDAQ", "KOSDAQ GLOBAL": "KOSDAQ", "KONEX": "KONEX"}


class SourceError(Exception):
    """A source could not deliver (offline, missing credentials, missing optional package)."""


@dataclass(frozen=True)
class RowProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class SourceFormatError(SourceError):
    """Bad rows in an input: every problem with its file and line; nothing of that input was stored."""

    path: str
    problems: list[RowProblem] = field(default_factory=list)

    def __str__(self) -> str:
        shown = "\n".join(str(p) for p in self.problems[:20])
        more = f"\n... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        return f"{self.path}: {len(self.problems)} bad row(s), nothing of this file was stored\n{shown}{more}"


class DailySource(Protocol):
    """A source of whole-market daily bars."""

    name: str

    def read(self) -> Iterator[DayBars]:
        """Yield the days this source delivers; raise `SourceError` (before yielding anything for an input
        that is bad as a whole)."""
        ...


NUMERIC_COLUMNS = ("open", "high", "low", "close", "volume", "amount")


def columns_to_days(path: str, lines: np.ndarray, cols: dict[str, Any]) -> list[DayBars]:
    """Validate one input given as columns and group it into days; all-or-nothing.

    `cols` holds `date`, `code`, `name`, `market`, the numeric columns and optionally `shares` and
    `administrative` (sequences of equal length); `lines[i]` is the line (or row) number of row i, used in
    problems. Checks run vectorised; every bad value is reported with its line, and any problem raises
    `SourceFormatError` before anything is returned.
    """
    n = len(lines)
    problems: dict[int, list[str]] = {}

    def flag(mask: np.ndarray, message: Any) -> None:
        for i in np.flatnonzero(mask).tolist():
            problems.setdefault(i, []).append(message(i) if callable(message) else message)

    # dates: parse each distinct string once
    raw_dates = np.asarray(cols["date"]).astype(str)
    uniq, inverse = np.unique(raw_dates, return_inverse=True)
    parsed = [_parse_date(text, []) for text in uniq.tolist()]
    bad_date = np.array([p is None for p in parsed], dtype=bool)[inverse]
    flag(bad_date, lambda i: f"bad date {str(raw_dates[i])!r} (expected YYYY-MM-DD)")
    day_ordinals = np.array([p.toordinal() if p else 0 for p in parsed], dtype=np.int64)[inverse]

    codes = np.char.strip(np.asarray(cols["code"]).astype(str))
    short = np.char.str_len(codes) < 6
    if short.any():  # sources that lost the leading zeros (numeric columns)
        codes = np.where(short & np.char.isdigit(codes), np.char.zfill(codes, 6), codes)
    ucodes, cinv = np.unique(codes, return_inverse=True)
    bad_code = np.array([not CODE_RE.match(c) for c in ucodes.tolist()], dtype=bool)[cinv]
    flag(bad_code, lambda i: f"bad stock code {str(codes[i])!r} (6 digits/capitals)")

    names = np.char.strip(np.asarray(cols["name"]).astype(str))
    flag(np.char.str_len(names) == 0, "empty name")

    raw_markets = np.char.upper(np.char.strip(np.asarray(cols["market"]).astype(str)))
    umarkets, minv = np.unique(raw_markets, return_inverse=True)
    mapped = np.array([SOURCE_MARKETS.get(m, "") for m in umarkets.tolist()] or [""], dtype=object)
    markets = mapped[minv].astype(str)
    flag(markets == "", lambda i: f"unknown market {str(raw_markets[i])!r} "
                                  "(expected KOSPI, KOSDAQ, KOSDAQ GLOBAL or KONEX)")

    numbers: dict[str, np.ndarray] = {}
    for key in (*NUMERIC_COLUMNS, "shares"):
        if cols.get(key) is None:
            continue
        raw = cols[key]
        values, bad = _to_int64(raw)
        bad |= values < 0
        if key in ("open", "high", "low", "close"):
            bad |= values >= 2**31
        flag(bad, lambda i, key=key, raw=raw: f"{key} is not a non-negative integer: {_plain(raw[i])!r}")
        numbers[key] = values

    if n > 1 and not bad_date.any():
        order = np.lexsort((codes, day_ordinals))
        same = (day_ordinals[order][1:] == day_ordinals[order][:-1]) & (codes[order][1:] == codes[order][:-1])
        flag(np.isin(np.arange(n), order[1:][same]),
             lambda i: f"duplicate row for {codes[i]} on {raw_dates[i]}")

    if problems:
        raise SourceFormatError(path, [RowProblem(path, int(lines[i]), "; ".join(msgs))
                                       for i, msgs in sorted(problems.items())])

    admin = cols.get("administrative")
    admin_arr = np.asarray(admin, dtype=bool) if admin is not None else None
    out: list[DayBars] = []
    order = np.lexsort((codes, day_ordinals))
    bounds = np.flatnonzero(np.diff(day_ordinals[order])) + 1
    for idx in np.split(order, bounds):
        if idx.size == 0:
            continue
        out.append(DayBars(
            day=date.fromordinal(int(day_ordinals[idx[0]])), codes=codes[idx], names=names[idx],
            markets=markets[idx], shares=numbers["shares"][idx] if "shares" in numbers else None,
            administrative=admin_arr[idx] if admin_arr is not None else None,
            **{k: numbers[k][idx] for k in NUMERIC_COLUMNS}))
    return out


def _to_int64(raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values, bad mask): a fast vectorised conversion, element by element only when that fails."""
    if isinstance(raw, list | tuple):
        try:
            values = np.fromiter(map(int, raw), dtype=np.int64, count=len(raw))
            return values, np.zeros(values.shape, dtype=bool)
        except (ValueError, TypeError, OverflowError):
            pass
    arr = np.asarray(raw)
    try:
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64), np.zeros(arr.shape, dtype=bool)
        if arr.dtype.kind == "f":
            clean = np.nan_to_num(arr)
            return clean.astype(np.int64), ~np.isfinite(arr) | (clean != np.floor(clean))
        return arr.astype(np.int64), np.zeros(arr.shape, dtype=bool)
    except (ValueError, TypeError, OverflowError):
        parsed = [_parse_int(x) for x in arr.tolist()]
        bad = np.array([p is None for p in parsed], dtype=bool)
        return np.array([p if p is not None else 0 for p in parsed], dtype=np.int64), bad


def _parse_date(raw: object, errors: list[str]) -> date | None:
    if isinstance(raw, date):
        return raw
    text = str(raw).strip() if raw is not None else ""
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text[:10])
    except ValueError:
        errors.append(f"bad date {raw!r} (expected YYYY-MM-DD)")
        return None


def _parse_int(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw == raw and raw.is_integer() else None
    text = str(raw).strip().replace(",", "")
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return int(value) if value.is_integer() else None


def _plain(value: Any) -> Any:
    """A numpy scalar as its Python value (clean reprs in messages)."""
    return value.item() if hasattr(value, "item") else value
