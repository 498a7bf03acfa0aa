"""Forecast and scenario jobs through the job runner (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth

FORECAST = {"horizon": 7, "customers": 1_000, "time_limit": 0.2}
TINY = {
    "name": "tiny",
    "orders": 60,
    "city": {"customers": 2_000},
    "replications": 1,
    "seed": 2,
    "iterations": 2,
}
SCENARIO = {
    "scenarios": [
        TINY,
        {**TINY, "name": "slow", "disruption": {"travel_multiplier": 2.0}},
    ]
}


def follow(client: TestClient, url: str, key: str, timeout: float = 240.0) -> Any:
    """Poll a job URL until it has finished; its last body."""
    deadline = time.monotonic() + timeout
    while True:
        got = client.get(url, headers=auth(key))
        assert got.status_code == 200, got.text
        body = got.json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_forecast_job_runs_to_a_result(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A queued forecast runs off the request thread and returns zones and fleet."""
    key = keys[Role.planner]
    body = {**FORECAST, "zones": ["Gangnam-gu", "Mapo-gu"], "model": "lightgbm"}
    queued = client.post("/v1/forecasts", json=body, headers=auth(key))
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "forecast" and job["status"] in ("queued", "running")
    assert job["url"] == f"/v1/forecasts/{job['id']}"
    assert queued.headers["location"] == job["url"]

    done = follow(client, job["url"], key)
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"] == 1.0 and done["finished_at"] is not None
    result = done["result"]
    assert set(result) == {
        "start",
        "horizon",
        "model",
        "model_name",
        "level",
        "plan_quantile",
        "total_orders",
        "zones",
        "depots",
        "fleet",
        "source",
        "unsized",
        "notes",
        "fallbacks",
    }
    assert result["source"] == "embedded" and result["unsized"] == []
    assert result["horizon"] == 7 and result["model"] == "lightgbm"
    # the name the rows' model_used give the model asked for
    assert result["model_name"] == "GlobalGBM"
    assert result["fallbacks"] == []
    assert {z["zone"] for z in result["zones"]} == {"Gangnam-gu", "Mapo-gu"}
    assert len(result["zones"]) == 2 * 7
    for zone in result["zones"]:
        assert set(zone) == {"zone", "day", "orders", "lo", "hi", "model_used"}
        assert zone["lo"] <= zone["orders"] <= zone["hi"]
        assert zone["model_used"] == "GlobalGBM"
    assert {d["model_used"] for d in result["depots"]} == {"GlobalGBM"}
    assert len(result["depots"]) == len(result["fleet"]) == 3 * 7
    assert set(result["fleet"][0]) == {
        "depot",
        "day",
        "orders",
        "planned_orders",
        "vans",
        "night_vans",
        "driver_hours",
        "unassigned",
        "fallback",
    }
    # positive demand is never sized at 0 vans (a fallback plan says so)
    for row in result["fleet"]:
        if row["orders"] > 0:
            assert row["vans"] + row["night_vans"] > 0 and row["driver_hours"] > 0
        assert row["fallback"] in (None, "more_time", "insertion")


def test_scenario_job_runs_to_a_comparison(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Queued scenarios are simulated and compared with the first, KPIs complete."""
    key = keys[Role.planner]
    queued = client.post("/v1/scenarios", json=SCENARIO, headers=auth(key))
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "scenario"
    assert job["url"] == f"/v1/scenarios/{job['id']}"

    done = follow(client, job["url"], key)
    assert done["status"] == "succeeded", done["error"]
    result = done["result"]
    assert result["reference"] == "tiny"
    base, slow = result["scenarios"]
    assert [base["name"], slow["name"]] == ["tiny", "slow"]
    day = base["days"][0]
    assert day["orders"] == 60
    assert day["served"] + day["unassigned"] == 60
    assert day["vehicles_used"] >= 1 and day["km"] > 0
    assert 0.0 <= day["on_time_rate"] <= 1.0
    assert set(base["kpis"]) >= {"cost_per_order", "km", "on_time_rate"}
    # One replication each: the difference is the plain difference of the days.
    hours = slow["days"][0]["driver_hours"] - day["driver_hours"]
    assert slow["difference"]["driver_hours"]["mean"] == pytest.approx(hours)
    assert hours > 0  # roads twice as slow take more vehicle-hours


def test_unknown_or_other_jobs_are_404(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A job id that is not a forecast (or not a scenario) is a 404 problem."""
    key = keys[Role.planner]
    missing = client.get("/v1/forecasts/nope", headers=auth(key))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "no forecast nope"
    assert client.get("/v1/scenarios/nope", headers=auth(key)).status_code == 404

    job = client.post("/v1/scenarios", json=SCENARIO, headers=auth(key)).json()
    other = client.get(f"/v1/forecasts/{job['id']}", headers=auth(key))
    assert other.status_code == 404
    assert other.json()["detail"] == f"no forecast {job['id']}"
    mine = client.get(f"/v1/scenarios/{job['id']}", headers=auth(key))
    assert mine.status_code == 200 and mine.json()["id"] == job["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"horizon": 0}, "body.horizon"),
        ({"horizon": 91}, "body.horizon"),
        ({"horizon": 7, "zones": ["Atlantis"]}, "body.zones"),
        ({"horizon": 7, "model": "prophet"}, "body.model"),
        ({"horizon": 7, "from": "2030-01-01"}, "body.from"),
        ({"horizon": 7, "colour": "red"}, "body.colour"),
        ({}, "body.horizon"),
    ],
)
def test_bad_forecast_is_422(
    client: TestClient, keys: dict[Role, str], body: dict[str, Any], field: str
) -> None:
    """An invalid forecast request is a 422 naming the field; nothing is queued."""
    got = client.post("/v1/forecasts", json=body, headers=auth(keys[Role.planner]))
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in got.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scenarios": [{**TINY, "orders": 10}]}, "body.scenarios[0].orders"),
        (
            {"scenarios": [{**TINY, "fleet": {"vans_per_depot": 0}}]},
            "body.scenarios[0].fleet.vans_per_depot",
        ),
        (
            {"scenarios": [{**TINY, "disruption": {"travel_multiplier": -1}}]},
            "body.scenarios[0].disruption.travel_multiplier",
        ),
        ({"scenarios": [{**TINY, "seed": -1}]}, "body.scenarios[0].seed"),
        ({"scenarios": [{**TINY, "day": "1999-01-01"}]}, "body.scenarios[0].day"),
        ({"scenarios": []}, "body.scenarios"),
        ({"scenarios": [TINY], "replications": 500}, "body.replications"),
    ],
)
def test_bad_scenario_is_422(
    client: TestClient, keys: dict[Role, str], body: dict[str, Any], field: str
) -> None:
    """An invalid scenario request is a 422 naming the field."""
    got = client.post("/v1/scenarios", json=body, headers=auth(keys[Role.planner]))
    assert got.status_code == 422, got.text
    assert [e["field"] for e in got.json()["errors"]] == [field]


def test_planner_routes_refuse_other_roles(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Storefront keys get 403 on the planners' jobs."""
    key = keys[Role.storefront]
    got = client.post("/v1/forecasts", json=FORECAST, headers=auth(key))
    assert got.status_code == 403
    assert got.json()["detail"].startswith("role storefront may not")
    assert client.get("/v1/scenarios/x", headers=auth(key)).status_code == 403
