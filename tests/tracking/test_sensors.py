"""Sensor readings, per-order limits, excursions and dispatcher exceptions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from routing.model import Handling, SensorBounds, SensorLimits
from tracking.events import Event, SensorKind, parse_event, parse_events
from tracking.exceptions import Severity
from tracking.sensors import (
    DOOR_OPEN_LIMIT,
    breach,
    limits_of,
    severity_of,
)
from tracking.store import MemoryStore
from tracking.tracker import Tracker

COLD = limits_of(Handling(requirement="cold_chain"))
FROZEN = limits_of(Handling(requirement="frozen"))
assert COLD is not None and FROZEN is not None


def day(limits: dict[str, SensorLimits], plain: tuple[str, ...] = ()) -> Tracker:
    """A tracker with the orders of ``limits`` (and ``plain`` ones) on van v,
    planned at 0 and dispatched by ``shift_start`` at 100."""
    tracker = Tracker(MemoryStore(limits))
    orders = [*limits, *plain]
    events: list[dict[str, Any]] = []
    for k, order in enumerate(orders):
        events.append(
            {"type": "order_created", "id": f"c-{order}", "at": 0, "order_id": order}
        )
        events.append(
            {
                "type": "order_planned",
                "id": f"p-{order}",
                "at": 0,
                "order_id": order,
                "vehicle": "v",
                "position": k,
            }
        )
    events.append({"type": "shift_start", "id": "start", "at": 100, "vehicle": "v"})
    result = tracker.ingest(parse_events(events))
    assert not result.rejected
    return tracker


def reading(
    at: int, kind: str, value: float, order: str | None = None, van: str = "v"
) -> Event:
    """A sensor event."""
    body: dict[str, Any] = {
        "type": "sensor",
        "id": f"s-{kind}-{order}-{at}",
        "at": at,
        "vehicle": van,
        "kind": kind,
        "value": value,
    }
    if order is not None:
        body["order_id"] = order
    return parse_event(body)


def delivered(at: int, order: str) -> Event:
    """A delivery of ``order`` on van v."""
    return parse_event(
        {
            "type": "delivered",
            "id": f"d-{order}",
            "at": at,
            "order_id": order,
            "vehicle": "v",
            "proof": {"recipient": "kim"},
        }
    )


def store_of(tracker: Tracker) -> MemoryStore:
    """The tracker's memory store."""
    assert isinstance(tracker.store, MemoryStore)
    return tracker.store


# -- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("temperature", 500),
        ("temperature", -90),
        ("humidity", 120),
        ("shock", -1),
        ("door_open", 0.5),
    ],
)
def test_impossible_reading_is_refused_naming_value(kind: str, value: float) -> None:
    """A value no sensor of that kind can give is an error located at ``value``."""
    with pytest.raises(ValidationError) as info:
        reading(10, kind, value)
    (error,) = info.value.errors()
    assert error["loc"][-1] == "value"
    assert kind in error["msg"]


def test_door_reading_takes_booleans() -> None:
    """``true``/``false`` are door open/closed."""
    assert reading(10, "door_open", True).value == 1.0  # type: ignore[union-attr]
    assert reading(10, "door_open", False).value == 0.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("handling", "fragment"),
    [
        ({}, "requirement or at least one limit"),
        ({"limits": {"temperature": {}}}, "give min, max or both"),
        ({"limits": {"temperature": {"min": 5, "max": 1}}}, "above max"),
        ({"limits": {"temperature": {"max": 500}}}, "outside -60..80"),
        ({"limits": {"shock": {"min": 1, "max": 3}}}, "without min"),
        ({"requirement": "chilly"}, "cold_chain"),
    ],
)
def test_bad_handling_is_refused(handling: dict[str, Any], fragment: str) -> None:
    """Handling requirements are validated with the reason."""
    with pytest.raises(ValidationError) as info:
        Handling.model_validate(handling)
    assert fragment in str(info.value)


def test_presets_and_overrides() -> None:
    """Explicit limits override the preset kind by kind and add new kinds."""
    assert COLD.temperature == SensorBounds(min=0.0, max=4.0)
    assert FROZEN.temperature == SensorBounds(max=-18.0)
    assert COLD.door_open == DOOR_OPEN_LIMIT
    mixed = limits_of(
        Handling(
            requirement="cold_chain",
            limits=SensorLimits(
                temperature=SensorBounds(min=2, max=8), shock=SensorBounds(max=5)
            ),
        )
    )
    assert mixed == SensorLimits(
        temperature=SensorBounds(min=2, max=8),
        shock=SensorBounds(max=5),
        door_open=DOOR_OPEN_LIMIT,
    )
    assert limits_of(None) is None


