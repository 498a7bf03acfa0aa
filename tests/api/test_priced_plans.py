"""Plans priced with the deployment's retention fit (``pricing``), and the
expected retention cost of their planned times (``retention``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Role
from api.db import jobs as job_rows
from api.db.tables_tracking import RetentionPricingRow
from api.services.retention import CurrentPricing, retention_of
from routing.locale import DEFAULT_LOCALE
from routing.model import Job, Problem
from routing.plan import Plan
from tests.api.conftest import auth
from tests.api.routes.test_plans import EXAMPLE, PARAMS, assert_problem, wait_plan
from tracking.feedback import CustomerValue, LatenessPricing, expected_loss

PRICING = LatenessPricing(lateness_coef=0.08, failure_coef=0.3, churn_uplift=0.1)
#: c-17 is worth a lot, c-23 little; the others the fit never saw.
VALUES = {"c-17": 900_000.0, "c-23": 10_000.0, "c-99": 50_000.0}


@pytest.fixture
def small() -> dict[str, Any]:
    """The documented example, two of its jobs with a known customer each."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    data["jobs"][0]["customer_id"] = "c-17"
    data["jobs"][1]["customer_id"] = "c-23"
    data["jobs"][2]["customer_id"] = "c-99"
    data["jobs"][3]["customer_id"] = "c-new"
    return data


def store_pricing(
    app: FastAPI, job_id: str = "fit-1", pricing: LatenessPricing = PRICING
) -> None:
    """A stored retention fit with ``pricing`` and :data:`VALUES`."""
    sessions: sessionmaker[Session] = app.state.sessionmaker
    with sessions.begin() as session:
        session.add(
            RetentionPricingRow(
                job_id=job_id,
                start=dt.date(2026, 1, 1),
                end=dt.date(2026, 6, 30),
                pricing=pricing.model_dump(mode="json"),
                coefficients=[],
                customer_values=VALUES,
                n_spells=10,
                n_events=3,
                n_customers=3,
                n_orders=40,
            )
        )


def post_plan(
    client: TestClient, key: str, problem: dict[str, Any], **params: Any
) -> Any:
    body = {"problem": problem, "params": {**PARAMS, **params}}
    got = client.post("/v1/plans", json=body, headers=auth(key))
    assert got.status_code == 202, got.text
    return got.json()


def submitted(app: FastAPI, job_id: str) -> Problem:
    """The problem a plan job was submitted with."""
    with app.state.sessionmaker() as session:
        job = job_rows.get_job(session, job_id=job_id)
        assert job is not None
        return Problem.model_validate(job.payload["problem"])


