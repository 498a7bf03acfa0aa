"""Shared data for the tracking tests: a small solved day, registered."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db.plans import save_plan
from api.services.problems import problem_for
from api.services.tracking import register_plan
from routing.model import Problem
from routing.plan import Plan
from routing.solver.params import SolveParams
from routing.solver.solve import solve
from routing.travel import HaversineTravel
from tests.api.conftest import auth

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


def store_tracked_draft(
    app: FastAPI, *, day: dt.date, depot_id: str, time_limit: float
) -> str:
    """A solved draft plan of the stored orders of ``day`` at ``depot_id``,
    registered with tracking an hour before midnight; its id."""
    with app.state.sessionmaker.begin() as session:
        problem = problem_for(session, day=day, depot_id=depot_id)
        plan = solve(
            problem,
            travel=HaversineTravel(),
            params=SolveParams(time_limit=time_limit, workers=1),
        )
        assert not plan.unassigned
        row = save_plan(
            session,
            day=day,
            depot_id=depot_id,
            problem=problem,
            plan=plan,
            parent_id=None,
            job_id=None,
        )
        register_plan(
            session, day=day, plan_id=row.id, plan=plan, problem=problem, at=-3600
        )
        return row.id


def dispatch_small_day(
    client: TestClient,
    key: str,
    *,
    day: dt.date,
    plan_id: str,
    rename: Callable[[str], str] | None = None,
) -> Plan:
    """The small day stored as plan ``plan_id`` of depot gangseo, dispatched;
    ``rename`` rewrites the problem's and plan's JSON first (other ids)."""
    problem, plan = small_day()
    if rename is not None:
        problem = Problem.model_validate_json(rename(problem.model_dump_json()))
        problem = problem.model_copy(update={"date": day})
        plan = Plan.model_validate_json(rename(plan.model_dump_json()))
    app: FastAPI = client.app  # type: ignore[assignment]
    with app.state.sessionmaker.begin() as session:
        save_plan(
            session,
            day=day,
            depot_id="gangseo",
            problem=problem,
            plan=plan,
            parent_id=None,
            job_id=None,
            plan_id=plan_id,
        )
    response = client.post(f"/v1/plans/{plan_id}/dispatch", headers=auth(key))
    assert response.status_code == 200, response.text
    return plan
