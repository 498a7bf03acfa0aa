"""The PyVRP engine and the VRPTW benchmark harness, judged by the checker."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from routing.model import Problem
from routing.plan import Plan, Reason
from routing.solver import SolveParams, check, solve
from routing.solver.data import build_data
from routing.solver.precheck import precheck
from routing.solver.pyvrp_adapter import pyvrp_fit, solve_pyvrp
from routing.solver.solve import plan_from_sequences
from routing.travel import HaversineTravel
from tests.factories import brute_force, grid_problem
from tests.helpers import SHARED

VRPTW = SHARED / "benchmarks" / "vrptw"
needs_data = pytest.mark.skipif(
    not VRPTW.is_dir(), reason="shared VRPTW benchmark data not present"
)
FAST = 0.3
HOUR = 3600


def _day_json(seed: int = 7, n_jobs: int = 16) -> dict[str, Any]:
    """A seeded Seoul day: two depots, four vans, windows and returns."""
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(n_jobs):
        start = int(rng.integers(9, 16)) * HOUR
        jobs.append(
            {
                "id": f"j{i}",
                "type": "pickup" if i % 5 == 4 else "delivery",
                "location": {
                    "lat": float(37.55 + rng.normal(0, 0.03)),
                    "lon": float(127.0 + rng.normal(0, 0.04)),
                },
                "demand": [int(rng.integers(1, 8)), 1],
                "service": int(rng.integers(60, 300)),
                "time_windows": [[start, start + 3 * HOUR]] if i % 3 else [],
            }
        )
    vehicles = [
        {
            "id": f"v{depot}{k}",
            "start": depot,
            "end": depot,
            "capacity": [30, 8],
            "shift": [8 * HOUR, 20 * HOUR],
            "costs": {"fixed": 30_000, "per_km": 250, "per_hour": 12_000},
        }
        for depot in ("a", "b")
        for k in (1, 2)
    ]
    return {
        "depots": [
            {"id": "a", "location": {"lat": 37.56, "lon": 126.93}},
            {"id": "b", "location": {"lat": 37.52, "lon": 127.06}},
        ],
        "vehicles": vehicles,
        "jobs": jobs,
    }


def _shipments(d: dict[str, Any]) -> None:
    d["shipments"] = [
        {
            "id": f"s{k}",
            "demand": [2, 1],
            "pickup": {"location": {"lat": 37.54 + k / 100, "lon": 127.01}},
            "delivery": {
                "location": {"lat": 37.57, "lon": 126.98 + k / 100},
                "service": 120,
                "time_windows": [[12 * HOUR, 18 * HOUR]],
            },
        }
        for k in range(2)
    ]


def _skills_and_depots(d: dict[str, Any]) -> None:
    d["vehicles"][0]["skills"] = ["fridge"]
    for job in d["jobs"][:3]:
        job["skills"] = ["fridge"]
    d["jobs"][5]["depot"] = "b"


def _several_windows(d: dict[str, Any]) -> None:
    for job in d["jobs"][:4]:
        job["time_windows"] = [[9 * HOUR, 10 * HOUR], [16 * HOUR, 17 * HOUR]]


def _setup_and_station(d: dict[str, Any]) -> None:
    d["stations"] = [{"id": "locker", "location": {"lat": 37.55, "lon": 127.0}}]
    for job in d["jobs"]:
        job["setup"] = 90
    for job in d["jobs"][:3]:
        job.update(station="locker", service_level="pickup_station", type="delivery")
        del job["location"]


def _limits(d: dict[str, Any]) -> None:
    for v in d["vehicles"]:
        v.update(max_orders=5, max_duration=6 * HOUR, max_distance=60_000)


def _free_ends(d: dict[str, Any]) -> None:
    for v in d["vehicles"]:
        v["end"] = None
    d["vehicles"][3]["start"] = None


VARIANTS = {
    "base": lambda d: None,
    "shipments": _shipments,
    "skills and depots": _skills_and_depots,
    "several windows": _several_windows,
    "setup and station": _setup_and_station,
    "limits": _limits,
    "free ends": _free_ends,
}


def _pyvrp_plan(problem: Problem, params: SolveParams) -> tuple[Plan, list[str]]:
    data = build_data(problem, HaversineTravel())
    ok, impossible = precheck(data)
    assert pyvrp_fit(data, ok) is None
    result = solve_pyvrp(data, ok, params)
    plan = plan_from_sequences(
        data,
        result.sequences,
        dropped=result.dropped,
        impossible=impossible,
        engine="pyvrp",
        seconds=0.0,
    )
    return plan, result.dropped


@pytest.mark.parametrize("objective", ["cost", "distance"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_plans_pass_the_checker(variant: str, objective: str) -> None:
    """Every PyVRP plan of each problem variant is feasible by the checker."""
    d = _day_json()
    VARIANTS[variant](d)
    problem = Problem.model_validate(d)
    params = SolveParams(time_limit=FAST, objective=objective)  # type: ignore[arg-type]
    plan, dropped = _pyvrp_plan(problem, params)
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)
    assert len(dropped) <= 1
    assert plan.summary.served >= 10


def test_setup_is_paid_once_per_place() -> None:
    """Two jobs at one place pay setup once; a window leaves no room for two."""
    coords = [(0, 0), (1000, 0)]
    jobs = [
        {"id": "a", "at": 1, "setup": 300, "service": 10},
        {"id": "b", "at": 1, "setup": 300, "service": 10, "time_windows": [[0, 420]]},
    ]
    problem = grid_problem(coords, jobs, [{"id": "v"}])
    plan, dropped = _pyvrp_plan(problem, SolveParams(time_limit=FAST))
    assert dropped == []
    assert check(problem, plan, HaversineTravel()).ok
    steps = plan.routes[0].steps
    assert [s.id for s in steps[1:3]] == ["b", "a"]
    assert [s.setup for s in steps[1:3]] == [300, 0]


def test_tsp_matches_brute_force() -> None:
    """One vehicle, six stops: PyVRP finds the enumerated optimum."""
    coords = [(0, 0), (1000, 0), (2000, 0), (2000, 1000), (0, 1000), (-1000, 500)]
    problem = grid_problem(
        coords, [{"id": f"j{i}", "at": i} for i in range(1, 6)], [{"id": "v"}]
    )
    best = brute_force(problem)
    assert best is not None
    plan, _ = _pyvrp_plan(problem, SolveParams(time_limit=FAST))
    assert plan.summary.distance == best[0]


@pytest.mark.parametrize("objective", ["cost", "distance"])
def test_dropped_orders_are_reported(objective: str) -> None:
    """Too little capacity: PyVRP drops orders, keeps the VIP, reports the rest."""
    jobs: list[dict[str, Any]] = [
        {"id": f"j{i}", "at": 1 + i % 3, "demand": [4]} for i in range(5)
    ]
    jobs.append({"id": "vip", "at": 3, "demand": [4], "priority": 100})
    problem = grid_problem(
        [(0, 0), (500, 0), (0, 500), (500, 500)],
        jobs,
        [{"id": "v", "capacity": [10], "costs": {"per_km": 100}}],
    )
    params = SolveParams(time_limit=0.6, objective=objective)  # type: ignore[arg-type]
    plan, dropped = _pyvrp_plan(problem, params)
    assert check(problem, plan, HaversineTravel()).ok
    assert plan.summary.served == 2
    assert len(dropped) == 4
    assert "vip" not in dropped
    assert {u.id for u in plan.unassigned} == set(dropped)
    assert all(u.reason is Reason.DROPPED for u in plan.unassigned)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d["vehicles"][0].update(
                breaks=[
                    {"id": "lunch", "time_windows": [[43200, 46800]], "service": 1800}
                ]
            ),
            "breaks",
        ),
        (lambda d: d["jobs"][1].update(lateness_cost=100), "soft windows"),
        (
            lambda d: (
                _shipments(d),
                d["shipments"][0]["delivery"].update(
                    time_windows=[[36000, 39600], [57600, 61200]]
                ),
            ),
            "several windows on a shipment",
        ),
        (lambda d: (_shipments(d), _limits(d)), "max_orders with shipments"),
        (_several_windows, None),
    ],
)
def test_fit_names_what_pyvrp_lacks(change: Any, reason: str | None) -> None:
    """pyvrp_fit names the first feature PyVRP 0.14 cannot model, else None."""
    d = _day_json()
    change(d)
    data = build_data(Problem.model_validate(d), HaversineTravel())
    ok, _ = precheck(data)
    assert pyvrp_fit(data, ok) == reason


def test_solve_dispatches_and_reports_progress() -> None:
    """solve(engine="pyvrp") plans through the adapter and reports progress."""
    problem = Problem.model_validate(_day_json())
    seen: list[tuple[str, float]] = []
    plan = solve(
        problem,
        params=SolveParams(engine="pyvrp", time_limit=FAST),
        progress=lambda engine, seconds, objective: seen.append((engine, objective)),
    )
    assert plan.engine == "pyvrp"
    assert check(problem, plan, HaversineTravel()).ok
    assert seen
    assert {engine for engine, _ in seen} == {"pyvrp"}


def test_misfit_problem_is_refused() -> None:
    """A problem with breaks is refused with the reason, not solved wrongly."""
    d = _day_json()
    d["vehicles"][0]["breaks"] = [
        {"id": "lunch", "time_windows": [[43200, 46800]], "service": 1800}
    ]
    with pytest.raises(ValueError, match="breaks"):
        solve(
            Problem.model_validate(d),
            params=SolveParams(engine="pyvrp", time_limit=FAST),
        )


# -- the benchmark harness ----------------------------------------------------


@needs_data
def test_bench_c101_with_pyvrp() -> None:
    """PyVRP solves C101 in 2 s: feasible, within 1% of BKS, each customer once."""
    from routing.bench.vrptw import run_instance

    run = run_instance(VRPTW / "solomon" / "instances" / "C101.txt", "pyvrp", 2.0, 0)
    assert run["feasible"], run["violations"]
    assert run["bks_distance"] == 827.3
    assert run["gap_pct"] is not None and run["gap_pct"] < 1.0
    visits = Counter(c for route in run["routes"] for c in route)
    assert sorted(visits) == list(range(1, 101))
    assert set(visits.values()) == {1}
    assert run["vehicles"] == len(run["routes"]) <= 25


@needs_data
def test_bench_pyvrp_direct_is_checked_like_any_plan() -> None:
    """The pyvrp-direct anchor's routes become a plan the checker accepts."""
    from routing.bench.vrptw import run_instance

    run = run_instance(
        VRPTW / "solomon" / "instances" / "R101.txt", "pyvrp-direct", 1.0, 0
    )
    assert run["feasible"], run["violations"]
    assert run["gap_pct"] is not None and run["gap_pct"] < 5.0


