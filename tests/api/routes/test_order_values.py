"""An order's basket value and promotion: stored, returned, checked, and read
by ``GET /v1/metrics/retention`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.orders import get_order
from api.db.retention import save_fit
from api.jobs.retention_fit import fit_retention
from api.services import metrics
from api.services.orders import OrderCreate
from api.services.retention import fit_payload
from forecasting.calendar import PromotionType
from routing.locale import DEFAULT_LOCALE
from tests.api.conftest import auth
from tests.api.dispatch_data import DAY, order, seed
from tests.api.routes.test_retention_fit import fitted, synthetic
from tests.api.routes.test_slots import a_stop, book, store_day
from tracking.outcomes import DeliveryOutcome
from tracking.retention import ORDER_VALUE_HOURS


def test_value_and_promotion_are_stored_and_returned(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Posted, read, listed, changed and cleared; both default to null."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    body = {**order("o-1", customer_id="c-1"), "value": 42_000}
    body["promotion"] = "limited_time"
    created = client.post("/v1/orders", json=body, headers=s)
    assert created.status_code == 201, created.text
    assert (created.json()["value"], created.json()["promotion"]) == (
        42_000,
        "limited_time",
    )
    got = client.get("/v1/orders/o-1", headers=auth(keys[Role.planner])).json()
    assert got == created.json()
    plain = client.post("/v1/orders", json=order("o-2"), headers=s).json()
    assert (plain["value"], plain["promotion"]) == (None, None)
    listed = client.get("/v1/orders", headers=s).json()["data"]
    assert {o["id"]: o["value"] for o in listed} == {"o-1": 42_000, "o-2": None}

    changed = client.patch(
        "/v1/orders/o-1", json={"value": 18_500, "promotion": None}, headers=s
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["value"], changed.json()["promotion"]) == (18_500, None)
    # Left out: unchanged.
    kept = client.patch("/v1/orders/o-1", json={"job": {"priority": 3}}, headers=s)
    assert kept.json()["value"] == 18_500

    batch = {
        "orders": [
            {**order("o-3", i=1), "value": 0, "promotion": "first_purchase"},
            {**order("o-4", i=2), "value": 10**12},  # the bound: 64-bit column
        ]
    }
    stored = client.post("/v1/orders/batch", json=batch, headers=s)
    assert stored.status_code == 201, stored.text
    third = client.get("/v1/orders/o-3", headers=s).json()
    assert (third["value"], third["promotion"]) == (0, "first_purchase")
    assert client.get("/v1/orders/o-4", headers=s).json()["value"] == 10**12


def test_a_value_with_cents_is_stored_exactly(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """The column keeps four decimals (migration 0018) on either database: a
    basket of 24.99 (a dollar deployment's) reads back as 24.99."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    assert client.post("/v1/orders", json=order("o-1"), headers=s).status_code == 201
    with app.state.sessionmaker.begin() as session:
        row = get_order(session, order_id="o-1")
        assert row is not None
        row.value = 24.99
    assert client.get("/v1/orders/o-1", headers=s).json()["value"] == 24.99


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"value": -1}, "body.value"),
        ({"value": "lots"}, "body.value"),
        ({"value": "12.5"}, "body.value"),  # KRW has no decimals
        ({"value": 12.5}, "body.value"),
        ({"value": True}, "body.value"),
        ({"value": 10**13}, "body.value"),
        ({"promotion": "black_friday"}, "body.promotion"),
        ({"promotion": 3}, "body.promotion"),
    ],
)
def test_bad_value_or_promotion_is_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], extra: dict[str, Any], field: str
) -> None:
    """Negative, more decimals than the currency, a flag, too large; a
    promotion no kind."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    got = client.post("/v1/orders", json={**order("o-1"), **extra}, headers=s)
    assert got.status_code == 422, got.text
    assert field in [e["field"] for e in got.json()["errors"]]
    # Nothing was stored; and the same check guards a change and a batch.
    assert client.get("/v1/orders/o-1", headers=s).status_code == 404
    assert client.post("/v1/orders", json=order("o-1"), headers=s).status_code == 201
    patched = client.patch("/v1/orders/o-1", json=extra, headers=s)
    assert patched.status_code == 422
    assert field in [e["field"] for e in patched.json()["errors"]]
    batch = client.post(
        "/v1/orders/batch", json={"orders": [{**order("o-2"), **extra}]}, headers=s
    )
    assert batch.status_code == 422
    where = field.replace("body.", "body.orders[0].")
    assert where in [e["field"] for e in batch.json()["errors"]]


def test_a_slot_booking_stores_value_and_promotion(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A checkout booking keeps the basket and promotion on its order."""
    near, slot_id = a_stop(store_day(app, orders=6, vans=2))
    got = book(
        client,
        keys[Role.storefront],
        location=near,
        slot_id=slot_id,
        customer_id="c-9",
        value=51_000,
        promotion="sign_up",
    )
    assert got.status_code == 201, got.text
    with app.state.sessionmaker() as session:
        row = get_order(session, order_id=got.json()["order_id"])
        assert row is not None
        assert (row.value, row.promotion) == (51_000, "sign_up")
    bad = book(client, keys[Role.storefront], location=near, slot_id=slot_id, value=-5)
    assert bad.status_code == 422
    assert "body.value" in [e["field"] for e in bad.json()["errors"]]


