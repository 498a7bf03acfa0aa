"""The console's expected retention cost: the KPI strip and a stop's detail,
in Chromium.

Today's small day is solved and dispatched with no retention fit (the strip
says why there is no number), then a fit is stored and a van reports a
failed attempt: the strip and the stop show what it is expected to cost.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from api.db.engine import make_engine, make_sessionmaker
from api.db.tables_tracking import RetentionPricingRow
from tests.api.test_priced_plans import PRICING
from tests.web.conftest import Server, shot, watch_errors
from tests.web.day import DEPOT, now_seconds, seed_day, send_events, today

pytestmark = pytest.mark.browser

WAIT_MS = 30_000


def _store_fit(server: Server) -> None:
    """A retention fit in the server's database (beside its log)."""
    engine = make_engine(f"sqlite:///{server.log.parent / 'milepost.db'}")
    try:
        with make_sessionmaker(engine).begin() as session:
            session.add(
                RetentionPricingRow(
                    job_id="fit-web",
                    start=dt.date(2026, 1, 1),
                    end=dt.date(2026, 6, 30),
                    pricing=PRICING.model_dump(mode="json"),
                    coefficients=[],
                    customer_values={"c-1": 50_000.0},
                    n_spells=10,
                    n_events=3,
                    n_customers=1,
                    n_orders=40,
                )
            )
    finally:
        engine.dispose()


def test_console_shows_the_days_retention_cost(server: Server, page: Page) -> None:
    """No fit: "not priced" and why; with one, a failed attempt costs won,
    live against planned, in the strip and in the stop's detail."""
    errors = watch_errors(page)
    day = today()
    seed_day(server, day)
    page.goto(f"{server.url}/console?day={day.isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    expect(page.locator(f"#depot option[value='{DEPOT}']")).to_have_count(1)
    page.get_by_label("Depot", exact=True).select_option(DEPOT)
    page.get_by_label("Search time (s)").fill("1")
    page.get_by_role("button", name="Solve").click()
    expect(page.locator("#status")).to_contain_text("ready", timeout=WAIT_MS)
    page.get_by_role("button", name="Dispatch", exact=True).click()
    cost = page.locator("#kpis [data-kpi=retention] dd")
    expect(cost).to_have_text("not priced: no retention fit yet", timeout=WAIT_MS)

    _store_fit(server)
    plans = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    plan = server.call(
        "GET", f"/v1/plans/{plans['data'][0]['id']}", Role.dispatcher
    ).json()["plan"]
    route = max(plan["routes"], key=lambda r: len(r["steps"]))
    first = next(s["id"] for s in route["steps"] if s["type"] in ("job", "delivery"))
    van, now = route["vehicle"], now_seconds(day)
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "rs1", "at": now - 60, "vehicle": van},
            {"type": "stop_departed", "id": "rd0", "at": now - 50, "vehicle": van},
            {
                "type": "stop_arrived",
                "id": "ra1",
                "at": now - 40,
                "vehicle": van,
                "order_id": first,
            },
            {
                "type": "failed_attempt",
                "id": "rf1",
                "at": now - 30,
                "vehicle": van,
                "order_id": first,
                "reason": "not_home",
            },
        ],
    )
    live = server.call(
        "GET", f"/v1/plans/{plans['data'][0]['id']}/live", Role.dispatcher
    )
    kpis = live.json()["kpis"]
    assert kpis["retention_live"] > kpis["retention_planned"]
    want = f"{round(kpis['retention_live']):,} KRW live"
    expect(cost).to_contain_text(want, timeout=WAIT_MS)
    expect(cost).to_contain_text(f"planned {round(kpis['retention_planned']):,} KRW")
    page.locator(f"div.stop[data-order='{first}']").click()
    expect(page.locator("#stop-retention")).to_contain_text(
        re.compile(r"[1-9][\d,]* KRW live \(1 failed attempt\), planned 0 KRW")
    )
    shot(page, "console-retention")
    assert errors == []
