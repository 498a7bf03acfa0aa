"""Solver parameters and the extension points engines call back into."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import Field

from routing.base import FrozenModel
from routing.bounds import Real, Whole

if TYPE_CHECKING:
    from routing.locale import Locale
    from routing.solver.data import ProblemData

Engine = Literal["ortools", "pyvrp", "auto", "large"]
Objective = Literal["cost", "distance", "vans_then_distance"]

#: Engines price money in integers: hundredths of a KRW, and the same share
#: of a driver-hour in any other currency (:func:`cost_scale`), so rounding
#: weighs a cost the same whatever the currency.
COST_SCALE = 100
#: Engine units in one driver-hour: COST_SCALE per KRW at 20,000 KRW an hour.
ENGINE_UNITS_PER_HOUR = COST_SCALE * 20_000


#: Seconds kept back after a whole-problem search, plus so much per order:
#: its plan's timelines and two checks take 0.21 s at 1,000 orders.
WHOLE_RESERVE = 0.15
WHOLE_RESERVE_PER_ORDER = 0.0002


def plan_reserve(orders: int) -> float:
    """Seconds kept back after a whole-problem search to make and check its plan."""
    return WHOLE_RESERVE + WHOLE_RESERVE_PER_ORDER * orders


def usable_cores(workers: int | None = None) -> int:
    """The cores this process may run on, at most ``workers`` of them."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - platforms without affinity masks
        cores = os.cpu_count() or 1
    return max(1, cores if workers is None else min(workers, cores))


def cost_scale(locale: Locale) -> float:
    """Engine units per unit of ``locale``'s currency (100 for KRW, 80,000
    for USD at 25 USD a driver-hour)."""
    return ENGINE_UNITS_PER_HOUR / locale.driver_hour


class SolveParams(FrozenModel):
    """How to solve.

    ``engine`` is ``"auto"`` by default: the day size decides
    (:func:`routing.solver.choose_engine`); ``"ortools"``, ``"pyvrp"`` and
    ``"large"`` (the decomposition) are taken as asked.

    ``objective="distance"`` ignores vehicle costs and minimises metres (the
    benchmark convention); ``"cost"`` uses fixed, per-km and per-hour costs,
    lateness costs and drop penalties. A problem whose vehicles carry no costs
    at all is solved for distance either way. ``"vans_then_distance"`` is
    lexicographic: fewest routes first, then fewest metres (the SINTEF
    convention of the VRPTW benchmarks); every engine prices a van above any
    plan's distance (:func:`van_charge`), and ``auto`` ends with a
    route-minimisation phase.

    OR-Tools search (docs/ortools-search.md has the measurements):
    ``first_solution`` is a ``FirstSolutionStrategy`` name; ``metaheuristic``
    is ``"ITERATED_LOCAL_SEARCH"`` (ruin and recreate with SISR string
    removals, ``ruin_visits`` visits removed on average and at most
    ``ruin_sequence`` in a row from one route) or a
    ``LocalSearchMetaheuristic`` name such as ``"GUIDED_LOCAL_SEARCH"``.
    OR-Tools routing takes no random seed: a search is repeatable only up to
    how far it gets within ``time_limit``.

    ``workers`` is how many cores a solve may use (by default every core
    this process may run on; more than that counts as that): PyVRP searches
    as that many islands that share their best solution
    (:mod:`routing.solver.islands`), ``auto`` gives them every core when
    PyVRP models the whole problem, the decomposition solves that many
    parts at once, and OR-Tools runs that many differently configured
    searches side by side when the machine has idle cores (never inside
    another process pool), the best winning. ``workers=1`` is one PyVRP
    search (``auto`` still races it against OR-Tools in a second process).
    """

    engine: Engine = "auto"
    time_limit: Real = Field(default=10.0, gt=0.0, description="seconds")
    seed: Whole = 0
    objective: Objective = "cost"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "ITERATED_LOCAL_SEARCH"
    ruin_visits: Whole = Field(default=20, ge=1, description="SISR mean removal")
    ruin_sequence: Whole = Field(default=10, ge=1, description="SISR longest string")
    workers: Whole = Field(
        default_factory=lambda: usable_cores(),
        ge=1,
        description="cores a solve may use (default: all): PyVRP islands, "
        "decomposition parts, OR-Tools searches at once",
    )
    iterations: int | None = Field(
        default=None,
        ge=1,
        description="also stop after this many OR-Tools solutions or PyVRP "
        "iterations: a search that ends here, not at the time limit, gives "
        "the same plan for the same problem and seed on every run",
    )

    @classmethod
    def from_file(cls, path: str | Path) -> SolveParams:
        """Read parameters from a TOML file (keys as the fields above)."""
        with Path(path).open("rb") as fh:
            return cls.model_validate(tomllib.load(fh))


class ProgressCallback(Protocol):
    """Called when an engine finds a better solution.

    ``objective`` is in the plan's units: the cost in the problem's currency
    (left-out orders' penalties included) when the objective is money, else
    metres driven.
    """

    def __call__(self, engine: str, seconds: float, objective: float) -> None: ...


def fewest_vans(params: SolveParams) -> bool:
    """Whether routes count before distance (``"vans_then_distance"``)."""
    return params.objective == "vans_then_distance"


def van_charge(longest_arc: float, visits: int, vehicles: int) -> int:
    """A fixed cost per van that makes distance the second criterion.

    A plan with ``r`` routes drives ``visits + r`` arcs (each visit is left
    once, each route once more from its start), so no plan is longer than
    ``(visits + vehicles) * longest_arc``. A van priced above that bound
    outweighs any distance a plan with one more van could save: minimising
    ``charge * routes + distance`` is then lexicographic.
    """
    return int((visits + vehicles) * max(1.0, float(longest_arc))) + 1


def uses_costs(data: ProblemData, params: SolveParams) -> bool:
    """Whether the objective is money (vehicle costs) or plain distance."""
    if params.objective != "cost":
        return False
    return any(
        v.costs.fixed or v.costs.per_km or v.costs.per_hour
        for v in data.problem.vehicles
    )


def in_plan_units(
    progress: ProgressCallback | None, data: ProblemData, params: SolveParams
) -> ProgressCallback | None:
    """``progress`` for an engine that searches in :func:`cost_scale` units.

    The engines price in integers; whoever asked for progress hears the
    plan's units (its currency), like the plan's own summary.
    """
    if progress is None or not uses_costs(data, params):
        return progress
    report = progress
    scale = cost_scale(data.problem.locale)

    def scaled(engine: str, seconds: float, objective: float) -> None:
        report(engine, seconds, objective / scale)

    return scaled
