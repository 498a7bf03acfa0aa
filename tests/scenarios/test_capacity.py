"""Capacity planning: nested order sets, monotone fleets, the forecast report."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from routing.model import Problem
from routing.plan import Plan, Reason, Route, Summary, Unassigned
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from scenarios.capacity import (
    CapacityParams,
    depot_orders,
    depot_problem,
    ladder_levels,
    lean_fleet,
    plan_capacity,
    plan_depot_ladder,
    solve_level,
)
from scenarios.city import City, build_city
from scenarios.forecast_report import plan_column, run_forecast_report

DAY = date(2026, 1, 6)
DEPOT = "depot-east"


@pytest.fixture(scope="module")
def city() -> City:
    """A small city (2,000 customer slots) over the default two years."""
    return build_city(seed=0, n_customers=2_000)


def test_ladder_covers_every_demand() -> None:
    """Levels start at the smallest demand, end at the largest, grow by the step."""
    params = CapacityParams(step=0.1, min_step=5)
    levels = ladder_levels([0.0, 41.2, 80.0, 57.5], params)
    assert levels[0] == 42
    assert levels[-1] == 80
    assert all(b - a >= 5 or b == 80 for a, b in itertools.pairwise(levels))
    assert ladder_levels([0.0, 0.0], params) == []


def test_order_sets_are_nested(city: City) -> None:
    """Each level's orders are the first orders of the next level's set."""
    seen: list[Problem] = []

    def recording(problem: Problem, params: SolveParams) -> Plan:
        seen.append(problem)
        return _one_route_per_job(problem)

    plan_depot_ladder(city, DEPOT, [5, 12, 20], day=DAY, solver=recording)
    ids = [[j.id for j in p.jobs] for p in seen]
    assert [len(x) for x in ids] == [5, 12, 20]
    assert ids[1][:5] == ids[0]
    assert ids[2][:12] == ids[1]
    assert all(j.depot == DEPOT for p in seen for j in p.jobs)


def _one_route_per_job(problem: Problem) -> Plan:
    """A fake plan using a made-up, non-monotone number of vans."""
    n = len(problem.jobs)
    vans = {5: 3, 12: 1, 20: 2}[n]
    routes = tuple(
        Route(
            vehicle=f"fake-van-{v}",
            steps=(),
            cost=0.0,
            distance=0,
            duration=0,
            service=0,
            waiting_time=0,
            start=8 * 3600,
            end=8 * 3600 + 3600 * (n + v),
            orders=1,
        )
        for v in range(vans)
    )
    summary = Summary(
        cost=0.0,
        routes=vans,
        orders=n,
        served=n,
        unassigned=0,
        distance=0,
        duration=0,
        service=0,
        waiting_time=0,
        in_window=n,
        late=0,
    )
    return Plan(summary=summary, routes=routes)


def test_vans_are_monotone_by_construction(city: City) -> None:
    """Even if the solver uses fewer vans for more orders, the ladder never does."""
    ladder = plan_depot_ladder(
        city,
        DEPOT,
        [5, 12, 20],
        day=DAY,
        solver=lambda problem, _params: _one_route_per_job(problem),
    )
    vans = [p.vans for p in ladder.plans]
    assert vans == [1, 1, 2]  # the 5-order level reuses the 12-order plan
    assert ladder.plans[0].solved_at == 12
    assert ladder.at(4).orders == 5
    assert ladder.at(12.0).orders == 12
    with pytest.raises(ValueError, match="above the ladder"):
        ladder.at(21)


def test_real_plans_serve_every_order_and_grow_with_demand(city: City) -> None:
    """With the real solver all orders are served; vans never drop as demand grows."""
    levels = [8, 20, 40, 70]
    ladder = plan_depot_ladder(
        city, DEPOT, levels, day=DAY, params=CapacityParams(time_limit=0.3)
    )
    assert [p.orders for p in ladder.plans] == levels
    assert all(p.unassigned == 0 for p in ladder.plans)
    vans = [p.vans + p.night_vans for p in ladder.plans]
    assert vans == sorted(vans)
    assert vans[0] >= 1
    assert vans[-1] > vans[0]
    assert all(p.driver_hours > 0 for p in ladder.plans)


def test_sampled_problem_is_feasible(city: City) -> None:
    """A sampled depot order set solves into a plan the independent checker accepts."""
    jobs = depot_orders(city, DEPOT, DAY, 15, seed=3)
    problem = depot_problem(city, DEPOT, jobs, DAY, day_vans=3, night_vans=1)
    plan = solve(problem, params=SolveParams(time_limit=0.3))
    assert check(problem, plan, HaversineTravel()).ok
    assert not plan.unassigned


def test_plan_capacity_maps_days_to_levels(city: City) -> None:
    """Each depot-day gets the plan of the next level up; closed days need no van."""
    demand = pd.DataFrame(
        {
            "unique_id": ["depot-east"] * 3 + ["depot-west"] * 2,
            "ds": pd.to_datetime(
                ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-05", "2026-01-06"]
            ),
            "orders": [10.2, 0.0, 18.0, 6.0, 7.5],
        }
    )
    fleet = plan_capacity(
        city,
        demand,
        solver=lambda problem, _params: _one_route_per_job_any(problem),
    )
    assert list(fleet.columns) == [
        "depot",
        "ds",
        "orders",
        "planned_orders",
        "vans",
        "night_vans",
        "driver_hours",
        "unassigned",
        "fallback",
    ]
    assert fleet["fallback"].isna().all()  # every plan found as asked
    closed = fleet[fleet["orders"] == 0]
    assert (closed[["vans", "night_vans", "driver_hours"]] == 0).all().all()
    open_ = fleet[fleet["orders"] > 0]
    assert (open_["planned_orders"] >= np.ceil(open_["orders"])).all()
    east = fleet[fleet["depot"] == "depot-east"].set_index("ds")
    assert east.loc["2026-01-07", "vans"] >= east.loc["2026-01-05", "vans"]


def _one_route_per_job_any(problem: Problem) -> Plan:
    """A fake plan with one van per five orders."""
    n = len(problem.jobs)
    vans = -(-n // 5)
    routes = tuple(
        Route(
            vehicle=f"fake-van-{v}",
            steps=(),
            cost=0.0,
            distance=0,
            duration=0,
            service=0,
            waiting_time=0,
            start=0,
            end=3600,
            orders=1,
        )
        for v in range(vans)
    )
    summary = Summary(
        cost=0.0,
        routes=vans,
        orders=n,
        served=n,
        unassigned=0,
        distance=0,
        duration=0,
        service=0,
        waiting_time=0,
        in_window=n,
        late=0,
    )
    return Plan(summary=summary, routes=routes)


@pytest.mark.parametrize(
    ("quantile", "column", "level"),
    [
        (80, "GlobalGBM-hi-60", 60),
        (90, "GlobalGBM-hi-80", 80),
        (50, "GlobalGBM", None),
        (10, "GlobalGBM-lo-80", 80),
    ],
)
def test_plan_quantile_maps_to_an_interval_end(
    quantile: int, column: str, level: int | None
) -> None:
    """P80 is the top of the 60 % interval, P10 the bottom of the 80 % one."""
    assert plan_column(quantile) == (column, level)


def test_plan_quantile_is_validated() -> None:
    """Quantiles outside 1..99 are refused."""
    with pytest.raises(ValueError, match=r"1\.\.99"):
        plan_column(100)


def test_forecast_report_writes_everything(city: City, tmp_path: Path) -> None:
    """The report forecasts every zone, sizes every depot-day and writes its files."""
    report = run_forecast_report(tmp_path, days=7, city=city, time_limit=0.2, seed=0)
    zones = report.zones
    assert zones["unique_id"].nunique() == 25
    assert len(zones) == 25 * 7
    assert (zones["GlobalGBM-lo-80"] <= zones["GlobalGBM"]).all()
    assert (zones["GlobalGBM"] <= zones["GlobalGBM-hi-80"]).all()
    assert report.fleet["depot"].nunique() == 3
    assert len(report.fleet) == 3 * 7
    p80 = report.depots.set_index(["unique_id", "ds"])["GlobalGBM-hi-60"]
    planned = report.fleet.set_index(["depot", "ds"])["orders"]
    np.testing.assert_allclose(
        planned.to_numpy(), p80.reindex(planned.index).to_numpy()
    )
    for path in report.files.values():
        assert path.is_file() and path.stat().st_size > 0
    assert report.files["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forecast_command_prints_zones_and_fleet(tmp_path: Path) -> None:
    """`milepost forecast` prints the zone forecast and the fleet and exits 0."""
    import typer

    from api.cli.forecast import forecast_command

    app = typer.Typer()
    app.command()(forecast_command)
    result = CliRunner().invoke(
        app,
        [
            "--days",
            "3",
            "--customers",
            "1000",
            "--out",
            str(tmp_path),
            "--time-limit",
            "0.2",
            "--zone",
            "Gangnam-gu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Gangnam-gu" in result.output
    assert "depot-east" in result.output
    assert (tmp_path / "forecast.png").is_file()


def test_forecast_command_rejects_unknown_zone(tmp_path: Path) -> None:
    """An unknown --zone exits with code 2 and lists the zones."""
    import typer

    from api.cli.forecast import forecast_command

    app = typer.Typer()
    app.command()(forecast_command)
    result = CliRunner().invoke(
        app,
        [
            "--days",
            "2",
            "--customers",
            "1000",
            "--out",
            str(tmp_path),
            "--time-limit",
            "0.2",
            "--zone",
            "Atlantis",
        ],
    )
    assert result.exit_code == 2
    assert "Atlantis" in result.output


def test_fleet_grows_until_every_order_is_served(city: City) -> None:
    """solve_level adds vans while the solver leaves orders out."""
    jobs = depot_orders(city, DEPOT, DAY, 30, seed=1)
    fleets: list[int] = []

    def needs_four(problem: Problem, params: SolveParams) -> Plan:
        day_vans = [v for v in problem.vehicles if not v.night]
        fleets.append(len(day_vans))
        plan = _one_route_per_job_any(problem)
        if len(day_vans) >= 4:
            return plan
        left = tuple(
            Unassigned(id=j.id, reason=Reason.DROPPED, detail="no van")
            for j in problem.jobs
            if j.service_level.value != "night"
        )
        return plan.model_copy(update={"unassigned": left})

    level = solve_level(city, DEPOT, jobs, DAY, SolveParams(), solver=needs_four)
    assert level.unassigned == 0
    assert fleets[0] == lean_fleet(jobs)[0]
    assert fleets[-1] >= 4
    assert fleets == sorted(fleets)
