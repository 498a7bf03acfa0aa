"""Retention-aware pricing against uniform pricing on constrained days.

``milepost bench pricing`` runs each replication of a library scenario
twice, with the same seed, city, fleet, doors and search effort: once with
every order priced alike (``pricing="uniform"``: hard windows, the default
drop penalty) and once with the prices a shop learns from its own history
(``pricing="learned"``, :mod:`scenarios.pricing`). It reports, per scenario
and size, the paired differences of

* the expected lost future margin, judged by the generator's truth
  (:func:`scenarios.pricing.true_retention_cost`), and
* the route cost (vans, hours, km; :func:`scenarios.pricing.route_cost`),

each as a share of the uniform figure with a 95 % interval (Student's t
on the replications' paired differences of the totals, a ratio of means).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from scenarios.run import DayKpis, run_day
from scenarios.spec import load_scenario

__all__ = [
    "LIBRARY",
    "PairedDay",
    "PricingCell",
    "cell_of",
    "run_pair",
    "run_pricing_bench",
]

#: The scenario library shipped with the package.
LIBRARY = Path(__file__).resolve().parent.parent / "library"


@dataclass(frozen=True)
class PairedDay:
    """One replication, planned both ways."""

    scenario: str
    orders: int
    replication: int
    uniform: dict[str, Any]
    learned: dict[str, Any]


def _kpis(k: DayKpis) -> dict[str, Any]:
    return {
        "retention_loss": k.retention_loss,
        "route_cost": k.route_cost,
        "served": k.served,
        "delivered": k.delivered,
        "late_orders": k.late_orders,
        "customers_expected_lost": k.customers_expected_lost,
        "solve_seconds": k.solve_seconds,
    }


def run_pair(scenario: str, orders: int, replication: int) -> PairedDay:
    """Replication ``replication`` of a library scenario at ``orders``, both ways."""
    spec = load_scenario(LIBRARY / f"{scenario}.toml")
    spec = spec.model_copy(
        update={
            "orders": orders,
            "replications": max(spec.replications, replication + 1),
        }
    )
    day = spec.day_spec(replication)
    both = {
        p: _kpis(run_day(day.model_copy(update={"pricing": p}), eta=False).kpis)
        for p in ("uniform", "learned")
    }
    return PairedDay(scenario, orders, replication, both["uniform"], both["learned"])


def _paired_ratio(base: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """``sum(other - base) / sum(base)`` with a 95 % t interval."""
    diff = other - base
    n = len(diff)
    mean_base = float(base.mean())
    share = float(diff.mean()) / mean_base if mean_base else math.nan
    if n < 2 or not mean_base:
        return {"share": share, "low": math.nan, "high": math.nan}
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / math.sqrt(n))
    return {
        "share": share,
        "low": (float(diff.mean()) - half) / mean_base,
        "high": (float(diff.mean()) + half) / mean_base,
    }


@dataclass(frozen=True)
class PricingCell:
    """A scenario at one size: the paired comparison over its replications."""

    scenario: str
    orders: int
    replications: int
    loss_uniform: float
    loss_learned: float
    loss_change: dict[str, float]
    route_uniform: float
    route_learned: float
    route_change: dict[str, float]
    served_uniform: float
    served_learned: float
    late_uniform: float
    late_learned: float
    goal_met: bool


def cell_of(days: Sequence[PairedDay]) -> PricingCell:
    """The paired comparison of one scenario and size."""

    def col(which: str, name: str) -> np.ndarray:
        return np.array([getattr(d, which)[name] for d in days], dtype=np.float64)

    loss = _paired_ratio(
        col("uniform", "retention_loss"), col("learned", "retention_loss")
    )
    route = _paired_ratio(col("uniform", "route_cost"), col("learned", "route_cost"))
    first = days[0]
    return PricingCell(
        scenario=first.scenario,
        orders=first.orders,
        replications=len(days),
        loss_uniform=float(col("uniform", "retention_loss").mean()),
        loss_learned=float(col("learned", "retention_loss").mean()),
        loss_change=loss,
        route_uniform=float(col("uniform", "route_cost").mean()),
        route_learned=float(col("learned", "route_cost").mean()),
        route_change=route,
        served_uniform=float(col("uniform", "served").mean()),
        served_learned=float(col("learned", "served").mean()),
        late_uniform=float(col("uniform", "late_orders").mean()),
        late_learned=float(col("learned", "late_orders").mean()),
        # The goal: >= 10 % less lost margin for <= 2 % more route cost.
        goal_met=loss["share"] <= -0.10 and route["share"] <= 0.02,
    )


def run_pricing_bench(
    scenarios: Sequence[str],
    sizes: Sequence[int],
    replications: int,
    *,
    workers: int = 1,
    on_day: Callable[[PairedDay], None] | None = None,
) -> dict[str, Any]:
    """Every scenario x size x replication, paired; cells and raw days.

    ``workers`` processes run replications side by side (each day's search
    uses one core).
    """
    for name in scenarios:
        if not (LIBRARY / f"{name}.toml").is_file():
            raise ValueError(f"no scenario {name!r} in the library")
    tasks = [(s, n, r) for s in scenarios for n in sizes for r in range(replications)]
    days: list[PairedDay] = []
    if workers <= 1:
        for task in tasks:
            days.append(run_pair(*task))
            if on_day:
                on_day(days[-1])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for day in pool.map(run_pair, *zip(*tasks, strict=True)):
                days.append(day)
                if on_day:
                    on_day(day)
    cells = [
        cell_of([d for d in days if (d.scenario, d.orders) == (s, n)])
        for s in scenarios
        for n in sizes
    ]
    return {
        "replications": replications,
        "cells": [asdict(c) for c in cells],
        "days": [asdict(d) for d in days],
    }
