"""Sweeps: every replication of every scenario, here or on a Dask cluster.

The unit of work is :func:`run_unit`, a pure function of a scenario (as
JSON) and a replication number that returns that day's KPIs (as JSON), so it
pickles and runs anywhere: in this process, in a local process pool
(``workers``), or on a Dask cluster (``dask``, a scheduler address). The
same unit gives the same KPIs wherever it runs (scenarios bound their search
by ``iterations``).

:func:`summarise` turns the replications into means with 95% intervals, and
differences against the first scenario with theirs.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from scenarios.run import DayKpis, simulate_day
from scenarios.spec import Scenario

__all__ = [
    "KPIS",
    "Comparison",
    "Estimate",
    "ScenarioSummary",
    "SweepResult",
    "comparison",
    "run_sweep",
    "run_unit",
    "summarise",
]

#: The KPIs a comparison reports, in order, with their labels.
KPIS: dict[str, str] = {
    "orders": "orders",
    "served": "served",
    "unassigned": "unassigned",
    "cost_per_order": "cost per order (won)",
    "km": "km",
    "driver_hours": "vehicle-hours",
    "vehicles_used": "vehicles used",
    "on_time_rate": "on-time rate",
    "late_minutes_p50": "late minutes p50",
    "late_minutes_p95": "late minutes p95",
    "failed_attempt_rate": "failed-attempt rate",
    "eta_mae_minutes": "ETA MAE 1 h ahead (min)",
    "eta_coverage": "arrivals in ETA P10-P90",
    "customers_expected_lost": "customers expected lost",
    "retention_loss": "retention loss (won)",
    "first_choice_rate": "shoppers offered their window",
    "lost_at_checkout": "shoppers lost at checkout",
}
#: KPIs only days with a quoted checkout have.
CHECKOUT_KPIS = frozenset({"first_choice_rate", "lost_at_checkout"})

#: ``progress(units done, units in all)``.
SweepProgress = Callable[[int, int], None]


def run_unit(scenario: dict[str, Any], replication: int) -> dict[str, Any]:
    """One simulated day: replication ``replication`` of ``scenario`` (JSON)."""
    spec = Scenario.model_validate(scenario).day_spec(replication)
    return simulate_day(spec).model_dump(mode="json")


@dataclass(frozen=True)
class SweepResult:
    """The KPIs of every replication, per scenario, in replication order."""

    scenarios: tuple[Scenario, ...]
    days: tuple[tuple[DayKpis, ...], ...]


def run_sweep(
    scenarios: Sequence[Scenario],
    *,
    replications: int | None = None,
    workers: int = 1,
    dask: str | None = None,
    progress: SweepProgress | None = None,
) -> SweepResult:
    """Run every (scenario, replication) unit and collect the KPIs.

    Parameters
    ----------
    scenarios
        What to simulate; the first is the reference of comparisons.
    replications
        Override every scenario's number of replications.
    workers
        Local worker processes (1: run here, one after another).
    dask
        A Dask scheduler address; the units run on that cluster instead.
    progress
        Called after each finished unit.
    """
    if replications is not None:
        scenarios = [
            s.model_copy(update={"replications": replications}) for s in scenarios
        ]
    units = [(i, r) for i, s in enumerate(scenarios) for r in range(s.replications)]
    payloads = [s.model_dump(mode="json") for s in scenarios]
    results: dict[tuple[int, int], dict[str, Any]] = {}

    def done(unit: tuple[int, int], kpis: dict[str, Any]) -> None:
        results[unit] = kpis
        if progress is not None:
            progress(len(results), len(units))

    if dask is not None:
        _run_on_dask(dask, units, payloads, done)
    elif workers > 1:
        _run_in_processes(workers, units, payloads, done)
    else:
        for i, r in units:
            done((i, r), run_unit(payloads[i], r))
    days = tuple(
        tuple(DayKpis.model_validate(results[(i, r)]) for r in range(s.replications))
        for i, s in enumerate(scenarios)
    )
    return SweepResult(scenarios=tuple(scenarios), days=days)


_Unit = tuple[int, int]  # (scenario index, replication)
_Done = Callable[[_Unit, dict[str, Any]], None]


def _run_on_dask(
    address: str, units: list[_Unit], payloads: list[dict[str, Any]], done: _Done
) -> None:
    """Run the units on the Dask cluster at ``address``."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        futures = {
            client.submit(run_unit, payloads[i], r, pure=False): (i, r)
            for i, r in units
        }
        # Polled: this client is not the process's default one, which
        # Dask's own waiting helpers look for.
        waiting = dict(futures)
        while waiting:
            for future in [f for f in waiting if f.done()]:
                done(waiting.pop(future), future.result())
            time.sleep(0.05)


