"""The planner view: a zone forecast against its history, a scenario comparison."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.web.conftest import Server, shot

pytestmark = pytest.mark.browser

#: Jobs run in the server's one worker; the small city keeps them short.
WAIT_MS = 120_000
ZONES = ("Gangnam-gu", "Mapo-gu")
SCENARIOS = {
    "scenarios": [
        {"name": "Ordinary", "orders": 50, "city": {"customers": 1000},
         "replications": 1, "iterations": 1, "time_limit": 5,
         "fleet": {"vans_per_depot": 3}},
        {"name": "Driver absent", "orders": 50, "city": {"customers": 1000},
         "replications": 1, "iterations": 1, "time_limit": 5,
         "fleet": {"vans_per_depot": 3, "absent_drivers": 1}},
    ]
}  # fmt: skip


def _sign_in(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/planner")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (planner)").fill(server.keys[Role.planner])
    page.get_by_label("API key (planner)").press("Tab")


def test_forecast_against_history(server: Server, page: Page) -> None:
    """One chart per chosen zone; the table has a row per forecast day."""
    _sign_in(server, page)
    expect(page.locator("#zones option")).to_have_count(25, timeout=WAIT_MS)
    page.get_by_label("Zones").select_option(list(ZONES))
    page.get_by_label("Days", exact=True).fill("7")
    page.get_by_label("History shown (days)").fill("28")
    page.get_by_role("button", name="Forecast").click()
    status = page.locator("#forecast-status")
    expect(status).to_contain_text("Forecast of 2 zones for 7 days", timeout=WAIT_MS)
    expect(page.locator("figure.chart-card")).to_have_count(len(ZONES))
    for zone in ZONES:
        card = page.locator(f"figure.chart-card[data-zone='{zone}']")
        expect(card.locator("canvas")).to_be_visible()
        expect(card.locator("tbody tr")).to_have_count(7)
    # The chart holds 28 days of history then 7 of forecast.
    points = page.evaluate(
        "Chart.getChart(document.querySelector('figure.chart-card canvas'))"
        ".data.labels.length"
    )
    assert points == 28 + 7
    shot(page, "planner-forecast")


def _numbers(text: str) -> list[float]:
    """The numbers of a KPI cell: mean, low, high and the difference, if any."""
    return [float(x.replace(",", "")) for x in re.findall(r"[-+]?[\d,]*\.?\d+", text)]


def test_scenario_comparison(server: Server, page: Page) -> None:
    """The KPI table shows the API's comparison; the chart follows the chosen KPI."""
    _sign_in(server, page)
    page.get_by_label("Scenarios (JSON", exact=False).fill(json.dumps(SCENARIOS))
    with page.expect_response(
        lambda r: r.url.endswith("/v1/scenarios") and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Compare").click()
    job = posted.value.json()["id"]
    status = page.locator("#scenario-status")
    expect(status).to_contain_text("2 scenarios compared", timeout=WAIT_MS)
    got = server.call("GET", f"/v1/scenarios/{job}", Role.planner).json()["result"]
    kpis = got["scenarios"][0]["kpis"]
    table = page.locator("#kpi-table")
    expect(table.locator("thead th")).to_have_count(1 + len(SCENARIOS["scenarios"]))
    expect(table.locator("tbody tr")).to_have_count(len(kpis))
    km = table.locator("tbody tr[data-kpi=km] td")
    expect(km).to_have_count(2)
    for i, summary in enumerate(got["scenarios"]):
        est = summary["kpis"]["km"]
        want = [est["mean"], est["low"], est["high"]]
        if i > 0:
            want.append(summary["difference"]["km"]["mean"])
        # Two decimals on the page.
        assert _numbers(km.nth(i).inner_text()) == pytest.approx(want, abs=0.006)
    page.get_by_label("KPI to chart").select_option("km")
    chart = page.evaluate(
        "(() => { const c = Chart.getChart(document.getElementById('kpi-chart'));"
        " return [c.data.datasets[0].label, c.data.datasets[0].data]; })()"
    )
    assert chart == ["km (mean)", [s["kpis"]["km"]["mean"] for s in got["scenarios"]]]
    shot(page, "planner-scenarios")


def test_bad_scenarios_say_why(server: Server, page: Page) -> None:
    """Invalid JSON and a rejected body are explained, not thrown."""
    _sign_in(server, page)
    page.get_by_label("Scenarios (JSON", exact=False).fill("{not json")
    page.get_by_role("button", name="Compare").click()
    status = page.locator("#scenario-status")
    expect(status).to_contain_text("not valid JSON")
    page.get_by_label("Scenarios (JSON", exact=False).fill('{"scenarios": []}')
    page.get_by_role("button", name="Compare").click()
    expect(status).to_contain_text("body.scenarios")
    expect(status).to_have_class("status error")
