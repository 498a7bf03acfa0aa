"""The order lifecycle: transition table, history, implied changes."""

from __future__ import annotations

import itertools

import pytest

from tracking.status import (
    MAIN_CHAIN,
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    OrderState,
    OrderStatus,
)

S = OrderState
PAIRS = list(itertools.product(OrderState, OrderState))
VALID = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
INVALID = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


def _in_state(state: OrderState) -> OrderStatus:
    """A status history ending in ``state`` (forced, for table tests)."""
    status = OrderStatus.new("o1", at=0)
    if state is S.CREATED:
        return status
    change = status.history[0].model_copy(
        update={"source": S.CREATED, "target": state, "at": 1, "cause": "setup"}
    )
    return status.model_copy(update={"history": (*status.history, change)})


def test_table_has_every_state() -> None:
    """Every state has an entry in the transition table."""
    assert set(TRANSITIONS) == set(OrderState)


def test_issue_transitions_are_allowed() -> None:
    """The chain, the failed-attempt outcomes and cancellation are in the table."""
    for a, b in itertools.pairwise(MAIN_CHAIN):
        assert b in TRANSITIONS[a]
    assert TRANSITIONS[S.ARRIVING] >= {S.DELIVERED, S.FAILED_ATTEMPT}
    assert TRANSITIONS[S.FAILED_ATTEMPT] == {
        S.RESCHEDULED,
        S.REDIRECTED_TO_PICKUP_STATION,
        S.RETURNED_TO_DEPOT,
    }
    assert S.CANCELLED in TRANSITIONS[S.CREATED]


def test_delivered_and_cancelled_are_final() -> None:
    """Nothing leaves delivered or cancelled."""
    assert {S.DELIVERED, S.CANCELLED} == TERMINAL


@pytest.mark.parametrize(("source", "target"), VALID, ids=lambda s: s.value)
def test_valid_transition_is_recorded(source: OrderState, target: OrderState) -> None:
    """An allowed change moves the state and appends time and cause to history."""
    status = _in_state(source)
    moved = status.advance(target, at=100, cause="test", event_id="e1")
    assert moved.state is target
    assert len(moved.history) == len(status.history) + 1
    last = moved.history[-1]
    assert (last.source, last.target, last.at, last.cause, last.event_id) == (
        source,
        target,
        100,
        "test",
        "e1",
    )
    assert status.state is source  # frozen: the old status is unchanged


@pytest.mark.parametrize(("source", "target"), INVALID, ids=lambda s: s.value)
def test_invalid_transition_names_both_states(
    source: OrderState, target: OrderState
) -> None:
    """A change outside the table is rejected naming current and attempted state."""
    status = _in_state(source)
    with pytest.raises(InvalidTransition) as info:
        status.advance(target, at=100, cause="test")
    assert info.value.current is source
    assert info.value.attempted is target
    message = str(info.value)
    assert f"from {source.value} to {target.value}" in message


def test_history_keeps_every_change() -> None:
    """The history holds each state with its own time and cause, in order."""
    status = OrderStatus.new("o1", at=-3600, cause="web order")
    for k, state in enumerate(MAIN_CHAIN[1:], start=1):
        status = status.advance(state, at=1000 * k, cause=f"step {k}")
    assert [c.target for c in status.history] == list(MAIN_CHAIN)
    assert [c.at for c in status.history] == [-3600, 1000, 2000, 3000, 4000, 5000]
    assert status.history[0].cause == "web order"
    assert status.updated_at == 5000


def test_reach_records_skipped_states_as_implied() -> None:
    """Jumping ahead on the chain records the skipped states as implied."""
    status = _in_state(S.OUT_FOR_DELIVERY).reach(
        S.DELIVERED, at=500, cause="delivered to Kim", event_id="d1"
    )
    tail = status.history[-2:]
    assert [c.target for c in tail] == [S.ARRIVING, S.DELIVERED]
    assert [c.implied for c in tail] == [True, False]
    assert tail[0].cause.startswith("implied by")


def test_reach_failed_attempt_passes_arriving() -> None:
    """A failed attempt for an order still out for delivery implies arriving."""
    status = _in_state(S.OUT_FOR_DELIVERY).reach(
        S.FAILED_ATTEMPT, at=500, cause="failed attempt: not_home"
    )
    assert [c.target for c in status.history[-2:]] == [S.ARRIVING, S.FAILED_ATTEMPT]


def test_reach_from_rescheduled_restarts_at_planned() -> None:
    """A rescheduled order is planned again before it can be dispatched."""
    status = _in_state(S.RESCHEDULED).reach(S.DISPATCHED, at=9, cause="shift")
    assert [c.target for c in status.history[-2:]] == [S.PLANNED, S.DISPATCHED]


@pytest.mark.parametrize("state", [S.DELIVERED, S.ARRIVING, S.CANCELLED])
def test_reach_never_moves_backwards(state: OrderState) -> None:
    """Reaching a state behind (or beside) the current one is invalid."""
    with pytest.raises(InvalidTransition):
        _in_state(state).reach(S.DISPATCHED, at=9, cause="late event")


def test_explain_gives_an_implied_change_its_real_time() -> None:
    """A late event reporting an implied change replaces its time and cause."""
    status = _in_state(S.OUT_FOR_DELIVERY).reach(S.DELIVERED, at=500, cause="done")
    explained = status.explain(
        S.ARRIVING, at=400, cause="van left the previous stop", event_id="x"
    )
    assert explained is not None
    change = explained.history[-2]
    assert (change.at, change.implied, change.event_id) == (400, False, "x")
    assert explained.explain(S.ARRIVING, at=450, cause="again", event_id="y") is None
