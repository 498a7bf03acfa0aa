"""Re-optimising a day in execution: stability, fixed stops, reported changes."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli.live import reoptimize_command
from routing.io import InputError, problem_to_json, write_json
from routing.model import Job, Location, Problem, TimeWindow
from routing.plan import Plan, Reason, StepType
from routing.reoptimise import (
    ExecutionState,
    VehicleProgress,
    insert_urgent,
    reoptimise,
    reoptimise_in_background,
    rest_of_day,
    state_as_planned,
)
from routing.solver import SolveParams, check, solve
from routing.solver.insertion import LivePlan
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem
from tests.factories import grid_problem

TRAVEL = HaversineTravel()
DAY = date(2024, 2, 1)
SEARCH = SolveParams(time_limit=2.0)


@pytest.fixture(scope="module")
def day() -> tuple[Problem, Plan]:
    """A 70-order city day and a checked plan of it."""
    city = build_city(seed=3, n_customers=400, end=date(2024, 1, 31))
    problem = day_problem(city, DAY, n_orders=70, seed=3)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=2.0))
    assert check(problem, plan, TRAVEL).ok
    return problem, plan


def _where(plan: Plan) -> dict[str, tuple[str, int]]:
    return {
        s.id: (r.vehicle, s.service_start)
        for r in plan.routes
        for s in r.steps
        if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
    }


def _first_stop(plan: Plan, vehicle: str) -> str | None:
    route = plan.route_of(vehicle)
    if route is None:
        return None
    return next((s.id for s in route.steps[1:-1] if s.type != StepType.BREAK), None)


def _remaining_on(plan: Plan, vehicle: str, now: int) -> list[str]:
    route = plan.route_of(vehicle)
    assert route is not None
    return [
        s.id
        for s in route.steps
        if s.id is not None and s.type == StepType.JOB and s.departure > now
    ]


@pytest.mark.parametrize("hour", [6, 11, 15, 19, 23])
def test_unchanged_day_keeps_the_plan(day: tuple[Problem, Plan], hour: int) -> None:
    """With nothing new, every remaining stop keeps its van and its time."""
    problem, plan = day
    state = state_as_planned(problem, plan, hour * 3600)
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert result.source == "kept"
    assert check(result.problem, result.plan, TRAVEL).ok
    before = _where(plan)
    after = _where(result.plan)
    done = {o for v in state.vehicles for o in v.completed}
    assert set(after) == set(before) - done
    assert all(after[o] == before[o] for o in after)
    assert not result.changes.moved and not result.changes.eta_shifts
    assert result.changes.stability_cost == 0.0


def _busy_state(problem: Problem, plan: Plan, now: int) -> ExecutionState:
    """The plan at ``now`` plus new, cancelled and changed orders."""
    state = state_as_planned(problem, plan, now)
    on_road = {v.vehicle for v in state.vehicles}
    later = [
        s
        for r in plan.routes
        for s in r.steps
        if s.type == StepType.JOB and s.id is not None and s.departure > now + 3600
    ]
    committed = {v.next for v in state.vehicles}
    free = [s for s in later if s.id not in committed]
    assert len(free) >= 3 and on_road
    depot = problem.vehicles[0].start
    new = tuple(
        Job(
            id=f"new-{k}",
            location=free[k].location,
            demand=(800, 1),
            service=120,
            depot=depot,
            time_windows=(TimeWindow(start=now + 3 * 3600, end=now + 5 * 3600),),
        )
        for k in range(2)
    )
    changed_job = next(j for j in problem.jobs if j.id == free[2].id)
    changed = changed_job.model_copy(update={"service": changed_job.service + 60})
    return state.model_copy(
        update={"new_orders": new, "cancelled": (free[0].id,), "changed": (changed,)}
    )


@pytest.mark.parametrize("hour", [11, 14])
def test_fixed_stops_never_move(day: tuple[Problem, Plan], hour: int) -> None:
    """Completed stops stay done, committed ones first, loaded parcels aboard."""
    problem, plan = day
    now = hour * 3600
    state = _busy_state(problem, plan, now)
    result = reoptimise(problem, state, TRAVEL, params=SEARCH, search=True)
    assert check(result.problem, result.plan, TRAVEL).ok
    served = _where(result.plan)
    done = {o for v in state.vehicles for o in v.completed}
    assert not done & set(served)
    assert not done & {o.id for o in result.problem.orders}
    for vs in state.vehicles:
        if vs.next is not None:
            assert result.committed[vs.vehicle] == vs.next
            assert _first_stop(result.plan, vs.vehicle) == vs.next
        for oid in _remaining_on(plan, vs.vehicle, now):
            job = next(j for j in problem.jobs if j.id == oid)
            if job.type == "delivery" and oid in served:
                assert served[oid][0] == vs.vehicle  # still on the van it is on


def test_changes_are_reported(day: tuple[Problem, Plan]) -> None:
    """New orders show as inserted (or dropped with a reason); cancelled ones go."""
    problem, plan = day
    state = _busy_state(problem, plan, 11 * 3600)
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert result.source in ("repair", "search")
    changes = result.changes
    assert changes.cancelled == state.cancelled
    assert state.cancelled[0] not in _where(result.plan)
    handled = {m.order for m in changes.inserted} | {d.order for d in changes.dropped}
    assert {j.id for j in state.new_orders} <= handled
    assert set(changes.completed) == {o for v in state.vehicles for o in v.completed}
    assert changes.stability_cost >= 0.0


def test_unavailable_van_parcels_go_back_to_the_depot(
    day: tuple[Problem, Plan],
) -> None:
    """By default a broken-down van's loaded parcels go back to its depot and
    are re-planned from there (delivered by another van, or left out with
    the reason); its returns are re-planned."""
    problem, plan = day
    now = 12 * 3600
    state = state_as_planned(problem, plan, now)
    van = max(
        (v for v in state.vehicles if _remaining_on(plan, v.vehicle, now)),
        key=lambda v: len(_remaining_on(plan, v.vehicle, now)),
    )
    state = state.model_copy(update={"unavailable": (van.vehicle,)})
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert check(result.problem, result.plan, TRAVEL).ok
    assert result.plan.route_of(van.vehicle) is None
    dropped = {d.order: d for d in result.changes.dropped}
    served = _where(result.plan)
    rescued = {r.order: r for r in result.changes.rescued}
    jobs = {j.id: j for j in problem.jobs}
    for oid in _remaining_on(plan, van.vehicle, now):
        if jobs[oid].type != "delivery":
            continue
        assert rescued[oid].how == "depot"
        if oid in served:
            assert rescued[oid].by == served[oid][0] != van.vehicle
        else:
            assert dropped[oid].reason is Reason.DEPOT
            assert van.vehicle in dropped[oid].detail


def test_late_committed_stop_is_served_late_not_dropped(
    day: tuple[Problem, Plan],
) -> None:
    """A van far behind still serves the stop it drives to, at a lateness cost."""
    problem, plan = day
    now = 11 * 3600
    state = state_as_planned(problem, plan, now)
    jobs = {j.id: j for j in problem.jobs}
    vs = next(
        v for v in state.vehicles if v.next is not None and jobs[v.next].time_windows
    )
    assert vs.next is not None
    end = jobs[vs.next].time_windows[-1].end
    late = vs.model_copy(update={"time": max(vs.time, end + 1800)})
    state = state.model_copy(
        update={
            "vehicles": tuple(late if v is vs else v for v in state.vehicles),
        }
    )
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert vs.next in result.changes.late_committed
    assert _first_stop(result.plan, vs.vehicle) == vs.next
    assert check(result.problem, result.plan, TRAVEL).ok


def test_bad_state_names_the_field(day: tuple[Problem, Plan]) -> None:
    """An unknown van or a committed stop on another route is a field error."""
    problem, plan = day
    other = plan.routes[1].steps[1].id
    state = ExecutionState(
        time=36_000,
        plan=plan,
        vehicles=(
            VehicleProgress(
                vehicle="ghost", position=Location(lat=37.5, lon=127.0), time=36_000
            ),
            VehicleProgress(
                vehicle=plan.routes[0].vehicle,
                position=Location(lat=37.5, lon=127.0),
                time=36_000,
                next=other,
            ),
        ),
        cancelled=("nope",),
    )
    with pytest.raises(InputError) as err:
        reoptimise(problem, state, TRAVEL)
    text = "\n".join(err.value.lines)
    assert "vehicles[0].vehicle: unknown vehicle 'ghost'" in text
    assert "vehicles[1].next:" in text
    assert "cancelled[0]: unknown order 'nope'" in text


def test_urgent_insertion_is_the_cheapest_feasible_one() -> None:
    """In distance mode the chosen position adds the least distance of all."""
    coords = [(0, 0), (1000, 0), (2000, 0), (2000, 1000), (0, 1000), (1000, 1000)]
    problem = grid_problem(
        coords,
        [{"id": f"j{i}", "at": i, "time_windows": [[0, 50_000]]} for i in (1, 2, 3)],
        [{"id": "a"}, {"id": "b"}],
    )
    plan = solve(problem, params=SolveParams(time_limit=0.5, objective="distance"))
    order = Job(
        id="urgent",
        location=Location(index=5),
        demand=(1,),
        time_windows=(TimeWindow(start=0, end=50_000),),
    )
    result = insert_urgent(plan, problem, order, TRAVEL, objective="distance")
    assert check(result.problem, result.plan, TRAVEL).ok
    assert result.vehicle is not None and result.marginal_cost is not None
    # brute force over every vehicle and position
    live = LivePlan.from_plan(problem, plan, TRAVEL, objective="distance")
    best = None
    for v in range(len(problem.vehicles)):
        base = live.routes[v]
        for pos in range(len(live.visits[v]) + 1):
            keys = list(live.visits[v])
            keys.insert(pos, ("urgent", 0))
            route = live.time_route(v, keys, extra=order)
            added = route.distance - (base.distance if base is not None else 0)
            best = added if best is None else min(best, added)
    assert result.marginal_cost == best
    assert result.plan.summary.distance == plan.summary.distance + best


def test_urgent_insertion_never_goes_before_a_committed_stop(
    day: tuple[Problem, Plan],
) -> None:
    """On a rest-of-day plan the order lands after each van's committed stop."""
    problem, plan = day
    rest = reoptimise(problem, state_as_planned(problem, plan, 11 * 3600), TRAVEL)
    first = {v: _first_stop(rest.plan, v) for v in rest.committed}
    stop = rest.plan.routes[0].steps[1]
    order = Job(
        id="urgent",
        location=stop.location,
        demand=(500, 1),
        time_windows=(TimeWindow(start=11 * 3600, end=20 * 3600),),
    )
    fixed = dict.fromkeys(rest.committed, 1)
    result = insert_urgent(rest.plan, rest.problem, order, TRAVEL, fixed=fixed)
    assert check(result.problem, result.plan, TRAVEL).ok
    assert result.vehicle is not None
    for vehicle, committed in first.items():
        assert _first_stop(result.plan, vehicle) == committed


