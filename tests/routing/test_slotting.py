"""Delivery slots at checkout: availability, marginal cost and bookings."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli.live import slots_command
from routing.io import plan_to_json, problem_to_json, write_json
from routing.model import Job, Location, Problem, TimeWindow
from routing.plan import Plan, StepType
from routing.reoptimise import reoptimise, state_as_planned
from routing.slotting import (
    SlotBook,
    SlotConfig,
    SlotKind,
    SlotReason,
    SlotUnavailableError,
)
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from routing.units import HOUR
from scenarios.city import City, build_city, day_problem

TRAVEL = HaversineTravel()
DAY = date(2024, 2, 1)


@pytest.fixture(scope="module")
def city() -> City:
    """A small embedded city to draw addresses from."""
    return build_city(seed=11, n_customers=500, end=date(2024, 1, 31))


def _day(city: City, seed: int, n_orders: int = 30) -> tuple[Problem, Plan]:
    problem = day_problem(city, DAY, n_orders=n_orders, seed=seed, vehicles_per_depot=1)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=1.0))
    assert check(problem, plan, TRAVEL).ok
    return problem, plan


@pytest.fixture(scope="module")
def day(city: City) -> tuple[Problem, Plan]:
    """A 30-order day with one day van per depot, and its plan."""
    return _day(city, seed=2)


def _addresses(city: City, seed: int) -> list[Location]:
    rng = random.Random(seed)
    rows = city.customers.sample(frac=1.0, random_state=seed)
    out = [Location(lat=float(r.lat), lon=float(r.lon)) for r in rows.itertuples()]
    rng.shuffle(out)
    return out


def _booked_windows_hold(slots: SlotBook, plan: Plan) -> None:
    starts = {
        s.id: s.service_start
        for r in plan.routes
        for s in r.steps
        if s.type == StepType.JOB and s.id is not None
    }
    for oid, booking in slots.bookings.items():
        assert booking.slot.window.contains(starts[oid]), oid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_booking_until_nothing_is_offered_keeps_every_window(
    city: City, seed: int
) -> None:
    """Book offered slots until none is left; the plan and a re-plan keep them all."""
    problem, plan = _day(city, seed)
    slots = SlotBook(problem, plan, TRAVEL)
    rng = random.Random(seed)
    booked_slots: dict[str, int] = {}
    for location in _addresses(city, seed)[:800]:
        offered = [q for q in slots.quote(location, DAY) if q.available]
        if not offered:
            break
        choice = offered[0] if rng.random() < 0.5 else rng.choice(offered)
        slots.book(location, choice.slot.id)
        booked_slots[choice.slot.id] = booked_slots.get(choice.slot.id, 0) + 1
    else:
        pytest.fail("slots never ran out")
    assert len(slots.bookings) >= 20
    assert len(booked_slots) >= 5  # home windows, night and stations all filled
    kept = slots.plan()
    verdict = check(slots.problem, kept, TRAVEL)
    assert verdict.ok, str(verdict)
    _booked_windows_hold(slots, kept)
    # a re-optimisation with an event never drops or moves a booked order out
    state = state_as_planned(slots.problem, kept, 7 * HOUR)
    extra = Job(
        id="late-order",
        location=_addresses(city, seed + 100)[0],
        demand=(1000, 1),
        depot=problem.vehicles[0].start,
        time_windows=(TimeWindow(start=12 * HOUR, end=14 * HOUR),),
    )
    state = state.model_copy(update={"new_orders": (extra,)})
    result = reoptimise(
        slots.problem, state, TRAVEL, params=SolveParams(time_limit=2.0), search=True
    )
    assert check(result.problem, result.plan, TRAVEL).ok
    done = {o for v in state.vehicles for o in v.completed}
    served = {
        s.id for r in result.plan.routes for s in r.steps if s.type == StepType.JOB
    }
    assert set(slots.bookings) - done <= served
    starts = {
        s.id: s.service_start
        for r in result.plan.routes
        for s in r.steps
        if s.type == StepType.JOB
    }
    for oid, booking in slots.bookings.items():
        if oid not in done:
            assert booking.slot.window.contains(starts[oid])


def test_slots_where_a_van_passes_cost_least(day: tuple[Problem, Plan]) -> None:
    """At an address a van already serves, that van's window is offered first."""
    problem, plan = day
    route = max(plan.routes, key=lambda r: r.orders)
    stop = next(
        s for s in route.steps if s.type == StepType.JOB and s.location is not None
    )
    assert stop.location is not None
    slots = SlotBook(problem, plan, TRAVEL)
    quotes = slots.quote(stop.location, DAY)
    home = [q for q in quotes if q.available and q.slot.kind is SlotKind.HOME]
    assert home and quotes[0].available
    assert home[0].marginal_cost is not None
    assert home[0].marginal_cost == min(q.marginal_cost or 0.0 for q in home)
    passing = [q for q in home if q.slot.window.contains(stop.service_start)]
    if passing:
        assert passing[0].marginal_cost == home[0].marginal_cost


