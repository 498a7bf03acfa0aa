"""A deployment outside Seoul plans, tracks and reports a clock-change day.

New York on the US spring-forward day (02:00 EST -> 03:00 EDT) and Berlin on
the EU fall-back day (03:00 CEST -> 02:00 CET): the vans' shift 01:00-06:00
lasts 4 and 6 real hours, and every time the API answers carries the
offset of its own moment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.db.tables_jobs import PlanRow
from api.settings import Settings
from routing.model import Problem
from tests.api.conftest import auth, device_key, make_keys, sqlite_url
from tests.api.routes.test_plans import wait_plan

HOUR = 3600


class Place(NamedTuple):
    timezone: str
    currency: str
    country: str
    day: dt.date
    lat: float
    lon: float
    before: str  # the UTC offset before the change
    after: str  # and after it
    shift_hours: int  # real hours of the shift 01:00-06:00


NEW_YORK = Place(
    "America/New_York", "USD", "US", dt.date(2026, 3, 8), 40.7506, -73.9935,
    "-05:00", "-04:00", 4,
)  # fmt: skip
BERLIN = Place(
    "Europe/Berlin", "EUR", "DE", dt.date(2026, 10, 25), 52.5251, 13.3694,
    "+02:00", "+01:00", 6,
)  # fmt: skip


@pytest.fixture(params=[NEW_YORK, BERLIN], ids=["new_york", "berlin"])
def place(request: pytest.FixtureRequest) -> Place:
    value: Place = request.param
    return value


@pytest.fixture
def served(place: Place, tmp_path: Path) -> Any:
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        log_json=False,
        timezone=place.timezone,
        currency=place.currency,
        country=place.country,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, make_keys(app)


def _store_day(client: TestClient, key: str, place: Place) -> dict[str, str]:
    """A depot, a van on shift 01:00-06:00 and two orders whose windows open
    3 h 10 min after midnight (after the change); their tracking tokens."""
    headers = auth(key)
    depot = {"id": "d1", "location": {"lat": place.lat, "lon": place.lon}}
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    van = {
        "id": "van-1",
        "start": "d1",
        "end": "d1",
        "capacity": [10],
        "shift": ["01:00", "06:00"],
        "costs": {"fixed": 100, "per_hour": 30, "per_km": 0.5},
    }
    assert client.post("/v1/vehicles", json=van, headers=headers).status_code == 201
    tokens = {}
    for i, (dlat, dlon) in enumerate([(0.01, 0.0), (0.0, 0.012)]):
        job = {
            "id": f"o-{i}",
            "location": {"lat": place.lat + dlat, "lon": place.lon + dlon},
            "demand": [1],
            "service": 120,
            "time_windows": [[3 * HOUR + 600, 5 * HOUR]],
        }
        order = {"day": place.day.isoformat(), "job": job, "depot_id": "d1"}
        created = client.post("/v1/orders", json=order, headers=headers)
        assert created.status_code == 201, created.text
        tokens[job["id"]] = created.json()["tracking_token"]
    return tokens


def _plan_and_dispatch(client: TestClient, key: str, place: Place) -> dict[str, Any]:
    response = client.post(
        "/v1/plans",
        json={
            "day": place.day.isoformat(),
            "depot_id": "d1",
            "params": {"time_limit": 1, "workers": 1},
        },
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    dispatched = client.post(f"/v1/plans/{body['id']}/dispatch", headers=auth(key))
    assert dispatched.status_code == 200, dispatched.text
    return body


def _drive(client: TestClient, place: Place, route: dict[str, Any]) -> int:
    """The van leaves at 01:00 and delivers its first stop; when it did."""
    app: Any = client.app
    first = next(s for s in route["steps"] if s["type"] == "job")
    delivered_at = first["service_start"] + 60
    sent = client.post(
        "/v1/events",
        json={
            "day": place.day.isoformat(),
            "events": [
                {"type": "shift_start", "id": "e1", "at": HOUR, "vehicle": "van-1"},
                {"type": "stop_departed", "id": "e2", "at": HOUR, "vehicle": "van-1"},
                {
                    "type": "stop_arrived",
                    "id": "e3",
                    "at": first["arrival"],
                    "vehicle": "van-1",
                    "order_id": first["id"],
                },
                {
                    "type": "delivered",
                    "id": "e4",
                    "at": delivered_at,
                    "vehicle": "van-1",
                    "order_id": first["id"],
                    "proof": {"recipient": "front desk"},
                },
            ],
        },
        headers=auth(device_key(app, "van-1")),
    )
    assert sent.status_code == 200, sent.text
    assert len(sent.json()["accepted"]) == 4, sent.text
    return delivered_at


def test_a_clock_change_day_is_planned_tracked_and_reported_locally(
    served: Any, place: Place
) -> None:
    client, keys = served
    key = keys[Role.dispatcher]
    tokens = _store_day(client, key, place)
    body = _plan_and_dispatch(client, key, place)
    assert body["currency"] == place.currency

    # The van's shift is clock readings; the day's problem counts real time.
    with client.app.state.sessionmaker() as session:
        problem: Problem = session.get(PlanRow, body["id"]).problem
    assert problem.locale.timezone == place.timezone
    shift = problem.vehicles[0].shift
    assert (shift.start, shift.end - shift.start) == (HOUR, place.shift_hours * HOUR)
    (route,) = body["plan"]["routes"]
    assert route["start"] >= HOUR and route["end"] <= shift.end
    stops = [s["id"] for s in route["steps"] if s["type"] == "job"]
    assert sorted(stops) == sorted(tokens)

    delivered_at = _drive(client, place, route)
    first, second = stops

    # The customer's page: left at 01:00 before the change, delivered after.
    page = client.get(f"/v1/track/{tokens[first]}").json()
    assert page["status"] == "delivered"
    times = {step["status"]: step["at"] for step in page["history"]}
    assert times["out_for_delivery"] == f"{place.day}T01:00:00{place.before}"
    assert times["delivered"].endswith(place.after)
    assert page["proof"]["at"] == times["delivered"]
    at = dt.datetime.fromisoformat(times["delivered"])
    left = dt.datetime.fromisoformat(times["out_for_delivery"])
    assert (at - left).total_seconds() == delivered_at - HOUR  # real seconds

    # The next stop's live ETA, asked at the delivery, is after the change.
    tracking = client.get(
        f"/v1/orders/{second}/tracking",
        params={"at": delivered_at},
        headers=auth(key),
    )
    assert tracking.status_code == 200, tracking.text
    window = tracking.json()["window"]
    assert tracking.json()["status"] == "out_for_delivery"
    for edge in ("earliest", "expected", "latest"):
        assert window[edge].startswith(place.day.isoformat())
        assert window[edge].endswith(place.after)

    # The day's delivery metrics: one attempted, on time, in the currency.
    metrics = client.get(
        "/v1/metrics/delivery",
        params={"start": place.day.isoformat(), "end": place.day.isoformat()},
        headers=auth(key),
    )
    assert metrics.status_code == 200, metrics.text
    report = metrics.json()
    assert report["currency"] == place.currency
    (row,) = report["data"]
    assert (row["group"], row["orders"], row["attempted"]) == (
        place.day.isoformat(),
        2,
        1,
    )
    assert row["on_time_rate"] == 1.0


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MILEPOST_TIMEZONE", "Asia/Atlantis", "not an IANA timezone"),
        ("MILEPOST_CURRENCY", "DOLLARS", "not an ISO 4217 currency code"),
        ("MILEPOST_COUNTRY", "XY", "not a country the holidays package knows"),
        ("MILEPOST_SUBDIVISION", "ZZ", "not a subdivision of KR"),
    ],
)
def test_a_bad_locale_setting_stops_a_command_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    words: str,
) -> None:
    """Exit 2 with the variable and the reason, never a traceback."""
    err = _refused(monkeypatch, capsys, {variable: value})
    assert f"{variable}: " in err and words in err


def _refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
) -> str:
    """What a command prints when ``env`` makes it exit 2 (no traceback)."""
    from api.cli import main

    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr("sys.argv", ["milepost", "db", "current"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    return err


def test_an_orders_clock_strings_are_readings_of_its_day(
    served: Any, place: Place
) -> None:
    """ "HH:MM" windows sent to POST /v1/orders (and PATCH) are clock readings
    of the order's day: stored as wall_to_elapsed, an hour off the reading
    after the change; integers are stored as sent; the day after, "HH:MM"
    is the same number of seconds."""
    from routing.locale import zone
    from routing.units import wall_to_elapsed

    client, keys = served
    headers = auth(keys[Role.dispatcher])
    tz = zone(place.timezone)
    depot = {"id": "d1", "location": {"lat": place.lat, "lon": place.lon}}
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    where = {"lat": place.lat + 0.01, "lon": place.lon}
    windows: dict[str, Any] = {}
    for oid, day, sent in (
        ("o-text", place.day, [["04:00", "06:00"]]),
        ("o-ints", place.day, [[4 * HOUR, 6 * HOUR]]),
        ("o-next", place.day + dt.timedelta(days=1), [["04:00", "06:00"]]),
    ):
        job = {"id": oid, "location": where, "demand": [1], "time_windows": sent}
        order = {"day": day.isoformat(), "job": job, "depot_id": "d1"}
        created = client.post("/v1/orders", json=order, headers=headers)
        assert created.status_code == 201, created.text
        windows[oid] = client.get(f"/v1/orders/{oid}", headers=headers).json()
    expected = [wall_to_elapsed(h * HOUR, place.day, tz) for h in (4, 6)]
    assert expected != [4 * HOUR, 6 * HOUR]
    assert windows["o-text"]["job"]["time_windows"] == [
        {"start": expected[0], "end": expected[1]}
    ]
    for oid in ("o-ints", "o-next"):
        assert windows[oid]["job"]["time_windows"] == [
            {"start": 4 * HOUR, "end": 6 * HOUR}
        ]
    patched = client.patch(
        "/v1/orders/o-ints",
        json={"job": {"time_windows": [["04:00", "06:00"]]}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["job"]["time_windows"] == [
        {"start": expected[0], "end": expected[1]}
    ]
    # Moved to the next day (no change there), the windows keep their clock
    # readings, 04:00-06:00; moved back they are the change day's again.
    readings = {"start": 4 * HOUR, "end": 6 * HOUR}
    change_day = {"start": expected[0], "end": expected[1]}
    for day, want in (
        (place.day + dt.timedelta(days=1), readings),
        (place.day, change_day),
    ):
        moved = client.patch(
            "/v1/orders/o-ints", json={"day": day.isoformat()}, headers=headers
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["job"]["time_windows"] == [want]


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MILEPOST_CURRENCY": "BHD"}, "BHD has no default driver-hour cost"),
        ({"MILEPOST_HOUR_COST": "-3"}, "greater than or equal to 0.5"),
        ({"MILEPOST_HOUR_COST": "lots"}, "valid number"),
        ({"MILEPOST_HOUR_COST": "inf"}, "finite number"),
    ],
    ids=["currency-without-a-driver-hour", "negative", "text", "infinite"],
)
def test_a_missing_or_bad_hour_cost_stops_a_command_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    words: str,
) -> None:
    """A currency the driver-hour table lacks needs MILEPOST_HOUR_COST, and
    a bad one is refused: exit 2 naming the variable, never a traceback."""
    err = _refused(monkeypatch, capsys, env)
    assert "MILEPOST_HOUR_COST: " in err and words in err


def test_a_currency_without_a_driver_hour_works_with_hour_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BHD with MILEPOST_HOUR_COST: default amounts are sized by it."""
    from api.settings import get_settings

    monkeypatch.setenv("MILEPOST_CURRENCY", "bhd")
    monkeypatch.setenv("MILEPOST_HOUR_COST", "4.5")
    locale = get_settings().locale
    assert (locale.currency, locale.hour_cost) == ("BHD", 4.5)
    assert locale.amount(5.0) == 22.5


