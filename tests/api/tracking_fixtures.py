"""Shared data for the tracking tests: a small solved day, registered."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.services.tracking import register_plan
from routing.model import Problem
from routing.plan import Plan
from routing.solver.params import SolveParams
from routing.solver.solve import solve

SMALL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "small_problem.json"
DAY = dt.date(2026, 11, 23)
PLAN_ID = "plan-small"
BEFORE = 6 * 3600  # registered at 06:00, before any van starts


@functools.cache
def small_day() -> tuple[Problem, Plan]:
    """``docs/examples/small_problem.json`` and a 1-second plan of it.

    OR-Tools with one worker: the problem has a break, which PyVRP cannot
    model. Solved once per test session.
    """
    problem = Problem.model_validate(json.loads(SMALL.read_text()))
    plan = solve(problem, params=SolveParams(engine="ortools", time_limit=1, workers=1))
    assert plan.routes, "the small problem must route something"
    return problem, plan


def main_route(plan: Plan) -> Any:
    """The route with the most orders."""
    return max(plan.routes, key=lambda r: len(r.order_ids))


def track_small_day(app: FastAPI) -> tuple[Problem, Plan]:
    """Register the small day's plan in the app's database."""
    problem, plan = small_day()
    with app.state.sessionmaker.begin() as session:
        register_plan(
            session, day=DAY, plan_id=PLAN_ID, plan=plan, problem=problem, at=BEFORE
        )
    return problem, plan


def batch(*events: dict[str, Any], day: dt.date = DAY) -> dict[str, Any]:
    """A ``POST /v1/events`` body."""
    return {"day": day.isoformat(), "events": list(events)}
