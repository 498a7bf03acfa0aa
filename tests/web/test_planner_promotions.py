"""The planner's Customers section separates first purchases by the promotion
they were placed under, when the stored orders record one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from api.services.metrics import retention_of
from tests.web.conftest import Server, open_planner

pytestmark = pytest.mark.browser

START = dt.date(2026, 5, 1)


def _body() -> dict[str, Any]:
    """The service's answer for 12 customers over 120 days: first orders
    under a first-purchase, a limited-time or no promotion, each with a
    basket (made by the service's own code)."""
    kinds = ["first_purchase", "limited_time", None]
    rows = []
    for k in range(12):
        for n, day in enumerate((0, 10 + k) if k % 2 else (0,)):
            rows.append(
                {
                    "customer_id": f"c{k}",
                    "order_id": f"c{k}-{n}",
                    "ds": pd.Timestamp(START + dt.timedelta(days=day)),
                    "delivery_date": pd.Timestamp(START + dt.timedelta(days=day)),
                    "minutes_late": 45 if k % 2 and n == 0 else 0,
                    "failed_attempts": 0,
                    "zone": "z1",
                    "value": 20_000.0 + 1_000 * k,
                    "promotion": kinds[k % 3] if n == 0 else None,
                }
            )
    body = retention_of(
        pd.DataFrame(rows),
        pd.DataFrame(columns=["order_id", "csat", "nps"]),
        start=START,
        end=START + dt.timedelta(days=119),
        zone=None,
    )
    return body.model_dump(mode="json")


def test_first_purchases_by_promotion_kind(server: Server, audit_page: Page) -> None:
    """One row per experience and promotion kind; no caption saying that
    promotions are not recorded."""
    page = audit_page
    open_planner(server, page)
    body = _body()
    assert body["promotion_recorded"] is True
    page.route(
        "**/v1/metrics/retention?*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.get_by_role("button", name="Show").click()
    table = page.locator("#acquisition-table")
    expect(table).to_be_visible()
    expected = [
        r
        for r in body["acquisition"]
        if r["stage"] == "first_purchase" and r["days"] == 60
    ]
    expect(table.locator("tbody tr")).to_have_count(len(expected))
    kinds = table.locator("tbody td:nth-child(2)").all_inner_texts()
    assert {"first purchase", "limited time", "no"} <= set(kinds)
    expect(table.locator("caption")).not_to_contain_text("do not record promotions")
    expect(page.locator("#experience-effect")).to_contain_text("not reported")


def test_the_fitted_effect_beside_the_hazard_ratios(
    server: Server, audit_page: Page
) -> None:
    """The range's fitted hazard coefficients as hazard ratios, with the
    deliveries fitted; when it cannot be fitted, why."""
    page = audit_page
    open_planner(server, page)
    body = _body()
    coefficient = {"part": "hazard", "name": "log1p_late", "se": 0.05}
    body["experience_effect"] = {
        "start": "2026-01-01",
        "end": "2026-06-30",
        "deliveries": 4321,
        "customers": 900,
        "customers_fitted": 900,
        "n_spells": 4300,
        "n_events": 3400,
        "reason": None,
        "coefficients": [
            {**coefficient, "coef": -0.2, "low": -0.3, "high": -0.1},
            {**coefficient, "part": "churn", "coef": 1.0, "low": 0.5, "high": 1.5},
        ],
    }
    page.route(
        "**/v1/metrics/retention?*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.get_by_role("button", name="Show").click()
    effect = page.locator("#experience-effect")
    # exp(-0.2) = 0.82 in [exp(-0.3), exp(-0.1)] = [0.74, 0.9]; churn not shown.
    expect(effect).to_contain_text("2026-01-01 to 2026-06-30, 4321 deliveries")
    expect(effect).to_contain_text("log1p late 0.82 [0.74, 0.9]")
    assert effect.inner_text().count("[") == 1
    short = {
        **body["experience_effect"],
        "coefficients": [],
        "reason": "too little history in 2026-01-01..2026-01-07: 60 spells",
    }
    page.unroute("**/v1/metrics/retention?*")
    page.route(
        "**/v1/metrics/retention?*",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({**body, "experience_effect": short}),
        ),
    )
    page.get_by_role("button", name="Show").click()
    expect(effect).to_contain_text("not estimated: too little history")