def test_unservable_urgent_order_is_listed_with_a_reason(
    day: tuple[Problem, Plan],
) -> None:
    """An order no van can carry is unassigned with the reason, not lost."""
    problem, plan = day
    order = Job(
        id="urgent",
        location=Location(lat=37.55, lon=127.0),
        demand=(10**9, 1),
    )
    result = insert_urgent(plan, problem, order, TRAVEL)
    assert result.vehicle is None
    reasons = {u.id: u.reason for u in result.plan.unassigned}
    assert reasons["urgent"] is Reason.CAPACITY
    assert check(result.problem, result.plan, TRAVEL).ok


def test_background_reoptimisation_returns_a_future(
    day: tuple[Problem, Plan],
) -> None:
    """The full re-optimisation can run in another process."""
    problem, plan = day
    state = _busy_state(problem, plan, 11 * 3600)
    future = reoptimise_in_background(
        problem, state, TRAVEL, params=SolveParams(time_limit=1.0)
    )
    result = future.result(timeout=60)
    assert check(result.problem, result.plan, TRAVEL).ok


@pytest.mark.slow
def test_urgent_insertion_on_a_1000_order_day_is_fast() -> None:
    """Cheapest feasible insertion into a 1,000-order plan takes under 1 s."""
    city = build_city(seed=1, n_customers=2_000, end=date(2024, 1, 31))
    problem = day_problem(city, DAY, n_orders=1_000, seed=1)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=20.0))
    stop = plan.routes[0].steps[3]
    order = Job(
        id="urgent",
        location=stop.location,
        demand=(1000, 1),
        time_windows=(TimeWindow(start=14 * 3600, end=16 * 3600),),
    )
    t0 = time.perf_counter()
    result = insert_urgent(plan, problem, order, TRAVEL)
    assert time.perf_counter() - t0 < 1.0
    assert result.vehicle is not None
    assert check(result.problem, result.plan, TRAVEL).ok


