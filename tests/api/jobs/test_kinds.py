"""The registry of job kinds: typed payloads in, loud refusals for bad ones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db import jobs as job_rows
from api.jobs.kinds import JobKind, MalformedJob, UnknownJobKind, default_kinds
from api.jobs.payloads import PlanPayload
from routing.model import Problem
from tests.api.jobs import job_kinds
from tests.api.jobs.test_runner import read_job, wait_job

EXAMPLE = Path(__file__).resolve().parents[3] / "docs/examples/small_problem.json"


def test_default_kinds_are_listed_in_one_place() -> None:
    """The service's five kinds exist without importing any router."""
    kinds = default_kinds()
    assert kinds.names() == [
        "forecast",
        "plan",
        "reoptimize",
        "retention_fit",
        "scenario",
    ]
    assert kinds.get("retention_fit") is kinds.retention_fit
    assert kinds.get("plan") is kinds.plan
    assert kinds.plan_kinds == {"plan", "reoptimize"}


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    """Looking up a kind nobody registered raises, listing what exists."""
    with pytest.raises(UnknownJobKind, match="'nope'; known: forecast, plan"):
        default_kinds().get("nope")


def test_two_kinds_may_not_share_a_name() -> None:
    """A registry refuses a second kind of the same name."""
    twin = JobKind("plan", job_kinds.Number, job_kinds.Doubled, job_kinds.double)
    with pytest.raises(ValueError, match="share a name"):
        default_kinds(extra=(twin,))


def test_a_malformed_payload_is_refused_naming_the_field() -> None:
    """Stored JSON that does not fit the payload model names the field at fault."""
    plan = default_kinds().plan
    with pytest.raises(MalformedJob, match=r"plan job: day: Field required"):
        plan.parse_payload({"problem": json.loads(EXAMPLE.read_text())})
    with pytest.raises(MalformedJob, match=r"test-double job: n: Input should be"):
        job_kinds.DOUBLE.parse_payload({"n": "many"})


def test_payloads_round_trip_in_the_stored_shape() -> None:
    """A plan payload is stored as before (problem, params, day, depot_id),
    with how it was priced and the travel model to plan on."""
    problem = Problem.model_validate_json(EXAMPLE.read_text())
    payload = PlanPayload(problem=problem, day=dt.date(2026, 3, 2), depot_id="d")
    kind = default_kinds().plan
    stored = kind.dump_payload(payload)
    assert set(stored) == {"problem", "params", "day", "depot_id", "pricing", "travel"}
    assert stored["day"] == "2026-03-02"
    assert kind.parse_payload(stored) == payload
    # Rows written before plans were priced (or planned on roads) lack those.
    old = {k: v for k, v in stored.items() if k not in ("pricing", "travel")}
    assert kind.parse_payload(old) == payload
    # Rows written before the payloads were typed may lack params, or hold null.
    assert kind.parse_payload({**stored, "params": None}).params == payload.params


def test_the_runner_fails_a_job_with_a_malformed_payload(
    app: FastAPI, client: TestClient
) -> None:
    """A stored payload that does not fit its kind fails the job, naming the field."""
    with app.state.sessionmaker.begin() as session:
        job_id = job_rows.add_job(
            session, kind=job_kinds.DOUBLE.name, payload={"n": "many"}
        ).id
    row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error is not None
    assert row.error.startswith("MalformedJob: malformed payload of a test-double")
    assert "n: Input should be a valid integer" in row.error


def test_the_runner_fails_a_job_of_an_unknown_kind(
    app: FastAPI, client: TestClient
) -> None:
    """A row of a kind this service does not know fails loudly."""
    with app.state.sessionmaker.begin() as session:
        job_id = job_rows.add_job(session, kind="retired-kind", payload={}).id
    row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error is not None
    assert "unknown job kind 'retired-kind'" in row.error


def test_the_runner_fails_a_result_of_another_model(
    app: FastAPI, client: TestClient
) -> None:
    """A function returning something else than its kind's result model fails."""
    with app.state.sessionmaker.begin() as session:
        job_id = job_rows.add_job(
            session, kind=job_kinds.WRONG_RESULT.name, payload={}
        ).id
    row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error == (
        "TypeError: the test-wrong-result job returned Nothing, not Answer"
    )
    assert read_job(app, job_id).result is None
