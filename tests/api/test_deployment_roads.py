"""A deployment's own roads (``MILEPOST_ROADS``): plans are made on them, the
plan records them, and what reads the plan later re-times it on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import Role
from api.cli import app as cli
from api.settings import Settings
from tests.api.conftest import auth, make_keys, sqlite_url
from tests.api.routes.test_plans import PARAMS, wait_plan
from tests.routing.travel.test_spec import COORDS, tiny_city, write_graphml

DEPOT = {"lat": COORDS[0][0], "lon": COORDS[0][1]}
#: On the tiny city's streets, and one 3 km north of any road.
NEAR = [(COORDS[1][0] + 0.002, COORDS[1][1]), (COORDS[2][0], COORDS[2][1] + 0.002)]
FAR = (COORDS[0][0] + 0.03, COORDS[0][1])


def problem() -> dict[str, Any]:
    jobs = [
        {"id": f"o-{i}", "location": {"lat": lat, "lon": lon}, "demand": [1]}
        for i, (lat, lon) in enumerate([*NEAR, FAR])
    ]
    return {
        "date": "2026-11-23",
        "depots": [{"id": "hub", "location": DEPOT}],
        "vehicles": [
            {
                "id": "van-1",
                "start": "hub",
                "capacity": [10],
                "shift": ["08:00", "20:00"],
            }
        ],
        "jobs": jobs,
    }


@pytest.fixture(scope="module")
def roads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_graphml(tiny_city(), tmp_path_factory.mktemp("roads") / "city.graphml")


def test_plans_are_made_and_read_on_the_deployment_roads(
    roads: Path, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        roads=roads,
        travel_cache_dir=tmp_path / "cache",
    )
    with TestClient(create_app(settings)) as client:
        key = make_keys(client.app)[Role.dispatcher]  # type: ignore[arg-type]
        body = {"problem": problem(), "params": PARAMS}
        got = client.post("/v1/plans", json=body, headers=auth(key))
        assert got.status_code == 202, got.text
        done = wait_plan(client, key, got.json()["url"])
        assert done["status"] == "draft", done
        plan = done["plan"]
        assert plan["travel"]["kind"] == "road"
        assert plan["travel"]["path"] == str(roads.resolve())
        reasons = {u["id"]: u["reason"] for u in plan["unassigned"]}
        assert reasons == {"o-2": "off_road"}
        served = {s["id"] for r in plan["routes"] for s in r["steps"]}
        assert {"o-0", "o-1"} <= served
        # Read back on the same roads (a straight-line re-timing would differ).
        geometry = client.get(f"{got.json()['url']}/geometry", headers=auth(key))
        assert geometry.status_code == 200, geometry.text


def test_serve_refuses_an_unreadable_road_file(tmp_path: Path) -> None:
    broken = tmp_path / "roads.graphml"
    broken.write_text("<graphml><graph")
    env = {
        "MILEPOST_ROADS": str(broken),
        "MILEPOST_DATABASE_URL": sqlite_url(tmp_path),
    }
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2, result.output
    assert "MILEPOST_ROADS" in result.output
    assert str(broken) in result.output