def test_cli_reoptimizes_and_rejects_bad_states(
    day: tuple[Problem, Plan], tmp_path: Path
) -> None:
    """``milepost reoptimize`` writes the result; a bad state exits 2 with paths."""
    problem, plan = day
    write_json(problem_to_json(problem), tmp_path / "day.json")
    state = _busy_state(problem, plan, 11 * 3600)
    write_json(state.model_dump(mode="json"), tmp_path / "state.json")
    app = typer.Typer()
    app.command()(reoptimize_command)
    args = [str(tmp_path / "day.json"), str(tmp_path / "state.json")]
    target = tmp_path / "out.json"
    done = CliRunner().invoke(app, [*args, "--time-limit", "0", "-o", str(target)])
    assert done.exit_code == 0, done.output
    out = json.loads(target.read_text())
    assert out["source"] == "repair"
    assert set(out) == {"source", "committed", "fixed", "changes", "plan", "problem"}
    bad = state.model_dump(mode="json")
    bad["vehicles"][0]["vehicle"] = "ghost"
    bad["cancelled"] = ["nope"]
    write_json(bad, tmp_path / "bad.json")
    failed = CliRunner().invoke(app, [args[0], str(tmp_path / "bad.json")])
    assert failed.exit_code == 2
    assert "vehicles[0].vehicle" in failed.output
    assert "cancelled[0]" in failed.output


