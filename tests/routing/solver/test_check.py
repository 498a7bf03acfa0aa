"""The independent checker catches every kind of broken plan."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from routing.model import Problem
from routing.plan import Plan, Route, Step, StepType
from routing.solver import check
from routing.solver.data import build_data
from routing.solver.solve import plan_from_sequences
from routing.solver.timeline import BreakVisit
from routing.travel import HaversineTravel
from tests.factories import grid_problem

COORDS = [(0, 0), (1000, 0), (2000, 0), (2000, 1000), (0, 1000)]
TRAVEL = HaversineTravel()


@pytest.fixture(scope="module")
def problem() -> Problem:
    """Four jobs, a van of capacity 4 with a break, one window."""
    return grid_problem(
        COORDS,
        [
            {"id": "a", "at": 1, "service": 60},
            {"id": "b", "at": 2, "service": 60, "time_windows": [[0, 400]]},
            {"id": "c", "at": 3, "service": 60},
            {"id": "r", "at": 4, "service": 60, "type": "pickup", "demand": [2]},
        ],
        [
            {
                "id": "v",
                "capacity": [4],
                "shift": [0, 5000],
                "breaks": [
                    {"id": "rest", "time_windows": [[300, 2000]], "service": 300}
                ],
            }
        ],
    )


def _plan(problem: Problem, order: list[str], break_after: int = 2) -> Plan:
    data = build_data(problem, TRAVEL)
    seq: list[int | BreakVisit] = [data.order_nodes[o][0] for o in order]
    seq.insert(break_after, BreakVisit(0))
    return plan_from_sequences(
        data, [seq], dropped=[], impossible=[], engine="test", seconds=0
    )


def _edit_route(plan: Plan, edit: Callable[[list[Step]], list[Step]]) -> Plan:
    route = plan.routes[0]
    steps = edit(list(route.steps))
    new_route = Route.model_validate({**route.model_dump(), "steps": steps})
    return plan.model_copy(update={"routes": (new_route,)})


def _kinds(problem: Problem, plan: Plan) -> set[str]:
    return {v.kind for v in check(problem, plan, TRAVEL).violations}


def test_good_plan_passes(problem: Problem) -> None:
    """A plan timed by the timeline builder is feasible."""
    verdict = check(problem, _plan(problem, ["a", "b", "c", "r"]), TRAVEL)
    assert verdict.ok, str(verdict)
    assert verdict.served == 4


def test_window_violation(problem: Problem) -> None:
    """Visiting b last misses its window."""
    assert "window" in _kinds(problem, _plan(problem, ["c", "r", "a", "b"]))


def test_capacity_violation(problem: Problem) -> None:
    """Collecting the return before making room overloads the van."""
    assert "capacity" in _kinds(problem, _plan(problem, ["r", "a", "b", "c"], 4))


def test_missing_order(problem: Problem) -> None:
    """An order neither served nor listed as unassigned is caught."""
    assert "coverage" in _kinds(problem, _plan(problem, ["a", "b", "c"]))


def test_duplicate_order(problem: Problem) -> None:
    """The same order twice on a route is caught."""
    plan = _edit_route(
        _plan(problem, ["a", "b", "c", "r"]),
        lambda s: [*s[:2], s[1], *s[2:]],
    )
    assert "coverage" in _kinds(problem, plan)


def test_teleporting_is_caught(problem: Problem) -> None:
    """A stop that starts sooner than the travel time allows is caught."""

    def rush(steps: list[Step]) -> list[Step]:
        k = next(i for i, s in enumerate(steps) if s.id == "c")
        steps[k] = steps[k].model_copy(
            update={"service_start": 0, "arrival": 0, "departure": 60}
        )
        return steps

    assert "time" in _kinds(
        problem, _edit_route(_plan(problem, ["a", "b", "c", "r"]), rush)
    )


def test_missing_break(problem: Problem) -> None:
    """A route without its driver's break is caught."""
    plan = _edit_route(
        _plan(problem, ["a", "b", "c", "r"]),
        lambda s: [x for x in s if x.type != StepType.BREAK],
    )
    assert "break" in _kinds(problem, plan)


def test_shift_end(problem: Problem) -> None:
    """Returning after the shift ends is caught."""
    short = problem.model_copy(
        update={
            "vehicles": (
                problem.vehicles[0].model_copy(
                    update={
                        "shift": problem.vehicles[0].shift.model_copy(
                            update={"end": 900}
                        )
                    }
                ),
            )
        }
    )
    assert "shift" in _kinds(short, _plan(short, ["a", "b", "c", "r"]))


def test_wrong_totals(problem: Problem) -> None:
    """A plan that misreports its distance is caught."""
    plan = _plan(problem, ["a", "b", "c", "r"])
    bad = plan.model_copy(
        update={"summary": plan.summary.model_copy(update={"distance": 1})}
    )
    assert "totals" in _kinds(problem, bad)
