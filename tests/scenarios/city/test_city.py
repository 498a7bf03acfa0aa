"""The embedded synthetic Seoul: geography, history, ground truth, day problems."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasting.calendar import DEFAULT_EVENTS
from forecasting.exog import CLOSURE_COLUMN, HOLIDAY_COLUMN, on_event
from routing.model import Job, Location, Problem, ServiceLevel
from routing.units import DAY, haversine_m, kmh_to_mps
from scenarios.city import (
    DISTRICTS,
    HISTORY_COLUMNS,
    METRO_DEPOTS,
    City,
    GroundTruth,
    build_city,
    daily_counts,
    day_problem,
    time_to_next_order,
    with_depots,
)
from scenarios.city.day import STOPS_PER_VAN
from scenarios.city.geography import BBOX, HOME_RADIUS_M

SPEED = kmh_to_mps(25.0)  # urban van speed
DETOUR = 1.3  # road distance over great-circle distance


@pytest.fixture(scope="module")
def city() -> City:
    """A small city (5,000 customer slots) over the default two years."""
    return build_city(seed=7, n_customers=5_000)


@pytest.fixture(scope="module")
def features(city: City) -> pd.DataFrame:
    """The city's daily features indexed by date."""
    return city.features.set_index("ds")


@pytest.fixture(scope="module")
def daily(city: City) -> pd.Series:
    """Orders placed per day, indexed by date."""
    return daily_counts(city.history).set_index("ds")["y"]


def _events(features: pd.DataFrame) -> pd.Series:
    """Whether each day is one of a Korean retail event's days."""
    flags = np.column_stack([on_event(features, n) for n in DEFAULT_EVENTS])
    return pd.Series(flags.any(axis=1), index=features.index)


def _on(features: pd.DataFrame, *names: str) -> pd.Series:
    """Whether each day is one of the named events' days."""
    flags = np.column_stack([on_event(features, n) for n in names])
    return pd.Series(flags.any(axis=1), index=features.index)


def _tiny(seed: int) -> City:
    return build_city(seed=seed, n_customers=300, end=date(2024, 3, 31))


def test_same_seed_gives_the_same_city() -> None:
    """Building twice with one seed gives identical customers and orders."""
    a, b = _tiny(3), _tiny(3)
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert a.promotions == b.promotions


def test_different_seeds_give_different_cities() -> None:
    """Another seed changes the customers and the orders."""
    a, b = _tiny(3), _tiny(4)
    assert not a.customers[["lat", "lon"]].equals(b.customers[["lat", "lon"]])
    assert not a.history.equals(b.history)


def test_history_covers_two_years_daily(city: City, daily: pd.Series) -> None:
    """Every day of 2024-2025 has orders, and nothing falls outside."""
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    assert daily.index.equals(days)
    assert (daily > 0).all()
    assert city.history["ds"].min() == days[0]
    assert city.history["ds"].max() == days[-1]
    assert len(city.features) == len(days)


def test_history_can_be_extended() -> None:
    """``end`` extends the history past the default two years."""
    longer = build_city(seed=1, n_customers=200, end=date(2026, 3, 31))
    assert longer.history["ds"].max() == pd.Timestamp(2026, 3, 31)


def test_order_volume_scales_with_customers(daily: pd.Series) -> None:
    """5,000 slots give about 230 orders a day (the default 40,000: ~1,800)."""
    assert 150 < daily.mean() < 320


def test_seoul_has_25_districts(city: City) -> None:
    """The city has Seoul's 25 districts and orders come from all of them."""
    assert len(city.districts) == 25
    assert city.districts["code"].is_unique
    assert 9_200 < city.districts["population"].sum() < 9_600
    assert city.history["district"].nunique() == 25
    assert city.districts["share"].sum() == pytest.approx(1.0)


def test_customers_live_near_their_district_centroid(city: City) -> None:
    """Homes lie inside Seoul's box, within 2.5 km of their district's centre."""
    customers = city.customers
    south, west, north, east = BBOX
    assert customers["lat"].between(south, north).all()
    assert customers["lon"].between(west, east).all()
    centre = {d.name: (d.lat, d.lon) for d in DISTRICTS}
    sample = customers.sample(300, random_state=0)
    for name, lat, lon in zip(
        sample["district"].astype(str), sample["lat"], sample["lon"], strict=True
    ):
        lat0, lon0 = centre[name]
        assert haversine_m(lat0, lon0, float(lat), float(lon)) <= HOME_RADIUS_M + 1