def test_a_day_with_no_van_left_is_a_valid_rest_of_day(
    day: tuple[Problem, Plan],
) -> None:
    """Every van unavailable: the rest of the day has no vehicles and validates,
    and every order still to do comes back unassigned."""
    problem, plan = day
    now = 12 * 3600
    state = state_as_planned(problem, plan, now)
    state = state.model_copy(
        update={"unavailable": tuple(v.id for v in problem.vehicles)}
    )
    rest = rest_of_day(problem, state)
    assert rest.problem.vehicles == ()
    assert Problem.model_validate(rest.problem.model_dump(mode="json")) == rest.problem
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert result.problem.vehicles == ()
    assert result.plan.routes == ()
    done = {o for v in state.vehicles for o in v.completed}
    left = {o.id for o in problem.orders} - done
    assert {u.id for u in result.plan.unassigned} == left
    assert check(result.problem, result.plan, TRAVEL).ok


# -- issue #17: a partially executed route with a shipment, a break and an
# order for another day ----------------------------------------------------------


@pytest.fixture(scope="module")
def shipment_day() -> tuple[Problem, Plan]:
    """One van: four jobs, a shipment, a lunch break, an order for another day."""
    coords = [(0, 0), (3000, 0), (6000, 0), (6000, 3000), (3000, 3000)]
    coords += [(0, 3000), (9000, 0), (9000, 3000)]
    lunch = {"id": "lunch", "time_windows": [[12 * 3600, 14 * 3600]], "service": 1800}
    problem = grid_problem(
        coords,
        [
            {"id": "j1", "at": 1, "service": 300, "time_windows": [[9 * 3600, 72000]]},
            {"id": "j2", "at": 5, "service": 300, "time_windows": [[9 * 3600, 72000]]},
            {"id": "j3", "at": 4, "service": 300},
            {"id": "j4", "at": 6, "service": 300},
            {
                "id": "later",
                "at": 7,
                "service": 300,
                "service_level": "scheduled",
                "scheduled_date": "2024-02-03",
            },
        ],
        [{"id": "v1", "shift": [8 * 3600, 20 * 3600], "breaks": [lunch]}],
        date=DAY,
        shipments=[
            {
                "id": "s1",
                "demand": [5],
                "pickup": {
                    "location": {"index": 2},
                    "service": 300,
                    "time_windows": [[11 * 3600, 13 * 3600]],
                },
                "delivery": {
                    "location": {"index": 3},
                    "service": 300,
                    "time_windows": [[12 * 3600, 15 * 3600]],
                },
            }
        ],
    )
    plan = solve(problem, params=SolveParams(engine="ortools", time_limit=1.0))
    assert check(problem, plan, TRAVEL).ok
    assert [u.id for u in plan.unassigned] == ["later"]
    return problem, plan


