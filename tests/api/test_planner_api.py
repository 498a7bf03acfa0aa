"""The planner's reads: the scenario library and earlier runs, paged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from scenarios.spec import LIBRARY
from tests.api.conftest import auth

SMALL: dict[str, Any] = {"orders": 50, "city": {"customers": 1_000}, "iterations": 1}


def _small(scenario: dict[str, Any]) -> dict[str, Any]:
    return {**scenario, **SMALL, "city": {**scenario["city"], **SMALL["city"]}}


def test_library_lists_the_shipped_files_ready_to_post(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Every TOML file, baseline first, with a spec POST /v1/scenarios takes."""
    key = keys[Role.planner]
    got = client.get("/v1/scenarios/library", headers=auth(key))
    assert got.status_code == 200, got.text
    body = got.json()
    ids = [item["id"] for item in body["data"]]
    assert ids[0] == "baseline"
    assert sorted(ids) == sorted(p.stem for p in LIBRARY.glob("*.toml"))
    assert body["count"] == len(ids)
    items = {item["id"]: item for item in body["data"]}
    snow = items["snow_on_baseline_day"]
    assert snow["title"] == snow["scenario"]["name"] == "Snow on the baseline day"
    assert snow["scenario"]["disruption"]["weather"] == "snow"
    # The base file is merged in: the baseline's policy, day and orders.
    assert snow["scenario"]["day"] == items["baseline"]["scenario"]["day"]
    assert snow["scenario"]["policy"] == items["baseline"]["scenario"]["policy"]
    assert items["fleet_cut"]["scenario"]["fleet"]["absent_drivers"] == 2
    request = {
        "scenarios": [_small(items["baseline"]["scenario"]), _small(snow["scenario"])],
        "replications": 1,
    }
    posted = client.post("/v1/scenarios", json=request, headers=auth(key))
    assert posted.status_code == 202, posted.text


def test_runs_are_listed_newest_first_and_paged(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Scenario and forecast jobs, each in its own list, newest first."""
    key = keys[Role.planner]
    empty = client.get("/v1/scenarios", headers=auth(key)).json()
    assert empty == {"data": [], "count": 0}
    library = client.get("/v1/scenarios/library", headers=auth(key)).json()["data"]
    first, second = (_small(item["scenario"]) for item in library[:2])
    ids = []
    for names in ([first], [first, second]):
        body = {"scenarios": names, "replications": 1}
        posted = client.post("/v1/scenarios", json=body, headers=auth(key))
        assert posted.status_code == 202, posted.text
        ids.append(posted.json()["id"])
    forecast = {"horizon": 3, "customers": 1_000, "zones": ["Mapo-gu"]}
    fid = client.post("/v1/forecasts", json=forecast, headers=auth(key)).json()["id"]

    runs = client.get("/v1/scenarios", headers=auth(key)).json()
    assert runs["count"] == 2
    assert [r["id"] for r in runs["data"]] == ids[::-1]
    newest = runs["data"][0]
    assert newest["scenarios"] == [first["name"], second["name"]]
    assert newest["replications"] == 1 and newest["kind"] == "scenario"
    assert newest["url"] == f"/v1/scenarios/{ids[1]}"
    assert newest["status"] in ("queued", "running", "succeeded")
    assert "result" not in newest and newest["created_at"]

    page = client.get("/v1/scenarios?limit=1&offset=1", headers=auth(key)).json()
    assert page["count"] == 2 and [r["id"] for r in page["data"]] == [ids[0]]

    forecasts = client.get("/v1/forecasts", headers=auth(key)).json()
    assert forecasts["count"] == 1
    (run,) = forecasts["data"]
    assert run["id"] == fid and run["kind"] == "forecast"
    assert run["horizon"] == 3 and run["zones"] == ["Mapo-gu"]
    assert run["url"] == f"/v1/forecasts/{fid}" and run["from"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/scenarios?limit=0", "query.limit"),
        ("/v1/scenarios?limit=101", "query.limit"),
        ("/v1/scenarios?limit=many", "query.limit"),
        ("/v1/scenarios?offset=-1", "query.offset"),
        ("/v1/forecasts?limit=0", "query.limit"),
        ("/v1/forecasts?offset=-3", "query.offset"),
    ],
)
def test_bad_paging_is_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], path: str, field: str
) -> None:
    """A limit or offset out of range is a 422 problem naming the query field."""
    got = client.get(path, headers=auth(keys[Role.planner]))
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in got.json()["errors"]] == [field]


@pytest.mark.parametrize(
    "path", ["/v1/scenarios", "/v1/scenarios/library", "/v1/forecasts"]
)
def test_planner_reads_refuse_other_roles(
    client: TestClient, keys: dict[Role, str], path: str
) -> None:
    """Only planners (and admins) read the library and the runs."""
    assert client.get(path, headers=auth(keys[Role.storefront])).status_code == 403
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth(keys[Role.admin])).status_code == 200
