"""The order state machine as data: every allowed (from, to) status pair, and `apply`, which turns a broker's
report on an order into the order's next state and the events that happened.

Pure (no database, no broker; imports nothing of Hantu): `trading/orders.py` loads an order's state, calls `apply` or `move`, and writes
the result back. Modelled on NautilusTrader's order FSM — one table, terminal states left only through it —
with the moves a real broker makes: fills reported after the close, a cancel overtaken by a fill, an intent
declared never-arrived that the broker turns out to have. Fill progress comes from the recorded fills only: an
order is `filled` when its recorded fills reach its quantity, whatever the broker's status says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple


class OrderStatus(StrEnum):
    """An order's state (str-valued: stored as text). Re-exported by `hantu.broker.base`."""

    NEW = "new"  # intent written, not yet sent
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # sent, fate not known yet (timeout, crash): resolved by lookup

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


S = OrderStatus


class Transition(NamedTuple):
    why: str
    only_if_never_arrived: bool = False  # allowed only for an intent closed as never received by the broker


TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], Transition] = {
    (S.NEW, S.SUBMITTED): Transition("the broker accepted it (or a lookup found it)"),
    (S.NEW, S.PARTIALLY_FILLED): Transition("accepted and partly filled before the answer was read"),
    (S.NEW, S.FILLED): Transition("accepted and filled before the answer was read"),
    (S.NEW, S.REJECTED): Transition("the broker answered no"),
    (S.NEW, S.UNKNOWN): Transition("sent, no answer (timeout, 5xx, crash)"),
    (S.NEW, S.CANCELLED): Transition("accepted and cancelled before the answer was read"),
    (S.NEW, S.EXPIRED): Transition("never arrived (not found after the grace), or the day ended"),
    (S.UNKNOWN, S.SUBMITTED): Transition("a lookup found it"),
    (S.UNKNOWN, S.PARTIALLY_FILLED): Transition("a lookup found it partly filled"),
    (S.UNKNOWN, S.FILLED): Transition("a lookup found it filled"),
    (S.UNKNOWN, S.CANCELLED): Transition("a lookup found it cancelled"),
    (S.UNKNOWN, S.REJECTED): Transition("a lookup found it refused"),
    (S.UNKNOWN, S.EXPIRED): Transition("never arrived (not found after the grace), or the day ended"),
    (S.SUBMITTED, S.PARTIALLY_FILLED): Transition("first fills recorded"),
    (S.SUBMITTED, S.FILLED): Transition("all fills recorded"),
    (S.SUBMITTED, S.CANCELLED): Transition("cancelled"),
    (S.SUBMITTED, S.REJECTED): Transition("refused by the exchange after acceptance"),
    (S.SUBMITTED, S.EXPIRED): Transition("a day order left unfilled at the close"),
    (S.PARTIALLY_FILLED, S.FILLED): Transition("the last fills recorded"),
    (S.PARTIALLY_FILLED, S.CANCELLED): Transition("the rest cancelled"),
    (S.PARTIALLY_FILLED, S.EXPIRED): Transition("the rest left unfilled at the close"),
    # Terminal states are left only here:
    (S.EXPIRED, S.FILLED): Transition("closing-auction fills reported after the order expired"),
    (S.CANCELLED, S.FILLED): Transition("a cancel that lost the race to the fills"),
    (S.EXPIRED, S.SUBMITTED): Transition("declared never-arrived, yet the broker has it", True),
    (S.EXPIRED, S.PARTIALLY_FILLED): Transition(
        "declared never-arrived, yet the broker has it, partly filled", True
    ),
    (S.EXPIRED, S.CANCELLED): Transition("declared never-arrived, yet the broker has it, cancelled", True),
    (S.EXPIRED, S.REJECTED): Transition("declared never-arrived, yet the broker refused it", True),
    (S.EXPIRED, S.UNKNOWN): Transition(
        "declared never-arrived while its send was still waiting for an answer", True
    ),
}

