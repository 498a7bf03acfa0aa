"""Role-matrix rows for the slots, forecasts, history, scenarios, retention."""

from __future__ import annotations

from api.auth import Role
from tests.api.roles import Case, case

_ADDRESS = {"location": {"lat": 37.55, "lon": 126.97}, "day": "2026-03-02"}

ROWS: dict[tuple[str, str], Case] = {
    ("POST", "/v1/slots/quote"): case(Role.storefront, Role.dispatcher, body=_ADDRESS),
    ("POST", "/v1/slots/book"): case(
        Role.storefront, body={**_ADDRESS, "slot_id": "09:00-11:00"}
    ),
    ("POST", "/v1/forecasts"): case(
        Role.planner, body={"horizon": 1, "customers": 1000, "time_limit": 0.1}
    ),
    ("GET", "/v1/forecasts/{job_id}"): case(Role.planner, job_id="no-such-job"),
    ("GET", "/v1/forecasts/history"): case(Role.planner),
    ("GET", "/v1/forecasts"): case(Role.planner),
    ("POST", "/v1/history"): case(Role.planner),
    ("GET", "/v1/history"): case(Role.planner),
    ("DELETE", "/v1/history"): case(Role.planner),
    ("PUT", "/v1/calendar"): case(Role.planner),
    ("GET", "/v1/calendar"): case(Role.planner),
    ("GET", "/v1/scenarios"): case(Role.planner),
    ("GET", "/v1/scenarios/library"): case(Role.planner),
    ("POST", "/v1/scenarios"): case(
        Role.planner,
        body={
            "scenarios": [
                {
                    "name": "x",
                    "orders": 50,
                    "city": {"customers": 1000},
                    "iterations": 1,
                }
            ]
        },
    ),
    ("GET", "/v1/scenarios/{job_id}"): case(Role.planner, job_id="no-such-job"),
    ("POST", "/v1/retention/fit"): case(
        Role.planner, body={"from": "2026-11-01", "until": "2026-11-30"}
    ),
    ("GET", "/v1/retention/fit/{job_id}"): case(Role.planner, job_id="no-such-job"),
    ("GET", "/v1/retention/pricing"): case(Role.planner),
}