def test_customers_follow_population(city: City) -> None:
    """Populous districts have proportionally more customers."""
    share = city.customers["district"].value_counts(normalize=True)
    expected = city.districts.set_index("name")["share"]
    np.testing.assert_allclose(share[expected.index], expected, atol=0.01)


def test_depots_and_stations(city: City) -> None:
    """The city has several depots and about eight pickup stations."""
    assert len(city.depots) >= 2
    assert 6 <= len(city.stations) <= 10
    assert city.customers["depot"].nunique() == len(city.depots)


def test_order_rows_are_complete_and_consistent(city: City) -> None:
    """Order rows carry every column, with coherent outcomes."""
    h = city.history
    assert tuple(h.columns) == HISTORY_COLUMNS
    assert h["order_id"].is_unique
    assert not h.isna().any().any()
    assert (h["delivery_date"] >= h["ds"]).all()
    assert (h["window_start"] <= h["window_end"]).all()
    assert ((h["minutes_late"] > 0) == (h["arrival"] > h["window_end"])).all()
    assert ((h["minutes_early"] > 0) == (h["arrival"] < h["window_start"])).all()
    assert set(h["failed_attempts"].unique()) <= {0, 1, 2}
    assert not (h["delay_notice"] & (h["minutes_late"] == 0)).any()
    night = h["service_level"] == ServiceLevel.NIGHT.value
    assert (h.loc[night, "window_start"] == 0).all()
    assert (h.loc[night, "window_end"] == 7 * 3600).all()
    assert set(h["promotion"].unique()) <= {
        "none",
        "seasonal",
        "sign_up",
        "first_purchase",
        "repurchase",
        "limited_time",
    }


def test_service_level_and_outcome_shares(city: City) -> None:
    """Service levels and outcomes occur at the documented rates."""
    h = city.history
    shares = h["service_level"].value_counts(normalize=True)
    for level, share in city.truth.service_level_shares.items():
        assert shares[level] == pytest.approx(share, abs=0.02)
    assert 0.06 < (h["minutes_late"] > 0).mean() < 0.2
    assert 0.03 < (h["failed_attempts"] > 0).mean() < 0.07
    late = h["minutes_late"] > 0
    assert h.loc[late, "delay_notice"].mean() == pytest.approx(0.75, abs=0.05)


def test_nothing_is_delivered_on_closures(city: City, features: pd.DataFrame) -> None:
    """Seollal, Chuseok and the couriers' day off see no deliveries."""
    closed = features.index[features[CLOSURE_COLUMN]]
    assert len(closed) > 10
    assert not city.history["delivery_date"].isin(closed).any()


def test_promotions_raise_demand(city: City, features: pd.DataFrame) -> None:
    """The same city without promotions has fewer orders on campaign days."""
    without = build_city(seed=7, n_customers=5_000, promotions=())
    y_with = daily_counts(city.history).set_index("ds")["y"]
    y_without = daily_counts(without.history).set_index("ds")["y"]
    strong = (features["cal_promo_seasonal"] > 0) | (
        features["cal_promo_limited_time"] > 0
    )
    none = features.filter(like="cal_promo_").sum(axis=1) == 0
    assert y_with[strong].sum() / y_without[strong].sum() > 1.15
    assert y_with[none].sum() / y_without[none].sum() == pytest.approx(1.0, abs=0.03)


def test_holidays_lower_demand(features: pd.DataFrame, daily: pd.Series) -> None:
    """Orders dip on public holidays and collapse during Seollal and Chuseok."""
    events = _events(features)
    promos = features.filter(like="cal_promo_").sum(axis=1) > 0
    holiday = features[HOLIDAY_COLUMN]
    ordinary = daily[~holiday & ~events & ~promos].mean()
    festival = _on(features, "seollal_holidays", "chuseok_holidays")
    assert daily[holiday & ~festival].mean() < 0.9 * ordinary
    assert daily[festival].mean() < 0.5 * ordinary


