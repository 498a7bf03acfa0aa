"""Slot quotes priced with the deployment's retention fit (``pricing``), on
SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.plans import PlanRow
from api.services.slots import _config
from api.services.travel import plan_travel
from routing.locale import DEFAULT_LOCALE
from routing.model import Costs, Location
from routing.slotting import SlotBook, SlotQuote
from tests.api.routes.test_slots import a_stop, book, quote, store_day
from tests.api.test_priced_plans import PRICING, VALUES, store_pricing
from tracking.feedback import CustomerValue, expected_loss

#: Vans with costs, so route cost and retention cost are both won.
COSTS = Costs(per_km=250.0, per_hour=18_000.0)
#: The assumed mean late running of the slack rule (SlotPricing's default).
DELAY = 600


def late_minute(value: float) -> float:
    """The learned price of a late minute of a customer worth ``value``."""
    minutes = PRICING.reference_minutes
    loss = expected_loss(CustomerValue(value=value), minutes, PRICING) / minutes
    return round(min(PRICING.max_per_minute_in(DEFAULT_LOCALE), loss), 2)


def priced_day(app: FastAPI) -> tuple[PlanRow, dict[str, float]]:
    """A stored fit and a day whose orders belong to the fit's customers."""
    store_pricing(app)
    row = store_day(app, costs=COSTS, customers=tuple(VALUES))
    near, _ = a_stop(row)
    return row, near


def slots_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["slot"]["id"]: q for q in body["data"]}


def test_learned_quotes_price_a_valuable_customers_tight_slot(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """With a fit, each slot adds the quoted customer's expected retention
    cost to the same route cost: more for a valuable customer, most where
    the van arrives just before the window closes."""
    _, near = priced_day(app)
    key = keys[Role.storefront]
    rich = quote(client, key, location=near, customer_id="c-17")
    assert rich.status_code == 200, rich.text
    body = rich.json()
    assert body["pricing"] == {"source": "learned", "fit": "fit-1", "reason": None}
    poor = quote(client, key, location=near, customer_id="c-23").json()
    uniform = quote(client, key, location=near, customer_id="c-17", pricing="uniform")
    assert uniform.status_code == 200, uniform.text
    flat = uniform.json()
    assert flat["pricing"] == {"source": "uniform", "fit": None, "reason": "asked for"}
    # No tracked days before: the day's late running is assumed, and says so.
    assert flat["late_running"] is None
    running = body["late_running"]
    assert running["source"] == "assumed" and "stops tracked" in running["reason"]
    assert running["p50_minutes"] == round(DELAY * math.log(2) / 60, 1)

    price = late_minute(VALUES["c-17"])
    assert price > late_minute(VALUES["c-23"]) > 0
    plain, cheap = slots_of(flat), slots_of(poor)
    offered = [q for q in body["data"] if q["available"]]
    assert len(offered) >= 3
    for q in body["data"]:
        same = plain[q["slot"]["id"]]
        for name in ("available", "reason", "marginal_cost", "vehicle", "eta"):
            assert q[name] == same[name], name
    for q in offered:
        flat_q = plain[q["slot"]["id"]]
        assert flat_q["retention_cost"] == 0.0
        assert flat_q["total_cost"] == flat_q["marginal_cost"]
        # The plan's windows are hard: no other order can be pushed late,
        # the cost is the quoted order's own risk by the slack rule.
        slack = q["slot"]["window"]["end"] - q["eta"]
        own = price * DELAY * math.exp(-slack / DELAY) / 60.0
        assert q["retention_cost"] == pytest.approx(own, abs=0.01)
        assert q["retention_cost"] > cheap[q["slot"]["id"]]["retention_cost"]
        assert q["total_cost"] == pytest.approx(q["marginal_cost"] + own, abs=0.01)
    totals = [q["total_cost"] for q in offered]
    assert totals == sorted(totals), "available slots come cheapest in total first"

    tight = min(offered, key=lambda q: q["slot"]["window"]["end"] - q["eta"])
    loose = max(offered, key=lambda q: q["slot"]["window"]["end"] - q["eta"])
    assert tight["retention_cost"] > loose["retention_cost"]
    assert tight["total_cost"] > plain[tight["slot"]["id"]]["total_cost"]


def test_uniform_quotes_are_the_unpriced_book_exactly(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """``pricing: "uniform"``, fit or not: the quotes of the plan's book
    without prices, number for number."""
    row, near = priced_day(app)
    got = quote(
        client,
        keys[Role.storefront],
        location=near,
        customer_id="c-17",
        pricing="uniform",
    )
    assert got.status_code == 200, got.text
    travel = plan_travel(row.problem, row.plan, "the test plan")
    book = SlotBook(row.problem, row.plan, travel, _config(row.problem))
    expected = book.quote(Location.model_validate(near))
    assert [SlotQuote.model_validate(q) for q in got.json()["data"]] == expected


def test_without_a_fit_quotes_are_uniform_and_say_why(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """No retention fit yet: the route cost alone, and the reason."""
    row = store_day(app, costs=COSTS, customers=tuple(VALUES))
    near, _ = a_stop(row)
    got = quote(client, keys[Role.dispatcher], location=near, customer_id="c-17")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["pricing"] == {
        "source": "uniform",
        "fit": None,
        "reason": "no retention fit yet",
    }
    offered = [q for q in body["data"] if q["available"]]
    assert offered
    for q in offered:
        assert q["retention_cost"] == 0.0 and q["total_cost"] == q["marginal_cost"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"pricing": "dear"}, "body.pricing"), ({"customer_id": ""}, "body.customer_id")],
)
def test_bad_pricing_is_422_naming_the_field(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    body: dict[str, Any],
    field: str,
) -> None:
    """An unknown pricing or an empty customer id is a 422 naming the field."""
    row = store_day(app, orders=3, vans=1)
    near, _ = a_stop(row)
    got = quote(client, keys[Role.storefront], **{"location": near, **body})
    assert got.status_code == 422, got.text
    assert field in [e["field"] for e in got.json()["errors"]]


@pytest.mark.parametrize("pricing", ["learned", "uniform"])
def test_a_booking_is_served_and_priced_as_its_quote(
    app: FastAPI, client: TestClient, keys: dict[Role, str], pricing: str
) -> None:
    """Booked with the pricing it was quoted with, the order gets the van,
    ETA and costs of that quote, and the answer says how it was priced."""
    _, near = priced_day(app)
    key = keys[Role.storefront]
    quoted = quote(client, key, location=near, customer_id="c-17", pricing=pricing)
    assert quoted.status_code == 200, quoted.text
    best = next(q for q in quoted.json()["data"] if q["available"])
    got = book(
        client,
        key,
        location=near,
        slot_id=best["slot"]["id"],
        customer_id="c-17",
        pricing=pricing,
    )
    assert got.status_code == 201, got.text
    booked = got.json()
    assert booked["pricing"] == quoted.json()["pricing"]
    for name in ("vehicle", "eta", "marginal_cost", "retention_cost"):
        assert booked[name] == pytest.approx(best[name], abs=0.01), name
    assert (booked["retention_cost"] > 0) == (pricing == "learned")
