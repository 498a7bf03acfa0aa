"""Plans the independent checker rejects are never offered.

The library's call is replaced by one whose plan starts an order two hours
before the van can be there; the job fails with the checker's reasons and
the plan cannot be dispatched. The API test runs its re-optimisations
through a ``reoptimize`` kind whose function (module level: the worker
processes import it) does so. Each API test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.jobs import handlers
from api.jobs.handlers import PlanRejected, Progress, checked_plan
from api.jobs.kinds import PLAN_URL, JobKind, default_kinds
from api.jobs.payloads import (
    PlanPayload,
    ReoptimisePayload,
    ReoptimiseResult,
)
from api.services.plans import plan_hooks
from api.settings import Settings
from routing.model import Problem
from routing.plan import Plan, StepType
from routing.reoptimise import Reoptimisation, reoptimise
from routing.solver import SolveParams, solve
from tests.api.conftest import auth, make_keys
from tests.api.routes.test_plans import EXAMPLE, PARAMS, assert_problem, wait_plan

EARLY = 2 * 3600


def early(plan: Plan) -> Plan:
    """``plan`` with its first order served :data:`EARLY` seconds sooner."""
    for k, route in enumerate(plan.routes):
        for i, step in enumerate(route.steps):
            if step.type is StepType.JOB:
                moved = step.model_copy(
                    update={
                        "arrival": step.arrival - EARLY,
                        "service_start": step.service_start - EARLY,
                    }
                )
                steps = (*route.steps[:i], moved, *route.steps[i + 1 :])
                routes = list(plan.routes)
                routes[k] = route.model_copy(update={"steps": steps})
                return plan.model_copy(update={"routes": tuple(routes)})
    raise AssertionError("no job served")


def early_reoptimise(*args: Any, **kwargs: Any) -> Reoptimisation:
    """:func:`routing.reoptimise.reoptimise`, its plan made infeasible."""
    result = reoptimise(*args, **kwargs)
    return result.model_copy(update={"plan": early(result.plan)})


def reoptimise_early(
    payload: ReoptimisePayload, progress: Progress
) -> ReoptimiseResult:
    """The service's re-optimisation, the library returning an infeasible plan."""
    with mock.patch.object(handlers, "reoptimise", early_reoptimise):
        return handlers.reoptimise_plan(payload, progress)


def _no_progress(share: float, message: str = "") -> None:
    pass


def test_a_solve_the_checker_rejects_fails_with_its_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plan job raises PlanRejected naming the violations."""
    problem = Problem.model_validate(json.loads(EXAMPLE.read_text()))
    monkeypatch.setattr(handlers, "solve", lambda *a, **k: early(solve(*a, **k)))
    payload = PlanPayload(
        problem=problem,
        params=SolveParams(time_limit=1, workers=1),
        day=problem.date,
        depot_id=None,
    )
    with pytest.raises(PlanRejected) as caught:
        handlers.solve_plan(payload, _no_progress)
    message = str(caught.value)
    assert message.startswith("the plan failed the feasibility check")
    assert "before the vehicle can be there" in message


def test_a_feasible_plan_passes_unchanged() -> None:
    """The checker's gate hands a feasible plan back as it is."""
    problem = Problem.model_validate(json.loads(EXAMPLE.read_text()))
    plan = solve(problem, params=SolveParams(time_limit=1, workers=1))
    assert checked_plan(problem, plan, "plan") is plan


@pytest.fixture
def rejecting(database_url: str) -> Iterator[tuple[TestClient, dict[Role, str]]]:
    """A started service whose re-optimisations come back infeasible."""
    base = default_kinds()
    kinds = dataclasses.replace(
        base,
        reoptimize=JobKind(
            "reoptimize",
            ReoptimisePayload,
            ReoptimiseResult,
            reoptimise_early,
            PLAN_URL,
        ),
    )
    app = create_app(
        Settings(database_url=database_url, log_json=False),
        kinds=kinds,
        hooks=plan_hooks(kinds),
    )
    with TestClient(app) as client:
        yield client, make_keys(app)


def test_a_reoptimised_plan_the_checker_rejects_is_never_offered(
    rejecting: tuple[TestClient, dict[Role, str]],
) -> None:
    """The job fails with the checker's reasons; the plan cannot be dispatched.

    The parent plan stays the current one (not superseded) and can still be
    dispatched.
    """
    client, keys = rejecting
    key = keys[Role.dispatcher]
    headers = auth(key)
    small = json.loads(EXAMPLE.read_text())
    made = client.post(
        "/v1/plans", json={"problem": small, "params": PARAMS}, headers=headers
    )
    parent = wait_plan(client, key, made.json()["url"])
    assert parent["status"] == "draft", parent["job"]

    response = client.post(
        f"/v1/plans/{parent['id']}/reoptimize",
        json={"time": 6 * 3600, "params": PARAMS},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "failed"
    assert body["plan"] is None
    error = body["job"]["error"]
    assert error.startswith(
        "the plan could not be re-optimised: "
        "the re-optimised plan failed the feasibility check"
    ), error
    assert "before the vehicle can be there" in error
    dispatch = client.post(f"/v1/plans/{body['id']}/dispatch", headers=headers)
    assert "its job is failed" in assert_problem(dispatch, 409)["detail"]
    listed = client.get("/v1/plans", headers=headers).json()
    assert [p["id"] for p in listed["data"]] == [parent["id"]]
    again = client.get(f"/v1/plans/{parent['id']}", headers=headers).json()
    assert again["status"] == "draft" and again["superseded_by"] is None
    assert client.post(f"/v1/plans/{parent['id']}/dispatch", headers=headers).is_success
