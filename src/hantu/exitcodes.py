"""Exit statuses shared by every `hantu` command and entry point (docs/operations.md has the table).

A command may also use 3 and 4 for its own refusals (see its `--help`); the codes below mean the same
everywhere. 3, 5 and 6 are problems a restart cannot fix: the systemd units do not restart on them.
"""

from __future__ import annotations

OK = 0
ERROR = 1  # the command failed (the message says why)
USAGE = 2  # bad arguments or options
CONFIG = 3  # invalid configuration: a bad value in the environment or `.env`, a `.env` that is not UTF-8, or a
# real (prod) KIS account without the real-money opt-in (`hantu.config.RealMoneyNotConfirmed`)
DATABASE_CORRUPT = 5  # the database file is damaged (not a database, or fails its integrity check)
MARKET_STORE_CORRUPT = 6  # a file of the market store is truncated or unreadable
STALE_DATA = 7  # the market data ends before the close a decision needs, or a sync left days unfilled