def test_an_unserved_order_costs_the_currency_sized_penalty(
    served: Any, place: Place
) -> None:
    """A dollar (euro) service plans an order no van can carry, without a
    penalty: the plan prices leaving it out at 5 driver-hours of that
    currency (125 USD, 110 EUR), not 100,000 of it."""
    client, keys = served
    _store_day(client, keys[Role.dispatcher], place)
    bulky = {
        "id": "o-bulky",
        "location": {"lat": place.lat + 0.005, "lon": place.lon},
        "demand": [50],
        "time_windows": [[3 * HOUR + 600, 5 * HOUR]],
    }
    order = {"day": place.day.isoformat(), "job": bulky, "depot_id": "d1"}
    created = client.post("/v1/orders", json=order, headers=auth(keys[Role.dispatcher]))
    assert created.status_code == 201, created.text
    response = client.post(
        "/v1/plans",
        json={
            "day": place.day.isoformat(),
            "depot_id": "d1",
            "params": {"time_limit": 1, "workers": 1},
        },
        headers=auth(keys[Role.dispatcher]),
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = wait_plan(
        client, keys[Role.dispatcher], response.json()["url"]
    )
    assert body["status"] == "draft", body["job"]
    (left,) = body["plan"]["unassigned"]
    assert left["id"] == "o-bulky"
    assert left["penalty"] == {"USD": 125.0, "EUR": 110.0}[place.currency]


def test_a_basket_keeps_its_currencys_cents(served: Any, place: Place) -> None:
    """An order's value has the currency's decimals: 24.99 is stored and
    returned as sent, 24.999 is a 422 naming value (POST, PATCH, batch)."""
    client, keys = served
    headers = auth(keys[Role.dispatcher])
    depot = {"id": "d1", "location": {"lat": place.lat, "lon": place.lon}}
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    where = {"lat": place.lat + 0.01, "lon": place.lon}

    def order(oid: str, value: float) -> dict[str, Any]:
        job = {"id": oid, "location": where, "demand": [1]}
        return {"day": place.day.isoformat(), "job": job, "value": value}

    created = client.post("/v1/orders", json=order("o-1", 24.99), headers=headers)
    assert created.status_code == 201, created.text
    assert client.get("/v1/orders/o-1", headers=headers).json()["value"] == 24.99
    whole = client.post("/v1/orders", json=order("o-2", 30), headers=headers)
    assert whole.json()["value"] == 30 and "30.0" not in whole.text
    too_fine = client.post("/v1/orders", json=order("o-3", 24.999), headers=headers)
    assert too_fine.status_code == 422
    [error] = too_fine.json()["errors"]
    assert error["field"] == "body.value"
    assert error["reason"] == f"has more decimals than {place.currency} has (2)"
    patched = client.patch("/v1/orders/o-1", json={"value": 0.001}, headers=headers)
    assert patched.status_code == 422 and "value" in patched.text
    assert client.get("/v1/orders/o-1", headers=headers).json()["value"] == 24.99
    batch = client.post(
        "/v1/orders/batch", json={"orders": [order("o-4", 1.005)]}, headers=headers
    )
    assert batch.status_code == 422
    assert batch.json()["errors"][0]["field"] == "body.orders[0].value"