def _run_in_processes(
    workers: int, units: list[_Unit], payloads: list[dict[str, Any]], done: _Done
) -> None:
    """Run the units in ``workers`` local processes."""
    # Spawned workers: the parent may hold threads (a progress bar).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(run_unit, payloads[i], r): (i, r) for i, r in units}
        for future in as_completed(pending):
            done(pending[future], future.result())


class Estimate(BaseModel):
    """A mean with its 95% interval (None where there is no value)."""

    model_config = ConfigDict(frozen=True)

    mean: float | None
    low: float | None
    high: float | None
    n: int


def _e(mean: float | None, low: float | None, high: float | None, n: int) -> Estimate:
    return Estimate(mean=mean, low=low, high=high, n=n)


def _value(day: DayKpis, kpi: str) -> float | None:
    if kpi == "failed_attempt_rate":
        attempted = day.delivered + day.failed_attempts
        return day.failed_attempts / attempted if attempted else None
    if kpi in CHECKOUT_KPIS and not day.shoppers:
        return None
    value = getattr(day, kpi)
    return None if value is None else float(value)


def _estimate(values: Sequence[float]) -> Estimate:
    """Student-t 95% interval of the mean (the interval is the mean for n=1)."""
    n = len(values)
    if n == 0:
        return _e(None, None, None, 0)
    mean = float(np.mean(values))
    if n == 1:
        return _e(mean, mean, mean, 1)
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return _e(mean, mean - half, mean + half, n)


def summarise(
    result: SweepResult,
) -> tuple[list[dict[str, Estimate]], list[dict[str, Estimate]]]:
    """Per scenario: each KPI's mean and interval, and its difference to the first.

    The difference of scenario ``k`` against the first is the mean of
    ``k``'s replications minus the mean of the first's, with a Welch
    interval (the replications of two scenarios are independent days).

    Returns
    -------
    tuple
        ``(levels, differences)``: one dict per scenario, keyed by KPI.
    """
    levels: list[dict[str, Estimate]] = []
    samples: list[dict[str, list[float]]] = []
    for days in result.days:
        values = {
            kpi: [v for d in days if (v := _value(d, kpi)) is not None] for kpi in KPIS
        }
        samples.append(values)
        levels.append({kpi: _estimate(vs) for kpi, vs in values.items()})
    differences = [
        {kpi: _difference(samples[0][kpi], s[kpi]) for kpi in KPIS} for s in samples
    ]
    return levels, differences


def _difference(base: Sequence[float], other: Sequence[float]) -> Estimate:
    if not base or not other:
        return _e(None, None, None, 0)
    diff = float(np.mean(other) - np.mean(base))
    if len(base) < 2 or len(other) < 2:
        return _e(diff, diff, diff, min(len(base), len(other)))
    va = np.var(base, ddof=1) / len(base)
    vb = np.var(other, ddof=1) / len(other)
    se = math.sqrt(va + vb)
    if se == 0:
        return _e(diff, diff, diff, min(len(base), len(other)))
    dof = (va + vb) ** 2 / (va**2 / (len(base) - 1) + vb**2 / (len(other) - 1))
    half = float(stats.t.ppf(0.975, dof) * se)
    return _e(diff, diff - half, diff + half, min(len(base), len(other)))


class ScenarioSummary(BaseModel):
    """One scenario of a comparison: its days and each KPI's estimate."""

    name: str
    replications: int
    kpis: dict[str, Estimate] = Field(description="mean and 95% interval")
    difference: dict[str, Estimate] = Field(
        description="against the first scenario (Welch 95% interval)"
    )
    days: list[DayKpis]


class Comparison(BaseModel):
    """Scenarios compared with the first (the reference)."""

    reference: str
    scenarios: list[ScenarioSummary]


def comparison(result: SweepResult) -> Comparison:
    """A sweep's result as one model (what the API returns)."""
    levels, differences = summarise(result)
    return Comparison(
        reference=result.scenarios[0].name,
        scenarios=[
            ScenarioSummary(
                name=s.name,
                replications=s.replications,
                kpis=level,
                difference=diff,
                days=list(days),
            )
            for s, days, level, diff in zip(
                result.scenarios, result.days, levels, differences, strict=True
            )
        ],
    )
