"""The auto portfolio: both engines, the best checked plan wins."""

from __future__ import annotations

import pytest

from routing.model import Problem
from routing.solver import SolveParams, check, portfolio, solve
from routing.solver.data import build_data
from routing.solver.portfolio import relax_for_pyvrp
from routing.solver.pyvrp_adapter import pyvrp_fit
from routing.travel import HaversineTravel
from tests.factories import random_problem

TRAVEL = HaversineTravel()


def test_auto_on_a_problem_pyvrp_can_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without breaks both engines run; the winner passes the checker."""
    problem = random_problem(5, n_jobs=30)
    problem = problem.model_copy(
        update={
            "vehicles": tuple(
                v.model_copy(update={"breaks": ()}) for v in problem.vehicles
            )
        }
    )
    assert (
        pyvrp_fit(build_data(problem, TRAVEL), [o.id for o in problem.orders]) is None
    )
    plan = solve(problem, params=SolveParams(engine="auto", time_limit=2.0, workers=1))
    assert plan.engine in ("auto:pyvrp", "auto:ortools")
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == plan.summary.orders
    # Beyond the race's two cores PyVRP takes them all, as islands, on the
    # day's costs (the count of cores is faked; they run on what there is).
    monkeypatch.setattr(portfolio, "usable_cores", lambda workers=None: 3)
    plan = solve(problem, params=SolveParams(engine="auto", time_limit=2.0, workers=3))
    assert plan.engine == "auto:pyvrp-islands"
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == plan.summary.orders


def test_auto_warm_starts_ortools_when_pyvrp_cannot_model_it() -> None:
    """With driver breaks PyVRP solves a relaxed day that seeds OR-Tools."""
    problem = random_problem(6, n_jobs=30)
    data = build_data(problem, TRAVEL)
    assert pyvrp_fit(data, [o.id for o in problem.orders]) == "breaks"
    relaxed = relax_for_pyvrp(problem)
    assert all(not v.breaks for v in relaxed.vehicles)
    assert (
        pyvrp_fit(build_data(relaxed, TRAVEL), [o.id for o in relaxed.orders]) is None
    )
    plan = solve(problem, params=SolveParams(engine="auto", time_limit=3.0))
    assert plan.engine in ("auto:pyvrp+ortools", "auto:ortools")
    assert check(problem, plan, TRAVEL).ok


def test_auto_is_no_worse_than_ortools_alone() -> None:
    """The portfolio keeps OR-Tools' own plan as a candidate, so it never loses."""
    problem = random_problem(7, n_jobs=40)
    params = SolveParams(time_limit=2.0, objective="distance")
    alone = solve(problem, params=params)
    auto = solve(problem, params=params.model_copy(update={"engine": "auto"}))
    assert check(problem, auto, TRAVEL).ok
    assert (auto.summary.unassigned, auto.summary.distance) <= (
        alone.summary.unassigned,
        alone.summary.distance * 1.05,  # OR-Tools' time-limited search varies
    )


def _no_breaks(seed: int) -> Problem:
    problem = random_problem(seed, n_jobs=20)
    vehicles = tuple(v.model_copy(update={"breaks": ()}) for v in problem.vehicles)
    return problem.model_copy(update={"vehicles": vehicles})


def test_auto_scores_both_engines() -> None:
    """The PyVRP process answers within the limit: both plans are judged."""
    seen: list[str] = []
    problem = _no_breaks(7)
    solve(
        problem,
        params=SolveParams(engine="auto", time_limit=1.0, workers=1),
        progress=lambda engine, _s, _v: seen.append(engine),
    )
    # solve_auto reports each candidate it judged, by engine name, at the end.
    assert "pyvrp" in seen and "ortools" in seen


def test_auto_survives_a_crashing_pyvrp_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PyVRP side that raises is reported; OR-Tools' plan is still returned."""

    def boom(*_args: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(portfolio, "_pyvrp_then_ortools", boom)
    seen: list[str] = []
    problem = _no_breaks(8)
    plan = solve(
        problem,
        params=SolveParams(engine="auto", time_limit=1.0, workers=1),
        progress=lambda engine, _s, _v: seen.append(engine),
    )
    assert plan.engine == "auto:ortools"
    assert check(problem, plan, TRAVEL).ok
    assert "pyvrp failed: RuntimeError: engine exploded" in seen
