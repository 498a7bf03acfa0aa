"""Validation of the routing domain model: every bad input names its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from routing.io import InputError, parse_model
from routing.locale import DEFAULT_LOCALE
from routing.model import Job, Problem, ServiceLevel, TimeWindow
from tests.helpers import small_problem_json

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return mutate


INVALID: list[tuple[str, Mutation, str]] = [
    (
        "window end before start",
        _set("jobs.0.time_windows", [["12:00", "10:00"]]),
        "jobs[0].time_windows[0]: end (36000) is before start (43200)",
    ),
    (
        "overlapping windows",
        _set("jobs.1.time_windows", [["09:00", "11:00"], ["10:30", "12:00"]]),
        "jobs[1].time_windows: windows must be sorted and disjoint",
    ),
    (
        "negative demand",
        _set("jobs.1.demand", [-5, 1]),
        "jobs[1].demand[0]: Input should be greater than or equal to 0",
    ),
    (
        "latitude out of range",
        _set("jobs.2.location", {"lat": 137.0, "lon": 127.0}),
        "jobs[2].location.lat: Input should be less than or equal to 90",
    ),
    (
        "longitude out of range",
        _set("depots.0.location", {"lat": 37.5, "lon": 227.0}),
        "depots[0].location.lon: Input should be less than or equal to 180",
    ),
    (
        "lat without lon",
        _set("jobs.0.location", {"lat": 37.5}),
        "jobs[0].location: lat and lon must be given together",
    ),
    (
        "unknown start depot",
        _set("vehicles.1.start", "nowhere"),
        "vehicles[1].start: unknown depot id 'nowhere'",
    ),
    (
        "unknown order depot",
        _set("jobs.0.depot", "nowhere"),
        "jobs[0].depot: unknown depot id 'nowhere'",
    ),
    (
        "unknown station",
        _set("jobs.3.station", "locker-x"),
        "jobs[3].station: unknown station id 'locker-x'",
    ),
    (
        "demand dimensions differ from capacity",
        _set("jobs.3.demand", [1, 2, 3]),
        "jobs[3].demand: has 3 dimensions but vehicle capacity has 2",
    ),
    (
        "vehicle capacities disagree",
        _set("vehicles.2.capacity", [10]),
        "vehicles[2].capacity: has 1 dimensions but vehicles[0] has 2",
    ),
    (
        "duplicate order id",
        _set("jobs.4.id", "o-1001"),
        "jobs/shipments: duplicate id 'o-1001' (2 times)",
    ),
    (
        "duplicate vehicle id",
        _set("vehicles.1.id", "van-1"),
        "vehicles: duplicate id 'van-1' (2 times)",
    ),
    (
        "unknown key",
        _set("jobs.0.colour", "red"),
        "jobs[0].colour: unknown key (check its spelling",
    ),
    (
        "priority above 100",
        _set("jobs.0.priority", 101),
        "jobs[0].priority: Input should be less than or equal to 100",
    ),
    (
        "scheduled order without a date",
        _delete("jobs.6.scheduled_date"),
        "jobs[6]: scheduled_date is required for a scheduled order",
    ),
    (
        "station order without a station",
        _delete("jobs.3.station"),
        "jobs[3]: station is required for service level pickup_station",
    ),
    (
        "bad clock string",
        _set("vehicles.0.shift", ["8h", "20:00"]),
        "vehicles[0].shift.start: '8h' is not a time of day: write HH:MM",
    ),
    (
        "window with three values",
        _set("jobs.0.time_windows", [[1, 2, 3]]),
        "jobs[0].time_windows[0]: a window pair needs exactly 2 values, got 3",
    ),
    (
        "no vehicles field",
        _delete("vehicles"),
        "vehicles: Field required",
    ),
    (
        "unknown service level",
        _set("jobs.0.service_level", "tomorrow-ish"),
        "jobs[0].service_level: Input should be 'same_day'",
    ),
    (
        "negative service time",
        _set("jobs.0.service", -1),
        "jobs[0].service: Input should be greater than or equal to 0",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(m, msg, id=name) for name, m, msg in INVALID],
)
def test_invalid_input_names_field_and_reason(mutate: Mutation, message: str) -> None:
    """Each invalid problem is rejected with the field path and the reason."""
    data = small_problem_json()
    mutate(data)
    with pytest.raises(InputError) as info:
        parse_model(Problem, data, "problem.json")
    assert any(line.startswith(message) for line in info.value.lines), info.value.lines


def test_documented_example_is_valid(small_problem: Problem) -> None:
    """The example in docs/examples parses into the expected objects."""
    assert len(small_problem.jobs) == 8
    assert len(small_problem.shipments) == 1
    assert small_problem.n_dims == 2
    assert small_problem.vehicles[2].night
    assert small_problem.vehicles[0].shift == TimeWindow(start=8 * 3600, end=20 * 3600)


def test_models_are_frozen(small_problem: Problem) -> None:
    """Domain objects cannot be changed in place; variants come from copies."""
    job = small_problem.jobs[0]
    with pytest.raises(ValueError, match="frozen"):
        job.service = 5  # type: ignore[misc]
    changed = job.model_copy(update={"service": 5})
    assert changed.service == 5
    assert job.service == 180


def test_station_job_uses_station_location(small_problem: Problem) -> None:
    """A pickup-station order is served at its station's location."""
    job = next(j for j in small_problem.jobs if j.station is not None)
    assert small_problem.job_location(job) == small_problem.stations[0].location


def test_drop_penalty_grows_with_priority() -> None:
    """Without an explicit penalty, higher priority costs more to drop."""
    loc = {"lat": 37.5, "lon": 127.0}
    low = Job(id="a", location=loc, demand=(1,), priority=0)  # type: ignore[arg-type]
    high = Job(id="b", location=loc, demand=(1,), priority=90)  # type: ignore[arg-type]
    explicit = Job(id="c", location=loc, demand=(1,), penalty=7.0)  # type: ignore[arg-type]
    assert (
        high.drop_penalty_in(DEFAULT_LOCALE) > low.drop_penalty_in(DEFAULT_LOCALE) > 0
    )
    assert explicit.drop_penalty_in(DEFAULT_LOCALE) == 7.0
    assert low.service_level is ServiceLevel.NEXT_DAY


def test_window_accepts_pairs_and_clock_strings() -> None:
    """Windows read as objects, VROOM pairs, or HH:MM strings past midnight."""
    assert TimeWindow.model_validate([60, 120]) == TimeWindow(start=60, end=120)
    assert TimeWindow.model_validate(["23:30", "25:00"]) == TimeWindow(
        start=23 * 3600 + 1800, end=25 * 3600
    )


def test_an_empty_fleet_is_a_valid_problem() -> None:
    """No vehicles is valid (a day with no van left); dimensions come from orders."""
    data = small_problem_json()
    data["vehicles"] = []
    problem = parse_model(Problem, data, "problem.json")
    assert problem.vehicles == ()
    assert problem.n_dims == len(problem.jobs[0].demand)
    again = Problem.model_validate(problem.model_dump(mode="json"))
    assert again == problem


def test_an_empty_fleet_still_checks_demand_dimensions() -> None:
    """Without vehicles, orders must agree with the first order's dimensions."""
    data = small_problem_json()
    data["vehicles"] = []
    data["jobs"][1]["demand"] = [*data["jobs"][0]["demand"], 1]
    with pytest.raises(InputError) as info:
        parse_model(Problem, data, "problem.json")
    assert "jobs[1].demand" in str(info.value)
    assert "the first order has" in str(info.value)
