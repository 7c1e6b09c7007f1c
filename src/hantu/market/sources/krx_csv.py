"""The KRX daily CSV (plain or .gz): date, code, name, market, open, high, low, close, volume, amount,
marcap, shares — one row per stock per day (format: the README next to the shared KRX data)."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hantu.market.sources.base import RowProblem, SourceError, SourceFormatError, columns_to_days
from hantu.market.store import DayBars

REQUIRED_COLUMNS = ("date", "code", "name", "market", "open", "high", "low", "close", "volume", "amount")


class KrxCsvSource:
    """One KRX daily CSV file; all-or-nothing: any bad row fails the whole file with file:line problems."""

    name = "krx-csv"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _text(self) -> str:
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such file")
        raw = self.path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")

    def read(self) -> Iterator[DayBars]:
        yield from self.read_all()

    def read_all(self) -> list[DayBars]:
        """Every day of the file, or `SourceFormatError` listing each bad row with its line number."""
        path = str(self.path)
        try:
            text = self._text()
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as error:
            raise SourceFormatError(path, [RowProblem(path, 0, f"unreadable: {error}")]) from None
        lines = text.splitlines()
        header = [h.strip().lower() for h in next(csv.reader(lines[:1]), [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise SourceFormatError(path, [RowProblem(
                path, 1, f"header lacks columns {missing} (need {', '.join(REQUIRED_COLUMNS)})")])
        width = len(header)
        problems: list[RowProblem] = []
        line_numbers = [i for i in range(2, len(lines) + 1) if lines[i - 1].strip()]
        body = [lines[i - 1] for i in line_numbers]
        if '"' not in text and all(row.count(",") == width - 1 for row in body):
            flat = ",".join(body).split(",") if body else []  # fast path: no quoting, every row complete
            columns = [flat[i::width] for i in range(width)]
        else:
            rows: list[list[str]] = []
            kept: list[int] = []
            try:
                for number, row in zip(line_numbers, csv.reader(body), strict=True):
                    if len(row) == width:
                        rows.append(row)
                        kept.append(number)
                    else:
                        problems.append(RowProblem(path, number, f"expected {width} columns, found {len(row)}"))
            except csv.Error as error:
                raise SourceFormatError(path, [RowProblem(path, 0, f"unreadable CSV: {error}")]) from None
            line_numbers = kept
            columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
        cols = {name: columns[i] for i, name in enumerate(header) if name in (*REQUIRED_COLUMNS, "shares")}
        try:
            days = columns_to_days(path, np.array(line_numbers, dtype=np.int64), cols)
        except SourceFormatError as error:
            problems.extend(error.problems)
            days = []
        if problems:
            raise SourceFormatError(path, sorted(problems, key=lambda p: p.line))
        return days
