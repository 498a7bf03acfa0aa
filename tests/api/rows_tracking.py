"""Role-matrix rows for the tracking routes (see tests/api/test_roles.py)."""

from __future__ import annotations

from api.auth import Role
from tests.api.conftest import DEVICE_VAN
from tests.api.roles import Case, case

# The van the test device key is bound to: a device may report for it.
EVENTS = {
    "day": "2026-11-23",
    "events": [
        {"type": "shift_start", "id": "roles-1", "at": 28800, "vehicle": DEVICE_VAN}
    ],
}

ROWS: dict[tuple[str, str], Case] = {
    ("POST", "/v1/events"): case(Role.device, Role.dispatcher, body=EVENTS),
    ("GET", "/v1/orders/{order_id}/eta"): case(Role.storefront, Role.dispatcher),
    ("GET", "/v1/orders/{order_id}/tracking"): case(Role.storefront, Role.dispatcher),
    ("GET", "/v1/orders/{order_id}/stream"): case(Role.storefront, Role.dispatcher),
    ("GET", "/v1/track/{token}"): case(public=True),
    ("GET", "/v1/track/{token}/stream"): case(public=True),
    ("POST", "/v1/track/{token}/rating"): case(public=True, body={"csat": 5}),
    ("GET", "/v1/track/{token}/slots"): case(public=True),
    ("POST", "/v1/track/{token}/rebook"): case(
        public=True, body={"day": "2026-11-24", "slot_id": "s"}
    ),
    ("GET", "/v1/plans/{plan_id}/live"): case(Role.dispatcher, Role.planner),
    ("GET", "/v1/plans/{plan_id}/live/stream"): case(Role.dispatcher, Role.planner),
    ("GET", "/v1/metrics/delivery"): case(Role.planner, Role.dispatcher),
    ("GET", "/v1/metrics/retention"): case(Role.planner, Role.dispatcher),
    ("GET", "/v1/exceptions"): case(Role.dispatcher, Role.planner),
    ("GET", "/v1/exceptions/{exception_id}"): case(Role.dispatcher, Role.planner),
    ("POST", "/v1/exceptions/{exception_id}/acknowledge"): case(Role.dispatcher),
    ("POST", "/v1/exceptions/{exception_id}/decide"): case(
        Role.dispatcher, body={"decision": "next_day"}
    ),
    ("GET", "/v1/dead-letters"): case(),
}