def test_bench_reports_infeasible_routes() -> None:
    """A hand-made plan that misses customers is scored infeasible."""
    from routing.bench.vrptw import plan_from_rows, score

    problem = grid_problem(
        [(0, 0), (100, 0), (0, 100)],
        [{"id": "1", "at": 1}, {"id": "2", "at": 2}],
        [{"id": "v"}],
    )
    plan = plan_from_rows(problem, [[1]], seconds=0.0)
    run = score(problem, plan, "X", "pyvrp-direct", 0.0, 10, {})
    assert not run["feasible"]
    assert run["routes"] == [[1]]
    assert run["violations"][0].startswith("coverage: 1 customer")


def _bench_c101(tmp_path: Path, engines: str, *extra: str) -> dict[str, Any]:
    """``bench routing`` on C101 for 0.5 s; the JSON report it wrote."""
    from api.cli.bench_routing import app

    target = tmp_path / "bench.json"
    args = ["--instances", "C101", "--engine", engines, "--time-limit", "0.5"]
    result = CliRunner().invoke(app, [*args, *extra, "--json", str(target)])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(target.read_text())
    return report


@needs_data
def test_bench_cli_writes_json(tmp_path: Path) -> None:
    """The command prints a summary per engine and writes the JSON report."""
    report = _bench_c101(tmp_path, "pyvrp")
    assert set(report) == {"machine", "date", "runs", "summary"}
    assert [r["engine"] for r in report["runs"]] == ["pyvrp"]
    assert report["summary"]["pyvrp"]["instances"] == 1


