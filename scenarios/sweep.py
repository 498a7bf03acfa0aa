"""Sweeps: every replication of every scenario, here or on a Dask cluster.

The unit of work is :func:`run_unit`, a pure function of a scenario (as
JSON) and a replication number that returns that day's KPIs (as JSON), so it
pickles and runs anywhere: in this process, in a local process pool
(``workers``), or on a Dask cluster (``dask``, a scheduler address). The
same unit gives the same KPIs wherever it runs (scenarios bound their search
by ``iterations``).

:func:`summarise` turns the replications into means with 95% intervals, and
differences against the first scenario with theirs. The intervals are
percentile bootstraps over the replications (:func:`bootstrap_interval`):
resampled means stay within the range of the days, so a rate's interval stays
in [0, 1] and minutes, costs and km stay at or above 0. With fewer than
:data:`MIN_REPLICATIONS` days there is no interval, and the estimate says why.
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

from scenarios.run import (
    DayKpis,
    SimulatedDay,
    learned_eta,
    planner_travel,
    run_day,
    simulate_day,
)
from scenarios.spec import Scenario
from tracking.eta import LegTimes
from tracking.learn import DayLearner

__all__ = [
    "KPIS",
    "KPI_BOUNDS",
    "MIN_REPLICATIONS",
    "Comparison",
    "Estimate",
    "ScenarioSummary",
    "SweepResult",
    "bootstrap_interval",
    "comparison",
    "run_observed_unit",
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
    "route_cost": "route cost (won)",
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
#: Shares, in [0, 1]; every other KPI is a count, minutes, won or km (>= 0).
RATES = frozenset(
    {"on_time_rate", "failed_attempt_rate", "eta_coverage", "first_choice_rate"}
)
#: Each KPI's range: its values, means and intervals stay inside.
KPI_BOUNDS: dict[str, tuple[float, float]] = {
    kpi: (0.0, 1.0) if kpi in RATES else (0.0, math.inf) for kpi in KPIS
}
#: KPIs only days with a quoted checkout have.
CHECKOUT_KPIS = frozenset({"first_choice_rate", "lost_at_checkout"})

#: ``progress(units done, units in all)``.
SweepProgress = Callable[[int, int], None]


def run_unit(scenario: dict[str, Any], replication: int) -> dict[str, Any]:
    """One simulated day: replication ``replication`` of ``scenario`` (JSON).

    The day alone: its ETAs have no learned correction (a sweep's days
    carry one, :func:`run_sweep`).
    """
    spec = Scenario.model_validate(scenario).day_spec(replication)
    return simulate_day(spec).model_dump(mode="json")


def run_observed_unit(scenario: dict[str, Any], replication: int) -> SimulatedDay:
    """:func:`run_unit` with what a shop observed of the day, ETAs not replayed.

    :func:`run_sweep` measures the ETAs afterwards, in replication order,
    with the correction learned from the replications before.
    """
    spec = Scenario.model_validate(scenario).day_spec(replication)
    return run_day(spec, eta=False)


class _EtaDays:
    """Each scenario's days measured in replication order, learning as they go.

    Replication ``r`` of a scenario is day ``r`` of a shop that runs the
    scenario every day: its live ETAs are corrected with what replications
    ``0..r-1`` taught (:class:`tracking.learn.DayLearner`). Days finishing
    out of order wait for the ones before them; a measured day's events are
    dropped.
    """

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        self.learners = [
            DayLearner(LegTimes(planner_travel(s.day_spec(0)))) for s in scenarios
        ]
        self.waiting: dict[tuple[int, int], SimulatedDay] = {}
        self.kpis: dict[tuple[int, int], dict[str, Any]] = {}

    def add(self, unit: tuple[int, int], day: SimulatedDay) -> None:
        """Take a finished unit; measure every day now in order."""
        self.waiting[unit] = day
        i = unit[0]
        r = self.learners[i].days
        while (i, r) in self.waiting:
            ready = self.waiting.pop((i, r))
            kpis = learned_eta(ready, self.learners[i])
            self.kpis[(i, r)] = kpis.model_dump(mode="json")
            r += 1


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
    eta = _EtaDays(scenarios)
    results = eta.kpis
    finished = 0

    def done(unit: tuple[int, int], day: SimulatedDay) -> None:
        nonlocal finished
        eta.add(unit, day)
        finished += 1
        if progress is not None:
            progress(finished, len(units))

    if dask is not None:
        _run_on_dask(dask, units, payloads, done)
    elif workers > 1:
        _run_in_processes(workers, units, payloads, done)
    else:
        for i, r in units:
            done((i, r), run_observed_unit(payloads[i], r))
    days = tuple(
        tuple(DayKpis.model_validate(results[(i, r)]) for r in range(s.replications))
        for i, s in enumerate(scenarios)
    )
    return SweepResult(scenarios=tuple(scenarios), days=days)


_Unit = tuple[int, int]  # (scenario index, replication)
_Done = Callable[[_Unit, SimulatedDay], None]


def _run_on_dask(
    address: str, units: list[_Unit], payloads: list[dict[str, Any]], done: _Done
) -> None:
    """Run the units on the Dask cluster at ``address``."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        futures = {
            client.submit(run_observed_unit, payloads[i], r, pure=False): (i, r)
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
        pending = {
            pool.submit(run_observed_unit, payloads[i], r): (i, r) for i, r in units
        }
        for future in as_completed(pending):
            done(pending[future], future.result())


