"""The web pages' server side: pages, assets, base layer, live view, history.

The pages themselves are driven in a browser by ``tests/web``; these check
what the server answers, without one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.settings import Settings
from api.web import pages
from tests.api.conftest import auth, make_keys, sqlite_url
from tests.api.routes.test_plans import EXAMPLE, PARAMS, wait_plan
from tests.helpers import service_missing

STATIC = Path(pages.__file__).parent / "static"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service on SQLite, with a tile server configured."""
    settings = Settings(
        database_url=sqlite_url(tmp_path_factory.mktemp("web")),
        tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        tile_attribution="example tiles",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def assets() -> None:
    """The pages' npm assets (without them every page answers 503)."""
    if pages.missing_assets():
        service_missing("web assets not installed: run npm ci --prefix api/web")


@pytest.mark.usefixtures("assets")
@pytest.mark.parametrize("path", ["/console", "/planner"])
def test_pages_are_html_with_a_strict_policy(web: TestClient, path: str) -> None:
    """Each page is HTML that may load only our scripts, and the tiles' images."""
    got = web.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    csp = got.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "img-src 'self' data: https://*.tiles.example.org;" in csp
    assert "connect-src 'self';" in csp


@pytest.mark.usefixtures("assets")
def test_pages_carry_the_deployments_locale(web: TestClient, tmp_path: Path) -> None:
    """The scripts read the timezone, currency and its decimals from a meta
    tag: Seoul and won by default, the settings' otherwise."""
    meta = re.compile(r'<meta name="milepost-locale" content="([^"]*)">')
    found = meta.search(web.get("/console").text)
    assert found is not None and found.group(1) == "Asia/Seoul|KRW|0"
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        timezone="Europe/Berlin",
        currency="EUR",
        country="DE",
        migrate_on_start=False,
    )
    with TestClient(create_app(settings)) as berlin:
        page = berlin.get("/planner").text
    found = meta.search(page)
    assert found is not None and found.group(1) == "Europe/Berlin|EUR|2"


@pytest.mark.usefixtures("assets")
def test_tracking_page_is_404_for_an_unknown_link(web: TestClient) -> None:
    """An unknown token still gets the page (it explains), with status 404."""
    got = web.get("/t/no-such-token")
    assert got.status_code == 404
    assert got.headers["content-type"].startswith("text/html")
    assert got.headers["referrer-policy"] == "no-referrer"
    assert web.get("/t/" + "x" * 65).status_code == 422


def test_pages_are_not_in_the_api_schema(web: TestClient) -> None:
    """The OpenAPI schema lists the API, not the pages or their files."""
    paths = web.get("/openapi.json").json()["paths"]
    assert "/v1/plans/{plan_id}/live" in paths
    assert not [
        p
        for p in paths
        if p.startswith(("/console", "/planner", "/t/", "/web", "/static"))
    ]


def test_no_file_is_fetched_from_another_site() -> None:
    """No page, script or style names another origin (no CDN)."""
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), path


def test_config_names_the_tile_layer(web: TestClient) -> None:
    """The pages' scripts learn the tile URL from the settings."""
    assert web.get("/web/config.json").json() == {
        "tile_url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "tile_attribution": "example tiles",
    }


