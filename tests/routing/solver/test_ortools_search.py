"""OR-Tools search modes: iterated local search, parallel searches, warm starts."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from routing.model import Problem
from routing.solver import SolveParams, check
from routing.solver import ortools_adapter as adapter
from routing.solver.data import ProblemData, build_data
from routing.solver.precheck import precheck
from routing.solver.result import EngineResult
from routing.solver.solve import plan_from_sequences
from routing.travel import HaversineTravel
from tests.factories import grid_problem, random_problem

COORDS = [(0, 0), (1000, 0), (2000, 0), (2000, 1000), (0, 1000), (-1000, 500)]
ILS = adapter.ITERATED_LOCAL_SEARCH


def _data(problem: Problem) -> tuple[ProblemData, list[str]]:
    data = build_data(problem, HaversineTravel())
    ids, impossible = precheck(data)
    assert not impossible
    return data, ids


def _checked(problem: Problem, data: ProblemData, result: EngineResult) -> int:
    """Time the result, assert the checker accepts it, return its distance."""
    plan = plan_from_sequences(
        data,
        result.sequences,
        dropped=result.dropped,
        impossible=[],
        engine="ortools",
        seconds=0.0,
    )
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)
    return plan.summary.distance


def _fake_solve(
    data: ProblemData,
    order_ids: list[str],
    params: SolveParams,
    spec: adapter._Search,
    initial: object,
    progress: object,
    deadline: float | None = None,
) -> EngineResult:
    """Stand-in search whose objective is the ruin size (helpers: larger)."""
    sequences: list[list[int]] = [[] for _ in range(data.n_vehicles)]
    return EngineResult(sequences, list(order_ids), float(spec.ruin_visits), spec.warm)


def test_ils_plan_is_feasible_and_serves_everything() -> None:
    """One iterated local search on a seeded day passes the checker."""
    problem = random_problem(3, n_jobs=20, n_vehicles=3)
    data, ids = _data(problem)
    params = SolveParams(time_limit=1.0, workers=1, objective="distance")
    result = adapter.solve_ortools(data, ids, params)
    assert result.dropped == []
    _checked(problem, data, result)


def test_parallel_plan_is_feasible_and_no_worse_than_one_search() -> None:
    """Two searches side by side return a checked plan at most as long as one."""
    problem = random_problem(5, n_jobs=20, n_vehicles=3)
    data, ids = _data(problem)
    one = SolveParams(time_limit=1.0, workers=1, objective="distance")
    single = adapter.solve_ortools(data, ids, one)
    both = adapter.solve_ortools(data, ids, one.model_copy(update={"workers": 2}))
    assert both.dropped == []
    assert both.objective <= single.objective
    assert _checked(problem, data, both) <= _checked(problem, data, single)


def test_gls_is_still_available() -> None:
    """A named OR-Tools metaheuristic runs instead of the iterated local search."""
    problem = random_problem(7, n_jobs=15, n_vehicles=3)
    data, ids = _data(problem)
    # 2 s: on a loaded machine 0.5 s did not always reach a first solution.
    params = SolveParams(time_limit=2.0, workers=1, metaheuristic="GUIDED_LOCAL_SEARCH")
    result = adapter.solve_ortools(data, ids, params)
    assert result.dropped == []
    _checked(problem, data, result)


def test_helper_result_wins_when_better(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lowest objective across processes wins; warm_started is the main's."""
    monkeypatch.setattr(adapter, "_solve_once", _fake_solve)
    monkeypatch.setattr(adapter, "_search_count", lambda workers: workers)
    problem = grid_problem(COORDS, [{"id": "a", "at": 1}], [{"id": "v"}])
    data, ids = _data(problem)
    # The main search reports its ruin size 20, the helper 30: the main wins.
    params = SolveParams(workers=2, ruin_visits=20)
    result = adapter.solve_ortools(data, ids, params)
    assert result.objective == 20.0 and not result.warm_started
    # A warm main search that does worse than its helper: the helper wins.
    monkeypatch.setattr(
        adapter,
        "_searches",
        lambda p, warm, count: [
            adapter._Search("GREEDY_DESCENT", 40, warm),
            adapter._Search(ILS, 10, False),
        ],
    )
    result = adapter.solve_ortools(data, ids, params, initial=[[]])
    assert result.objective == 10.0 and result.warm_started


