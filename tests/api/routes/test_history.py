"""POST/GET /v1/history and forecasts of the stored history (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import gzip
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from api.auth import Role
from api.db.tables_history import HistoryRow
from api.services.history import deployment_timezone, import_history
from api.settings import Settings
from tests.api.conftest import auth
from tests.api.routes.test_forecasts_scenarios import follow
from tests.history_data import (
    FIRST_DAY,
    HEADER,
    as_csv,
    as_jsonl,
    history_csv,
    history_rows,
)

CSV = {"Content-Type": "text/csv"}
JSONL = {"Content-Type": "application/x-ndjson"}
#: Small enough that the 70-day history (about 6 kB gzipped, 60 kB plain)
#: is over the limit of other routes.
BODY_LIMIT = 4_096


@pytest.fixture
def settings_override(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=False,
        max_body_bytes=BODY_LIMIT,
        max_history_bytes=200_000,
    )


@pytest.fixture
def app(settings_override: Settings) -> FastAPI:
    """The service with a small body limit for every route but the history."""
    from api.app import create_app

    return create_app(settings_override)


def _post(client: TestClient, key: str, body: bytes | str, **headers: str) -> Any:
    return client.post("/v1/history", content=body, headers={**auth(key), **headers})


def test_import_round_trip_is_idempotent_by_order_id(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A CSV import stores every order; the same orders as JSON lines change
    nothing; a known id with other values replaces its row."""
    key = keys[Role.planner]
    rows = history_rows(10, seed=1)
    got = _post(client, key, as_csv(rows), **CSV)
    assert got.status_code == 200, got.text
    assert got.json() == {
        "rows": len(rows),
        "inserted": len(rows),
        "updated": 0,
        "unchanged": 0,
    }
    again = _post(client, key, as_jsonl(rows), **JSONL).json()
    assert again["unchanged"] == len(rows) and again["inserted"] == 0
    rows[0] = {**rows[0], "outcome": "returned", "promotions": ["b", "a"]}
    changed = client.post(
        "/v1/history?format=jsonl", content=as_jsonl(rows[:3]), headers=auth(key)
    ).json()
    assert (changed["updated"], changed["unchanged"]) == (1, 2)

    summary = client.get("/v1/history", headers=auth(key)).json()
    assert summary["rows"] == len(rows) and summary["source"] == "stored"
    assert summary["first_day"] == FIRST_DAY.isoformat()
    assert summary["timezone"] == "Asia/Seoul"
    by_zone = {z["name"]: z["orders"] for z in summary["zones"]}
    assert by_zone == {
        z: sum(r["zone"] == z for r in rows) for z in ("Gangnam-gu", "Mapo-gu")
    }
    outcomes = {o["name"]: o["orders"] for o in summary["outcomes"]}
    assert outcomes["returned"] == sum(r["outcome"] == "returned" for r in rows)


def test_a_file_with_bad_rows_is_refused_whole(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """422 lists each bad row by line and field; no row of the file is stored."""
    key = keys[Role.planner]
    good = as_csv(history_rows(3, seed=2))
    lines = good.count("\n")
    bad = good + "z1,soon,,Mapo-gu,,,,,delivered\nz2,2025-01-01T09:00,,,,,,,failed\n"
    got = _post(client, key, bad, **CSV)
    assert got.status_code == 422
    assert got.headers["content-type"] == "application/problem+json"
    errors = got.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (lines + 1, "created_at"),
        (lines + 2, "zone"),
    ]
    assert "2 bad rows, nothing imported" in got.json()["detail"]
    assert client.get("/v1/history", headers=auth(key)).json()["rows"] == 0


