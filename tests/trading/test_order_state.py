"""The order state machine (`domain/order_state.py`): the table's real-world moves, and hypothesis properties —
random broker reports, duplicated and reordered, never make fills go backwards, never leave a terminal state
except through the table, and `filled` only ever means every share recorded."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hantu.domain.order_state import (
    TRANSITIONS,
    IllegalTransition,
    OrderState,
    allowed,
    apply,
    move,
    transition_table_markdown,
)
from hantu.domain.order_state import OrderStatus as S

DOC = Path(__file__).resolve().parents[2] / "docs" / "trading-engine.md"
LOCAL_MOVES = [S.UNKNOWN, S.REJECTED, S.EXPIRED, S.SUBMITTED]  # what the engine decides itself
BROKER_STATUSES = [S.SUBMITTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED]


def test_the_real_world_moves() -> None:
    # closing-auction fills reported after the bell closed the day order: it did fill
    expired = OrderState(S.EXPIRED, 10, filled=10)
    assert apply(expired, S.FILLED, 10)[0].status is S.FILLED
    # ... but not before its fills are recorded
    assert apply(OrderState(S.EXPIRED, 10, filled=4), S.FILLED, 10)[0].status is S.EXPIRED
    # a cancel that lost the race to the fills
    assert apply(OrderState(S.CANCELLED, 10, filled=10), S.CANCELLED, 10)[0].status is S.FILLED
    # a never-arrived intent the broker has after all lives again
    revived, events = apply(OrderState(S.EXPIRED, 10, never_arrived=True), S.SUBMITTED, 0)
    assert (revived.status, revived.never_arrived) == (S.SUBMITTED, False)
    assert [e.kind for e in events] == ["revived", "status"]
    # an ordinary expired order reported live again stays expired
    assert apply(OrderState(S.EXPIRED, 10), S.SUBMITTED, 0)[0].status is S.EXPIRED


def test_filled_waits_for_the_recorded_fills() -> None:
    """Issue 24.3: the broker's `filled` before the fills are in keeps the order open (what it sold counts)."""
    assert apply(OrderState(S.SUBMITTED, 10), S.FILLED, 10)[0].status is S.SUBMITTED
    state = apply(OrderState(S.SUBMITTED, 10, filled=7), S.FILLED, 10)[0]
    assert (state.status, state.reported_filled) == (S.PARTIALLY_FILLED, 10)
    assert apply(OrderState(S.PARTIALLY_FILLED, 10, filled=10), S.FILLED, 10)[0].status is S.FILLED


def test_local_moves_outside_the_table_are_refused() -> None:
    assert move(OrderState(S.NEW, 1), S.UNKNOWN)[0].status is S.UNKNOWN
    try:
        move(OrderState(S.FILLED, 1, filled=1), S.CANCELLED)
    except IllegalTransition:
        pass
    else:
        raise AssertionError("filled -> cancelled must be refused")
    assert not allowed(OrderState(S.EXPIRED, 1), S.SUBMITTED)
    assert allowed(OrderState(S.EXPIRED, 1, never_arrived=True), S.SUBMITTED)


def test_the_doc_prints_the_table_from_the_code() -> None:
    assert transition_table_markdown() in DOC.read_text(), (
        "docs/trading-engine.md: paste transition_table_markdown()"
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[tuple[str, S, int]]]:
    """An order's quantity and a random stream of things that happen to it: fills recorded, broker reports
    (any status, any cumulative figure up to what has been filled at the broker, stale ones included, with
    duplicates), and local moves."""
    quantity = draw(st.integers(1, 30))
    steps = []
    at_broker = 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["fill", "report", "report", "local"]))
        if kind == "fill":
            at_broker = min(quantity, at_broker + draw(st.integers(1, quantity)))
            steps.append(("fill", S.SUBMITTED, at_broker))
        elif kind == "report":
            steps.append(("report", draw(st.sampled_from(BROKER_STATUSES)), draw(st.integers(0, at_broker))))
        else:
            steps.append(("local", draw(st.sampled_from(LOCAL_MOVES)), 0))
    if draw(st.booleans()) and steps:  # a duplicate of an earlier report
        steps.append(draw(st.sampled_from(steps)))
    return quantity, steps


@settings(max_examples=300, deadline=None)
@given(histories(), st.booleans())
def test_properties_of_random_histories(history: tuple[int, list[tuple[str, S, int]]], lost: bool) -> None:
    quantity, steps = history
    state = OrderState(S.NEW, quantity, never_arrived=False)
    for kind, status, figure in steps:
        before = state
        if kind == "fill":  # the book records fills up to the broker's figure, never beyond the quantity
            state = OrderState(
                state.status, quantity, max(state.filled, figure), state.reported_filled, state.never_arrived
            )
        elif kind == "report":
            state, _ = apply(state, status, figure)
            again, repeated = apply(state, status, figure)
            assert (again, repeated) == (state, [])  # a duplicate report changes nothing
        elif allowed(state, status):
            state = move(state, status)[0]
            if lost and status is S.EXPIRED and before.status in (S.NEW, S.UNKNOWN):
                state = OrderState(state.status, quantity, state.filled, state.reported_filled, True)
        assert state.filled >= before.filled and state.reported_filled >= before.reported_filled
        assert state.filled <= quantity
        if state.status != before.status:
            assert allowed(before, state.status), (before, state)
            assert (before.status, state.status) in TRANSITIONS
        if state.status is S.FILLED and before.status is not S.FILLED:
            assert state.filled >= quantity  # `filled` only with every share recorded
        if before.status is S.FILLED:
            assert state.status is S.FILLED  # nothing leaves `filled`


def test_order_types_table_in_the_docs_is_generated_from_the_code() -> None:
    from hantu.broker.kis.divisions import order_types_markdown

    assert order_types_markdown() in DOC.read_text(), (
        "docs/trading-engine.md: paste hantu.broker.kis.divisions.order_types_markdown()")