def test_gift_run_up_raises_demand(features: pd.DataFrame, daily: pd.Series) -> None:
    """The two weeks before Seollal and Chuseok are busier than usual."""
    run_up = _on(features, "seollal_run_up", "chuseok_run_up")
    events = _events(features)
    assert daily[run_up].mean() > 1.15 * daily[~events].mean()


def test_weekly_pattern_matches_truth(city: City, daily: pd.Series) -> None:
    """Mondays are the busiest and Saturdays the quietest order days."""
    by_dow = daily.groupby(pd.DatetimeIndex(daily.index).day_of_week).mean()
    assert by_dow.idxmax() == int(np.argmax(city.truth.weekly))
    assert by_dow.idxmin() == int(np.argmin(city.truth.weekly))


def test_late_deliveries_lengthen_time_to_next_order(city: City) -> None:
    """After a late delivery customers wait longer before ordering again."""
    h = city.history
    gap = time_to_next_order(h)
    clean = (h["failed_attempts"] == 0) & (h["minutes_early"] == 0)
    on_time = gap[clean & (h["minutes_late"] == 0)].mean()
    late = clean & (h["minutes_late"] >= 30)
    late_silent = gap[late & ~h["delay_notice"]].mean()
    late_noticed = gap[late & h["delay_notice"]].mean()
    assert late_silent > 1.2 * on_time
    assert on_time < late_noticed < late_silent


def test_repeated_lateness_drives_churn(city: City) -> None:
    """Customers leave far more often right after a late delivery."""
    h = city.history
    churned = city.customers.set_index("customer_id")["churned"]
    churn_day = churned.reindex(h["customer_id"].astype(str)).to_numpy()
    left_here = churn_day == h["delivery_date"].to_numpy()
    late = (h["minutes_late"] > 0).to_numpy()
    assert left_here[late].mean() > 5 * left_here[~late].mean()


def test_slots_are_refilled_after_churn(city: City) -> None:
    """Churned customers are replaced, so the customer base stays stable."""
    customers = city.customers
    assert customers["churned"].notna().sum() > 100
    joined = customers["since"] > pd.Timestamp(city.start)
    assert joined.sum() > 0.8 * customers["churned"].notna().sum()


def test_ground_truth_is_frozen() -> None:
    """The ground truth cannot be changed after creation."""
    truth = GroundTruth()
    with pytest.raises(dataclasses.FrozenInstanceError):
        truth.lateness_coef = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        truth.events["pepero_day"] = 2.0  # type: ignore[index]


def test_ground_truth_experience_effects() -> None:
    """Lateness hurts concavely, more than earliness helps; notices soften it."""
    truth = GroundTruth()
    assert truth.failed_attempt_effect == 0.07
    assert truth.gap_multiplier(0, failed_attempts=1)[()] == pytest.approx(1.07)
    minutes = np.array([0, 15, 30, 60, 120, 240])
    gap = truth.gap_multiplier(minutes)
    assert np.all(np.diff(gap) > 0)
    assert np.all(np.diff(np.diff(gap) / np.diff(minutes)) < 0)
    late = truth.gap_multiplier(30)[()] - 1.0
    early = 1.0 - truth.gap_multiplier(0, minutes_early=30)[()]
    assert late > 2 * early > 0
    noticed = truth.gap_multiplier(60, delay_notice=True)[()]
    assert np.log(noticed) == pytest.approx(0.5 * np.log(truth.gap_multiplier(60)[()]))
    np.testing.assert_allclose(
        truth.rate_multiplier(minutes) * truth.gap_multiplier(minutes), 1.0
    )


@pytest.mark.parametrize(
    ("late", "count", "expected"),
    [
        (False, 0, 0.002),
        (True, 1, 0.01),
        (True, 2, 0.10),
        (True, 3, 0.35),
        (True, 5, 0.35),
    ],
)
def test_churn_rule(late: bool, count: int, expected: float) -> None:
    """Churn chance rises sharply with late deliveries in the rolling window."""
    p = GroundTruth().churn_probability(late, count)
    assert p[()] == pytest.approx(expected)