# --- the retention metrics read the stored values ------------------------------

START = dt.date.fromisoformat(DAY)


def _outcome(order_id: str, customer: str, day: int, late: int = 0) -> Any:
    return DeliveryOutcome(
        order_id=order_id,
        customer_id=customer,
        zone="z1",
        day=START + dt.timedelta(days=day),
        delivered=True,
        minutes_late=late,
        attempts=1,
    )


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[DeliveryOutcome]:
    """Outcomes over 120 days instead of tracked plans (which take a solve
    each): a on time, back on day 20; b 45 min late, back on day 30; c on
    time, never back (its first order under a first-purchase promotion)."""
    made = [
        _outcome("a-0", "a", 0),
        _outcome("a-1", "a", 20),
        _outcome("b-0", "b", 0, late=45),
        _outcome("b-1", "b", 30),
        _outcome("c-0", "c", 0),
    ]

    def between(
        session: object, start: dt.date, end: dt.date, *, zone: str | None = None
    ) -> list[DeliveryOutcome]:
        return [o for o in made if o.day is not None and start <= o.day <= end]

    monkeypatch.setattr(metrics, "outcomes_between", between)
    return made


def _retention(client: TestClient, keys: dict[Role, str]) -> dict[str, Any]:
    until = START + dt.timedelta(days=120)
    got = client.get(
        "/v1/metrics/retention",
        params={"from": START.isoformat(), "until": until.isoformat()},
        headers=auth(keys[Role.planner]),
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_ltv_uses_the_stored_baskets(
    client: TestClient,
    keys: dict[Role, str],
    outcomes: list[DeliveryOutcome],
) -> None:
    """Before any order is stored: the default basket, promotions not
    recorded. With a's second order worth 10,000 won and b's 80,000: their
    cohorts' LTV is that times the margin; c's first-purchase promotion is
    its own acquisition cohort."""
    before = _retention(client, keys)
    default = DEFAULT_LOCALE.amount(ORDER_VALUE_HOURS) * metrics.ORDER_MARGIN
    ltv = {r["experience"]: r["value"] for r in before["ltv"]}
    assert ltv["late_30_plus"] == pytest.approx(default)
    assert before["promotion_recorded"] is False

    seed(client, keys)
    s = auth(keys[Role.storefront])
    values = {"a-0": 99_000, "a-1": 10_000, "b-0": 5_000, "b-1": 80_000, "c-0": None}
    for i, (order_id, value) in enumerate(values.items()):
        body = {**order(order_id, i=i, customer_id=order_id[0]), "value": value}
        if order_id == "c-0":
            body["promotion"] = "first_purchase"
        assert client.post("/v1/orders", json=body, headers=s).status_code == 201
    after = _retention(client, keys)
    ltv = {r["experience"]: r for r in after["ltv"]}
    # on time: a's 10,000 won order and c's nothing, one value per customer.
    assert ltv["on_time"]["customers"] == 2
    assert ltv["on_time"]["value"] == pytest.approx(10_000 * metrics.ORDER_MARGIN / 2)
    assert ltv["late_30_plus"]["value"] == pytest.approx(80_000 * metrics.ORDER_MARGIN)
    assert after["promotion_recorded"] is True
    promoted = [
        r
        for r in after["acquisition"]
        if r["stage"] == "first_purchase" and r["days"] == 30 and r["promotion"]
    ]
    assert [(r["promotion_kind"], r["experience"]) for r in promoted] == [
        ("first_purchase", "on_time")
    ]
    assert (promoted[0]["deliveries"], promoted[0]["repeats"]) == (1, 0)
    plain = {
        r["experience"]: r["promotion_kind"]
        for r in after["acquisition"]
        if r["stage"] == "first_purchase" and not r["promotion"]
    }
    assert set(plain.values()) == {"none"}


def test_the_retention_fit_reads_the_stored_baskets(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    outcomes: list[DeliveryOutcome],
) -> None:
    """The fit's payload carries each order's value (null: not known, or not
    a stored order), and none at all before any order is stored."""
    until = START + dt.timedelta(days=120)
    with app.state.sessionmaker() as session:
        assert fit_payload(session, START, until).value is None
    seed(client, keys)
    s = auth(keys[Role.storefront])
    for i, (order_id, value) in enumerate({"a-0": 30_000, "b-1": None}.items()):
        body = {**order(order_id, i=i, customer_id=order_id[0]), "value": value}
        assert client.post("/v1/orders", json=body, headers=s).status_code == 201
    with app.state.sessionmaker() as session:
        payload = fit_payload(session, START, until)
    assert payload.value is not None
    got = dict(zip(payload.order_id, payload.value, strict=True))
    assert got == {"a-0": 30_000.0, "a-1": None, "b-0": None, "b-1": None, "c-0": None}


def test_the_fitted_customer_values_follow_the_baskets() -> None:
    """Fitting the same history with every order of one customer worth
    100,000 won and the others' 20,000: that customer's value over the value
    without baskets is their shrunk basket over the default one."""
    plain = synthetic()
    big = plain.customer_id[0]
    baskets = [100_000.0 if c == big else 20_000.0 for c in plain.customer_id]
    valued = plain.model_copy(update={"value": tuple(baskets)})
    with_values = fit_retention(valued, lambda share, message: None)
    without = fitted()
    n = plain.customer_id.count(big)
    mean = float(np.mean(baskets))
    basket = (n * 100_000.0 + 2 * mean) / (n + 2)
    ratio = with_values.customer_values[big] / without.customer_values[big]
    assert ratio == pytest.approx(
        basket / DEFAULT_LOCALE.amount(ORDER_VALUE_HOURS), rel=1e-3
    )
    other = plain.customer_id[-1]
    assert with_values.customer_values[other] < without.customer_values[other]


def test_the_order_example_in_the_api_doc_is_a_valid_order() -> None:
    """docs/API.md's order body is what POST /v1/orders takes."""
    doc = (Path(__file__).parents[3] / "docs" / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", doc, flags=re.S)
    (block,) = [b for b in blocks if '"promotion"' in b]
    body = OrderCreate.model_validate(json.loads(block))
    assert body.value == 42_000
    assert body.promotion is PromotionType.FIRST_PURCHASE


def test_the_experience_effect_is_the_range_s_not_the_stored_fit_s(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    outcomes: list[DeliveryOutcome],
) -> None:
    """Beside the hazard ratios, the experience effect is fitted on the
    range asked for: five deliveries are too few, which it says (with no
    coefficients), before a retention fit is stored and after."""
    metrics._EFFECTS.clear()
    effect = _retention(client, keys)["experience_effect"]
    assert effect["coefficients"] == [] and effect["deliveries"] == 5
    assert effect["reason"].startswith("too little history in ")
    with app.state.sessionmaker.begin() as session:
        save_fit(session, job_id="fit-1", result=fitted())
    assert _retention(client, keys)["experience_effect"] == effect
