"""The account-level risk marks (equity peak, day starts, last equity, daily-loss block) are kept per book:
`trading.risk.<mark>:<broker>`, so a shadow book traded beside the account never mixes its equity with the
account's (a 5 M won shadow book measured against a 10 M won account's peak read as a 50 % drawdown).

Revision ID: 0020
Revises: 0019

Data only. With exactly one book (`trade_accounts` row) the old process-wide marks become that book's; otherwise
they cannot be attributed and are dropped (each book's measurement restarts at its next equity mark). The keys are
written out here, not imported: a migration is a snapshot of the schema and data of its day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

MARKS = ("trading.risk.peak", "trading.risk.day_start", "trading.risk.daily_block", "trading.risk.last_equity")


def upgrade() -> None:
    bind = op.get_bind()
    books = [row[0] for row in bind.execute(sa.text("SELECT broker FROM trade_accounts"))]
    for key in MARKS:
        if len(books) == 1:
            taken = bind.execute(sa.text("SELECT 1 FROM kv_settings WHERE key = :key"),
                                 {"key": f"{key}:{books[0]}"}).first()
            if taken is None:
                bind.execute(sa.text("UPDATE kv_settings SET key = :new WHERE key = :old"),
                             {"new": f"{key}:{books[0]}", "old": key})
                continue
        bind.execute(sa.text("DELETE FROM kv_settings WHERE key = :key"), {"key": key})


def downgrade() -> None:
    bind = op.get_bind()
    books = [row[0] for row in bind.execute(sa.text("SELECT broker FROM trade_accounts"))]
    if len(books) != 1:
        return  # several books' marks have no one process-wide value: the old code restarts its measurement
    for key in MARKS:
        bind.execute(sa.text("UPDATE kv_settings SET key = :old WHERE key = :new"),
                     {"new": f"{key}:{books[0]}", "old": key})