def test_demand_multiplier_decomposes(city: City) -> None:
    """The true demand multiplier is the product of its documented parts."""
    truth, f = city.truth, city.features
    assert np.mean(truth.weekly) == pytest.approx(1.0)
    plain = f[
        ~f[HOLIDAY_COLUMN]
        & ~_events(f).to_numpy()
        & (f.filter(like="cal_promo_").sum(axis=1) == 0)
    ]
    ds = plain["ds"].to_numpy()
    dow = plain["ds"].dt.day_of_week.to_numpy()
    expected = np.asarray(truth.weekly)[dow] * truth.yearly(ds) * truth.trend(ds)
    np.testing.assert_allclose(plain["demand"].to_numpy(), expected)
    pepero = f.loc[f["ds"] == pd.Timestamp(2024, 11, 11)].iloc[0]
    assert pepero["cal_to_pepero_day"] == 0 and pepero["cal_to_korea_sale_festa"] == 0


@pytest.mark.parametrize("n_orders", [60, 300, 600])
def test_day_problem_is_valid(city: City, n_orders: int) -> None:
    """day_problem builds a valid Problem with the requested orders."""
    day = date(2025, 3, 11)
    problem = day_problem(city, day, n_orders=n_orders, seed=2)
    assert isinstance(problem, Problem)
    assert problem.date == day
    assert len(problem.jobs) == n_orders
    assert problem.n_dims == 2
    ids = {j.id for j in problem.jobs}
    assert len(ids) == n_orders


def test_day_problem_mixes_service_levels(city: City) -> None:
    """A day holds every service level, returns, stations and night orders."""
    problem = day_problem(city, date(2025, 3, 11), n_orders=400, seed=2)
    levels = Counter(j.service_level for j in problem.jobs)
    assert set(levels) == set(ServiceLevel)
    station_jobs = [j for j in problem.jobs if j.station is not None]
    assert 0.05 < len(station_jobs) / 400 < 0.15
    station_ids = {s.id for s in problem.stations}
    for job in station_jobs:
        assert job.service_level is ServiceLevel.PICKUP_STATION
        assert job.station in station_ids
        assert job.location is None
    assert any(j.type == "pickup" for j in problem.jobs)
    for job in problem.jobs:
        if job.service_level is ServiceLevel.SCHEDULED:
            assert job.scheduled_date == date(2025, 3, 11)
        if job.service_level is ServiceLevel.NIGHT:
            assert all(w.start >= DAY for w in job.time_windows)
        if job.location is not None:
            assert 120 <= job.service <= 240
    windows = Counter(len(j.time_windows) for j in problem.jobs)
    assert windows[0] > 0 and windows[1] > windows[2] > 0


def test_day_problem_fleet_has_slack(city: City) -> None:
    """Each depot's vans cover its orders' stops and load with room to spare."""
    problem = day_problem(city, date(2025, 3, 11), n_orders=500, seed=4)
    night_vans = [v for v in problem.vehicles if v.night]
    assert night_vans
    assert all(v.shift.end > DAY for v in night_vans)
    for depot in problem.depots:
        for night in (False, True):
            jobs = [
                j
                for j in problem.jobs
                if j.depot == depot.id
                and (j.service_level is ServiceLevel.NIGHT) is night
            ]
            vans = [
                v
                for v in problem.vehicles
                if v.start == depot.id and v.end == depot.id and v.night is night
            ]
            if not jobs:
                continue
            assert len(jobs) <= STOPS_PER_VAN * len(vans)
            for dim in range(problem.n_dims):
                demand = sum(j.demand[dim] for j in jobs)
                capacity = sum(v.capacity[dim] for v in vans)
                assert demand <= 0.8 * capacity


def _reachable(problem: Problem, job: Job) -> bool:
    """Whether one van of the job's depot and kind can serve it alone."""
    location = problem.job_location(job)
    depot = problem.depot(job.depot or "")
    assert location.lat is not None and location.lon is not None
    assert depot.location.lat is not None and depot.location.lon is not None
    metres = haversine_m(
        depot.location.lat, depot.location.lon, location.lat, location.lon
    )
    travel = DETOUR * metres / SPEED
    night = job.service_level is ServiceLevel.NIGHT
    for van in problem.vehicles:
        if van.start != job.depot or van.night is not night:
            continue
        windows = job.time_windows or (van.shift,)
        for window in windows:
            arrive = max(van.shift.start + travel, window.start)
            if arrive <= window.end and arrive + job.service + travel <= van.shift.end:
                return True
    return False