#: Fewest replications an interval is given for. The 95% interval is the
#: expanded percentile bootstrap's (:func:`bootstrap_interval`), whose tails
#: at n days are Phi(-sqrt(n / (n - 1)) t(0.975, n - 1)): 0.012% at n = 4,
#: below the 0.39% chance (4^-4) that a resample repeats the lowest day,
#: so with 4 days or fewer the "interval" is the range of the days and says
#: nothing about the mean. At n = 5 the tail (0.095%) is above that chance
#: (5^-5 = 0.032%): the first n whose interval is an estimate.
MIN_REPLICATIONS = 5
#: Bootstrap resamples per interval (the n = 5 tail is then about 4 of them).
RESAMPLES = 4000
#: Seed of the resampling: the same days give the same intervals.
BOOTSTRAP_SEED = 20_261_207
#: How the intervals are made, as the API and the report say it.
INTERVALS = (
    f"95% expanded percentile bootstrap of the mean over the replications "
    f"({RESAMPLES} resamples, seeded); differences against the first scenario "
    "resample the differences of the replications paired by number; none below "
    f"{MIN_REPLICATIONS} replications"
)


class Estimate(BaseModel):
    """A mean with its 95% interval (None where there is no value).

    ``low`` and ``high`` are None, and ``reason`` says why, when the
    replications are too few for an interval.
    """

    model_config = ConfigDict(frozen=True)

    mean: float | None
    low: float | None
    high: float | None
    n: int
    reason: str | None = Field(default=None, description="why there is no interval")


def _e(mean: float | None, low: float | None, high: float | None, n: int) -> Estimate:
    return Estimate(mean=mean, low=low, high=high, n=n)


def _absent(mean: float | None, n: int) -> Estimate:
    if n == 0:
        return Estimate(
            mean=None, low=None, high=None, n=0, reason="no replication measured it"
        )
    days = "replication" if n == 1 else "replications"
    return Estimate(
        mean=mean,
        low=None,
        high=None,
        n=n,
        reason=f"{n} {days}; an interval needs at least {MIN_REPLICATIONS}",
    )


def _value(day: DayKpis, kpi: str) -> float | None:
    if kpi == "failed_attempt_rate":
        attempted = day.delivered + day.failed_attempts
        return day.failed_attempts / attempted if attempted else None
    if kpi in CHECKOUT_KPIS and not day.shoppers:
        return None
    value = getattr(day, kpi)
    return None if value is None else float(value)


