"""Checkout in simulated days: shoppers book the slots the plan can take."""

from __future__ import annotations

from datetime import date

import pytest

from routing.solver import SolveParams
from routing.solver.check import check
from routing.travel import HaversineTravel
from routing.units import HOUR
from scenarios.checkout import checkout, offered_windows
from scenarios.city import City, build_city, day_problem
from scenarios.city.day import ServicePolicy
from scenarios.run import DaySpec, simulate_day

DAY = date(2025, 3, 11)
PARAMS = SolveParams(engine="ortools", time_limit=10.0, seed=0, workers=1, iterations=5)


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(seed=3, n_customers=2_000)


def test_offered_windows_are_back_to_back() -> None:
    assert [
        (w.start // HOUR, w.end // HOUR) for w in offered_windows(ServicePolicy())
    ] == [
        (9, 11),
        (11, 13),
        (13, 15),
        (15, 17),
        (17, 19),
        (19, 21),
    ]
    three = ServicePolicy(window_hours=3, windows_from=9, windows_to=20)
    assert [w.start // HOUR for w in offered_windows(three)] == [9, 12, 15]


@pytest.mark.parametrize("vans", [None, 1])
def test_every_booking_is_kept_inside_its_slot(city: City, vans: int | None) -> None:
    """Booked or left: every shopper; the plan through checkout is feasible."""
    travel = HaversineTravel()
    problem = day_problem(city, DAY, n_orders=150, seed=4, vehicles_per_depot=vans)
    booked = checkout(problem, travel, ServicePolicy(), PARAMS, seed=4)
    shoppers = {
        j.id
        for j in problem.jobs
        if j.type == "delivery"
        and j.location is not None
        and len(j.time_windows) == 1
        and j.service_level.value in ("next_day", "scheduled")
    }
    assert booked.shoppers == len(shoppers)
    kept = {j.id for j in booked.problem.jobs} & shoppers
    assert kept | set(booked.lost) == shoppers and not kept & set(booked.lost)
    assert check(booked.problem, booked.plan, travel).ok
    offered = set(offered_windows(ServicePolicy()))
    served = {s.id for r in booked.plan.routes for s in r.steps}
    for job in booked.problem.jobs:
        if job.id in kept:
            assert job.time_windows[0] in offered
            assert job.id in served  # a promised slot is never dropped


def test_a_small_fleet_offers_fewer_slots(city: City) -> None:
    """One van per depot turns shoppers away that a sized fleet takes."""
    travel = HaversineTravel()

    def run(vans: int | None) -> tuple[int, int]:
        problem = day_problem(city, DAY, n_orders=250, seed=5, vehicles_per_depot=vans)
        booked = checkout(problem, travel, ServicePolicy(), PARAMS, seed=5)
        return booked.first_choice, len(booked.lost)

    (sized_first, sized_lost), (small_first, small_lost) = run(None), run(1)
    assert small_lost > sized_lost
    assert small_first < sized_first


def test_a_quoted_day_is_the_same_on_every_run() -> None:
    spec = DaySpec(
        orders=80,
        seed=2,
        customers=2_000,
        time_limit=10.0,
        iterations=5,
        policy=ServicePolicy(checkout="quoted"),
    )
    first = simulate_day(spec)
    assert first.shoppers > 0 and first.first_choice_rate is not None
    assert first.orders + first.lost_at_checkout == 80
    assert first.model_copy(update={"solve_seconds": 0.0}) == simulate_day(
        spec
    ).model_copy(update={"solve_seconds": 0.0})
