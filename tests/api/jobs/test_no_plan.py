"""A solve that finds no plan fails with the reason; no empty plan is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.settings import Settings
from tests.api.conftest import auth
from tests.api.jobs.no_plan_kinds import make_app
from tests.api.routes.test_plans import EXAMPLE, assert_problem, wait_plan


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service whose plan jobs never find a solution."""
    return make_app(settings)


def test_a_solve_without_a_plan_fails_with_the_reason(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The plan ends ``failed`` with why (each attempt), has no plan, is
    not listed among stored plans, and cannot be dispatched."""
    small: dict[str, Any] = json.loads(Path(EXAMPLE).read_text())
    headers = auth(keys[Role.dispatcher])
    params = {"engine": "ortools", "time_limit": 0.5, "workers": 1}
    accepted = client.post(
        "/v1/plans", json={"problem": small, "params": params}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    body = wait_plan(client, keys[Role.dispatcher], accepted.json()["url"])
    assert body["status"] == "failed"
    assert body["plan"] is None
    error = body["job"]["error"]
    assert error.startswith(
        "the plan could not be made: no plan: engine 'ortools' found no solution"
    )
    assert error.count("OR-Tools found no first solution") == 2
    assert "insertion: the day has shipments" in error
    assert client.get("/v1/plans", headers=headers).json()["count"] == 0
    dispatch = client.post(f"{accepted.json()['url']}/dispatch", headers=headers)
    assert "its job is failed" in assert_problem(dispatch, 409)["detail"]
