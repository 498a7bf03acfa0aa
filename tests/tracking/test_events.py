"""Event models: the discriminated union and its validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tracking.events import (
    AttemptResolved,
    Delivered,
    FailedAttempt,
    FailureReason,
    OrderCancelled,
    OrderCreated,
    OrderDispatched,
    OrderPlanned,
    Position,
    ShiftEnded,
    ShiftStarted,
    StopArrived,
    StopDeparted,
    parse_event,
    parse_events,
)

EXAMPLES: list[tuple[dict[str, Any], type]] = [
    ({"type": "order_created", "order_id": "o1", "customer_id": "c1"}, OrderCreated),
    (
        {"type": "order_planned", "order_id": "o1", "vehicle": "v", "position": 0},
        OrderPlanned,
    ),
    ({"type": "order_dispatched", "order_id": "o1", "vehicle": "v"}, OrderDispatched),
    ({"type": "shift_start", "vehicle": "v"}, ShiftStarted),
    ({"type": "shift_end", "vehicle": "v"}, ShiftEnded),
    ({"type": "position", "vehicle": "v", "lat": 37.5, "lon": 127.0}, Position),
    ({"type": "stop_arrived", "vehicle": "v", "order_id": "o1"}, StopArrived),
    ({"type": "stop_departed", "vehicle": "v"}, StopDeparted),
    (
        {"type": "delivered", "order_id": "o1", "proof": {"recipient": "Kim"}},
        Delivered,
    ),
    (
        {"type": "failed_attempt", "order_id": "o1", "reason": "not_home"},
        FailedAttempt,
    ),
    (
        {"type": "attempt_resolved", "order_id": "o1", "outcome": "rescheduled"},
        AttemptResolved,
    ),
    (
        {"type": "order_cancelled", "order_id": "o1", "reason": "customer"},
        OrderCancelled,
    ),
]


@pytest.mark.parametrize(
    ("data", "cls"), EXAMPLES, ids=lambda x: getattr(x, "__name__", "")
)
def test_type_selects_the_model(data: dict[str, Any], cls: type) -> None:
    """The ``type`` field picks the event model; the result round-trips to JSON."""
    event = parse_event({"id": "e1", "at": 36_000, **data})
    assert isinstance(event, cls)
    again = parse_event(event.model_dump(mode="json"))
    assert again == event


def test_reason_codes_are_the_issue_list() -> None:
    """Failed attempts carry one of five reason codes."""
    assert {r.value for r in FailureReason} == {
        "not_home",
        "address_problem",
        "refused",
        "damaged",
        "access_denied",
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "teleported", "vehicle": "v"}, "type"),
        ({"type": "delivered", "order_id": "o1", "proof": {}}, "proof"),
        ({"type": "failed_attempt", "order_id": "o1", "reason": "lazy"}, "reason"),
        ({"type": "position", "vehicle": "v", "lat": 95.0, "lon": 0.0}, "lat"),
        ({"type": "shift_start", "vehicle": "v", "colour": "red"}, "colour"),
        ({"type": "shift_start", "vehicle": ""}, "vehicle"),
    ],
)
def test_bad_events_name_the_field(data: dict[str, Any], field: str) -> None:
    """Invalid events are rejected and the error names the offending field."""
    with pytest.raises(ValidationError) as info:
        parse_event({"id": "e1", "at": 0, **data})
    assert field in str(info.value)


def test_events_are_frozen() -> None:
    """An event cannot be changed after it was made."""
    event = ShiftStarted(id="e1", at=0, vehicle="v")
    with pytest.raises(ValidationError):
        event.at = 5  # type: ignore[misc]


def test_parse_events_reads_a_list() -> None:
    """A JSON list of mixed events parses in one call."""
    events = parse_events(
        [
            {"id": "a", "at": 1, "type": "shift_start", "vehicle": "v"},
            {"id": "b", "at": 2, "type": "stop_departed", "vehicle": "v"},
        ]
    )
    assert [type(e) for e in events] == [ShiftStarted, StopDeparted]
