"""The public marcap dataset's yearly parquet files (`data/marcap-YYYY.parquet`): KRX's daily market-cap file.

pyarrow is an optional extra (`pip install hantu[marcap]`), imported here only, by the import command.
Columns used (case-insensitive): Date, Code, Name, Market, Open, High, Low, Close, Volume, Amount, Stocks
(listed shares), Dept (관리종목 → administrative flag).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hantu.market.sources.base import RowProblem, SourceError, SourceFormatError, columns_to_days
from hantu.market.store import DayBars

COLUMN_MAP = {"date": "date", "code": "code", "name": "name", "market": "market", "open": "open",
              "high": "high", "low": "low", "close": "close", "volume": "volume", "amount": "amount",
              "stocks": "shares", "shares": "shares", "dept": "dept"}
REQUIRED = ("date", "code", "name", "market", "open", "high", "low", "close", "volume", "amount")


class MarcapSource:
    """One marcap parquet file; all-or-nothing like the CSV importer (row numbers count from 1)."""

    name = "marcap"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> Iterator[DayBars]:
        yield from self.read_all()

    def read_all(self) -> list[DayBars]:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise SourceError("the marcap importer needs pyarrow: pip install 'hantu[marcap]'") from None
        path = str(self.path)
        if not self.path.is_file():
            raise SourceError(f"{path}: no such file")
        try:
            table = pq.read_table(self.path)
        except Exception as error:  # pyarrow raises many types for a bad file
            raise SourceFormatError(path, [RowProblem(path, 0, f"unreadable parquet: {error}")]) from None
        cols: dict[str, object] = {}
        for name in table.column_names:
            key = COLUMN_MAP.get(name.strip().lower())
            if key is not None and key not in cols:
                column = table.column(name)
                if key == "date":
                    column = column.cast("string") if str(column.type) != "string" else column
                cols[key] = column.to_numpy(zero_copy_only=False)
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise SourceFormatError(path, [RowProblem(path, 0, f"missing columns {missing}")])
        dept = cols.pop("dept", None)
        if dept is not None:
            cols["administrative"] = np.array(["관리" in str(d) for d in np.asarray(dept).tolist()], dtype=bool)
        for key in ("code", "name", "market"):
            cols[key] = np.asarray(cols[key]).astype(str)
        cols["date"] = np.array([str(d)[:10] for d in np.asarray(cols["date"]).tolist()])
        lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
        return columns_to_days(path, lines, cols)
