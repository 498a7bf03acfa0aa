"""A dispatcher's edits previewed (routing.edits), and locked stops kept by
the re-optimiser (ExecutionState.locked)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.edits import LockEdit, MoveEdit, ResequenceEdit, preview_edits
from routing.io import InputError
from routing.model import Job, Problem
from routing.plan import Plan
from routing.reoptimise import (
    LOCK_SKILL,
    ExecutionState,
    reoptimise,
    state_as_planned,
)
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem

SMALL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "small_problem.json"
TRAVEL = HaversineTravel()


@functools.cache
def small() -> tuple[Problem, Plan]:
    """The documented example and a 1-second plan of it (solved once)."""
    problem = Problem.model_validate(json.loads(SMALL.read_text()))
    plan = solve(problem, params=SolveParams(engine="ortools", time_limit=1, workers=1))
    return problem, plan


def _movable(problem: Problem) -> list[str]:
    return [j.id for j in problem.jobs if isinstance(j, Job)]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_single_move_is_judged_by_the_checker(data: st.DataObject) -> None:
    """A random single move on the small day: ``feasible`` is exactly the
    checker's verdict on the edited plan, and the deltas are after - before."""
    problem, plan = small()
    order = data.draw(st.sampled_from(_movable(problem)), label="order")
    vehicle = data.draw(st.sampled_from([v.id for v in problem.vehicles]), label="van")
    route = plan.route_of(vehicle)
    n = 0 if route is None else len([o for o in route.order_ids if o != order])
    position = data.draw(st.none() | st.integers(0, n), label="position")
    found = preview_edits(
        problem,
        plan,
        TRAVEL,
        [MoveEdit(order_id=order, vehicle=vehicle, position=position)],
    )
    verdict = check(problem, found.plan, TRAVEL)
    assert found.feasible == verdict.ok
    assert (found.violations == []) == verdict.ok
    assert found.cost_delta == pytest.approx(found.after.cost - found.before.cost)
    assert found.distance_delta_m == found.after.distance - found.before.distance
    assert found.after == found.plan.summary
    served = {o for r in found.plan.routes for o in r.order_ids}
    assert order in served
    assert found.plan.route_of(vehicle) is not None
    assert order in found.plan.route_of(vehicle).order_ids  # type: ignore[union-attr]
    moved = {m.order for m in found.changes.moved}
    was = next((r.vehicle for r in plan.routes if order in r.order_ids), None)
    assert (order in moved) == (was is not None and was != vehicle)


def test_an_unchanged_plan_previews_as_itself() -> None:
    """Locking a stop changes no route: feasible, no delta, no change."""
    problem, plan = small()
    stop = plan.routes[0].order_ids[0]
    found = preview_edits(problem, plan, TRAVEL, [LockEdit(order_id=stop)])
    assert found.feasible and found.cost_delta == 0
    assert found.before == plan.summary == found.after
    assert found.locked == (stop,)
    assert found.changes.moved == () and found.changes.eta_shifts == ()
    unlocked = preview_edits(
        problem,
        plan,
        TRAVEL,
        [LockEdit(order_id=stop, locked=False)],
        locked=[stop],
    )
    assert unlocked.locked == ()


def test_resequencing_a_route_reverses_its_stops() -> None:
    """A permutation of the route's remaining stops is applied as given; the
    done stops keep their places."""
    problem, plan = small()
    route = max(plan.routes, key=lambda r: len(r.order_ids))
    done = route.order_ids[0]
    rest = tuple(reversed(route.order_ids[1:]))
    found = preview_edits(
        problem,
        plan,
        TRAVEL,
        [ResequenceEdit(vehicle=route.vehicle, order_ids=rest)],
        done=[done],
    )
    new = found.plan.route_of(route.vehicle)
    assert new is not None and list(new.order_ids) == [done, *rest]
    assert found.feasible == check(problem, found.plan, TRAVEL).ok


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (MoveEdit(order_id="nope", vehicle="van-1"), "edits[0].order_id"),
        (MoveEdit(order_id="o-1001", vehicle="nope"), "edits[0].vehicle"),
        (
            MoveEdit(order_id="o-1001", vehicle="van-1", position=99),
            "edits[0].position",
        ),
        (ResequenceEdit(vehicle="van-2", order_ids=("o-1001",)), "edits[0].order_ids"),
        (LockEdit(order_id="o-404"), "edits[0].order_id"),
    ],
)
def test_malformed_edits_name_the_field(
    edit: MoveEdit | ResequenceEdit | LockEdit, line: str
) -> None:
    """Unknown orders or vans, positions past the route, non-permutations."""
    problem, plan = small()
    with pytest.raises(InputError) as caught:
        preview_edits(problem, plan, TRAVEL, [edit])
    assert any(x.startswith(line + ":") for x in caught.value.lines), caught.value


def test_done_and_locked_stops_cannot_be_moved() -> None:
    """A done stop is refused; a locked one too, until an edit unlocks it."""
    problem, plan = small()
    stop = plan.routes[0].order_ids[0]
    other = next(v.id for v in problem.vehicles if v.id != plan.routes[0].vehicle)
    move = MoveEdit(order_id=stop, vehicle=other)
    with pytest.raises(InputError, match="is done"):
        preview_edits(problem, plan, TRAVEL, [move], done=[stop])
    with pytest.raises(InputError, match="is locked"):
        preview_edits(problem, plan, TRAVEL, [move], locked=[stop])
    found = preview_edits(
        problem,
        plan,
        TRAVEL,
        [LockEdit(order_id=stop, locked=False), move],
        locked=[stop],
    )
    assert stop in found.plan.route_of(other).order_ids  # type: ignore[union-attr]


def _before(order_ids: Sequence[str], oid: str) -> set[str]:
    return set(order_ids[: list(order_ids).index(oid)])


def test_locked_stops_keep_their_van_and_place_when_reoptimised() -> None:
    """Re-optimising a city day with new orders (the search runs): every
    locked stop stays on its van with the same kept stops before it, and the
    plan returned carries none of the pinning skills."""
    day = date(2024, 2, 1)
    city = build_city(seed=5, n_customers=400, end=date(2024, 1, 31))
    problem = day_problem(city, day, n_orders=45, seed=5)
    extra = day_problem(city, day, n_orders=55, seed=6)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=1.0))
    known = {o.id for o in problem.orders}
    new = tuple(j for j in extra.jobs if j.id not in known)[:8]
    base = state_as_planned(problem, plan, 6 * 3600)
    routes = [r for r in plan.routes if len(r.order_ids) >= 3]
    locked = tuple(r.order_ids[len(r.order_ids) // 2] for r in routes)
    state = ExecutionState.model_validate(
        {**base.model_dump(), "new_orders": new, "locked": locked}
    )
    result = reoptimise(
        problem, state, TRAVEL, params=SolveParams(time_limit=1.5), search=True
    )
    assert check(result.problem, result.plan, TRAVEL).ok
    for oid in locked:
        old = next(r for r in plan.routes if oid in r.order_ids)
        now = result.plan.route_of(old.vehicle)
        assert now is not None and oid in now.order_ids, oid
        kept = set(old.order_ids) & set(now.order_ids)
        assert _before(old.order_ids, oid) & kept == _before(now.order_ids, oid) & kept
    skills = {s for v in result.problem.vehicles for s in v.skills}
    skills |= {s for o in result.problem.orders for s in o.skills}
    assert not any(s.startswith(LOCK_SKILL) for s in skills)
