"""A search that finds no solution is never an answer: fallbacks, then an error.

The failure is forced by making OR-Tools' search return no assignment (what
it does when its time runs out before the first solution), so the tests do
not depend on the machine being slow.
"""

from __future__ import annotations

import importlib
import pickle
from typing import Any

import pytest

import routing.solver.ortools_adapter as adapter
import routing.solver.portfolio as portfolio
from routing.model import Problem
from routing.solver import NoPlanFound, SolveParams, check, solve
from routing.solver.data import build_data
from routing.solver.engines import solve_one
from routing.solver.insertion import insertion_plan
from routing.solver.result import EngineResult
from routing.travel import HaversineTravel
from tests.factories import random_problem

ORTOOLS = SolveParams(engine="ortools", time_limit=0.5, workers=1)
TRAVEL = HaversineTravel()
#: The module, not the function ``routing.solver`` exports under its name.
solve_module = importlib.import_module("routing.solver.solve")


def _no_solution(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[float]:
    """Make the first ``failures`` OR-Tools searches find nothing; returns the
    time limits every search was given (seconds)."""
    real = adapter._search
    limits: list[float] = []

    def search(model: Any, params: Any, *rest: Any) -> Any:
        limits.append(params.time_limit.ToMilliseconds() / 1000.0)
        if len(limits) <= failures:
            return None, False
        return real(model, params, *rest)

    monkeypatch.setattr(adapter, "_search", search)
    return limits


@pytest.fixture(scope="module")
def day() -> Problem:
    """A seeded 20-job day with windows, returns and a break (no shipments:
    insertion places jobs only)."""
    return random_problem(3, n_jobs=20, n_vehicles=4).model_copy(
        update={"shipments": ()}
    )


def test_insertion_leaves_a_day_with_shipments_to_the_error() -> None:
    """Insertion places single stops: a day with shipments gets no plan from it."""
    with_pairs = random_problem(3, n_jobs=20, n_vehicles=4)
    assert with_pairs.shipments
    assert insertion_plan(with_pairs, TRAVEL) is None


def test_an_engine_without_a_solution_raises_naming_it(
    monkeypatch: pytest.MonkeyPatch, day: Problem
) -> None:
    """OR-Tools without a first solution is NoPlanFound, not an empty plan."""
    _no_solution(monkeypatch, failures=1)
    with pytest.raises(NoPlanFound) as caught:
        solve_one(day, "ortools", travel=TRAVEL, params=ORTOOLS)
    assert caught.value.engine == "ortools"
    assert "OR-Tools found no first solution" in caught.value.reason
    assert "PARALLEL_CHEAPEST_INSERTION" in str(caught.value)


def test_solve_retries_with_twice_the_time(
    monkeypatch: pytest.MonkeyPatch, day: Problem
) -> None:
    """The second search gets twice the time; the plan names the fallback."""
    limits = _no_solution(monkeypatch, failures=1)
    plan = solve(day, params=ORTOOLS)
    assert plan.fallback == "more_time"
    assert plan.engine == "ortools"
    assert len(limits) == 2
    assert limits[1] > 1.8 * limits[0]
    assert plan.summary.served > 0
    assert check(day, plan, TRAVEL).ok


def test_solve_falls_back_to_insertion(
    monkeypatch: pytest.MonkeyPatch, day: Problem
) -> None:
    """When the longer search finds nothing too, insertion builds the plan."""
    limits = _no_solution(monkeypatch, failures=2)
    plan = solve(day, params=ORTOOLS)
    assert len(limits) == 2
    assert plan.fallback == "insertion"
    assert plan.engine == "insertion"
    assert plan.summary.served > 0
    assert plan.summary.routes > 0
    assert check(day, plan, TRAVEL).ok


def test_without_any_plan_solve_raises_with_every_reason(
    monkeypatch: pytest.MonkeyPatch, day: Problem
) -> None:
    """Every attempt failing is an error naming each attempt, never a plan."""
    _no_solution(monkeypatch, failures=2)
    monkeypatch.setattr(solve_module, "insertion_plan", lambda *_a, **_k: None)
    with pytest.raises(NoPlanFound) as caught:
        solve(day, params=ORTOOLS)
    reason = caught.value.reason
    assert reason.count("OR-Tools found no first solution") == 2
    assert "with 1 s" in reason
    assert "insertion: no order fits any van" in reason


def test_no_plan_found_survives_a_process_boundary() -> None:
    """Raised in a worker process, it arrives with its fields."""
    exc = NoPlanFound("auto", 1.5, "ortools: none; pyvrp: none")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.engine, back.time_limit, back.reason) == ("auto", 1.5, exc.reason)
    assert str(back) == str(exc)


def test_the_portfolio_without_a_solution_names_both_sides(
    monkeypatch: pytest.MonkeyPatch, day: Problem
) -> None:
    """Neither OR-Tools nor PyVRP found one: NoPlanFound with both reasons."""
    data = build_data(day, TRAVEL)
    empty: list[list[Any]] = [[] for _ in range(data.n_vehicles)]
    ids = [j.id for j in day.jobs]

    def race(*_args: Any) -> tuple[list[tuple[str, EngineResult]], str]:
        return [
            ("ortools", EngineResult(empty, ids, float("inf"), failure="no first")),
            ("pyvrp", EngineResult(empty, ids, float("inf"), failure="infeasible")),
        ], ""

    monkeypatch.setattr(portfolio, "_race", race)
    with pytest.raises(NoPlanFound, match="ortools: no first; pyvrp: infeasible"):
        portfolio.solve_auto(data, ids, [], ORTOOLS, TRAVEL)


def test_insertion_alone_serves_a_day_the_checker_accepts(day: Problem) -> None:
    """The construction of last resort places orders feasibly."""
    plan = insertion_plan(day, TRAVEL)
    assert plan is not None
    assert plan.summary.served >= len(day.jobs) // 2
    assert check(day, plan, TRAVEL).ok