def test_gzip_and_the_larger_body_limit_of_the_upload(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The history route takes bodies over the other routes' limit, and
    gzip; past its own limit it answers 413; a format it cannot tell, 422."""
    key = keys[Role.planner]
    text = history_csv(70, seed=3)
    assert len(text) > BODY_LIMIT
    assert _post(client, key, text, **CSV).status_code == 200
    packed = gzip.compress(text.encode())
    got = _post(client, key, packed, **{"Content-Type": "application/gzip"})
    assert got.status_code == 422
    assert got.json()["errors"][0]["field"] == "query.format"
    zipped = client.post(
        "/v1/history?format=csv", content=packed, headers=auth(key)
    ).json()
    assert zipped["unchanged"] == zipped["rows"] > 0
    big = client.post(
        "/v1/forecasts", content=b" " * (BODY_LIMIT + 1), headers=auth(key)
    )
    assert big.status_code == 413
    over = _post(client, key, text * 4, **CSV)
    assert over.status_code == 413 and "200000 bytes" in over.json()["detail"]
    latin = _post(client, key, (HEADER + "\nä,,,,,,,,\n").encode("latin-1"), **CSV)
    assert latin.status_code == 422 and latin.json()["errors"][0]["field"] == "body"


def test_storefront_keys_may_not_import(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The history is the planners' (and admins')."""
    got = _post(client, keys[Role.storefront], history_csv(1), **CSV)
    assert got.status_code == 403


BASE = history_rows(3, seed=5)


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(picks=st.lists(st.integers(0, len(BASE) - 1), min_size=1, max_size=40))
def test_importing_twice_gives_the_same_table(
    app: FastAPI, client: TestClient, picks: list[int]
) -> None:
    """Any order and repetition of valid rows, imported twice: the table holds
    each distinct row once, as given, and the second import changes nothing."""
    rows = [BASE[i] for i in picks]
    with app.state.sessionmaker.begin() as session:
        tz = deployment_timezone(session)
        session.execute(delete(HistoryRow))
        first = import_history(session, as_csv(rows), "csv", tz)
    with app.state.sessionmaker.begin() as session:
        second = import_history(session, as_jsonl(rows[::-1]), "jsonl", tz)
    distinct = sorted(set(picks))
    assert first.inserted == second.unchanged == len(distinct)
    assert (second.inserted, second.updated) == (0, 0)
    with app.state.sessionmaker() as session:
        stored = session.execute(
            select(
                HistoryRow.order_id, HistoryRow.outcome, HistoryRow.promotions
            ).order_by(HistoryRow.order_id)
        ).all()
    expected = sorted(
        (BASE[i]["order_id"], BASE[i]["outcome"], BASE[i]["promotions"])
        for i in distinct
    )
    assert [tuple(r) for r in stored] == expected


def test_forecasts_run_on_the_stored_history(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """With orders stored, a forecast from a start in their range runs on them
    (source stored) and names what it could not size; the default start,
    tomorrow, is far after this 2025 history and refused by field."""
    key = keys[Role.planner]
    assert _post(client, key, history_csv(70, seed=3), **CSV).status_code == 200
    # A closure at one depot only, and a national one (the older file format
    # is read too).
    calendar = (
        "start,end,name,kind,scope\n"
        "2025-03-14,,stocktaking,closure,\n"
        "2025-03-15,2025-03-15,flood,closure,depot-west\n"
    )
    put = client.put("/v1/calendar", content=calendar, headers=auth(key))
    assert put.status_code == 200, put.text
    stored = put.json()
    assert stored["public_holidays"] == "merge" and stored["country"] == "KR"
    assert stored["entries"][1] == {
        "start": "2025-03-15",
        "end": "2025-03-15",
        "name": "flood",
        "kind": "closure",
        "scope": "depot-west",
        "intensity": 1.0,
    }
    assert client.get("/v1/calendar", headers=auth(key)).json() == stored
    start = "2025-03-12"
    body = {"horizon": 7, "from": start, "time_limit": 0.1}
    queued = client.post("/v1/forecasts", json=body, headers=auth(key))
    assert queued.status_code == 202, queued.text
    done = follow(client, queued.json()["url"], key)
    assert done["status"] == "succeeded", done["error"]
    result = done["result"]
    assert result["source"] == "stored" and result["start"] == start
    assert {z["zone"] for z in result["zones"]} == {"Gangnam-gu", "Mapo-gu"}
    assert result["fleet"] == [] and result["unsized"][0]["depot"] is None
    assert "no depots" in result["unsized"][0]["reason"]
    # The uploaded closure day: no deliveries forecast at any depot.
    closed = [d for d in result["depots"] if d["day"] == "2025-03-14"]
    assert len(closed) == 2 and all(d["orders"] == d["hi"] == 0 for d in closed)
    flood = {d["depot"]: d["hi"] for d in result["depots"] if d["day"] == "2025-03-15"}
    assert flood["depot-west"] == 0 and flood["depot-east"] > 0
    assert all(d["orders"] > 0 for d in result["depots"] if d["day"] == start)

    for bad in ({"horizon": 7}, {"horizon": 7, "from": "2025-01-20"}):
        got = client.post("/v1/forecasts", json=bad, headers=auth(key))
        assert got.status_code == 422, got.text
        assert [e["field"] for e in got.json()["errors"]] == ["body.from"]
    zones = client.post(
        "/v1/forecasts", json={**body, "zones": ["Jongno-gu"]}, headers=auth(key)
    )
    assert [e["field"] for e in zones.json()["errors"]] == ["body.zones"]

    seen = client.get(
        "/v1/forecasts/history", params={"until": start, "days": 7}, headers=auth(key)
    ).json()
    assert {z["zone"] for z in seen["zones"]} == {"Gangnam-gu", "Mapo-gu"}
    assert all(len(z["days"]) == 7 for z in seen["zones"])


def test_a_bad_calendar_is_refused_and_keeps_the_stored_one(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """422 names the body with the parser's line and column; the calendar
    stored before stays."""
    key = keys[Role.planner]
    good = "date,name,type\n2025-05-05,children,holiday\n"
    assert client.put("/v1/calendar", content=good, headers=auth(key)).is_success
    bad = "date,name,type\n2025-05-06,sale,party\n"
    got = client.put("/v1/calendar", content=bad, headers=auth(key))
    assert got.status_code == 422
    (error,) = got.json()["errors"]
    assert error["field"] == "body" and "line 2" in error["reason"]
    assert "type" in error["reason"]
    stored = client.get("/v1/calendar", headers=auth(key)).json()
    assert stored["count"] == 1 and stored["entries"][0]["name"] == "children"
    # Carriage returns end rows; a field the csv module cannot read is a 422
    # naming its line, never a 500.
    for text in ("\r0", 'date,name,type\n2025-05-06,"sale\n'):
        got = client.put("/v1/calendar", content=text, headers=auth(key))
        assert got.status_code == 422, text
        assert got.json()["errors"][0]["field"] == "body"
    old_mac = "date,name,type\r2025-05-07,bridge,holiday\r"
    got = client.put("/v1/calendar", content=old_mac, headers=auth(key))
    assert got.status_code == 200 and got.json()["entries"][0]["name"] == "bridge"


def test_stored_history_is_deleted_before_a_day_or_whole(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """DELETE /v1/history?before= removes the orders placed before that
    local day and keeps the rest; without it every one; a planner's call
    only (403 for the storefront); a bad day is a 422 naming it."""
    key = keys[Role.planner]
    rows = history_rows(14, seed=3)
    assert _post(client, key, as_csv(rows), **CSV).status_code == 200
    day = FIRST_DAY + dt.timedelta(days=7)
    early = sum(r["created_at"] < day.isoformat() for r in rows)
    assert 0 < early < len(rows)

    refused = client.delete("/v1/history", headers=auth(keys[Role.storefront]))
    assert refused.status_code == 403
    bad = client.delete("/v1/history?before=soon", headers=auth(key))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.before"

    some = client.delete(f"/v1/history?before={day}", headers=auth(key))
    assert some.status_code == 200, some.text
    assert some.json() == {
        "deleted": early,
        "before": day.isoformat(),
        "left": len(rows) - early,
    }
    summary = client.get("/v1/history", headers=auth(key)).json()
    assert summary["rows"] == len(rows) - early
    assert summary["first_day"] == day.isoformat()
    rest = client.delete("/v1/history", headers=auth(key)).json()
    assert rest == {"deleted": len(rows) - early, "before": None, "left": 0}
    assert client.get("/v1/history", headers=auth(key)).json()["rows"] == 0