def test_base_layer_is_the_embedded_city(web: TestClient) -> None:
    """25 district outlines and the roads, one feature per road class."""
    got = web.get("/web/city.geojson")
    assert got.headers["content-type"] == "application/geo+json"
    features = got.json()["features"]
    districts = [f for f in features if f["properties"]["kind"] == "district"]
    roads = {
        f["properties"]["highway"]
        for f in features
        if f["properties"]["kind"] == "road"
    }
    assert len(districts) == 25
    assert {d["properties"]["name_ko"] for d in districts} >= {"강남구", "마포구"}
    assert roads == {"primary", "secondary", "residential"}
    for d in districts:
        ring = d["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        assert all(126.7 < lon < 127.3 and 37.3 < lat < 37.8 for lon, lat in ring)


def test_only_listed_vendor_files_are_served(web: TestClient) -> None:
    """Named vendor files come from node_modules; nothing else of it does."""
    if pages.missing_assets():
        service_missing("web assets not installed: run npm ci --prefix api/web")
    got = web.get("/static/vendor/leaflet.js")
    assert got.status_code == 200
    assert "javascript" in got.headers["content-type"]
    for name in ("package.json", "..%2Fpackage.json", "axe.min.js"):
        assert web.get(f"/static/vendor/{name}").status_code == 404


def test_missing_assets_say_how_to_install(
    web: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without node_modules: a 503 page with the install command, no traceback."""
    monkeypatch.setattr(pages, "NODE_MODULES", tmp_path / "node_modules")
    for path in ("/console", "/planner", "/t/anything"):
        got = web.get(path)
        assert got.status_code == 503
        assert "npm ci --prefix api/web" in got.text
    got = web.get("/static/vendor/leaflet.js")
    assert got.status_code == 503
    assert got.headers["content-type"] == "application/problem+json"
    assert "npm ci --prefix api/web" in got.json()["detail"]


# -- the API routes the pages read -----------------------------------------------


def _solved(client: TestClient, key: str) -> dict[str, Any]:
    problem = json.loads(EXAMPLE.read_text())
    got = client.post(
        "/v1/plans", json={"problem": problem, "params": PARAMS}, headers=auth(key)
    )
    assert got.status_code == 202, got.text
    body: dict[str, Any] = wait_plan(client, key, got.json()["url"])
    assert body["status"] == "draft", body
    return body


def _sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_live_view_follows_a_plan(client: TestClient, keys: dict[Role, str]) -> None:
    """Statuses and windows of every routed order; vans once seen; as a stream too."""
    dispatcher = keys[Role.dispatcher]
    body = _solved(client, dispatcher)
    plan_id, plan = body["id"], body["plan"]
    routed = sorted(
        s["id"] for r in plan["routes"] for s in r["steps"] if s["type"] == "job"
    )
    url = f"/v1/plans/{plan_id}/live"
    live = client.get(url, headers=auth(keys[Role.planner])).json()
    assert live["plan_id"] == plan_id
    orders = {o["order_id"]: o for o in live["orders"] if o["order_id"] in routed}
    assert sorted(orders) == routed
    assert {o["status"] for o in orders.values()} == {"planned"}
    assert all(o["window"] is not None for o in orders.values())
    assert live["vehicles"] == []

    van = plan["routes"][0]["vehicle"]
    day = body["day"]
    event = {"type": "position", "id": "p1", "at": 3600, "vehicle": van}
    got = client.post(
        "/v1/events",
        json={"day": day, "events": [{**event, "lat": 37.5, "lon": 127.0}]},
        headers=auth(dispatcher),
    )
    assert got.status_code == 200, got.text
    assert client.post(f"/v1/plans/{plan_id}/dispatch", headers=auth(dispatcher))
    live = client.get(url, headers=auth(dispatcher)).json()
    assert [(v["vehicle"], v["lat"], v["lon"]) for v in live["vehicles"]] == [
        (van, 37.5, 127.0)
    ]
    statuses = {o["order_id"]: o["status"] for o in live["orders"]}
    assert {statuses[o] for o in routed} == {"dispatched"}

    stream = client.get(f"{url}/stream?max_seconds=1", headers=auth(dispatcher))
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(stream.text)
    assert events[0][0] == "status"
    assert events[0][1] == live


def test_live_view_of_an_unknown_plan_is_404(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """No such plan: 404 problem, for the view and the stream."""
    for path in ("/v1/plans/nope/live", "/v1/plans/nope/live/stream"):
        got = client.get(path, headers=auth(keys[Role.dispatcher]))
        assert got.status_code == 404
        assert got.headers["content-type"] == "application/problem+json"


def test_zone_history_is_the_forecasts_history(web: TestClient) -> None:
    """Daily orders per zone for the days before ``until``; bad zones are 422."""
    key = make_keys(web.app)[Role.planner]  # type: ignore[arg-type]
    query = "zone=Gangnam-gu&zone=Mapo-gu&until=2025-06-01&days=7"
    got = web.get(f"/v1/forecasts/history?{query}", headers=auth(key))
    assert got.status_code == 200, got.text
    body = got.json()
    assert [z["zone"] for z in body["zones"]] == ["Gangnam-gu", "Mapo-gu"]
    for zone in body["zones"]:
        days = [d["day"] for d in zone["days"]]
        assert days == [f"2025-05-{d:02d}" for d in range(25, 32)]
        assert all(d["orders"] >= 0 for d in zone["days"])
    got = web.get("/v1/forecasts/history?zone=Atlantis", headers=auth(key))
    assert got.status_code == 422
    assert got.json()["errors"] == [
        {"field": "query.zone", "reason": "no zone Atlantis"}
    ]
    assert web.get("/v1/forecasts/history?days=0", headers=auth(key)).status_code == 422