def test_crashed_helper_leaves_the_main_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper that raises is ignored; the main search's result comes back."""

    def flaky(
        data: ProblemData,
        order_ids: list[str],
        params: SolveParams,
        spec: adapter._Search,
        initial: object,
        progress: object,
        deadline: float | None = None,
    ) -> EngineResult:
        if multiprocessing.parent_process() is not None:
            raise RuntimeError("helper failed")
        return _fake_solve(data, order_ids, params, spec, initial, progress)

    monkeypatch.setattr(adapter, "_solve_once", flaky)
    monkeypatch.setattr(adapter, "_search_count", lambda workers: workers)
    problem = grid_problem(COORDS, [{"id": "a", "at": 1}], [{"id": "v"}])
    data, ids = _data(problem)
    result = adapter.solve_ortools(data, ids, SolveParams(workers=2, ruin_visits=20))
    assert result.objective == 20.0


def test_searches_warm_start_uses_gls_and_helpers_grow_ruins() -> None:
    """A warm start is searched with GLS; helpers run ILS with larger ruins."""
    params = SolveParams(ruin_visits=20)
    cold = adapter._searches(params, False, 3)
    assert [(s.metaheuristic, s.ruin_visits, s.warm) for s in cold] == [
        (ILS, 20, False),
        (ILS, 30, False),
        (ILS, 40, False),
    ]
    warm = adapter._searches(params, True, 2)
    assert warm[0] == adapter._Search(adapter.WARM_METAHEURISTIC, 20, True)
    assert warm[1] == adapter._Search(ILS, 20, False)


def _count_in_pool_worker() -> int:
    return adapter._search_count(4)


def test_no_helpers_inside_a_process_pool() -> None:
    """A search running in another pool's worker process never forks helpers."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        assert pool.submit(_count_in_pool_worker).result() == 1
    assert adapter._search_count(1) == 1


def test_temperatures_follow_the_arc_cost() -> None:
    """Annealing temperatures are shares of the mean arc cost (unit-free)."""
    params = SolveParams(ruin_sequence=7)
    search = adapter._search_parameters(params, adapter._Search(ILS, 25, False), 1e4)
    ils = search.iterated_local_search_parameters
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    assert search.use_iterated_local_search
    assert annealing.initial_temperature == pytest.approx(2500.0)
    assert annealing.final_temperature == pytest.approx(0.25)
    sisr = ils.ruin_recreate_parameters.ruin_strategies[0].sisr
    assert (sisr.avg_num_removed_visits, sisr.max_removed_sequence_size) == (25, 7)
    gls = adapter._search_parameters(
        params, adapter._Search("GUIDED_LOCAL_SEARCH", 25, False), 1e4
    )
    assert not gls.use_iterated_local_search


@pytest.mark.parametrize(("left", "expected"), [(-30.0, 1.0), (2.5, 2.5), (60.0, 4.0)])
def test_deadline_bounds_the_search(
    monkeypatch: pytest.MonkeyPatch, left: float, expected: float
) -> None:
    """A deadline gives the search what is left of it once the model is
    built: never less than MIN_SEARCH_SECONDS, never more than time_limit."""
    import time

    data, ids = _data(random_problem(3, n_jobs=12, n_vehicles=2))
    asked: list[float] = []
    real = adapter._search_parameters

    def spy(params: SolveParams, *args: object) -> object:
        asked.append(params.time_limit)
        return real(params, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(adapter, "_search_parameters", spy)
    now = time.perf_counter()
    monkeypatch.setattr(adapter.time, "perf_counter", lambda: now)
    params = SolveParams(time_limit=4.0, workers=1)
    result = adapter.solve_ortools(data, ids, params, deadline=now + left)
    assert asked == [pytest.approx(expected)]
    assert adapter.MIN_SEARCH_SECONDS == 1.0
    _checked(data.problem, data, result)