@needs_data
def test_bench_cli_side_by_side_with_seeds(tmp_path: Path) -> None:
    """Engines run at once, one process each, once per seed; all are judged."""
    runs = _bench_c101(
        tmp_path, "pyvrp,pyvrp-direct", "--seeds", "2", "--side-by-side"
    )["runs"]
    assert [(r["engine"], r["seed"]) for r in runs] == [
        ("pyvrp", 0),
        ("pyvrp-direct", 0),
        ("pyvrp", 1),
        ("pyvrp-direct", 1),
    ]
    assert all(r["feasible"] for r in runs), [r["violations"] for r in runs]


@needs_data
def test_bench_cli_passes_workers_to_auto(tmp_path: Path) -> None:
    """``--workers 1`` gives ``auto`` the one-core race (PyVRP beside
    OR-Tools); ``pyvrp-direct`` stays PyVRP alone."""
    runs = _bench_c101(tmp_path, "auto,pyvrp-direct", "--workers", "1")["runs"]
    assert runs[0]["solved_by"] in ("auto:pyvrp", "auto:ortools")
    assert runs[1]["solved_by"] == "pyvrp-direct"
    assert all(r["feasible"] for r in runs), [r["violations"] for r in runs]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--data-dir", "/nonexistent"], "no solomon instances"),
        (["--engine", "cplex"], "unknown engine"),
        (["--suite", "augerat"], "unknown suite"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bench_cli_rejects_bad_options(args: list[str], words: str) -> None:
    """Bad options exit with code 2 and say what is wrong."""
    from api.cli.bench_routing import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert words in result.output


def test_planar_embedding_recovers_euclidean_geometry() -> None:
    """Distances between the recovered points are the matrix's (to rounding)."""
    from routing.solver.pyvrp_adapter import planar_embedding

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, size=(60, 2))
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    got = planar_embedding(d.astype(np.int64))
    back = np.hypot(*(got[:, None, :] - got[None, :, :]).transpose(2, 0, 1))
    assert np.abs(back - d).max() < 2.0
    assert planar_embedding(np.zeros((2, 2), dtype=np.int64)).shape == (2, 2)


