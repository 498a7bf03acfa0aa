"""PyVRP on several cores: islands that share their best solution."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest
import pyvrp
from pyvrp.stop import MaxIterations

from routing.io.vrplib import read_solomon
from routing.model import Problem
from routing.solver import SolveParams, check, islands, portfolio, solve
from routing.solver import pyvrp_adapter as adapter
from routing.solver.data import build_data
from routing.solver.params import usable_cores
from routing.travel import HaversineTravel
from tests.helpers import SHARED

TRAVEL = HaversineTravel()
SOLOMON = SHARED / "benchmarks" / "vrptw" / "solomon" / "instances"
needs_data = pytest.mark.skipif(
    not SOLOMON.is_dir(), reason="shared VRPTW benchmark files not present"
)


def _solomon(name: str) -> tuple[Problem, pyvrp.ProblemData, pyvrp.PenaltyParams]:
    problem, _ = read_solomon(SOLOMON / f"{name}.txt")
    data = build_data(problem, TRAVEL)
    built = adapter._build(
        data, [o.id for o in problem.orders], with_costs=False, required=True
    )
    return problem, built.instance, built.penalties


@needs_data
def test_two_islands_plan_feasibly_and_never_lose_an_epochs_best() -> None:
    """Two islands on RC105: the plan passes the checker, serves every order,
    and is no worse than the best after the first epoch (nor any later one)."""
    problem, instance, penalty = _solomon("RC105")
    found = islands.search(
        instance, workers=2, seed=0, seconds=120, penalty=penalty, iterations=2000
    )
    assert found.lost == [] and found.islands == 2
    assert len(found.history) == islands.EPOCHS
    costs = [cost for infeasible, cost in found.history]
    assert not any(infeasible for infeasible, _ in found.history)
    assert costs == sorted(costs, reverse=True)  # never worse than before
    assert found.best.is_feasible()
    assert found.best.distance() == costs[-1] <= costs[0]

    params = SolveParams(
        engine="pyvrp",
        objective="distance",
        workers=2,
        iterations=2000,
        time_limit=120,
    )
    plan = solve(problem, params=params)
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == plan.summary.orders
    if usable_cores(2) == 2:
        # The same islands through the engine end in the same solution.
        assert plan.summary.distance == found.best.distance()


@needs_data
def test_islands_bounded_by_iterations_repeat() -> None:
    """Same seed and iteration bound: the same solution on every run."""
    _, instance, penalty = _solomon("C101")

    def run() -> list[list[int]]:
        best = islands.search(
            instance, workers=2, seed=3, seconds=120, penalty=penalty, iterations=500
        ).best
        return [[a.idx for a in route if a.is_client()] for route in best.routes()]

    assert run() == run()


@needs_data
def test_one_worker_is_pyvrp_alone() -> None:
    """``workers=1`` runs ``pyvrp.solve`` itself: the same routes as PyVRP
    on the same instance, seed and iteration bound."""
    problem, instance, penalty = _solomon("R101")
    params = SolveParams(
        engine="pyvrp", objective="distance", workers=1, iterations=800, seed=2
    )
    data = build_data(problem, TRAVEL)
    ours = adapter.solve_pyvrp(data, [o.id for o in problem.orders], params)
    alone = pyvrp.solve(
        instance,
        stop=MaxIterations(800),
        seed=2,
        display=False,
        params=pyvrp.SolveParams(penalty=penalty),
    ).best
    sequences = [
        [data.nodes[n].order for n in seq if isinstance(n, int)]
        for seq in ours.sequences
        if seq
    ]
    theirs = [
        [instance.client(a.idx).name for a in route if a.is_client()]
        for route in alone.routes()
    ]
    assert sorted(sequences) == sorted(theirs)
    assert ours.objective == alone.distance()
    assert ours.lost == ()


@needs_data
def test_island_zero_starts_as_pyvrp_alone() -> None:
    """The first epoch of island 0 is PyVRP's own search for the seed: one
    island's best after it equals ``pyvrp.solve`` for the epoch's iterations."""
    _, instance, penalty = _solomon("R101")
    found = islands.search(
        instance, workers=1, seed=5, seconds=120, penalty=penalty, iterations=3000
    )
    alone = pyvrp.solve(
        instance,
        stop=MaxIterations(3000 // islands.EPOCHS),
        seed=5,
        display=False,
        params=pyvrp.SolveParams(penalty=penalty),
    ).best
    assert found.history[0] == (False, float(alone.distance()))


def _kill_island_after(seconds: float, name: str) -> threading.Thread:
    """Kill the child process called ``name`` (as the OOM killer would)."""

    def kill() -> None:
        time.sleep(seconds)
        for child in multiprocessing.active_children():
            if child.name == name and child.pid is not None:
                os.kill(child.pid, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@needs_data
def test_a_killed_island_is_named_and_the_others_best_returned() -> None:
    """Island 1 killed mid-search: it is reported by name, the search goes
    on to its last epoch with island 0, and returns a feasible best."""
    _, instance, penalty = _solomon("RC105")
    killer = _kill_island_after(1.2, "island 1 (seed 1)")
    t0 = time.perf_counter()
    found = islands.search(instance, workers=2, seed=0, seconds=3.0, penalty=penalty)
    killer.join()
    assert time.perf_counter() - t0 < 3.0 + 2.0
    assert found.lost == ["island 1 (seed 1): its process died (exit code -9)"]
    assert len(found.history) == 6  # every epoch ran: 3 s in epochs of 0.5 s
    assert found.best.is_feasible()
    assert multiprocessing.active_children() == []


@needs_data
def test_a_solve_names_the_island_it_lost() -> None:
    """Through ``solve``: the plan says which island was lost and passes the
    checker with the other's routes."""
    assert usable_cores(2) == 2, "this test needs two cores"
    problem, _, _ = _solomon("RC105")
    seen: list[str] = []
    killer = _kill_island_after(1.2, "island 1 (seed 1)")
    plan = solve(
        problem,
        params=SolveParams(
            engine="pyvrp", objective="distance", workers=2, time_limit=3.0
        ),
        progress=lambda engine, _s, _v: seen.append(engine),
    )
    killer.join()
    lost = "island 1 (seed 1): its process died (exit code -9)"
    assert plan.engine == f"pyvrp (lost {lost})"
    assert f"pyvrp lost {lost}" in seen
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == plan.summary.orders