def _step_time(plan: Plan, kind: StepType) -> int:
    return next(s.arrival for r in plan.routes for s in r.steps if s.type == kind)


def _eventful(problem: Problem, plan: Plan, now: int) -> ExecutionState:
    """The plan at ``now``, one order cancelled and one new (issue #17)."""
    state = state_as_planned(problem, plan, now)
    cancel = next(
        s.id
        for s in plan.routes[0].steps
        if s.type == StepType.JOB and s.id is not None and s.arrival > now
    )
    new = Job(id="n1", location=Location(index=4), demand=(1,), service=300)
    return state.model_copy(update={"new_orders": (new,), "cancelled": (cancel,)})


@pytest.mark.parametrize("search", [False, True])
def test_shipment_pickup_stays_before_its_delivery(
    shipment_day: tuple[Problem, Plan], search: bool
) -> None:
    """Driving to a shipment's pickup: the pickup is next, the delivery after
    it, the break kept, nothing on board dropped, nothing of another day."""
    problem, plan = shipment_day
    state = _eventful(problem, plan, _step_time(plan, StepType.PICKUP) - 60)
    assert state.vehicles[0].next == "s1"
    result = reoptimise(problem, state, TRAVEL, params=SEARCH, search=search)
    assert check(result.problem, result.plan, TRAVEL).ok
    steps = result.plan.routes[0].steps[1:-1]
    kinds = [(s.type, s.id) for s in steps if s.id == "s1"]
    assert kinds == [(StepType.PICKUP, "s1"), (StepType.DELIVERY, "s1")]
    assert steps[0].id == "s1"
    assert any(s.type == StepType.BREAK for s in steps)
    assert {u.id: u.reason for u in result.plan.unassigned} == {
        "later": Reason.SCHEDULED_OTHER_DAY
    }


def test_shipment_on_board_is_delivered_from_where_the_van_is(
    shipment_day: tuple[Problem, Plan],
) -> None:
    """Between a shipment's pickup and delivery the parcel is on board: it is
    delivered by that van and not collected again."""
    problem, plan = shipment_day
    state = _eventful(problem, plan, _step_time(plan, StepType.DELIVERY) - 60)
    assert state.vehicles[0].picked_up == ("s1",)
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert check(result.problem, result.plan, TRAVEL).ok
    served = [s.id for s in result.plan.routes[0].steps if s.id == "s1"]
    assert served == ["s1"]
    assert result.plan.routes[0].steps[1].id == "s1"
    assert "s1" not in {u.id for u in result.plan.unassigned}


def test_parcels_on_board_are_kept_when_the_van_has_time(
    shipment_day: tuple[Problem, Plan],
) -> None:
    """Every delivery still on board is served by its van (issue #17: two
    parcels on board were dropped while the van was free all afternoon)."""
    problem, plan = shipment_day
    now = _step_time(plan, StepType.PICKUP) - 60
    state = _eventful(problem, plan, now)
    on_board = set(_remaining_on(plan, "v1", now)) - set(state.cancelled)
    result = reoptimise(problem, state, TRAVEL, params=SEARCH, search=False)
    assert on_board <= set(_where(result.plan))
    assert {u.id for u in result.plan.unassigned} == {"later"}


def test_orders_for_another_day_stay_out(day: tuple[Problem, Plan]) -> None:
    """A new order and an order the plan left out, both scheduled for another
    day, are not planned today, whatever else happened."""
    problem, plan = day
    other = date(2024, 2, 3)
    late = problem.jobs[0].model_copy(
        update={
            "id": "other-day",
            "service_level": "scheduled",
            "scheduled_date": other,
        }
    )
    state = _busy_state(problem, plan, 11 * 3600)
    state = state.model_copy(update={"new_orders": (*state.new_orders, late)})
    result = reoptimise(problem, state, TRAVEL, params=SEARCH)
    assert "other-day" not in _where(result.plan)
    reasons = {u.id: u.reason for u in result.plan.unassigned}
    assert reasons["other-day"] == Reason.SCHEDULED_OTHER_DAY
    assert check(result.problem, result.plan, TRAVEL).ok