@needs_data
def test_matrix_only_instances_get_the_files_geometry() -> None:
    """A Solomon file read as matrices gets its layout back for PyVRP.

    Without coordinates every place sat at (0, 0), which made PyVRP's SWAP*
    try every pair of routes: the same moves, 1.75x slower per iteration on
    1,000 customers. The recovered places are the file's (times its scale)
    up to a rotation, which the route sectors do not see.
    """
    import tempfile

    import pyvrp

    from routing.io.vrplib import read_solomon
    from routing.solver import pyvrp_adapter as adapter

    path = VRPTW / "solomon" / "instances" / "RC101.txt"
    problem, _ = read_solomon(path)
    data = build_data(problem, HaversineTravel())
    ids = [o.id for o in problem.orders]
    ours = adapter._build(data, ids, with_costs=False, required=True).instance
    with tempfile.TemporaryDirectory() as tmp:
        vrp = Path(tmp) / "RC101.vrp"
        adapter._solomon_to_vrplib(path, vrp)
        theirs = pyvrp.read(vrp, round_func="dimacs")

    def gaps(instance: pyvrp.ProblemData) -> Any:
        xy = np.array(
            [(p.x, p.y) for p in (instance.location(k) for k in range(101))], float
        )
        return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))

    # Truncated distances: within 1.5 units (0.15 of the file's) everywhere.
    assert np.abs(gaps(ours) - gaps(theirs)).max() < 1.5


@needs_data
def test_adapter_searches_as_pyvrp_on_the_file() -> None:
    """A Solomon file through our model and adapter is PyVRP's own instance.

    Same clients, loads, windows, fleet and matrices as ``pyvrp.read`` with
    the DIMACS rounding, so the same seed and number of iterations end in
    the same solution: what ``auto`` does at this size is PyVRP alone, never
    a different search. (With loads left unscaled the search diverged.)
    """
    import tempfile

    import pyvrp
    from pyvrp.stop import MaxIterations

    from routing.io.vrplib import read_solomon
    from routing.solver import pyvrp_adapter as adapter

    path = VRPTW / "solomon" / "instances" / "R101.txt"
    problem, _ = read_solomon(path)
    data = build_data(problem, HaversineTravel())
    built = adapter._build(
        data, [o.id for o in problem.orders], with_costs=False, required=True
    )
    ours = built.instance
    with tempfile.TemporaryDirectory() as tmp:
        vrp = Path(tmp) / "R101.vrp"
        adapter._solomon_to_vrplib(path, vrp)
        theirs = pyvrp.read(vrp, round_func="dimacs")

    def clients(instance: pyvrp.ProblemData) -> list[tuple[Any, ...]]:
        return [
            (
                c.location,
                c.delivery,
                c.pickup,
                c.tw_early,
                c.tw_late,
                c.service_duration,
            )
            for c in instance.clients()
        ]

    assert clients(ours) == clients(theirs)
    assert np.array_equal(ours.distance_matrix(0), theirs.distance_matrix(0))
    assert np.array_equal(ours.duration_matrix(0), theirs.duration_matrix(0))
    mine, file_type = ours.vehicle_type(0), theirs.vehicle_type(0)
    assert mine.capacity == file_type.capacity
    assert (mine.tw_early, mine.tw_late) == (file_type.tw_early, file_type.tw_late)
    assert ours.num_vehicles == theirs.num_vehicles

    def search(instance: pyvrp.ProblemData, penalty: pyvrp.PenaltyParams) -> Any:
        result = pyvrp.solve(
            instance,
            stop=MaxIterations(300),
            seed=1,
            display=False,
            params=pyvrp.SolveParams(penalty=penalty),
        )
        return result.best.distance(), result.best.num_routes()

    assert search(ours, built.penalties) == search(theirs, pyvrp.PenaltyParams())