LIVE = (S.SUBMITTED, S.PARTIALLY_FILLED)  # at the broker and still able to trade
PENDING = (S.NEW, S.UNKNOWN)  # fate not known yet: may be at the broker
OPEN = PENDING + LIVE  # not final: every order that may still trade (the "open orders" of every reader)
_RANK = {S.NEW: 0, S.UNKNOWN: 0, S.SUBMITTED: 1, S.PARTIALLY_FILLED: 2}


class CancelReason(StrEnum):
    """Why the engine asked for a cancel (the `cancel_reason` column)."""

    UNFILLED = "unfilled"  # a stale entry: re-priced afterwards when the policy says so
    END_OF_DAY = "end_of_day"
    USER = "user"  # asked through the CLI, API or Telegram


class IllegalTransition(ValueError):
    """A move the table does not allow (a bug in the caller: broker reports never raise it)."""


@dataclass(frozen=True)
class OrderState:
    """What the state machine knows of an order."""

    status: OrderStatus
    quantity: int
    filled: int = 0  # recorded fills
    reported_filled: int = 0  # the broker's latest cumulative figure (ahead of `filled` while fills travel)
    never_arrived: bool = False


@dataclass(frozen=True)
class Event:
    """One thing that happened to the order: a status change (`before` → `after`), or its revival."""

    kind: str  # status | revived
    before: OrderStatus
    after: OrderStatus


def allowed(state: OrderState, to: OrderStatus) -> bool:
    rule = TRANSITIONS.get((state.status, to))
    return rule is not None and (not rule.only_if_never_arrived or state.never_arrived)


def move(state: OrderState, to: OrderStatus) -> tuple[OrderState, list[Event]]:
    """A local move (sent without an answer, refused, closed as never arrived, day ended); raises
    `IllegalTransition` for a pair the table lacks."""
    if to == state.status:
        return state, []
    if not allowed(state, to):
        raise IllegalTransition(f"{state.status} -> {to}")
    return replace(state, status=to), [Event("status", state.status, to)]


def apply(state: OrderState, reported: OrderStatus, reported_filled: int) -> tuple[OrderState, list[Event]]:
    """The order after the broker reported it in `reported` with `reported_filled` shares filled so far.

    Fill progress follows the recorded fills: a live or `filled` report makes the order `submitted` without
    recorded fills, `partially_filled` with some and `filled` with all of them (a terminal order stays as it
    was until they are all in). A live report never moves an order backwards; a report the table does not
    allow (a terminal order reported live again) is ignored.
    """
    events: list[Event] = []
    state = replace(state, reported_filled=max(state.reported_filled, reported_filled))
    if state.never_arrived:  # the broker has it after all
        events.append(Event("revived", state.status, state.status))
    target = _target(state, reported)
    if target == state.status or not allowed(state, target):
        return replace(state, never_arrived=False), events
    events.append(Event("status", state.status, target))
    return replace(state, status=target, never_arrived=False), events


def _target(state: OrderState, reported: OrderStatus) -> OrderStatus:
    if state.quantity > 0 and state.filled >= state.quantity:
        return (
            S.FILLED
        )  # every share recorded: filled, whatever the broker calls it (closing auction, lost cancel)
    revived = state.never_arrived
    if reported is S.FILLED:  # the broker has fills the book has not recorded yet
        if state.status.is_terminal and not revived:
            return state.status
        reported = S.SUBMITTED
    if reported in LIVE:
        reported = S.PARTIALLY_FILLED if state.filled else S.SUBMITTED
        if not revived and state.status in _RANK and _RANK[reported] < _RANK[state.status]:
            return state.status
    return reported


def transition_table_markdown() -> str:
    """The table as docs/trading-engine.md prints it (a test checks the doc against this)."""
    lines = ["| from | to | when |", "|---|---|---|"]
    for (before, after), rule in TRANSITIONS.items():
        when = rule.why + (" (only an intent closed as never arrived)" if rule.only_if_never_arrived else "")
        lines.append(f"| `{before}` | `{after}` | {when} |")
    return "\n".join(lines)
