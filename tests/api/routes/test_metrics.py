"""The planners' metrics: delivery performance and retention, from tracking."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from routing.plan import Plan, StepType
from tests.api.conftest import auth
from tests.api.tracking_fixtures import DAY, batch, track_small_day

URL = "/v1/metrics"


def _routed(plan: Plan) -> dict[str, str]:
    """Every routed home delivery and its van."""
    return {
        step.id: route.vehicle
        for route in plan.routes
        for step in route.steps
        if step.type is StepType.JOB and step.id is not None
    }


@pytest.fixture
def day_done(client: TestClient, keys: dict[Role, str]) -> dict[str, Any]:
    """The small day tracked; two on time, one 30 min late, one failed attempt."""
    problem, plan = track_small_day(client.app)  # type: ignore[arg-type]
    routed = _routed(plan)
    on_time = ["o-1001", "o-1002"]
    late = "o-1008"
    assert {*on_time, late} <= routed.keys()
    failed = next(o for o in routed if o not in {*on_time, late})
    events: list[dict[str, Any]] = []
    for van in sorted(set(routed.values())):
        events += [
            {"type": "shift_start", "id": f"s-{van}", "at": 28_800, "vehicle": van},
            {"type": "stop_departed", "id": f"d-{van}", "at": 28_900, "vehicle": van},
        ]

    def arrived(order_id: str, at: int) -> dict[str, Any]:
        # Lateness is measured from the arrival at the stop.
        return {
            "type": "stop_arrived",
            "id": f"at-{order_id}",
            "at": at,
            "vehicle": routed[order_id],
            "order_id": order_id,
        }

    def delivered(order_id: str, at: int) -> dict[str, Any]:
        return {
            "type": "delivered",
            "id": f"ok-{order_id}",
            "at": at + 120,
            "order_id": order_id,
            "vehicle": routed[order_id],
            "proof": {"photo": "p.jpg"},
        }

    times = {"o-1002": 39_000, "o-1001": 40_000, late: 57_600 + 1_800, failed: 45_000}
    for order_id, at in sorted(times.items(), key=lambda item: item[1]):
        events.append(arrived(order_id, at))
        if order_id == failed:
            events.append(
                {
                    "type": "failed_attempt",
                    "id": f"no-{failed}",
                    "at": at + 120,
                    "order_id": failed,
                    "vehicle": routed[failed],
                    "reason": "not_home",
                }
            )
        else:
            events.append(delivered(order_id, at))
    # Several vans in one batch: a dispatcher's key (a device key has one).
    sent = client.post(
        "/v1/events", json=batch(*events), headers=auth(keys[Role.dispatcher])
    )
    assert sent.status_code == 200, sent.text
    assert not sent.json()["rejected"], sent.json()["rejected"]
    return {"problem": problem, "plan": plan, "failed": failed}


def test_delivery_metrics_by_day(
    client: TestClient, keys: dict[Role, str], day_done: dict[str, Any]
) -> None:
    """On-time rate among delivered, failed-attempt rate among attempted."""
    got = client.get(
        f"{URL}/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(keys[Role.planner]),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["count"] == 1
    row = body["data"][0]
    assert row["group"] == DAY.isoformat()
    assert row["attempted"] == 4
    assert row["orders"] >= 4
    assert row["on_time_rate"] == pytest.approx(2 / 3)
    assert row["failed_attempt_rate"] == pytest.approx(1 / 4)


def test_delivery_metrics_by_vehicle_add_up(
    client: TestClient, keys: dict[Role, str], day_done: dict[str, Any]
) -> None:
    """Grouped by van, the attempts add up to the day's."""
    got = client.get(
        f"{URL}/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat(), "by": "vehicle"},
        headers=auth(keys[Role.dispatcher]),
    )
    assert got.status_code == 200, got.text
    rows = got.json()["data"]
    assert sum(r["attempted"] for r in rows) == 4
    vans = {r["group"] for r in rows}
    assert vans <= {route.vehicle for route in day_done["plan"].routes} | {"?"}


def test_retention_counts_the_deliveries(
    client: TestClient, keys: dict[Role, str], day_done: dict[str, Any]
) -> None:
    """Retention reads the same outcomes: the day's deliveries to customers."""
    got = client.get(
        f"{URL}/retention",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(keys[Role.planner]),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    customers = {j.id for j in day_done["problem"].jobs if j.customer_id}
    assert body["deliveries"] == len(customers & {"o-1001", "o-1002", "o-1008"})
    for row in body["repeat"]:
        assert row["repeats"] <= row["deliveries"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-11-24", "end": "2026-11-23"}, "query.start"),
        ({"start": "2025-01-01", "end": "2026-11-23"}, "query.end"),
        ({"start": "2026-11-23"}, "query.end"),
    ],
)
def test_bad_ranges_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], params: dict[str, str], field: str
) -> None:
    """Start after end, over a year, or a missing end: 422 with the field."""
    got = client.get(f"{URL}/delivery", params=params, headers=auth(keys[Role.planner]))
    assert got.status_code == 422
    assert field in [e["field"] for e in got.json()["errors"]]
