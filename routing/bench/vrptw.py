"""The VRPTW benchmark harness: solve instances, judge them, compare with BKS.

Every run is scored by :func:`routing.solver.check` on the plan, never by an
engine's own numbers. Two conventions (``CONVENTIONS``):

``"distance"``
    Distances follow the DIMACS convention of
    :func:`routing.io.vrplib.read_solomon` and are reported in instance units
    (one decimal), next to the ``distance_only;euclid_trunc1`` best-known
    solutions; the objective is ``"distance"``.
``"hierarchical"``
    The SINTEF convention: the objective is ``"vans_then_distance"``, the
    instance is read with ``convention="hierarchical"``, and the routes are
    re-measured in doubles by :mod:`routing.bench.rescore` (no code shared
    with the checker; both must agree). A run reports its routes over the
    BKS routes (``extra_routes``) and its distance gap only where the routes
    equal the BKS.

Engines are the names :func:`routing.solver.solve` accepts plus
``"pyvrp-direct"``: PyVRP on the instance file through its own reader and
solver (the reference our PyVRP adapter should match), its routes timed and
checked like any plan, within the same wall time (reading the file and turning
its routes into a plan count, as indexing and building the plan count for
``auto``).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from routing.bench.machine import machine as describe_machine
from routing.bench.rescore import read_instance, rescore
from routing.io.vrplib import (
    DISTANCE_ONLY,
    HIERARCHICAL,
    BksEntry,
    read_bks,
    read_solomon,
)
from routing.model import Problem
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, solve
from routing.solver.data import build_data
from routing.solver.params import Engine, plan_reserve
from routing.solver.solve import plan_from_sequences
from routing.solver.timeline import Visit
from routing.travel import HaversineTravel

PYVRP_DIRECT = "pyvrp-direct"
#: Engine names the harness runs.
ENGINES: tuple[str, ...] = (*get_args(Engine), PYVRP_DIRECT)
SUITES = ("solomon", "homberger")
#: Scoring conventions: DIMACS distance only, or SINTEF fewest vans first.
CONVENTIONS = ("distance", "hierarchical")
#: How many violations a run keeps.
MAX_VIOLATIONS = 5


def default_data_dir() -> Path:
    """``shared/benchmarks/vrptw`` next to the repository."""
    return Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "vrptw"


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]


def suite_instances(
    data_dir: Path, suite: str, names: Sequence[str] | None = None
) -> list[Path]:
    """Instance files of a suite, in natural order.

    Parameters
    ----------
    data_dir
        The ``vrptw`` benchmark folder.
    suite
        ``"solomon"`` or ``"homberger"``.
    names
        Instance names (case-insensitive); by default every Solomon instance,
        or the 1000-customer (``*_10_*``) Gehring-Homberger ones.

    Returns
    -------
    list of Path
        The instance files.

    Raises
    ------
    ValueError
        For an unknown suite or instance name.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    files = sorted((data_dir / suite / "instances").glob("*.txt"), key=_natural)
    if not names:
        if suite == "homberger":
            files = [f for f in files if "_10_" in f.stem]
        return files
    by_name = {f.stem.upper(): f for f in files}
    unknown = [n for n in names if n.upper() not in by_name]
    if unknown:
        raise ValueError(f"unknown {suite} instance(s): {', '.join(unknown)}")
    return [by_name[n.upper()] for n in names]


def bks_for(path: Path, convention: str = "distance") -> dict[str, BksEntry]:
    """The suite's BKS table (``../bks.csv``) of a convention, if there is one."""
    table = path.parent.parent / "bks.csv"
    rows = HIERARCHICAL if convention == "hierarchical" else DISTANCE_ONLY
    return read_bks(table, convention=rows) if table.is_file() else {}