def test_breach_and_severity() -> None:
    """Which bound is crossed, and when it is critical."""
    assert breach(COLD, SensorKind.TEMPERATURE, 4.0) is None
    above = breach(COLD, SensorKind.TEMPERATURE, 4.5)
    assert above is not None and (above.limit, above.side) == (4.0, "above")
    below = breach(COLD, SensorKind.TEMPERATURE, -0.5)
    assert below is not None and (below.limit, below.side) == (0.0, "below")
    assert breach(COLD, SensorKind.HUMIDITY, 99) is None
    assert severity_of(SensorKind.TEMPERATURE, 5.9, 4.0) is Severity.WARNING
    assert severity_of(SensorKind.TEMPERATURE, 6.0, 4.0) is Severity.CRITICAL
    assert severity_of(SensorKind.SHOCK, 10.0, 5.0) is Severity.CRITICAL


# -- excursions ---------------------------------------------------------------


def test_reading_before_dispatch_or_after_delivery_is_no_excursion() -> None:
    """Only readings while the order is on board count."""
    tracker = day({"a": COLD})
    tracker.ingest([reading(50, "temperature", 9.0)])  # at 50: planned, not loaded
    assert store_of(tracker).excursions == {}
    tracker.ingest([delivered(200, "a"), reading(300, "temperature", 12.0)])
    assert store_of(tracker).excursions == {}
    assert store_of(tracker).exceptions == {}


def test_van_reading_applies_to_each_order_by_its_own_limits() -> None:
    """2 °C breaks a frozen order's limit, not a cold-chain one's; one exception."""
    tracker = day({"cold": COLD, "ice": FROZEN}, plain=("book",))
    tracker.ingest([reading(200, "temperature", 2.0)])
    store = store_of(tracker)
    (excursion,) = store.excursions.values()
    assert (excursion.order_id, excursion.start, excursion.end) == ("ice", 200, None)
    assert (excursion.limit, excursion.side, excursion.source) == (
        -18.0,
        "above",
        "van",
    )
    tracker.ingest([reading(300, "temperature", 7.0)])
    opened = [e for e in store.excursions.values() if e.open]
    assert {e.order_id for e in opened} == {"cold", "ice"}
    (exception,) = store.exceptions.values()
    assert exception.order_ids == ("ice", "cold")
    assert exception.opened_at == 200 and exception.open
    assert exception.severity is Severity.CRITICAL
    assert exception.vehicle == "v" and exception.kind.value == "sensor_excursion"


def test_excursion_closes_when_readings_return_and_keeps_the_peak() -> None:
    """Start, peak and end; the exception closes when nothing is outside."""
    tracker = day({"a": COLD})
    tracker.ingest(
        [
            reading(200, "temperature", 5.0),
            reading(260, "temperature", 6.5),
            reading(320, "temperature", 5.5),
            reading(380, "temperature", 3.0),
        ]
    )
    store = store_of(tracker)
    (excursion,) = store.excursions.values()
    assert (excursion.start, excursion.end, excursion.peak) == (200, 380, 6.5)
    assert excursion.readings == 3
    (exception,) = store.exceptions.values()
    assert (exception.opened_at, exception.closed_at) == (200, 380)
    assert exception.severity is Severity.CRITICAL
    assert "6.5 °C above the 4 °C limit" in exception.detail


def test_delivery_ends_the_excursion_and_closes_the_exception() -> None:
    """An order that leaves the van takes its excursion's end with it."""
    tracker = day({"a": COLD, "b": COLD})
    tracker.ingest([reading(200, "temperature", 8.0), delivered(250, "a")])
    store = store_of(tracker)
    ends = {e.order_id: e.end for e in store.excursions.values()}
    assert ends == {"a": 250, "b": None}
    (exception,) = store.exceptions.values()
    assert exception.open
    tracker.ingest([delivered(300, "b")])
    assert store.exceptions[exception.id].closed_at == 300


def test_parcel_reading_concerns_its_order_only() -> None:
    """A probe in one parcel: only that order, its own exception."""
    tracker = day({"a": COLD, "b": COLD})
    tracker.ingest([reading(200, "temperature", 9.0, order="b")])
    store = store_of(tracker)
    (excursion,) = store.excursions.values()
    assert (excursion.order_id, excursion.source) == ("b", "parcel")
    (exception,) = store.exceptions.values()
    assert exception.order_ids == ("b",)
    # the van's own sensor, inside, does not close the parcel's excursion
    tracker.ingest([reading(210, "temperature", 3.0)])
    assert store.exceptions[exception.id].open
    tracker.ingest([reading(220, "temperature", 3.0, order="b")])
    assert store.exceptions[exception.id].closed_at == 220