def test_cutoff_and_lead_time_close_slots(day: tuple[Problem, Plan]) -> None:
    """Slots close at the cut-off, and one lead time before they open."""
    problem, plan = day
    location = plan.routes[0].steps[1].location
    assert location is not None
    slots = SlotBook(problem, plan, TRAVEL, SlotConfig(cutoff=-2 * HOUR))
    closed = slots.quote(location, DAY, now=-HOUR)  # 23:00 the day before
    assert all(q.reason is SlotReason.CLOSED for q in closed)
    slots = SlotBook(problem, plan, TRAVEL, SlotConfig(lead_time=HOUR))
    by_id = {q.slot.id: q for q in slots.quote(location, DAY, now=10 * HOUR + 1800)}
    assert by_id["09:00-11:00"].reason is SlotReason.CLOSED
    assert by_id["11:00-13:00"].reason is SlotReason.CLOSED
    assert by_id["13:00-15:00"].reason is not SlotReason.CLOSED


def test_night_slot_needs_a_night_van(day: tuple[Problem, Plan]) -> None:
    """Without night vans the night window is offered as not available."""
    problem, plan = day
    day_vans = problem.model_copy(
        update={
            "vehicles": tuple(v for v in problem.vehicles if not v.night),
            "jobs": tuple(j for j in problem.jobs if j.service_level != "night"),
        }
    )
    night_vans = {v.id for v in problem.vehicles if v.night}
    day_plan = plan.model_copy(
        update={
            "routes": tuple(r for r in plan.routes if r.vehicle not in night_vans),
            "unassigned": tuple(
                u for u in plan.unassigned if u.id in {j.id for j in day_vans.jobs}
            ),
        }
    )
    slots = SlotBook(day_vans, day_plan, TRAVEL)
    location = plan.routes[0].steps[1].location
    assert location is not None
    night = next(q for q in slots.quote(location, DAY) if q.slot.id == "night")
    assert not night.available and night.reason is SlotReason.NO_VEHICLE


def test_forecast_buffer_holds_capacity_back(day: tuple[Problem, Plan]) -> None:
    """Expected orders still to come make a slot unavailable before it is full."""
    problem, plan = day
    location = plan.routes[0].steps[1].location
    assert location is not None
    free = {q.slot.id: q for q in SlotBook(problem, plan, TRAVEL).quote(location)}
    assert free["13:00-15:00"].available
    held = SlotBook(problem, plan, TRAVEL, SlotConfig(buffer={"13:00-15:00": 500}))
    quotes = {q.slot.id: q for q in held.quote(location)}
    assert quotes["13:00-15:00"].reason is SlotReason.RESERVED
    assert quotes["15:00-17:00"].available == free["15:00-17:00"].available
    with pytest.raises(SlotUnavailableError):
        held.book(location, "13:00-15:00")


def test_stations_nearby_are_offered(day: tuple[Problem, Plan]) -> None:
    """Pickup stations within the radius are slots; far ones are not."""
    problem, plan = day
    station = problem.stations[0]
    slots = SlotBook(problem, plan, TRAVEL, SlotConfig(station_radius_m=300))
    near = slots.slots(station.location)
    assert f"station:{station.id}" in {s.id for s in near}
    far = Location(lat=37.0, lon=126.0)
    assert not [s for s in slots.slots(far) if s.kind is SlotKind.STATION]
    booking = slots.book(station.location, f"station:{station.id}")
    assert booking.slot.kind is SlotKind.STATION
    assert check(slots.problem, slots.plan(), TRAVEL).ok


def test_bad_bookings_are_refused(day: tuple[Problem, Plan]) -> None:
    """Unknown slot, another day or a taken id: nothing is booked."""
    problem, plan = day
    location = plan.routes[0].steps[1].location
    assert location is not None
    slots = SlotBook(problem, plan, TRAVEL)
    with pytest.raises(KeyError):
        slots.book(location, "07:00-08:00")
    with pytest.raises(ValueError, match="plan is for"):
        slots.quote(location, date(2024, 2, 2))
    with pytest.raises(ValueError, match="already"):
        slots.book(location, "13:00-15:00", order_id=problem.jobs[0].id)
    assert not slots.bookings


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(slots_command)
    return app


