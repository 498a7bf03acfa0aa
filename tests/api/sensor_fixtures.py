"""A tiny cold-chain day for the sensor tests: one van, three orders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from api.db.plans import save_plan
from api.services.tracking import register_plan
from routing.model import Problem
from routing.plan import Plan
from routing.solver.data import build_data
from routing.solver.solve import plan_from_sequences
from routing.travel import HaversineTravel

DAY = dt.date(2026, 12, 2)


def cold_day(van: str) -> tuple[Problem, Plan]:
    """Van ``van`` with a cold-chain order, a frozen one and a plain one,
    visited in that order (no search)."""
    handling = [{"requirement": "cold_chain"}, {"requirement": "frozen"}, None]
    jobs = []
    for k, extra in enumerate(handling):
        job: dict[str, object] = {
            "id": f"{van}-o{k}",
            "location": {"lat": 37.50, "lon": 127.00 + 0.0125 * (k + 1)},
            "demand": [1],
            "service": 180,
        }
        if extra is not None:
            job["handling"] = extra
        jobs.append(job)
    problem = Problem.model_validate(
        {
            "depots": [{"id": "d", "location": {"lat": 37.50, "lon": 127.00}}],
            "vehicles": [
                {
                    "id": van,
                    "start": "d",
                    "end": "d",
                    "capacity": [100],
                    "shift": [8 * 3600, 20 * 3600],
                }
            ],
            "jobs": jobs,
        }
    )
    data = build_data(problem, HaversineTravel())
    sequence = [data.order_nodes[j.id][0] for j in problem.jobs]
    plan = plan_from_sequences(
        data, [sequence], dropped=[], impossible=[], engine="test", seconds=0.0
    )
    return problem, plan


def track_cold_day(
    sessions: sessionmaker[Session], van: str, *, store: bool = False
) -> Problem:
    """Register the cold day of ``van`` for :data:`DAY` at 06:00 (plan id
    ``plan-{van}``); ``store`` also keeps it as a plan of the service."""
    problem, plan = cold_day(van)
    with sessions.begin() as session:
        if store:
            save_plan(
                session,
                day=DAY,
                depot_id=None,
                problem=problem,
                plan=plan,
                parent_id=None,
                job_id=None,
                plan_id=f"plan-{van}",
            )
        register_plan(
            session,
            day=DAY,
            plan_id=f"plan-{van}",
            plan=plan,
            problem=problem,
            at=21_600,
        )
    return problem