#: Two speed bands: 40 km/h before noon, a quarter of it after.
NOON_JAM = HaversineTravel(bands=((0, 12, 40.0), (12, 24, 10.0)))


def _noon_jam_day() -> Problem:
    """Two morning vans and one afternoon van; two afternoon orders on a
    line that one van serves in the morning's speed but not in its own.

    B is twice as far as A. A must be served from ``8t`` after noon
    (``t``: depot to A at the morning's speed), B by then: at 40 km/h B
    then A fits; at 10 km/h the van reaches B at ``8t`` and A no earlier
    than ``12t``, so it serves one of them.
    """
    from routing.model import Location

    here = [Location(lat=37.5, lon=127.0 + 0.02 * k) for k in range(3)]
    t = int(NOON_JAM.matrix(here, depart=0).durations[0][1])
    noon, slack = 43_200, t // 2
    return Problem.model_validate(
        {
            "depots": [{"id": "d", "location": {"lat": 37.5, "lon": 127.0}}],
            "vehicles": [
                *(
                    {
                        "id": f"m{k}",
                        "start": "d",
                        "end": "d",
                        "capacity": [9],
                        "shift": [0, noon - 1],
                    }
                    for k in range(2)
                ),
                {
                    "id": "pm",
                    "start": "d",
                    "end": "d",
                    "capacity": [9],
                    "shift": [noon, 86_000],
                },
            ],
            "jobs": [
                {
                    "id": "A",
                    "location": {"lat": 37.5, "lon": 127.02},
                    "demand": [1],
                    "time_windows": [[noon + 8 * t, noon + 8 * t + slack]],
                },
                {
                    "id": "B",
                    "location": {"lat": 37.5, "lon": 127.04},
                    "demand": [1],
                    "time_windows": [[noon, noon + 8 * t + slack]],
                },
            ],
        }
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_each_van_travels_in_its_own_band(workers: int) -> None:
    """The afternoon van is planned at the afternoon's speed, not at the
    morning's (the band most vans are in): its plan passes the checker and
    serves one of the two orders, as OR-Tools' does."""
    problem = _noon_jam_day()
    data = build_data(problem, NOON_JAM)
    assert sorted(set(data.solve_band)) == [0, 1]
    params = SolveParams(
        engine="pyvrp",
        objective="distance",
        time_limit=5,
        iterations=300,
        workers=workers,
    )
    plan = solve(problem, travel=NOON_JAM, params=params)
    assert check(problem, plan, NOON_JAM).ok
    assert [r.vehicle for r in plan.routes] == ["pm"]
    assert len(plan.routes[0].order_ids) == 1
    assert len(plan.unassigned) == 1
    ortools = solve(
        problem, travel=NOON_JAM, params=params.model_copy(update={"engine": "ortools"})
    )
    assert ortools.summary.served == plan.summary.served == 1


def test_arcs_with_no_road_are_never_driven_by_pyvrp() -> None:
    """A one-way trap: PyVRP goes round the blocked arc, either way round."""
    from tests.routing.solver.test_solve import _Blocked, _line_problem

    problem = _line_problem()
    for blocked, order in (({(1, 2)}, ["b", "a"]), ({(2, 1)}, ["a", "b"])):
        travel = _Blocked(blocked)
        params = SolveParams(engine="pyvrp", time_limit=1, iterations=200, workers=1)
        plan = solve(problem, travel=travel, params=params)
        assert check(problem, plan, travel).ok
        assert plan.routes[0].order_ids == order
