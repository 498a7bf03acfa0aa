"""Role-matrix rows for the dispatch routes (see tests/api/test_roles.py)."""

from __future__ import annotations

from api.auth import Role
from tests.api.roles import Case, case

D, S, P = Role.dispatcher, Role.storefront, Role.planner

DEPOT = {"id": "matrix-depot", "location": {"lat": 37.5, "lon": 127.0}}
STATION = {"id": "matrix-station", "location": {"lat": 37.5, "lon": 127.0}}
VEHICLE = {
    "id": "matrix-van",
    "start": "no-such-depot",
    "capacity": [10],
    "shift": {"start": 0, "end": 3600},
}
ORDER = {
    "day": "2026-01-05",
    "job": {
        "id": "matrix-order",
        "demand": [1],
        "location": {"lat": 37.5, "lon": 127.0},
    },
}

ROWS: dict[tuple[str, str], Case] = {
    # depots: dispatchers write, planners read
    ("POST", "/v1/depots"): case(D, body=DEPOT),
    ("GET", "/v1/depots"): case(D, P),
    ("GET", "/v1/depots/{depot_id}"): case(D, P, depot_id="x"),
    ("PUT", "/v1/depots/{depot_id}"): case(D, body=DEPOT, depot_id="x"),
    ("DELETE", "/v1/depots/{depot_id}"): case(D, depot_id="x"),
    # pickup stations: the same
    ("POST", "/v1/stations"): case(D, body=STATION),
    ("GET", "/v1/stations"): case(D, P),
    ("GET", "/v1/stations/{station_id}"): case(D, P, station_id="x"),
    ("PUT", "/v1/stations/{station_id}"): case(D, body=STATION, station_id="x"),
    ("DELETE", "/v1/stations/{station_id}"): case(D, station_id="x"),
    # vehicles: the same
    ("POST", "/v1/vehicles"): case(D, body=VEHICLE),
    ("GET", "/v1/vehicles"): case(D, P),
    ("GET", "/v1/vehicles/{vehicle_id}"): case(D, P, vehicle_id="x"),
    ("PUT", "/v1/vehicles/{vehicle_id}"): case(D, body=VEHICLE, vehicle_id="x"),
    ("DELETE", "/v1/vehicles/{vehicle_id}"): case(D, vehicle_id="x"),
    # orders: the storefront writes too, planners read
    ("POST", "/v1/orders"): case(D, S, body=ORDER),
    ("POST", "/v1/orders/batch"): case(D, S, body={"orders": [ORDER]}),
    ("GET", "/v1/orders"): case(D, S, P),
    ("GET", "/v1/orders/{order_id}"): case(D, S, P, order_id="x"),
    ("PATCH", "/v1/orders/{order_id}"): case(
        D, S, body={"job": {"priority": 1}}, order_id="x"
    ),
    ("DELETE", "/v1/orders/{order_id}"): case(D, S, order_id="x"),
}
