"""Fixtures of the tracking tests: a small hand-timed day and its execution."""

from __future__ import annotations

import pytest

from routing.model import Problem
from routing.plan import Plan
from routing.solver.data import build_data
from routing.solver.solve import plan_from_sequences
from routing.travel import HaversineTravel
from scenarios.execution import DayExecution, ExecutionSettings, execute_day

TRAVEL = HaversineTravel()

#: Execution exactly as planned: no noise, no peak, no failures, no incidents.
EXACT = ExecutionSettings(
    travel_sigma=0.0,
    peak_extra=0.0,
    service_sigma=0.0,
    failure_rate=0.0,
    incident_share=0.0,
    ping_interval=120,
)


def line_problem(n_jobs: int = 6, *, windows: bool = True) -> Problem:
    """One van, ``n_jobs`` stops about 1.1 km apart heading east of the depot.

    Stop ``k`` (from 0) has a one-hour window opening at 09:00 + 20 k minutes
    when ``windows`` is set; service takes 180 s.
    """
    jobs = []
    for k in range(n_jobs):
        job: dict[str, object] = {
            "id": f"o{k}",
            "customer_id": f"c{k}",
            "location": {"lat": 37.50, "lon": 127.00 + 0.0125 * (k + 1)},
            "demand": [1],
            "service": 180,
        }
        if windows:
            start = 9 * 3600 + 1200 * k
            job["time_windows"] = [[start, start + 3600]]
        jobs.append(job)
    return Problem.model_validate(
        {
            "depots": [{"id": "d", "location": {"lat": 37.50, "lon": 127.00}}],
            "vehicles": [
                {
                    "id": "v1",
                    "start": "d",
                    "end": "d",
                    "capacity": [100],
                    "shift": [8 * 3600, 20 * 3600],
                }
            ],
            "jobs": jobs,
        }
    )


def plan_in_order(problem: Problem) -> Plan:
    """The plan that visits the jobs in the problem's order (no search)."""
    data = build_data(problem, TRAVEL)
    sequence = [data.order_nodes[j.id][0] for j in problem.jobs]
    return plan_from_sequences(
        data, [sequence], dropped=[], impossible=[], engine="test", seconds=0.0
    )


@pytest.fixture(scope="session")
def line_day() -> tuple[Problem, Plan]:
    """Six stops in a line with staggered one-hour windows, planned in order."""
    problem = line_problem()
    return problem, plan_in_order(problem)


@pytest.fixture(scope="session")
def exact_run(line_day: tuple[Problem, Plan]) -> DayExecution:
    """The line day executed exactly as planned."""
    problem, plan = line_day
    return execute_day(problem, plan, TRAVEL, settings=EXACT, seed=0)


@pytest.fixture(scope="session")
def noisy_run(line_day: tuple[Problem, Plan]) -> DayExecution:
    """The line day executed with the benchmark's default deviations."""
    problem, plan = line_day
    return execute_day(problem, plan, TRAVEL, seed=3)
