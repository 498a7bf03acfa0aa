"""What each kind of job does: pure functions, typed payload in, result out.

They run in a worker process or on a Dask cluster and never touch the
database, so they are module-level (pickled by name). A plan a job returns
has passed the independent checker (:func:`routing.solver.check`): one that
does not fails the job with :class:`PlanRejected` and the checker's reasons,
so it is never stored, offered or dispatched.
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
from api.services.travel import load_travel, rebuild_travel
from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import reoptimise
from routing.solver import check, solve
from scenarios.run import Progress, forecast_demand
from scenarios.sweep import comparison, run_sweep

__all__ = [
    "PlanRejected",
    "Progress",
    "checked_plan",
    "reoptimise_plan",
    "run_forecast",
    "run_scenario",
    "solve_plan",
]

#: Violations a rejected plan's error lists at most.
MAX_REASONS = 5


class PlanRejected(ValueError):
    """A plan the independent checker found infeasible; its message says why."""


def checked_plan(problem: Problem, plan: Plan, what: str) -> Plan:
    """``plan`` once :func:`routing.solver.check` finds nothing wrong with it,
    timed with the travel model the plan records.

    Raises
    ------
    PlanRejected
        Naming the first :data:`MAX_REASONS` violations (kind, detail, van
        and step).
    """
    verdict = check(problem, plan, rebuild_travel(problem, plan))
    if verdict.ok:
        return plan
    reasons = [
        f"{v.kind}: {v.detail}"
        + (f" (vehicle {v.vehicle}, step {v.step})" if v.vehicle else "")
        for v in verdict.violations[:MAX_REASONS]
    ]
    more = len(verdict.violations) - len(reasons)
    if more:
        reasons.append(f"{more} more")
    raise PlanRejected(
        f"the {what} failed the feasibility check and is not offered: "
        + "; ".join(reasons)
    )


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

    travel = None
    if payload.travel is not None:  # the deployment's roads
        travel = load_travel(payload.problem, payload.travel)
    plan = solve(payload.problem, params=params, travel=travel, progress=improved)
    return PlanResult(plan=checked_plan(payload.problem, plan, "plan"))


def reoptimise_plan(payload: ReoptimisePayload, progress: Progress) -> ReoptimiseResult:
    """Plan the rest of the day (:func:`routing.reoptimise.reoptimise`).

    Progress reports the start only (the search does not report). The plan
    is checked against the rest-of-day problem it was made for.
    """
    progress(0.0, "re-planning the rest of the day")
    # The plan's own travel model (the service checked it can be rebuilt).
    travel = rebuild_travel(payload.problem, payload.state.plan)
    result = reoptimise(payload.problem, payload.state, travel, params=payload.params)
    return ReoptimiseResult(
        problem=result.problem,
        plan=checked_plan(result.problem, result.plan, "re-optimised plan"),
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