def test_cli_quotes_and_books(day: tuple[Problem, Plan], tmp_path: Path) -> None:
    """``milepost slots`` prints the quotes and a booking writes the new plan."""
    problem, plan = day
    write_json(problem_to_json(problem), tmp_path / "day.json")
    write_json(plan_to_json(plan), tmp_path / "plan.json")
    loc = plan.routes[0].steps[1].location
    assert loc is not None and loc.lat is not None and loc.lon is not None
    args = [
        str(tmp_path / "day.json"),
        str(tmp_path / "plan.json"),
        "--lat",
        str(loc.lat),
        "--lon",
        str(loc.lon),
        "--date",
        "2024-02-01",
    ]
    booking = ["--book", "15:00-17:00", "-o", str(tmp_path)]
    done = CliRunner().invoke(_cli(), [*args, *booking])
    assert done.exit_code == 0, done.output
    assert "booked" in done.output
    assert (tmp_path / "plan.booked.json").is_file()
    bad = CliRunner().invoke(_cli(), [*args[:-1], "2024-13-01"])
    assert bad.exit_code == 2
    assert "--date" in bad.output
    naive = CliRunner().invoke(_cli(), [*args, "--now", "2024-02-01T10:00"])
    assert naive.exit_code == 2
    assert "time zone" in naive.output


def test_an_exchange_is_never_offered_a_station(day: tuple[Problem, Plan]) -> None:
    """An exchange is handed over at the door: station slots are closed
    for it (saying why) and a booked exchange is one in the plan."""
    problem, plan = day
    station = problem.stations[0]
    slots = SlotBook(problem, plan, TRAVEL, SlotConfig(station_radius_m=300))
    collect = tuple(1 for _ in range(problem.n_dims))
    quotes = slots.quote(station.location, collect=collect)
    at_station = [q for q in quotes if q.slot.kind == "station"]
    assert at_station and not any(q.available for q in at_station)
    assert all("at the door" in q.detail for q in at_station)
    home = next(q for q in quotes if q.available)
    booking = slots.book(station.location, home.slot.id, collect=collect)
    job = slots.live.orders[booking.order]
    assert job.type == "exchange" and job.collected == collect


def test_slots_on_a_clock_change_day_keep_their_ids_and_read_the_wall(
    day: tuple[Problem, Plan],
) -> None:
    """On US spring-forward day the 13:00-15:00 slot keeps its id and opens at
    13:00 on the wall (12 h elapsed); booking by the quoted id holds that
    window, and the slots table shows the wall clock. On an ordinary day ids
    and windows are the config's readings as before."""
    from rich.console import Console

    from api.cli.live import quotes_table
    from routing.locale import Locale
    from routing.units import wall_clock, wall_to_elapsed

    problem, plan = day
    ny = Locale(timezone="America/New_York", currency="USD", country="US")
    spring, ordinary = date(2026, 3, 8), date(2026, 3, 10)
    location = plan.routes[0].steps[1].location
    assert location is not None
    quoted = {}
    for when in (spring, ordinary):
        moved = problem.model_copy(update={"date": when, "locale": ny})
        slots = SlotBook(moved, plan, TRAVEL)
        quoted[when] = {q.slot.id: q for q in slots.quote(location, when)}
    assert sorted(quoted[spring]) == sorted(quoted[ordinary])
    config = SlotConfig()
    for w in config.windows:
        slot_id = f"{w.start // HOUR:02d}:00-{w.end // HOUR:02d}:00"
        assert quoted[ordinary][slot_id].slot.window == w
        changed = quoted[spring][slot_id].slot.window
        assert (changed.start, changed.end) == (w.start - HOUR, w.end - HOUR)
        assert wall_clock(changed.start, spring, ny.zone) == slot_id[:5]
    assert config.night is not None
    assert quoted[spring]["night"].slot.window.start == wall_to_elapsed(
        config.night.start, spring, ny.zone
    )

    # Booked on a plan made for that day: travel bands start an hour earlier
    # in elapsed time there, so the original day's legs would not re-time.
    moved = problem.model_copy(update={"date": spring, "locale": ny})
    spring_plan = solve(moved, params=SolveParams(engine="pyvrp", time_limit=1.0))
    assert check(moved, spring_plan, TRAVEL).ok
    slots = SlotBook(moved, spring_plan, TRAVEL)
    offered = [
        q
        for q in slots.quote(location, spring)
        if q.available and q.slot.kind is SlotKind.HOME
    ]
    assert offered
    booking = slots.book(location, offered[0].slot.id)
    assert booking.slot.window == offered[0].slot.window
    kept = slots.plan()
    assert check(slots.problem, kept, TRAVEL).ok
    _booked_windows_hold(slots, kept)

    console = Console(width=120, record=True)
    console.print(quotes_table(list(quoted[spring].values()), moved))
    shown = console.export_text()
    eta = next(q.eta for q in quoted[spring].values() if q.eta is not None)
    assert wall_clock(eta, spring, ny.zone) in shown
    assert "13:00-15:00" in shown