def run_instance(
    path: str | Path,
    engine: str,
    time_limit: float,
    seed: int = 0,
    *,
    bks: Mapping[str, BksEntry] | None = None,
    convention: str = "distance",
    workers: int | None = None,
) -> dict[str, Any]:
    """Solve one instance with one engine and judge the plan.

    Parameters
    ----------
    path
        A Solomon-format instance file.
    engine
        One of :data:`ENGINES`.
    time_limit
        Seconds of search.
    seed
        Random seed.
    bks
        Best-known solutions by instance name; read from the suite's
        ``bks.csv`` when omitted.
    convention
        One of :data:`CONVENTIONS`.
    workers
        ``SolveParams.workers`` (default: all cores); ``pyvrp-direct`` is
        PyVRP alone, one process, whatever it is.

    Returns
    -------
    dict
        ``instance, engine, seconds, vehicles, distance, bks_distance,
        bks_vehicles, gap_pct, feasible, unassigned, violations, routes``
        (routes as lists of customer numbers).

    Raises
    ------
    ValueError
        For an unknown engine, or one that cannot model the problem.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; choose from {', '.join(CONVENTIONS)}"
        )
    hierarchical = convention == "hierarchical"
    if hierarchical and engine == PYVRP_DIRECT:
        raise ValueError("pyvrp-direct solves for distance only, not vans first")
    path = Path(path)
    problem, info = read_solomon(
        path, convention="hierarchical" if hierarchical else "dimacs"
    )
    table = bks_for(path, convention) if bks is None else bks
    t0 = time.perf_counter()
    if engine == PYVRP_DIRECT:
        plan = _solve_direct(path, problem, time_limit, seed)
    else:
        options: dict[str, Any] = {
            "engine": engine,
            "objective": "vans_then_distance" if hierarchical else "distance",
            "time_limit": time_limit,
            "seed": seed,
        }
        if workers is not None:
            options["workers"] = workers
        params = SolveParams.model_validate(options)
        plan = solve(problem, params=params, coordinates=info["coordinates"])
    seconds = time.perf_counter() - t0
    # File names carry the BKS tables' spelling (the first line may differ).
    run = score(problem, plan, path.stem, engine, seconds, info["scale"], table)
    return hierarchical_score(path, run) if hierarchical else run


#: Distance the checker's integer arcs (thousandths, rounded) may differ from
#: doubles per arc.
ROUNDING_PER_ARC = 0.0005


def hierarchical_score(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    """``run`` re-measured in doubles, with routes over the BKS.

    The distance becomes the re-scored one (4 decimals); ``feasible`` needs
    the checker and the re-scorer both; ``agrees`` says whether they agree on
    feasibility and on the distance (within rounding per arc).
    """
    verdict = rescore(read_instance(path), run["routes"])
    checked = run["distance"]
    agrees = (
        verdict.feasible == run["feasible"]
        and abs(checked - verdict.distance) <= ROUNDING_PER_ARC * verdict.arcs + 0.001
    )
    extra = None
    gap = None
    if run["bks_vehicles"] is not None:
        extra = verdict.routes - run["bks_vehicles"]
        if extra == 0 and run["bks_distance"]:
            best = run["bks_distance"]
            gap = round(100.0 * (verdict.distance - best) / best, 2)
    violations = [*run["violations"], *(f"rescore: {v}" for v in verdict.violations)]
    return run | {
        "convention": "hierarchical",
        "distance": round(verdict.distance, 4),
        "checker_distance": checked,
        "extra_routes": extra,
        "gap_pct": gap,
        "feasible": run["feasible"] and verdict.feasible,
        "agrees": agrees,
        "violations": violations[:MAX_VIOLATIONS],
    }


def _solve_direct(path: Path, problem: Problem, time_limit: float, seed: int) -> Plan:
    """PyVRP on the file itself, its routes timed into a plan."""
    from routing.solver.pyvrp_adapter import solve_file_direct

    # The same wall time to a timed plan as every engine: PyVRP's routes
    # become a plan here, so the search keeps back what the decomposition
    # keeps back for its own plan (else it would run 0.4 s past the limit
    # at 1,000 customers while ``auto`` stops inside it).
    keep = plan_reserve(len(problem.jobs) + len(problem.shipments))
    direct = solve_file_direct(path, time_limit=max(0.1, time_limit - keep), seed=seed)
    return plan_from_rows(problem, direct.routes, seconds=direct.seconds)


def plan_from_rows(
    problem: Problem, routes: Sequence[Sequence[int]], *, seconds: float
) -> Plan:
    """A plan from routes given as matrix rows (customer rows of the file).

    Route ``k`` goes to vehicle ``k``; routes beyond the fleet, and rows that
    are no job, leave their customers unassigned.
    """
    data = build_data(problem, HaversineTravel())
    by_row = {
        job.location.index: job.id
        for job in problem.jobs
        if job.location is not None and job.location.index is not None
    }
    sequences: list[list[Visit]] = [[] for _ in problem.vehicles]
    for k, route in enumerate(routes[: len(problem.vehicles)]):
        sequences[k] = [data.order_nodes[by_row[r]][0] for r in route if r in by_row]
    served = {
        data.nodes[n].order for seq in sequences for n in seq if isinstance(n, int)
    }
    dropped = [job.id for job in problem.jobs if job.id not in served]
    return plan_from_sequences(
        data,
        sequences,
        dropped=dropped,
        impossible=[],
        engine=PYVRP_DIRECT,
        seconds=seconds,
    )


def score(
    problem: Problem,
    plan: Plan,
    instance: str,
    engine: str,
    seconds: float,
    scale: int,
    bks: Mapping[str, BksEntry],
) -> dict[str, Any]:
    """Judge ``plan`` with the checker and compare its distance with the BKS."""
    verdict = check(problem, plan, HaversineTravel())
    routes = [
        [int(s.id) for s in r.steps if s.type == StepType.JOB and s.id is not None]
        for r in plan.routes
    ]
    routes = [r for r in routes if r]
    distance = round(verdict.distance / scale, 1 if scale <= 10 else 3)
    best = bks.get(instance)
    gap = None
    if best is not None and best["distance"] > 0:
        gap = round(100.0 * (distance - best["distance"]) / best["distance"], 2)
    unassigned = len(plan.unassigned)
    violations = [f"{v.kind}: {v.detail}" for v in verdict.violations]
    if unassigned:
        violations.insert(0, f"coverage: {unassigned} customer(s) unassigned")
    return {
        "instance": instance,
        "engine": engine,
        "solved_by": plan.engine,
        "seconds": round(seconds, 2),
        "vehicles": len(routes),
        "distance": distance,
        "bks_distance": None if best is None else best["distance"],
        "bks_vehicles": None if best is None else best["vehicles"],
        "gap_pct": gap,
        "feasible": verdict.ok and unassigned == 0,
        "unassigned": unassigned,
        "violations": violations[:MAX_VIOLATIONS],
        "routes": routes,
    }


def failed_run(instance: str, engine: str, error: str) -> dict[str, Any]:
    """The record of a run that raised instead of returning a plan."""
    return {
        "instance": instance,
        "engine": engine,
        "seconds": None,
        "vehicles": None,
        "distance": None,
        "bks_distance": None,
        "bks_vehicles": None,
        "gap_pct": None,
        "feasible": False,
        "unassigned": None,
        "violations": [f"error: {error}"],
        "routes": [],
        "extra_routes": None,
        "agrees": None,
    }


def summarise(runs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per engine: instances, feasible count, mean/max gap (feasible runs), time.

    Returns
    -------
    dict
        Engine name to ``instances, feasible, mean_gap_pct, max_gap_pct,
        mean_seconds`` (gaps ``None`` when no feasible run has a BKS).
    """
    by_engine: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_engine.setdefault(str(run["engine"]), []).append(run)
    out: dict[str, dict[str, Any]] = {}
    for engine, rows in by_engine.items():
        gaps = [
            r["gap_pct"] for r in rows if r["feasible"] and r["gap_pct"] is not None
        ]
        times = [r["seconds"] for r in rows if r["seconds"] is not None]
        out[engine] = {
            "instances": len(rows),
            "feasible": sum(1 for r in rows if r["feasible"]),
            "mean_gap_pct": round(statistics.fmean(gaps), 2) if gaps else None,
            "max_gap_pct": round(max(gaps), 2) if gaps else None,
            "mean_seconds": round(statistics.fmean(times), 2) if times else None,
            "infeasible": [r["instance"] for r in rows if not r["feasible"]],
        }
        extra = [r.get("extra_routes") for r in rows if r["feasible"]]
        if any(e is not None for e in extra):
            # Hierarchical: routes over the BKS, gaps only where routes equal it.
            counted = [e for e in extra if e is not None]
            out[engine] |= {
                "extra_routes": sum(max(0, e) for e in counted),
                "fewer_routes": sum(1 for e in counted if e < 0),
                "at_bks_routes": sum(1 for e in counted if e == 0),
                "disagreements": [
                    r["instance"] for r in rows if r.get("agrees") is False
                ],
            }
    return out


def machine() -> dict[str, Any]:
    """Where the benchmark ran, with the versions that matter here."""
    return describe_machine(("pyvrp", "ortools"))


def report(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON document of a benchmark: machine, date, runs and summary."""
    return {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": list(runs),
        "summary": summarise(runs),
    }
