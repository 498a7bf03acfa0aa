"""A broken-down van's parcels rescued, shipments re-inserted, breaks taken,
fixed stops reported (issue #17 items 1 and 2)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli.live import reoptimize_command
from routing.io import InputError, plan_to_json, problem_to_json, write_json
from routing.model import Problem, Shipment, TimeWindow
from routing.plan import Plan, Reason, StepType
from routing.reoptimise import (
    DEPOT_RETURN,
    ExecutionState,
    Reoptimisation,
    VehicleProgress,
    compare_rescue,
    reoptimise,
    rest_of_day,
    state_as_planned,
)
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem
from tests.routing.test_reoptimise_properties import planned_day

TRAVEL = HaversineTravel()
DAY = date(2024, 2, 1)
REPAIR = SolveParams(time_limit=0.1, iterations=30)
NOON = 12 * 3600


@pytest.fixture(scope="module")
def day() -> tuple[Problem, Plan]:
    """A 70-order city day and a checked plan of it."""
    city = build_city(seed=3, n_customers=400, end=date(2024, 1, 31))
    problem = day_problem(city, DAY, n_orders=70, seed=3)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=2.0))
    assert check(problem, plan, TRAVEL).ok
    return problem, plan


def _on_board(plan: Plan, problem: Problem, vs: VehicleProgress) -> list[str]:
    """Deliveries of a van on the road it has not made yet."""
    route = plan.route_of(vs.vehicle)
    assert route is not None
    deliveries = {j.id for j in problem.jobs if j.type == "delivery"}
    return [
        s.id
        for s in route.steps
        if s.type == StepType.JOB and s.id in deliveries and s.id not in vs.completed
    ]


@pytest.fixture(scope="module")
def breakdown(day: tuple[Problem, Plan]) -> tuple[ExecutionState, VehicleProgress]:
    """The day at noon, the van with the most parcels on board broken down."""
    problem, plan = day
    state = state_as_planned(problem, plan, NOON)
    van = max(state.vehicles, key=lambda v: len(_on_board(plan, problem, v)))
    assert len(_on_board(plan, problem, van)) >= 5
    return state.model_copy(update={"unavailable": (van.vehicle,)}), van


def _steps(result: Reoptimisation, oid: str) -> tuple[str, list[tuple[StepType, int]]]:
    for r in result.plan.routes:
        found = [(s.type, s.service_start) for s in r.steps if s.id == oid]
        if found:
            return r.vehicle, found
    return "", []


def _accounted(
    result: Reoptimisation, parcels: list[str], broken: str
) -> tuple[list[str], list[str]]:
    """Every parcel is delivered by another van or listed with the reason."""
    left = {u.id: u for u in result.plan.unassigned}
    delivered, listed = [], []
    for oid in parcels:
        vid, steps = _steps(result, oid)
        if steps:
            assert vid != broken
            delivered.append(oid)
        else:
            assert left[oid].reason is Reason.DEPOT
            assert broken in left[oid].detail
            listed.append(oid)
    return delivered, listed


@pytest.mark.parametrize("search", [False, True], ids=["repair", "search"])
def test_transfer_hands_the_parcels_to_a_van_at_the_breakdown(
    day: tuple[Problem, Plan],
    breakdown: tuple[ExecutionState, VehicleProgress],
    search: bool,
) -> None:
    """Transfer: each parcel is fetched at the broken van's position from now
    on and delivered after, by the same van; the checker proves loads and
    precedence; a parcel no van can fetch is listed with the reason."""
    problem, plan = day
    state, van = breakdown
    state = state.model_copy(update={"rescue": {van.vehicle: "transfer"}})
    result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=search)
    assert check(result.problem, result.plan, TRAVEL).ok
    parcels = _on_board(plan, problem, van)
    delivered, listed = _accounted(result, parcels, van.vehicle)
    assert len(delivered) >= len(parcels) // 2
    shipments = {s.id: s for s in result.problem.shipments}
    for oid in delivered:
        assert shipments[oid].pickup.location == van.position
        _, steps = _steps(result, oid)
        assert [t for t, _ in steps] == [StepType.PICKUP, StepType.DELIVERY]
        assert NOON <= steps[0][1] <= steps[1][1]
    rescued = {r.order: r for r in result.changes.rescued}
    assert set(rescued) == set(parcels)
    assert all(rescued[o].how == "transfer" for o in parcels)
    assert {o for o in parcels if rescued[o].by is None} == set(listed)


def test_depot_rescue_replans_the_parcels_once_back_in_stock(
    day: tuple[Problem, Plan], breakdown: tuple[ExecutionState, VehicleProgress]
) -> None:
    """Depot: the parcels are loaded at the van's depot no earlier than
    they are back in stock, by a van of the day, or listed with the reason."""
    problem, plan = day
    state, van = breakdown
    back = NOON + 3600
    state = state.model_copy(
        update={"rescue": {van.vehicle: "depot"}, "returned_at": {van.vehicle: back}}
    )
    result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=False)
    assert check(result.problem, result.plan, TRAVEL).ok
    parcels = _on_board(plan, problem, van)
    delivered, _ = _accounted(result, parcels, van.vehicle)
    assert delivered
    broken = next(v for v in problem.vehicles if v.id == van.vehicle)
    assert broken.start is not None
    depot = problem.depot(broken.start).location
    for oid in delivered:
        _, steps = _steps(result, oid)
        pickup = next(s for s in result.problem.shipments if s.id == oid).pickup
        assert pickup.location == depot
        assert steps[0][0] == StepType.PICKUP and steps[0][1] >= back


def test_depot_is_the_default_and_back_in_stock_after_the_stated_delay(
    day: tuple[Problem, Plan], breakdown: tuple[ExecutionState, VehicleProgress]
) -> None:
    """Without a choice the parcels go back to the depot, in stock
    DEPOT_RETURN seconds after now."""
    problem, plan = day
    state, van = breakdown
    rest = rest_of_day(problem, state)
    parcels = _on_board(plan, problem, van)
    assert {o: how for o, (_, how) in rest.rescued.items()} == dict.fromkeys(
        parcels, "depot"
    )
    shipments = {s.id: s for s in rest.problem.shipments}
    for oid in parcels:
        windows = shipments[oid].pickup.time_windows
        assert windows[0].start == max(NOON, van.time) + DEPOT_RETURN


def test_compare_plans_both_choices_with_their_costs(
    day: tuple[Problem, Plan], breakdown: tuple[ExecutionState, VehicleProgress]
) -> None:
    """Both choices are planned; each option's numbers are its plan's."""
    problem, plan = day
    state, van = breakdown
    options = compare_rescue(problem, state, TRAVEL, params=REPAIR, search=False)
    assert [o.rescue for o in options] == ["transfer", "depot"]
    parcels = _on_board(plan, problem, van)
    for option in options:
        result = option.result
        assert check(result.problem, result.plan, TRAVEL).ok
        assert option.cost == result.plan.summary.cost
        assert option.served == result.plan.summary.served
        assert option.late == result.plan.summary.late
        assert option.parcels == len(parcels)
        assert option.delivered == len(_accounted(result, parcels, van.vehicle)[0])
        assert all(r.how == option.rescue for r in result.changes.rescued)


def test_rescue_choices_must_name_unavailable_vans(
    day: tuple[Problem, Plan],
) -> None:
    """A rescue for a van that is not broken down is refused with the field."""
    problem, plan = day
    state = state_as_planned(problem, plan, NOON)
    vid = problem.vehicles[0].id
    bad = state.model_copy(
        update={"rescue": {vid: "transfer"}, "returned_at": {vid: NOON}}
    )
    with pytest.raises(InputError) as err:
        reoptimise(problem, bad, TRAVEL, params=REPAIR)
    assert any(line.startswith(f"rescue.{vid}:") for line in err.value.lines)
    assert any(line.startswith(f"returned_at.{vid}:") for line in err.value.lines)
    with pytest.raises(InputError):
        compare_rescue(problem, state, TRAVEL, params=REPAIR)


def test_breaks_taken_are_read_not_inferred() -> None:
    """A van's own record of its breaks wins over the plan's times: a break
    planned later but taken is gone; one planned earlier but not taken
    stays while its window is open."""
    problem, plan = planned_day(0)
    route = next(
        r for r in plan.routes if sum(s.type == StepType.BREAK for s in r.steps) >= 1
    )
    lunch = next(s for s in route.steps if s.type == StepType.BREAK)
    assert lunch.id is not None
    for now, taken, expect in (
        (lunch.service_start - 600, (lunch.id,), False),  # planned later, taken
        (lunch.service_start + 60, (), True),  # planned earlier, not taken
    ):
        state = state_as_planned(problem, plan, now)
        vans = tuple(
            v.model_copy(update={"breaks_taken": taken})
            if v.vehicle == route.vehicle
            else v
            for v in state.vehicles
        )
        state = state.model_copy(update={"vehicles": vans})
        rest = rest_of_day(problem, state)
        van = next(v for v in rest.problem.vehicles if v.id == route.vehicle)
        assert (lunch.id in {b.id for b in van.breaks}) is expect
        result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=False)
        assert check(result.problem, result.plan, TRAVEL).ok


def test_unknown_breaks_taken_are_refused() -> None:
    problem, plan = planned_day(0)
    state = state_as_planned(problem, plan, NOON)
    vs = state.vehicles[0].model_copy(update={"breaks_taken": ("siesta",)})
    state = state.model_copy(update={"vehicles": (vs, *state.vehicles[1:])})
    with pytest.raises(InputError) as err:
        rest_of_day(problem, state)
    assert "vehicles[0].breaks_taken[0]" in "\n".join(err.value.lines)


def test_a_shipment_left_out_is_reinserted_by_the_repair() -> None:
    """A shipment off every route (left out before) goes back in, both ends
    on one van, pickup first, when something happened."""
    problem, plan = planned_day(1)
    served = {oid for r in plan.routes for oid in r.order_ids}
    shipment = next(s for s in problem.shipments if s.id in served)
    route = next(r for r in plan.routes if shipment.id in r.order_ids)
    without = [s for s in route.steps if s.id != shipment.id]
    stripped = plan.model_copy(
        update={
            "routes": tuple(
                r.model_copy(update={"steps": tuple(without)})
                if r.vehicle == route.vehicle
                else r
                for r in plan.routes
            ),
            "unassigned": (
                *plan.unassigned,
                plan.unassigned[0].model_copy(update={"id": shipment.id})
                if plan.unassigned
                else _left(shipment),
            ),
        }
    )
    other = next(o for o in problem.jobs if o.id not in (shipment.id,))
    state = ExecutionState(time=6 * 3600, plan=stripped, cancelled=(other.id,))
    result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=False)
    assert check(result.problem, result.plan, TRAVEL).ok
    _, steps = _steps(result, shipment.id)
    assert [t for t, _ in steps] == [StepType.PICKUP, StepType.DELIVERY]
    assert result.source == "repair"


def _left(shipment: Shipment) -> object:
    from routing.plan import Unassigned

    return Unassigned(id=shipment.id, reason=Reason.DROPPED, detail="left out")


def test_fixed_counts_the_committed_leading_visits(
    day: tuple[Problem, Plan],
) -> None:
    """Each van with a committed stop reports how many leading visits are
    fixed: the stop and the breaks before it; the route starts with them."""
    problem, plan = day
    state = state_as_planned(problem, plan, NOON)
    cancelled = next(o for r in plan.routes for o in r.order_ids[-1:])
    state = state.model_copy(update={"cancelled": (cancelled,)})
    result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=False)
    assert result.fixed
    assert set(result.fixed) == set(result.committed)
    for vid, n in result.fixed.items():
        route = result.plan.route_of(vid)
        assert route is not None
        lead = route.steps[1 : 1 + n]
        assert lead[-1].id == result.committed[vid]
        assert all(s.type == StepType.BREAK for s in lead[:-1])


def test_cli_breakdown_with_each_rescue_and_the_comparison(
    day: tuple[Problem, Plan],
    breakdown: tuple[ExecutionState, VehicleProgress],
    tmp_path: Path,
) -> None:
    """``milepost reoptimize --breakdown VAN --rescue transfer|depot|compare``
    writes the chosen plan, or every option with its cost; a bad choice or
    an unknown van exits 2 naming the option."""
    problem, plan = day
    _, van = breakdown
    write_json(problem_to_json(problem), tmp_path / "day.json")
    write_json(plan_to_json(plan), tmp_path / "plan.json")
    write_json({"time": "12:00"}, tmp_path / "state.json")
    app = typer.Typer()
    app.command()(reoptimize_command)
    args = [str(tmp_path / "day.json"), str(tmp_path / "state.json")]
    args += ["--plan", str(tmp_path / "plan.json"), "--time-limit", "0"]
    args += ["--breakdown", van.vehicle]
    parcels = set(_on_board(plan, problem, van))
    for how in ("transfer", "depot"):
        target = tmp_path / f"{how}.json"
        done = CliRunner().invoke(app, [*args, "--rescue", how, "-o", str(target)])
        assert done.exit_code == 0, done.output
        assert "checker: feasible" in done.output
        out = json.loads(target.read_text())
        rescued = out["changes"]["rescued"]
        assert {r["order"] for r in rescued} == parcels
        assert {r["how"] for r in rescued} == {how}
        assert out["fixed"] == out["changes"]["fixed"]
    target = tmp_path / "compare.json"
    done = CliRunner().invoke(app, [*args, "--rescue", "compare", "-o", str(target)])
    assert done.exit_code == 0, done.output
    assert "Rescue options" in done.output
    options = json.loads(target.read_text())["options"]
    assert [o["rescue"] for o in options] == ["transfer", "depot"]
    for o in options:
        summary = o["result"]["plan"]["summary"]
        assert (o["cost"], o["served"]) == (summary["cost"], summary["served"])
        assert o["parcels"] == len(parcels)
    bad = CliRunner().invoke(app, [*args, "--rescue", "tow"])
    assert bad.exit_code == 2 and "--rescue" in bad.output
    ghost = CliRunner().invoke(app, [*args, "--breakdown", "ghost"])
    assert ghost.exit_code == 2 and "--breakdown" in ghost.output


def test_a_changed_shipment_off_its_window_is_moved_whole() -> None:
    """A shipment changed so that its planned pickup is too late comes off
    its route and goes back in whole: both ends on one van, the pickup
    first and inside the new window (or it is listed with the reason)."""
    problem, plan = planned_day(2)
    served = {oid: r for r in plan.routes for oid in r.order_ids}
    shipment = next(s for s in problem.shipments if s.id in served)
    route = served[shipment.id]
    pickup = next(
        s for s in route.steps if s.id == shipment.id and s.type == StepType.PICKUP
    )
    now = 6 * 3600
    lo = min(8 * 3600, pickup.service_start - 2 * 3600)
    window = TimeWindow(start=lo, end=pickup.service_start - 1800)
    changed = shipment.model_copy(
        update={
            "pickup": shipment.pickup.model_copy(update={"time_windows": (window,)})
        }
    )
    state = state_as_planned(problem, plan, now).model_copy(
        update={"changed": (changed,)}
    )
    result = reoptimise(problem, state, TRAVEL, params=REPAIR, search=False)
    assert check(result.problem, result.plan, TRAVEL).ok
    _, steps = _steps(result, shipment.id)
    if steps:
        assert [t for t, _ in steps] == [StepType.PICKUP, StepType.DELIVERY]
        assert window.start <= steps[0][1] <= window.end
    else:
        left = {u.id: u for u in result.plan.unassigned}
        assert left[shipment.id].detail
