"""What each kind of job does: pure functions, typed payload in, result out.

They run in a worker process or on a Dask cluster and never touch the
database, so they are module-level (pickled by name).
"""

from __future__ import annotations

from api.jobs.payloads import (
    Comparison,
    DemandForecast,
    ForecastSpec,
    PlanPayload,
    PlanResult,
    ReoptimisePayload,
    ReoptimiseResult,
    ScenarioPayload,
)
from routing.reoptimise import reoptimise
from routing.solver import solve
from routing.travel import HaversineTravel
from scenarios.run import Progress, forecast_demand
from scenarios.sweep import comparison, run_sweep

__all__ = ["Progress", "reoptimise_plan", "run_forecast", "run_scenario", "solve_plan"]


def solve_plan(payload: PlanPayload, progress: Progress) -> PlanResult:
    """Solve a day (:func:`routing.solver.solve`), reporting improvements.

    The progress share is the time limit used up.
    """
    params = payload.params
    n = len(payload.problem.jobs) + len(payload.problem.shipments)
    progress(0.0, f"solving {n} orders, {params.time_limit:g} s at most")

    def improved(engine: str, seconds: float, objective: float) -> None:
        share = min(0.99, seconds / params.time_limit)
        progress(share, f"{engine}: objective {objective:,.0f} after {seconds:.1f} s")

    return PlanResult(plan=solve(payload.problem, params=params, progress=improved))


def reoptimise_plan(payload: ReoptimisePayload, progress: Progress) -> ReoptimiseResult:
    """Plan the rest of the day (:func:`routing.reoptimise.reoptimise`).

    Progress reports the start only (the search does not report).
    """
    progress(0.0, "re-planning the rest of the day")
    result = reoptimise(
        payload.problem, payload.state, HaversineTravel(), params=payload.params
    )
    return ReoptimiseResult(
        problem=result.problem,
        plan=result.plan,
        changes=result.changes,
        source=result.source,
    )


def run_forecast(payload: ForecastSpec, progress: Progress) -> DemandForecast:
    """Forecast the embedded city's demand and fleet (as ``milepost forecast``)."""
    return forecast_demand(payload, progress)


def run_scenario(payload: ScenarioPayload, progress: Progress) -> Comparison:
    """Simulate and compare scenarios (as ``milepost simulate``)."""
    result = run_sweep(
        list(payload.scenarios),
        replications=payload.replications,
        progress=lambda done, total: progress(
            done / total, f"{done} of {total} days simulated"
        ),
    )
    return comparison(result)