def test_day_problem_orders_are_individually_reachable(city: City) -> None:
    """At 25 km/h every order can be served by some van of its depot."""
    problem = day_problem(city, date(2025, 7, 1), n_orders=400, seed=9)
    unreachable = [j.id for j in problem.jobs if not _reachable(problem, j)]
    assert unreachable == []


def test_day_problem_is_deterministic(city: City) -> None:
    """Same seed and day, same problem; another seed, another problem."""
    day = date(2025, 3, 11)
    a = day_problem(city, day, n_orders=100, seed=1)
    assert a == day_problem(city, day, n_orders=100, seed=1)
    assert a != day_problem(city, day, n_orders=100, seed=2)


def test_day_problem_draws_active_customers(city: City) -> None:
    """Orders come from customers who have joined and not yet left."""
    day = date(2025, 3, 11)
    problem = day_problem(city, day, n_orders=200, seed=3)
    customers = city.customers.set_index("customer_id")
    when = pd.Timestamp(day)
    for job in problem.jobs:
        row = customers.loc[job.customer_id]
        assert row["since"] <= when
        assert pd.isna(row["churned"]) or row["churned"] >= when


def test_vehicles_per_depot_fixes_the_day_fleet(city: City) -> None:
    """vehicles_per_depot sets the day vans of every depot."""
    problem = day_problem(
        city, date(2025, 3, 11), n_orders=100, seed=1, vehicles_per_depot=3
    )
    day_vans = Counter(v.start for v in problem.vehicles if not v.night)
    assert day_vans == {d.id: 3 for d in problem.depots}


def _latlon(location: Location | None) -> tuple[float, float]:
    assert location is not None
    assert location.lat is not None and location.lon is not None
    return location.lat, location.lon


def _home_metres(problem: Problem) -> dict[str, float]:
    """Per home order (not a station's): metres from its stop to its depot."""
    hubs = {d.id: _latlon(d.location) for d in problem.depots}
    return {
        j.id: haversine_m(*_latlon(j.location), *hubs[str(j.depot)])
        for j in problem.jobs
        if j.station is None
    }


def test_a_metro_day_is_held_by_the_nearest_of_ten_hubs(city: City) -> None:
    """``with_depots(city, METRO_DEPOTS)``: ten hubs, each with vans, each
    home order held by its nearest, homes much nearer their hub than with
    the three depots."""
    metro = with_depots(city, METRO_DEPOTS)
    when = date(2025, 3, 11)
    problem = day_problem(metro, when, n_orders=2000, seed=1)
    assert len(problem.depots) == 10
    assert {v.start for v in problem.vehicles} == {d.id for d in METRO_DEPOTS}
    hubs = {d.id: _latlon(d.location) for d in problem.depots}
    for job in problem.jobs:
        if job.station is None:
            home = _latlon(job.location)
            assert job.depot == min(hubs, key=lambda d: haversine_m(*home, *hubs[d]))
    three = day_problem(city, when, n_orders=2000, seed=1)
    near, far = _home_metres(problem), _home_metres(three)
    assert np.mean(list(near.values())) < 0.7 * np.mean(list(far.values()))
    with pytest.raises(ValueError, match="unique ids"):
        with_depots(city, [METRO_DEPOTS[0], METRO_DEPOTS[0]])


def test_day_problem_rejects_bad_sizes(city: City) -> None:
    """Zero orders or zero vans per depot are errors."""
    with pytest.raises(ValueError, match="n_orders"):
        day_problem(city, date(2025, 3, 11), n_orders=0, seed=1)
    with pytest.raises(ValueError, match="vehicles_per_depot"):
        day_problem(city, date(2025, 3, 11), n_orders=5, seed=1, vehicles_per_depot=0)


def test_day_after_the_history_uses_remaining_customers(city: City) -> None:
    """A day after the history draws from customers still active at its end."""
    day = city.end + timedelta(days=10)
    problem = day_problem(city, day, n_orders=50, seed=1)
    active = set(city.customers.loc[city.customers["churned"].isna(), "customer_id"])
    assert {j.customer_id for j in problem.jobs} <= active