def test_parcel_reading_of_unknown_order_is_rejected() -> None:
    """A reading naming an order nobody knows is refused with the reason."""
    tracker = day({"a": COLD})
    result = tracker.ingest([reading(200, "temperature", 9.0, order="zz")])
    assert result.rejected[0].reason == "unknown order zz"


def test_late_reading_changes_nothing() -> None:
    """A reading older than the newest of its kind is stale."""
    tracker = day({"a": COLD})
    tracker.ingest([reading(300, "temperature", 3.0)])
    result = tracker.ingest([reading(250, "temperature", 9.0)])
    assert result.stale == result.accepted == (reading(250, "temperature", 9.0).id,)
    assert store_of(tracker).excursions == {}


def test_shock_is_an_instant_and_its_exception_lasts_until_delivery() -> None:
    """A shock above the max: an excursion of one instant, an exception open
    until the parcel leaves the van."""
    shocky = SensorLimits(shock=SensorBounds(max=3.0))
    tracker = day({"a": shocky, "b": COLD})
    tracker.ingest([reading(200, "shock", 2.0), reading(210, "shock", 7.0)])
    store = store_of(tracker)
    (excursion,) = store.excursions.values()
    assert (excursion.order_id, excursion.start, excursion.end, excursion.peak) == (
        "a",
        210,
        210,
        7.0,
    )
    (exception,) = store.exceptions.values()
    assert exception.open and exception.severity is Severity.CRITICAL
    tracker.ingest([delivered(400, "a")])
    assert store.exceptions[exception.id].closed_at == 400


def stop(at: int, kind: str, order: str | None) -> Event:
    """A stop event of van v."""
    body: dict[str, Any] = {
        "type": kind,
        "id": f"{kind}-{order}-{at}",
        "at": at,
        "vehicle": "v",
    }
    if order is not None:
        body["order_id"] = order
    return parse_event(body)


def test_door_open_on_the_road_longer_than_the_limit() -> None:
    """Open at 1,000 on the road, still open at 1,400: an excursion from 1,300;
    closed at 1,500. At a stop the door may stay open."""
    tracker = day({"a": COLD, "b": COLD})
    tracker.ingest(
        [
            stop(900, "stop_departed", None),
            reading(1000, "door_open", True),
            reading(1200, "door_open", True),
        ]
    )
    store = store_of(tracker)
    assert store.excursions == {}
    tracker.ingest(
        [reading(1400, "door_open", True), reading(1500, "door_open", False)]
    )
    excursions = sorted(store.excursions.values(), key=lambda e: e.order_id)
    assert [(e.order_id, e.start, e.end, e.peak) for e in excursions] == [
        ("a", 1300, 1500, 500.0),
        ("b", 1300, 1500, 500.0),
    ]
    (exception,) = store.exceptions.values()
    assert (exception.opened_at, exception.closed_at) == (1300, 1500)
    # at a stop: open for an hour, nothing
    tracker.ingest(
        [
            stop(2000, "stop_arrived", "a"),
            reading(2010, "door_open", True),
            reading(5600, "door_open", True),
            reading(5700, "door_open", False),
        ]
    )
    assert len(store.excursions) == 2


def test_door_closed_after_the_limit_without_a_reading_in_between() -> None:
    """Open then closed 10 minutes later: an excursion that began and ended."""
    tracker = day({"a": COLD})
    tracker.ingest(
        [
            stop(900, "stop_departed", None),
            reading(1000, "door_open", 1),
            reading(1600, "door_open", 0),
        ]
    )
    (excursion,) = store_of(tracker).excursions.values()
    assert (excursion.start, excursion.end, excursion.peak) == (1300, 1600, 600.0)
    (exception,) = store_of(tracker).exceptions.values()
    assert exception.closed_at == 1600 and exception.severity is Severity.CRITICAL


# -- property ------------------------------------------------------------------

ORDERS = ("a", "b", "c")
LIMITS = {"a": COLD, "b": FROZEN}  # c has none

