"""Service policies, fleets and road disruptions of simulated days."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from pydantic import ValidationError

from routing.model import Location, Problem, ServiceLevel, TimeWindow
from routing.travel import HaversineTravel
from routing.units import HOUR
from scenarios.city import City, build_city, day_problem
from scenarios.city.day import DAY_MIX, ServicePolicy
from scenarios.city.geography import DISTRICTS
from scenarios.disruption import ZonedTravel, ZoneSlowdown, district_of
from scenarios.run import DaySpec, _execution, simulate_day

DAY = date(2025, 3, 11)
N = 1_500


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(seed=7, n_customers=5_000)


def _district(city: City, problem: Problem) -> dict[str, str]:
    """``{job id: district of its customer}``."""
    frame = city.customers
    where = dict(
        zip(
            frame["customer_id"].astype(str), frame["district"].astype(str), strict=True
        )
    )
    return {j.id: where[str(j.customer_id)] for j in problem.jobs}


def _share(problem: Problem, level: ServiceLevel) -> float:
    return sum(j.service_level is level for j in problem.jobs) / len(problem.jobs)


def test_the_default_policy_is_the_city_as_it_was(city: City) -> None:
    """No policy and the default policy draw the very same day."""
    assert ServicePolicy().mix() == pytest.approx(DAY_MIX)
    plain = day_problem(city, DAY, n_orders=300, seed=2)
    assert plain == day_problem(city, DAY, n_orders=300, seed=2, policy=ServicePolicy())


def test_night_delivery_only_where_it_is_offered(city: City) -> None:
    """Outside the night districts, would-be night orders come next day."""
    offered = ("Gangnam-gu", "Seocho-gu", "Songpa-gu")
    everywhere = day_problem(city, DAY, n_orders=N, seed=3)
    some = day_problem(
        city, DAY, n_orders=N, seed=3, policy=ServicePolicy(night_districts=offered)
    )
    where = _district(city, some)
    night = [j for j in some.jobs if j.service_level is ServiceLevel.NIGHT]
    assert night and all(where[j.id] in offered for j in night)
    assert len(night) < _share(everywhere, ServiceLevel.NIGHT) * N

    # Fewer night orders need fewer night vans.
    def night_vans(p: Problem) -> int:
        return sum(v.night for v in p.vehicles)

    assert night_vans(some) < night_vans(everywhere)


def test_a_later_cutoff_takes_more_same_day_orders_into_later_windows(
    city: City,
) -> None:
    """Cut-off 16:00: more same-day orders, every window from 18:00."""
    early = day_problem(city, DAY, n_orders=N, seed=4)
    late = day_problem(
        city, DAY, n_orders=N, seed=4, policy=ServicePolicy(same_day_cutoff=16)
    )
    assert _share(late, ServiceLevel.SAME_DAY) > _share(early, ServiceLevel.SAME_DAY)
    for job in late.jobs:
        if job.service_level is ServiceLevel.SAME_DAY:
            assert all(w.start >= 18 * HOUR for w in job.time_windows)


def test_window_length_and_hours_follow_the_policy(city: City) -> None:
    """Three-hour windows between 10:00 and 20:00 for home deliveries."""
    policy = ServicePolicy(window_hours=3, windows_from=10, windows_to=20)
    problem = day_problem(city, DAY, n_orders=600, seed=5, policy=policy)
    home = [
        j
        for j in problem.jobs
        if j.service_level in (ServiceLevel.NEXT_DAY, ServiceLevel.SCHEDULED)
    ]
    windows = [w for j in home for w in j.time_windows]
    assert windows
    assert {w.end - w.start for w in windows} == {3 * HOUR}
    assert min(w.start for w in windows) >= 10 * HOUR
    assert max(w.end for w in windows) <= 20 * HOUR


def test_pickup_station_share(city: City) -> None:
    """A 30% station share sends about 30% of orders to stations."""
    policy = ServicePolicy(pickup_station_share=0.3)
    problem = day_problem(city, DAY, n_orders=N, seed=6, policy=policy)
    assert 0.26 < _share(problem, ServiceLevel.PICKUP_STATION) < 0.34


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"night_districts": ["Atlantis-gu"]}, "unknown district 'Atlantis-gu'"),
        ({"window_hours": 6, "windows_from": 16}, "does not fit"),
        ({"same_day_cutoff": 18, "window_hours": 3}, "leave no 3-hour window"),
        ({"pickup_station_share": 0.9}, "less than or equal to 0.5"),
    ],
)
def test_a_bad_policy_says_why(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ServicePolicy.model_validate(fields)


def test_fleet_shifts_and_night_vans(city: City) -> None:
    """Three shifts spread over six vans; night vans fixed at one per depot."""
    shifts = tuple(
        TimeWindow(start=a * HOUR, end=b * HOUR)
        for a, b in ((7, 15), (10, 18), (13, 21))
    )
    problem = day_problem(
        city,
        DAY,
        n_orders=300,
        seed=2,
        vehicles_per_depot=6,
        night_vehicles_per_depot=1,
        shifts=shifts,
    )
    for depot in problem.depots:
        day = [v for v in problem.vehicles if v.start == depot.id and not v.night]
        night = [v for v in problem.vehicles if v.start == depot.id and v.night]
        assert Counter(v.shift for v in day) == dict.fromkeys(shifts, 2)
        assert len(night) == 1


# -- the road -------------------------------------------------------------------

MAPO = Location(lat=37.5663, lon=126.9019)  # Mapo-gu
SONGPA = Location(lat=37.5145, lon=127.1059)  # Songpa-gu
GANGDONG = Location(lat=37.5301, lon=127.1238)  # Gangdong-gu


def test_a_zone_slowdown_lengthens_only_its_legs_in_its_hours() -> None:
    base = HaversineTravel()
    slow = ZonedTravel(
        base, (ZoneSlowdown(districts=("Mapo-gu",), hours=(17, 20), multiplier=2.0),)
    )
    assert district_of([MAPO, SONGPA]) == ["Mapo-gu", "Songpa-gu"]
    points = [MAPO, SONGPA, GANGDONG]
    at_six = 18 * HOUR
    plain, slowed = (
        base.matrix(points, depart=at_six),
        slow.matrix(points, depart=at_six),
    )
    # Legs from or to Mapo twice as long; Songpa-Gangdong untouched.
    assert slowed.durations[0, 1] == pytest.approx(2 * plain.durations[0, 1], abs=1)
    assert slowed.durations[2, 0] == pytest.approx(2 * plain.durations[2, 0], abs=1)
    assert slowed.durations[1, 2] == plain.durations[1, 2]
    assert (slowed.distances == plain.distances).all()
    at_noon = 12 * HOUR
    assert (
        slow.matrix(points, depart=at_noon).durations
        == base.matrix(points, depart=at_noon).durations
    ).all()
    # The slowdown's edges are bands, so time-dependent planning sees them.
    assert {17 * HOUR, 20 * HOUR} <= set(slow.band_starts)


def test_a_slowdown_of_the_night_after() -> None:
    """Hours past 24 are the night after: 01:00 is inside (24, 27)."""
    slow = ZonedTravel(
        HaversineTravel(),
        (ZoneSlowdown(districts=("Mapo-gu",), hours=(24, 27), multiplier=3.0),),
    )
    plain = HaversineTravel().matrix([MAPO, SONGPA], depart=HOUR)
    assert slow.matrix([MAPO, SONGPA], depart=HOUR).durations[0, 1] == pytest.approx(
        3 * plain.durations[0, 1], abs=1
    )


def test_bad_slowdowns_say_why() -> None:
    with pytest.raises(ValidationError, match=r"within 0\.\.31"):
        ZoneSlowdown(districts=("Mapo-gu",), hours=(20, 17), multiplier=2.0)
    with pytest.raises(ValidationError, match="unknown district"):
        ZoneSlowdown(districts=("mapo",), multiplier=2.0)


def test_snow_fails_more_attempts_and_slows_the_door() -> None:
    clear, snow = _execution("clear"), _execution("snow")
    assert snow.failure_rate > clear.failure_rate
    assert snow.incident_share > clear.incident_share
    assert snow.service_factor > clear.service_factor == 1.0


def test_an_unforeseen_slowdown_hurts_more_than_a_foreseen_one() -> None:
    """The whole city at x2.5 all day and night, told to the planner or not."""
    everywhere = tuple(d.name for d in DISTRICTS)

    def day(foreseen: bool) -> DaySpec:
        slowdown = ZoneSlowdown(
            districts=everywhere, hours=(0, 31), multiplier=2.5, foreseen=foreseen
        )
        return DaySpec(
            orders=80,
            seed=2,
            customers=2_000,
            time_limit=2.0,
            iterations=5,
            slowdowns=(slowdown,),
        )

    told, untold = simulate_day(day(True)), simulate_day(day(False))
    assert told.eta_mae_minutes is not None and untold.eta_mae_minutes is not None
    # The planner that knows plans around it and its ETAs know it too.
    assert untold.eta_mae_minutes > told.eta_mae_minutes
    assert (untold.on_time_rate or 0.0) < (told.on_time_rate or 0.0)


def test_a_fleet_booked_on_the_forecast(city: City) -> None:
    """Sized for 600 orders, a 300-order day has the 600-order day's vans."""

    def vans(p: Problem) -> int:
        return len(p.vehicles)

    small = day_problem(city, DAY, n_orders=300, seed=8)
    booked = day_problem(city, DAY, n_orders=300, seed=8, planned_orders=600)
    big = day_problem(city, DAY, n_orders=600, seed=8)
    assert [j.id for j in booked.jobs] == [j.id for j in small.jobs]
    assert vans(small) < vans(booked)
    assert abs(vans(booked) - vans(big)) <= 2