def bootstrap_interval(
    values: Sequence[float],
    *,
    seed: Sequence[int] | int = BOOTSTRAP_SEED,
    level: float = 0.95,
    resamples: int = RESAMPLES,
) -> tuple[float, float] | None:
    """The expanded percentile bootstrap interval of the mean of ``values``.

    ``resamples`` resamples (with replacement, drawn from ``seed``) give
    as many means; the interval is their quantiles at alpha' / 2 and
    1 - alpha' / 2, where alpha' / 2 = Phi(-sqrt(n / (n - 1)) t(1 - alpha /
    2, n - 1)) widens the plain percentile interval, which is too narrow for
    few days, to Student's width (Hesterberg 2015, "What teachers should
    know about the bootstrap", section 5). Every resampled mean lies
    between the lowest and the highest value, so the interval does too: a
    share stays in [0, 1], a non-negative quantity at or above 0. It always
    holds the mean (the quantiles are widened to it should the resamples
    fall on one side, which few distinct values can do).

    Returns
    -------
    tuple or None
        ``(low, high)``; None with fewer than :data:`MIN_REPLICATIONS` values.
    """
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n < MIN_REPLICATIONS:
        return None
    mean = float(np.mean(data))
    lowest, highest = float(data.min()), float(data.max())
    if lowest == highest:
        return lowest, highest
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    t = float(stats.t.ppf(1 - (1 - level) / 2, n - 1))
    tail = float(stats.norm.cdf(-math.sqrt(n / (n - 1)) * t))
    low, high = (float(q) for q in np.quantile(means, [tail, 1 - tail]))
    # Summation order can put a mean an ulp outside the values' range.
    low = min(max(low, lowest), mean)
    high = max(min(high, highest), mean)
    return low, high


def _estimate(values: Sequence[float], kpi: str, seed: Sequence[int]) -> Estimate:
    """Mean and bootstrap interval, within the KPI's bounds."""
    n = len(values)
    if n == 0:
        return _absent(None, 0)
    lower, upper = KPI_BOUNDS[kpi]
    mean = min(max(float(np.mean(values)), lower), upper)
    interval = bootstrap_interval(values, seed=seed)
    if interval is None:
        return _absent(mean, n)
    low, high = interval
    return _e(mean, max(min(low, mean), lower), min(max(high, mean), upper), n)


def summarise(
    result: SweepResult,
) -> tuple[list[dict[str, Estimate]], list[dict[str, Estimate]]]:
    """Per scenario: each KPI's mean and interval, and its difference to the first.

    The difference of scenario ``k`` against the first is the mean of the
    differences between their replications paired by number (replication
    ``r`` of every scenario is drawn from the same seed, so the pair shares
    its orders and travel), with the bootstrap interval of those
    differences. Only replications where both have the KPI pair up.

    Returns
    -------
    tuple
        ``(levels, differences)``: one dict per scenario, keyed by KPI.
    """
    levels: list[dict[str, Estimate]] = []
    samples: list[dict[str, list[float | None]]] = []
    for i, days in enumerate(result.days):
        values = {kpi: [_value(d, kpi) for d in days] for kpi in KPIS}
        samples.append(values)
        levels.append(
            {
                kpi: _estimate(
                    [v for v in vs if v is not None],
                    kpi,
                    (BOOTSTRAP_SEED, i, k, 0),
                )
                for k, (kpi, vs) in enumerate(values.items())
            }
        )
    differences = [
        {
            kpi: _difference(samples[0][kpi], s[kpi], (BOOTSTRAP_SEED, i, k, 1))
            for k, kpi in enumerate(KPIS)
        }
        for i, s in enumerate(samples)
    ]
    return levels, differences


def _difference(
    base: Sequence[float | None], other: Sequence[float | None], seed: Sequence[int]
) -> Estimate:
    diffs = [
        o - b
        for b, o in zip(base, other, strict=False)
        if b is not None and o is not None
    ]
    if not diffs:
        return _absent(None, 0)
    mean = float(np.mean(diffs))
    interval = bootstrap_interval(diffs, seed=seed)
    if interval is None:
        return _absent(mean, len(diffs))
    return _e(mean, interval[0], interval[1], len(diffs))


class ScenarioSummary(BaseModel):
    """One scenario of a comparison: its days and each KPI's estimate."""

    name: str
    replications: int
    kpis: dict[str, Estimate] = Field(description="mean and 95% interval")
    difference: dict[str, Estimate] = Field(
        description="against the first scenario: mean of the paired differences "
        "with their bootstrap 95% interval"
    )
    days: list[DayKpis]


class Comparison(BaseModel):
    """Scenarios compared with the first (the reference)."""

    reference: str
    scenarios: list[ScenarioSummary]
    intervals: str = Field(default=INTERVALS, description="how intervals are made")
    min_replications: int = Field(
        default=MIN_REPLICATIONS, description="fewest replications with an interval"
    )
    bounds: dict[str, tuple[float, float | None]] = Field(
        default_factory=lambda: {
            k: (lo, None if math.isinf(hi) else hi)
            for k, (lo, hi) in KPI_BOUNDS.items()
        },
        description="each KPI's range (null: no upper bound); levels and their "
        "intervals stay inside",
    )


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
