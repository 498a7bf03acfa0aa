"""The PDPTW benchmark: seeded pickup-and-delivery days and the harness.

Generator (:func:`generate`)
----------------------------
A PDPTW instance of ``N`` pairs is made from one Gehring-Homberger (or
Solomon) VRPTW instance: its depot, horizon, fleet, capacity and customer
rows (place, demand, window, service). The rules, all seeded by one
``numpy.random.default_rng(seed)``:

1. **Rows.** A stream of customer rows is drawn: a random permutation of all
   customers, followed by further independent permutations as long as
   needed. ``N`` pairs use ``2N`` rows or a few more, so with 1,000 customers
   200 pairs use 400 distinct places, 500 pairs about all of them, and 1,000
   pairs each place about twice (two stops at one place are two tasks).
2. **Pairs.** The stream is read two rows at a time. Of rows ``a`` and ``b``
   the one whose window opens first is the pickup (``a`` on a tie); when the
   pair cannot be served by a direct round trip (rule 4) in that orientation,
   the other is tried; when neither works, or ``a`` and ``b`` are the same
   row, ``a`` is skipped and ``b`` pairs with the next row. The amount is the
   pickup row's demand.
3. **Windows.** Every time is computed in the reader's integer arithmetic
   (:func:`routing.io.lilim.read_li_lim`: tenths, arcs ``floor(10 *
   euclid)``), so what holds here holds for the solvers and the checker:

   * pickup: its row's window ``[e_p, l_p]``, its end cut to the latest
     start that still lets a direct trip deliver and return:
     ``l_p' = min(l_p, floor((10H - 10s_p - D(p,d) - 10s_d - D(d,0)) / 10))``;
   * delivery: the earliest direct arrival is ``A = max(D(0,p), 10e_p) +
     10s_p + D(p,d)``; the window keeps its row's width ``w = l_d - e_d``
     and opens at ``e_d' = max(e_d, floor(A / 10))`` (its own opening when
     that is after the parcel can arrive, else moved to the arrival), capped
     at the latest start that returns in time ``L_d = floor((10H - 10s_d -
     D(d,0)) / 10)``; it closes at ``min(max(e_d' + w, ceil(A / 10)), L_d)``.

   So a delivery window never opens before its pickup's, and never closes
   before the parcel can reach it.
4. **Feasible alone.** A pair is kept only when one vehicle leaving the
   depot at 0 can pick up (start ``max(D(0,p), 10e_p)`` within the pickup
   window), drive straight to the delivery, start it within its window, and
   be back by the horizon ``H``; its amount is at most the capacity.
5. **Output.** A Li & Lim file (:mod:`routing.io.lilim`): the source's fleet
   and capacity, the depot as task 0, pair ``k`` as tasks ``2k+1`` (pickup)
   and ``2k+2`` (delivery), services from the rows. Named
   ``SOURCE-pN-sSEED``. The same source, ``N`` and seed give the same file.

Harness (:func:`run_instance`)
------------------------------
Each engine plans the instance for ``time_limit`` seconds of wall time:
milepost's ``auto``, ``ortools`` (OR-Tools alone), or ``vroom``
(:mod:`routing.bench.vroom_peer`). Every plan is judged by
:func:`routing.solver.check` (VROOM's routes too, timed by our timeline) and
compared with the instance's reference: the best feasible plan of the long
runs stored in the reference file with the commands that made them
(:func:`save_reference`). Distances are in instance units (one decimal).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.bench.machine import machine as describe_machine
from routing.io.lilim import LI_LIM_SCALE, PdptwInstance, Task, read_li_lim
from routing.io.vrplib import SolomonRow, read_rows
from routing.model import Problem
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel

#: Engines the harness runs: milepost's (any :func:`routing.solver.solve`
#: engine) and the VROOM peer.
ENGINES = ("auto", "ortools", "pyvrp", "large", "vroom")
OBJECTIVES = ("vans_then_distance", "distance")
#: How many violations a run keeps.
MAX_VIOLATIONS = 5
#: Threads VROOM gets: the cores ``auto`` and OR-Tools alone use (2 processes).
VROOM_THREADS = 2

#: Rows after a row searched for its partner (generator rule 2).
LOOKAHEAD = 100

_Window = tuple[int, int]


@dataclass(frozen=True)
class Generated:
    """A generated instance, its name and how many drawn rows were skipped."""

    name: str
    instance: PdptwInstance
    skipped: int


def default_folder() -> Path:
    """``benchmarks/pdptw`` of the repository: instances and references."""
    return Path(__file__).resolve().parents[2] / "benchmarks" / "pdptw"


def _dimacs(rows: Sequence[SolomonRow]) -> npt.NDArray[np.int64]:
    """``floor(10 * euclid)`` between rows, as the reader computes it."""
    coords = np.array([(r.x, r.y) for r in rows], dtype=np.float64)
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.sqrt((diff**2).sum(axis=2))
    arcs: npt.NDArray[np.int64] = (10 * euclid).astype(np.int64)
    return arcs


def pair_windows(
    dist: npt.NDArray[np.int64],
    horizon: int,
    p: SolomonRow,
    d: SolomonRow,
    rows_at: Mapping[int, int],
) -> tuple[_Window, _Window] | None:
    """The windows of ``p`` picked up and delivered at ``d`` (rule 3), or
    None when the pair does not fit (rule 2: the delivery window opens before
    the pickup's, or no direct round trip serves both)."""
    if d.ready < p.ready:
        return None
    ip, id_ = rows_at[p.customer], rows_at[d.customer]
    d0p, dpd, dd0 = int(dist[0, ip]), int(dist[ip, id_]), int(dist[id_, 0])
    sp, sd = 10 * int(p.service), 10 * int(d.service)
    h10 = 10 * horizon
    start_p = max(d0p, 10 * int(p.ready))
    late_p = min(int(p.due), (h10 - sp - dpd - sd - dd0) // 10)
    if start_p > 10 * late_p:
        return None
    late_d = min(int(d.due), (h10 - sd - dd0) // 10)
    if max(start_p + sp + dpd, 10 * int(d.ready)) > 10 * late_d:
        return None
    return (int(p.ready), late_p), (int(d.ready), late_d)


def _whole(rows: Sequence[SolomonRow], source: Path) -> None:
    for r in rows:
        values = (r.x, r.y, r.ready, r.due, r.service)
        if not all(float(v).is_integer() for v in values):
            raise ValueError(
                f"{source}: line {r.line}: the generator needs whole numbers"
            )


def generate(source: str | Path, pairs: int, seed: int = 0) -> Generated:
    """A PDPTW instance of ``pairs`` pairs from a VRPTW file (module docstring).

    Raises
    ------
    ValueError
        When ``pairs`` is below 1, the file has fractional values, or the
        drawn rows cannot make ``pairs`` feasible pairs.
    """
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    path = Path(source)
    _, vehicles, capacity, rows = read_rows(path)
    _whole(rows, path)
    depot, customers = rows[0], rows[1:]
    horizon = int(depot.due)
    dist = _dimacs(rows)
    rows_at = {r.customer: i for i, r in enumerate(rows)}
    rng = np.random.default_rng(seed)
    copies = math.ceil(2 * pairs / len(customers)) + 1
    stream = [
        customers[int(i)]
        for _ in range(copies)
        for i in rng.permutation(len(customers))
    ]
    used = [False] * len(stream)
    made: list[tuple[SolomonRow, SolomonRow, _Window, _Window]] = []
    skipped = 0
    for k in range(len(stream)):
        if len(made) == pairs:
            break
        if used[k]:
            continue
        found = _partner(
            stream,
            used,
            k,
            lambda p, d: pair_windows(dist, horizon, p, d, rows_at),
            capacity,
        )
        if found is None:
            skipped += 1
            continue
        made.append(found)
    if len(made) < pairs:
        raise ValueError(
            f"{path.name}: only {len(made)} of {pairs} pairs are feasible "
            f"from {len(stream)} drawn rows"
        )
    tasks = [Task(0, depot.x, depot.y, 0, depot.ready, depot.due, 0)]
    for n, (p, d, wp, wd) in enumerate(made):
        no = 2 * n + 1
        tasks.append(Task(no, p.x, p.y, p.demand, *wp, p.service, 0, no + 1))
        tasks.append(Task(no + 1, d.x, d.y, -p.demand, *wd, d.service, no, 0))
    name = f"{path.stem.upper()}-p{pairs}-s{seed}"
    return Generated(name, PdptwInstance(vehicles, capacity, tuple(tasks)), skipped)


def _partner(
    stream: Sequence[SolomonRow],
    used: list[bool],
    k: int,
    windows: Callable[[SolomonRow, SolomonRow], tuple[_Window, _Window] | None],
    capacity: int,
) -> tuple[SolomonRow, SolomonRow, _Window, _Window] | None:
    """Row ``k``'s partner (rule 2): the first unused row within
    :data:`LOOKAHEAD` after it that pairs with it; both are then used."""
    a = stream[k]
    for j in range(k + 1, min(len(stream), k + 1 + LOOKAHEAD)):
        b = stream[j]
        if used[j] or b.customer == a.customer:
            continue
        first, second = (b, a) if b.ready < a.ready else (a, b)
        got = windows(first, second)
        if got is not None and first.demand <= capacity:
            used[k] = used[j] = True
            return first, second, *got
    return None


# --- the harness ------------------------------------------------------------


def run_instance(
    path: str | Path,
    engine: str,
    time_limit: float,
    seed: int = 0,
    *,
    objective: str = "vans_then_distance",
    reference: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Plan one instance with one engine and judge the plan.

    Returns
    -------
    dict
        ``instance, engine, seed, solved_by, seconds, vehicles, distance,
        feasible, unassigned, violations, ref_vehicles, ref_distance,
        extra_routes, gap_pct, routes`` (routes as task numbers).

    Raises
    ------
    ValueError
        For an unknown engine or objective.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {objective!r}; choose from {', '.join(OBJECTIVES)}"
        )
    path = Path(path)
    problem, info = read_li_lim(path)
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if engine == "vroom":
        from routing.bench.vroom_peer import EXPLORATION_LEVEL, solve_vroom

        got = solve_vroom(
            problem,
            time_limit,
            vans_first=objective == "vans_then_distance",
            threads=VROOM_THREADS,
        )
        plan = got.plan
        extra = {
            "vroom_search_seconds": round(got.search_seconds, 2),
            "vroom_exploration_level": EXPLORATION_LEVEL,
        }
    else:
        params = SolveParams.model_validate(
            {
                "engine": engine,
                "objective": objective,
                "time_limit": time_limit,
                "seed": seed,
            }
        )
        plan = solve(problem, params=params, coordinates=info["coordinates"])
    seconds = time.perf_counter() - t0
    run = score(problem, plan, path.stem, engine, seconds, reference)
    return (
        run | {"seed": seed, "time_limit": time_limit, "objective": objective} | extra
    )


def _task_routes(plan: Plan) -> list[list[int]]:
    """Each used route as the rows of its stops (task numbers in files whose
    tasks are numbered by row, as generated ones are)."""
    routes = []
    for r in plan.routes:
        rows = [
            s.location.index
            for s in r.steps
            if s.type in (StepType.PICKUP, StepType.DELIVERY)
            and s.location is not None
            and s.location.index is not None
        ]
        if rows:
            routes.append(rows)
    return routes


def score(
    problem: Problem,
    plan: Plan,
    instance: str,
    engine: str,
    seconds: float,
    reference: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Judge ``plan`` with the checker and compare it with the reference."""
    verdict = check(problem, plan, HaversineTravel())
    routes = _task_routes(plan)
    distance = round(verdict.distance / LI_LIM_SCALE, 1)
    unassigned = len(plan.unassigned)
    violations = [f"{v.kind}: {v.detail}" for v in verdict.violations]
    if unassigned:
        violations.insert(0, f"coverage: {unassigned} pair(s) unassigned")
    best = None if reference is None else reference.get(instance)
    extra_routes = gap = None
    if best is not None:
        extra_routes = len(routes) - int(best["vehicles"])
        gap = round(100.0 * (distance - best["distance"]) / best["distance"], 2)
    return {
        "instance": instance,
        "engine": engine,
        "solved_by": plan.engine,
        "seconds": round(seconds, 2),
        "vehicles": len(routes),
        "distance": distance,
        "feasible": verdict.ok and unassigned == 0,
        "unassigned": unassigned,
        "violations": violations[:MAX_VIOLATIONS],
        "ref_vehicles": None if best is None else best["vehicles"],
        "ref_distance": None if best is None else best["distance"],
        "extra_routes": extra_routes,
        "gap_pct": gap,
        "routes": routes,
    }


def failed_run(instance: str, engine: str, seed: int, error: str) -> dict[str, Any]:
    """The record of a run that raised instead of returning a plan."""
    return {
        "instance": instance,
        "engine": engine,
        "seed": seed,
        "solved_by": None,
        "seconds": None,
        "vehicles": None,
        "distance": None,
        "feasible": False,
        "unassigned": None,
        "violations": [f"error: {error}"],
        "ref_vehicles": None,
        "ref_distance": None,
        "extra_routes": None,
        "gap_pct": None,
        "routes": [],
    }


# --- the reference ----------------------------------------------------------


def _rank(run: Mapping[str, Any], objective: str) -> tuple[float, float]:
    if objective == "vans_then_distance":
        return float(run["vehicles"]), float(run["distance"])
    return 0.0, float(run["distance"])


def load_reference(path: str | Path, objective: str) -> dict[str, Any]:
    """The best plan per instance of a reference file (empty if none).

    Raises
    ------
    ValueError
        When the file is for another objective.
    """
    p = Path(path)
    if not p.is_file():
        return {}
    document = json.loads(p.read_text(encoding="utf-8"))
    if document.get("objective") != objective:
        raise ValueError(
            f"{p}: the reference is for objective {document.get('objective')!r}, "
            f"not {objective!r}"
        )
    return dict(document["best"])


def save_reference(
    path: str | Path,
    runs: Iterable[Mapping[str, Any]],
    *,
    objective: str,
    command: str,
    date: str,
) -> dict[str, Any]:
    """Add the feasible ``runs`` to the reference file and keep each
    instance's best (fewest vans, then distance; or distance alone).

    Every run is stored with ``command`` and ``date`` (what made it) and its
    routes, so the reference can be re-checked. Returns the best per instance.
    """
    p = Path(path)
    document: dict[str, Any] = {"objective": objective, "best": {}, "runs": []}
    if p.is_file():
        document = json.loads(p.read_text(encoding="utf-8"))
        if document.get("objective") != objective:
            raise ValueError(
                f"{p}: the reference is for objective {document['objective']!r}"
            )
    for run in runs:
        if not run["feasible"]:
            continue
        kept = {
            key: run[key]
            for key in ("instance", "engine", "seed", "time_limit", "seconds")
        }
        kept |= {
            "vehicles": run["vehicles"],
            "distance": run["distance"],
            "command": command,
            "date": date,
            "routes": run["routes"],
        }
        document["runs"].append(kept)
        best = document["best"].get(run["instance"])
        if best is None or _rank(kept, objective) < _rank(best, objective):
            document["best"][run["instance"]] = {
                k: kept[k]
                for k in ("vehicles", "distance", "engine", "seed", "time_limit")
            } | {"command": command, "date": date}
    p.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return dict(document["best"])


def summarise(runs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per engine: runs, feasible, routes over the reference, mean/max gap."""
    by_engine: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_engine.setdefault(str(run["engine"]), []).append(run)
    out: dict[str, dict[str, Any]] = {}
    for engine, rows in by_engine.items():
        ok = [r for r in rows if r["feasible"]]
        gaps = [r["gap_pct"] for r in ok if r["gap_pct"] is not None]
        out[engine] = {
            "instances": len(rows),
            "feasible": len(ok),
            "extra_routes": sum(r["extra_routes"] or 0 for r in ok),
            "mean_gap_pct": round(statistics.fmean(gaps), 2) if gaps else None,
            "max_gap_pct": round(max(gaps), 2) if gaps else None,
            "mean_seconds": round(
                statistics.fmean(r["seconds"] for r in rows if r["seconds"]), 2
            )
            if any(r["seconds"] for r in rows)
            else None,
        }
    return out


def report(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON document of a benchmark: machine, date, runs and summary."""
    return {
        "machine": describe_machine(("pyvrp", "ortools", "pyvroom")),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": list(runs),
        "summary": summarise(runs),
    }