@needs_data
def test_auto_runs_the_islands_beyond_the_races_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``auto`` on a problem PyVRP models whole, with more cores than the
    race of PyVRP and OR-Tools uses, is PyVRP's islands; with two (or one),
    that race."""
    problem, _, _ = _solomon("C101")
    seen: list[str] = []
    params = SolveParams(engine="auto", objective="distance", time_limit=2.0)
    for workers in (1, 2):
        seen.clear()
        plan = solve(
            problem,
            params=params.model_copy(update={"workers": workers}),
            progress=lambda engine, _s, _v: seen.append(engine),
        )
        assert plan.engine in ("auto:pyvrp", "auto:ortools")
        assert "ortools" in seen and "pyvrp" in seen
        assert check(problem, plan, TRAVEL).ok
    # A machine with three cores (this one may have two: the race's count
    # is what is faked; the islands run on the cores there are).
    monkeypatch.setattr(portfolio, "usable_cores", lambda workers=None: 3)
    seen.clear()
    plan = solve(
        problem,
        params=params.model_copy(update={"workers": 3}),
        progress=lambda engine, _s, _v: seen.append(engine),
    )
    assert plan.engine == "auto:pyvrp-islands"
    assert "ortools" not in seen
    assert check(problem, plan, TRAVEL).ok


def test_routes_survive_the_trip_between_processes() -> None:
    """A solution with shipments and two vehicle types, as routes and back."""
    instance = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=x, y=0) for x in range(5)],
        clients=[pyvrp.Client(location=k, delivery=[1]) for k in (1, 2)],
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[
            pyvrp.VehicleType(num_available=1, capacity=[5]),
            pyvrp.VehicleType(num_available=1, capacity=[9]),
        ],
        distance_matrices=[[[abs(i - j) for j in range(5)] for i in range(5)]],
        duration_matrices=[[[abs(i - j) for j in range(5)] for i in range(5)]],
        shipments=[pyvrp.Shipment(pickup_location=3, delivery_location=4, amount=[2])],
    )
    P, D, C = (
        pyvrp.ActivityType.PICKUP,
        pyvrp.ActivityType.DELIVERY,
        pyvrp.ActivityType.CLIENT,
    )
    solution = pyvrp.Solution(
        instance,
        [
            pyvrp.Route(instance, [pyvrp.Activity(C, 1)], 0),
            pyvrp.Route(
                instance,
                [pyvrp.Activity(C, 0), pyvrp.Activity(P, 0), pyvrp.Activity(D, 0)],
                1,
            ),
        ],
    )
    again = islands.solution_of(instance, islands.routes_of(solution))
    assert again == solution
    assert [r.vehicle_type() for r in again.routes()] == [0, 1]
    assert again.distance() == solution.distance()


@needs_data
def test_the_decompositions_whole_pass_searches_as_islands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A day the decomposition solves whole (what ``auto`` does from 1,000
    orders) searches as islands on the solve's workers, in this process."""
    assert usable_cores(2) == 2, "this test needs two cores"
    problem, _, _ = _solomon("C101")
    calls: list[int] = []
    real = islands.search

    def spy(*args: object, **kwargs: object) -> islands.IslandsResult:
        calls.append(kwargs["workers"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(islands, "search", spy)
    params = SolveParams(engine="large", objective="distance", time_limit=3, workers=2)
    plan = solve(problem, params=params)
    assert plan.engine == "large:whole"
    assert calls == [2]
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == plan.summary.orders


def _search_in_a_daemon(send: object) -> None:
    _, instance, penalty = _solomon("C101")
    found = islands.search(instance, workers=2, seed=0, seconds=1.0, penalty=penalty)
    send.send((found.best.is_feasible(), found.lost))  # type: ignore[attr-defined]


@needs_data
def test_islands_in_a_daemonic_process_search_alone_and_say_so() -> None:
    """A daemonic process (a pool's or a Dask worker) may not start
    children: the search runs as island 0 alone and names the island it could
    not start, rather than failing."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    proc = context.Process(target=_search_in_a_daemon, args=(send,), daemon=True)
    proc.start()
    assert receive.poll(60), "the search in the daemon gave no answer"
    feasible, lost = receive.recv()
    proc.join(10)
    assert feasible
    assert len(lost) == 1 and lost[0].startswith("island 1 (seed 1): not started")