step = st.one_of(
    st.tuples(st.just("temp"), st.sampled_from([None, *ORDERS]), st.floats(-30, 15)),
    st.tuples(st.just("deliver"), st.sampled_from(ORDERS), st.just(0.0)),
)


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=st.lists(step, max_size=25), dispatch_at=st.integers(0, 25))
def test_excursion_iff_a_reading_is_outside_while_on_board(
    steps: list[tuple[str, str | None, float]], dispatch_at: int
) -> None:
    """For random readings and deliveries (dispatch somewhere among them): an
    order has an excursion iff some reading that concerns it was outside its
    limits while it was on board; once every sensor reads inside again, or
    every order is delivered, no exception is open."""
    tracker = Tracker(MemoryStore(LIMITS))
    setup: list[dict[str, Any]] = []
    for k, order in enumerate(ORDERS):
        setup.append(
            {"type": "order_created", "id": f"c-{order}", "at": 0, "order_id": order}
        )
        setup.append(
            {
                "type": "order_planned",
                "id": f"p-{order}",
                "at": 0,
                "order_id": order,
                "vehicle": "v",
                "position": k,
            }
        )
    tracker.ingest(parse_events(setup))
    on_board: set[str] = set()
    gone: set[str] = set()
    expected: set[str] = set()
    for i, (what, order, value) in enumerate(steps):
        at = 10 * (i + 1)
        if i == dispatch_at:
            tracker.ingest(
                parse_events(
                    [{"type": "shift_start", "id": "go", "at": at - 5, "vehicle": "v"}]
                )
            )
            on_board = set(ORDERS) - gone
        if what == "deliver":
            assert order is not None
            if order in gone:
                continue
            event = parse_event(
                {
                    "type": "delivered",
                    "id": f"d-{order}",
                    "at": at,
                    "order_id": order,
                    "vehicle": "v",
                    "proof": {"photo": "p"},
                }
            )
            tracker.ingest([event])
            gone.add(order)
            on_board.discard(order)
            continue
        tracker.ingest([reading(at, "temperature", value, order=order)])
        concerned = set(ORDERS) if order is None else {order}
        for o in concerned & on_board & LIMITS.keys():
            if breach(LIMITS[o], SensorKind.TEMPERATURE, value) is not None:
                expected.add(o)
    store = store_of(tracker)
    assert {e.order_id for e in store.excursions.values()} == expected
    assert all(e.exception_id in store.exceptions for e in store.excursions.values())
    # every parcel probe back inside its order's limits: nothing per parcel
    # stays open
    end = 10 * (len(steps) + 2)
    inside = {"a": 2.0, "b": -20.0, "c": 20.0}
    tracker.ingest([reading(end, "temperature", inside[o], order=o) for o in ORDERS])
    assert not any(e.open and e.source == "parcel" for e in store.excursions.values())
    assert not any(
        e.open and not e.key.endswith("*van*") for e in store.exceptions.values()
    )
    # no van reading suits both a cold-chain and a frozen order: the rest ends
    # when the parcels leave the van
    tracker.ingest([delivered(end + 10, o) for o in ORDERS if o not in gone])
    assert not any(e.open for e in store.exceptions.values())
    assert not any(e.open for e in store.excursions.values())
    for exception in store.exceptions.values():
        assert exception.closed_at is not None
        assert exception.closed_at >= exception.opened_at


def test_reading_arriving_after_the_delivery_is_judged_at_its_time() -> None:
    """A reading from while the parcel was on board, received after the
    delivery, records an excursion that ended at the delivery."""
    tracker = day({"a": COLD})
    tracker.ingest([delivered(200, "a")])
    tracker.ingest([reading(150, "temperature", 9.0)])
    store = store_of(tracker)
    (excursion,) = store.excursions.values()
    assert (excursion.start, excursion.end) == (150, 200)
    (exception,) = store.exceptions.values()
    assert (exception.opened_at, exception.closed_at) == (150, 200)


def test_another_vans_reading_and_humidity_below_min() -> None:
    """A van's reading never concerns another van's parcels; a humidity
    below its min is an excursion on the ``below`` side."""
    dry = SensorLimits(humidity=SensorBounds(min=30.0, max=70.0))
    tracker = day({"a": dry})
    tracker.ingest([reading(200, "humidity", 10.0, van="w")])
    store = store_of(tracker)
    assert store.excursions == {}
    tracker.ingest([reading(210, "humidity", 20.0), reading(220, "humidity", 15.0)])
    (excursion,) = store.excursions.values()
    assert (excursion.side, excursion.limit, excursion.peak) == ("below", 30.0, 15.0)
    (exception,) = store.exceptions.values()
    assert exception.severity is Severity.CRITICAL  # 15 points below
