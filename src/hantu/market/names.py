"""Stock names from the instrument master (the `instruments` table): the one code → name lookup.

Every reader that shows a stock to a person (the account view, the API, Telegram, the reports, the CLI) names it
through here; a code the master does not know is shown as the code itself (`display_names`) or left unnamed
(`stock_names`, for the API's optional `name` field).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.store.models import Instrument


def stock_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """`{code: name}` of the codes the master names (unknown or unnamed codes are left out)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(select(Instrument.code, Instrument.name).where(Instrument.code.in_(wanted)))
    return {code: name for code, name in rows if name}


def display_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """`{code: name}` for every code in `codes`: its name, else the code itself."""
    wanted = set(codes)
    known = stock_names(session, wanted)
    return {code: known.get(code, code) for code in wanted}


def display_name(session: Session, code: str) -> str:
    """One stock's name, else its code."""
    return display_names(session, [code])[code]
