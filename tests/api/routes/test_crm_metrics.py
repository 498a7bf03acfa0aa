"""CRM metrics on ``GET /v1/metrics/retention``: by first-delivery experience."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.tracking import put_rating
from api.services import metrics
from routing.locale import DEFAULT_LOCALE
from tests.api.conftest import auth
from tests.api.routes.test_metrics import day_done  # noqa: F401 (a fixture)
from tests.api.tracking_fixtures import DAY
from tracking.outcomes import DeliveryOutcome
from tracking.retention import ORDER_VALUE_HOURS

URL = "/v1/metrics/retention"


def _get(
    client: TestClient, keys: dict[Role, str], **params: str | int
) -> dict[str, Any]:
    got = client.get(URL, params=params, headers=auth(keys[Role.planner]))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_tracked_day_with_ratings(
    client: TestClient,
    keys: dict[Role, str],
    day_done: dict[str, Any],  # noqa: F811 (the fixture)
) -> None:
    """The small tracked day, two orders rated (one of a known customer):
    ratings by cohort, the rating model refused with its reason, LTV and
    30-day rates all censored (no follow-up after the last day), the old
    fields unchanged."""
    with client.app.state.sessionmaker.begin() as session:  # type: ignore[attr-defined]
        put_rating(session, order_id="o-1001", csat=5, nps=10, comment=None)
        put_rating(session, order_id="o-1008", csat=1, nps=3, comment="late")
    old = _get(client, keys, start=DAY.isoformat(), end=DAY.isoformat())
    body = _get(client, keys, **{"from": DAY.isoformat(), "until": DAY.isoformat()})
    for field in ("deliveries", "customers", "repeat", "monthly"):
        assert body[field] == old[field]
    by = {r["experience"]: r for r in body["ratings"]}
    # o-1001 (customer c-17) was on time; o-1008 has no customer: not counted.
    assert (by["on_time"]["rated"], by["on_time"]["csat"]) == (1, 5.0)
    assert (by["on_time"]["promoters"], by["on_time"]["nps"]) == (1, 100.0)
    assert sum(r["rated"] for r in body["ratings"]) == 1
    effect = body["rating_effect"]
    assert effect["coef"] is None
    assert "too few rated orders" in effect["reason"]
    assert body["horizon_days"] == 90
    assert all(r["customers"] == 0 for r in body["ltv"])
    first = [r for r in body["first_repeat"] if r["days"] == 30]
    assert sum(r["censored"] for r in first) == body["customers"]
    assert body["promotion_recorded"] is False


def _outcome(customer: str, day: int, late: int = 0, zone: str = "z1") -> Any:
    return DeliveryOutcome(
        order_id=f"{customer}-{day}",
        customer_id=customer,
        zone=zone,
        day=DAY + dt.timedelta(days=day),
        delivered=True,
        minutes_late=late,
        attempts=1,
    )


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> list[DeliveryOutcome]:
    """Outcomes over 120 days instead of tracked plans (which take a solve
    each): a on time and back on day 20; b 45 min late, back on day 70; c
    10 min late, never back; d on time in another zone."""
    outcomes = [
        _outcome("a", 0),
        _outcome("a", 20),
        _outcome("b", 0, late=45),
        _outcome("b", 70),
        _outcome("c", 0, late=10),
        _outcome("d", 0, zone="z2"),
    ]

    def between(
        session: object, start: dt.date, end: dt.date, *, zone: str | None = None
    ) -> list[DeliveryOutcome]:
        return [
            o
            for o in outcomes
            if o.day is not None
            and start <= o.day <= end
            and (zone is None or o.zone == zone)
        ]

    monkeypatch.setattr(metrics, "outcomes_between", between)
    return outcomes


def test_crm_metrics_by_first_experience(
    client: TestClient, keys: dict[Role, str], history: list[DeliveryOutcome]
) -> None:
    """Repeat rates, LTV (horizon 60 days) and curves, by first delivery."""
    until = DAY + dt.timedelta(days=120)
    query: dict[str, str | int] = {"from": DAY.isoformat(), "until": until.isoformat()}
    body = _get(client, keys, **query, horizon_days=60)
    assert (body["customers"], body["deliveries"]) == (4, 6)
    rates = {(r["experience"], r["days"]): r for r in body["first_repeat"]}
    assert rates[("on_time", 30)]["customers"] == 2  # a and d
    assert rates[("on_time", 30)]["repeats"] == 1
    assert rates[("late_30_plus", 60)]["rate"] == 0.0
    assert rates[("late_30_plus", 90)]["rate"] == 1.0
    assert rates[("failed_attempt", 30)]["rate"] is None
    ltv = {r["experience"]: r for r in body["ltv"]}
    margin = DEFAULT_LOCALE.amount(ORDER_VALUE_HOURS) * metrics.ORDER_MARGIN
    assert ltv["on_time"]["value"] == pytest.approx(margin / 2)
    assert ltv["late_30_plus"]["value"] == 0.0
    curve = [r for r in body["curves"] if r["experience"] == "on_time"]
    assert [p["day"] for p in curve] == [0, 20]
    assert curve[-1]["survival"] == pytest.approx(0.5)
    hazard = {r["experience"]: r for r in body["hazard"]}
    assert hazard["on_time"]["hazard_ratio"] == pytest.approx(1.0)
    assert hazard["late_30_plus"]["events"] == 1
    # on time: 1 return in 20.5 + 120.5 days at risk; 30+ late: 1 in 70.5
    assert hazard["late_30_plus"]["hazard_ratio"] == pytest.approx(141 / 70.5)
    stages = {r["stage"] for r in body["acquisition"]}
    assert stages == {"first_purchase", "repurchase"}

    north = _get(client, keys, start=DAY.isoformat(), end=until.isoformat(), zone="z2")
    assert north["customers"] == 1
    assert north["zone"] == "z2"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (
            {"start": "2026-11-23", "end": "2026-11-23", "horizon_days": 0},
            "query.horizon_days",
        ),
        (
            {"start": "2026-11-23", "end": "2026-11-23", "horizon_days": "x"},
            "query.horizon_days",
        ),
        (
            {"from": "2026-11-23", "until": "2026-11-23", "start": "2026-11-23"},
            "query.from",
        ),
        ({"from": "2026-11-23"}, "query.end"),
        ({"from": "2026-11-24", "until": "2026-11-23"}, "query.start"),
        ({"from": "2026-13-01", "until": "2026-11-23"}, "query.from"),
        ({"start": "2026-11-23", "end": "2026-11-23", "zone": ""}, "query.zone"),
    ],
)
def test_bad_params_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], params: dict[str, str | int], field: str
) -> None:
    """A bad horizon, both or neither name of a day, a bad range or date."""
    got = client.get(URL, params=params, headers=auth(keys[Role.planner]))
    assert got.status_code == 422, got.text
    assert field in [e["field"] for e in got.json()["errors"]]
