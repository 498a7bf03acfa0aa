"""``/metrics`` counts the plans a fallback made (``Plan.fallback``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.auth import Role
from api.settings import Settings
from api.telemetry import Metrics
from routing.plan import Plan, Summary
from tests.api.conftest import auth
from tests.api.jobs.no_plan_kinds import KINDS
from tests.api.routes.test_plans import EXAMPLE, wait_plan

SERIES = "milepost_plans_fallback_total"


def _counts(text: str) -> dict[tuple[str, str], float]:
    """The counter's samples on a ``/metrics`` page, by (kind, fallback)."""
    return {
        (s.labels["kind"], s.labels["fallback"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == SERIES
    }


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service whose search never finds a plan, with the service's own
    hooks (which tell the metrics of each plan stored)."""
    return create_app(settings, kinds=KINDS)


def test_a_plan_made_by_insertion_is_counted(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Every series shows at 0 before; the search finding nothing, insertion
    makes the plan (the example without its shipment), stored with
    ``fallback: insertion`` and counted once under the plan kind."""
    before = _counts(client.get("/metrics").text)
    assert before == {
        (kind, fallback): 0.0
        for kind in ("plan", "reoptimize")
        for fallback in ("more_time", "insertion")
    }
    small: dict[str, Any] = json.loads(Path(EXAMPLE).read_text())
    small["shipments"] = []
    params = {"engine": "ortools", "time_limit": 0.5, "workers": 1}
    accepted = client.post(
        "/v1/plans",
        json={"problem": small, "params": params},
        headers=auth(keys[Role.dispatcher]),
    )
    assert accepted.status_code == 202, accepted.text
    body = wait_plan(client, keys[Role.dispatcher], accepted.json()["url"])
    assert body["status"] != "failed", body["job"]["error"]
    assert body["plan"]["fallback"] == "insertion"
    after = _counts(client.get("/metrics").text)
    assert after == {**before, ("plan", "insertion"): 1.0}


def test_a_plan_of_the_search_asked_for_is_not_counted() -> None:
    """Only a plan with a fallback counts, under its job kind."""
    metrics = Metrics()
    zero = dict.fromkeys(Summary.model_fields, 0)
    plain = Plan(summary=Summary.model_validate(zero), routes=())
    metrics.plan_stored("reoptimize", plain)
    metrics.plan_stored(
        "reoptimize", plain.model_copy(update={"fallback": "more_time"})
    )

    def count(kind: str, fallback: str) -> float | None:
        labels = {"kind": kind, "fallback": fallback}
        return metrics.registry.get_sample_value(SERIES, labels)

    assert count("reoptimize", "more_time") == 1.0
    assert count("reoptimize", "insertion") == count("plan", "more_time") == 0.0