def test_learned_pricing_prices_orders_by_customer_value(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """With a fit, a valuable customer's drop costs more; promised windows
    stay hard; the plan says which fit priced it and what its planned times
    are expected to cost."""
    store_pricing(app)
    key = keys[Role.dispatcher]
    accepted = post_plan(client, key, small)
    problem = submitted(app, accepted["id"])
    jobs = {j.id: j for j in problem.jobs}
    rich, poor = jobs[small["jobs"][0]["id"]], jobs[small["jobs"][1]["id"]]
    # A promise is not for sale: the windows stay hard.
    assert rich.lateness_cost is None and poor.lateness_cost is None
    assert rich.penalty is not None and poor.penalty is not None
    # Never below the order's own penalty; a valuable customer's above it.
    own = [
        Job.model_validate(j).drop_penalty_in(DEFAULT_LOCALE) for j in small["jobs"][:2]
    ]
    assert rich.penalty > own[0] and poor.penalty >= own[1]
    # A customer the fit never saw is priced at its median value (c-99's).
    median, new = jobs[small["jobs"][2]["id"]], jobs[small["jobs"][3]["id"]]
    assert new.penalty == median.penalty

    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body
    assert body["pricing"] == {"source": "learned", "fit": "fit-1", "reason": None}
    retention = body["retention"]
    assert retention["fit"] == "fit-1"
    served = {
        s["id"]
        for r in body["plan"]["routes"]
        for s in r["steps"]
        if s["type"] in ("job", "delivery")
    }
    assert set(retention["orders"]) == served
    assert retention["total"] == pytest.approx(sum(retention["orders"].values()))


def test_uniform_pricing_leaves_the_problem_as_given(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``pricing: "uniform"`` submits the problem's own prices, and says so."""
    store_pricing(app)
    key = keys[Role.dispatcher]
    accepted = post_plan(client, key, small, pricing="uniform")
    problem = submitted(app, accepted["id"])
    assert problem == Problem.model_validate(small)
    body = client.get(accepted["url"], headers=auth(key)).json()
    assert body["pricing"] == {"source": "uniform", "fit": None, "reason": "asked for"}


def test_without_a_fit_plans_are_uniform_and_say_why(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """No retention fit yet: the problem as given, the reason, no retention."""
    key = keys[Role.dispatcher]
    accepted = post_plan(client, key, small)
    assert submitted(app, accepted["id"]) == Problem.model_validate(small)
    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body
    assert body["pricing"] == {
        "source": "uniform",
        "fit": None,
        "reason": "no retention fit yet",
    }
    assert body["retention"] is None


def test_a_bad_pricing_is_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``pricing`` is learned or uniform; anything else names the field."""
    body = {"problem": small, "params": {**PARAMS, "pricing": "cheap"}}
    got = client.post("/v1/plans", json=body, headers=auth(keys[Role.dispatcher]))
    errors = assert_problem(got, 422, "body.params.pricing")["errors"]
    reason = next(e for e in errors if e["field"] == "body.params.pricing")
    assert "learned" in str(reason) and "uniform" in str(reason)


def test_retention_is_the_expected_loss_of_each_planned_time(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """Each served order costs ``expected_loss`` at the minutes its planned
    service start is past its window; the total is their sum."""
    key = keys[Role.dispatcher]
    body = wait_plan(client, key, post_plan(client, key, small)["url"])
    plan = Plan.model_validate(body["plan"])
    steps = [s for r in plan.routes for s in r.steps if s.type == "job"]
    assert len(steps) >= 2
    # Close two served jobs' windows 10 and 45 minutes before their starts.
    late = {str(steps[0].id): 10.0, str(steps[1].id): 45.0}
    for job in small["jobs"]:
        step = next((s for s in steps if s.id == job["id"]), None)
        if step is not None and step.id in late:
            end = step.service_start - int(late[step.id] * 60)
            job["time_windows"] = [[end - 3600, end]]
    problem = Problem.model_validate(small)
    current = CurrentPricing(job_id="fit-x", pricing=PRICING, values=VALUES)
    cost = retention_of(problem, plan, current)
    customers = {j.id: j.customer_id for j in problem.jobs}
    for order_id, minutes in late.items():
        value = VALUES.get(customers[order_id] or "", 50_000.0)
        want = expected_loss(CustomerValue(value=value), minutes, PRICING)
        assert cost.orders[order_id] == pytest.approx(want, abs=0.01)
        assert want > 0
    on_time = [str(s.id) for s in steps if s.id not in late]
    for served in on_time:
        assert cost.orders[served] == 0.0
    assert cost.total == pytest.approx(sum(cost.orders.values()))
    assert cost.fit == "fit-x"


def test_reoptimising_prices_the_rest_of_the_day(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """A plan made before the first fit is re-optimised with the fit."""
    key = keys[Role.dispatcher]
    first = wait_plan(client, key, post_plan(client, key, small)["url"])
    assert first["pricing"]["source"] == "uniform"
    store_pricing(app)
    got = client.post(
        f"/v1/plans/{first['id']}/reoptimize",
        json={"time": 0, "params": PARAMS},
        headers=auth(key),
    )
    assert got.status_code == 202, got.text
    accepted = got.json()
    problem = submitted(app, accepted["id"])
    rich = next(j for j in problem.jobs if j.customer_id == "c-17")
    given = next(j for j in small["jobs"] if j.get("customer_id") == "c-17")
    assert rich.penalty is not None
    assert rich.penalty > Job.model_validate(given).drop_penalty_in(DEFAULT_LOCALE)
    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body
    assert body["pricing"]["source"] == "learned" and body["pricing"]["fit"] == "fit-1"
    assert body["retention"]["fit"] == "fit-1"


def test_costly_customers_are_planned_with_a_buffer(
    app: FastAPI, client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """The plan reaches a customer whose lateness would cost most a buffer
    before the window ends; the stored problem keeps the promised window."""
    store_pricing(app)
    key = keys[Role.dispatcher]
    accepted = post_plan(client, key, small)
    jobs = {j.id: j for j in submitted(app, accepted["id"]).jobs}
    rich, poor, median, new = (j["id"] for j in small["jobs"][:4])
    # c-17 loses 10 % of 900,000 won if late: the largest buffer; c-23 none.
    assert jobs[rich].buffer == 30 * 60 and jobs[rich].buffer_cost > 0
    assert jobs[poor].buffer == 0
    # Orders without a window have no promise to plan ahead of.
    assert not jobs[median].time_windows and jobs[median].buffer == 0
    assert not jobs[new].time_windows and jobs[new].buffer == 0
    window = Job.model_validate(small["jobs"][0]).time_windows[-1]
    assert jobs[rich].time_windows[-1] == window  # the promise is unchanged
    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body
    start = next(
        s["service_start"]
        for r in body["plan"]["routes"]
        for s in r["steps"]
        if s["id"] == rich
    )
    assert start <= window.end - 30 * 60  # the example's day has room
