"""The planner view: forecasts against their history, library scenarios compared
with error bars inside each KPI's bounds, and earlier runs opened again."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.web.conftest import Server, axe_violations, shot

pytestmark = pytest.mark.browser

#: Jobs run in the server's one worker; the small city keeps them short.
WAIT_MS = 120_000
ZONES = ("Gangnam-gu", "Mapo-gu")
#: The KPIs the page charts, each with error bars.
CHARTED = (
    "on_time_rate",
    "late_minutes_p95",
    "failed_attempt_rate",
    "customers_expected_lost",
    "retention_loss",
    "cost_per_order",
)
TINY = {
    "orders": 50, "city": {"customers": 1000}, "replications": 1,
    "iterations": 1, "time_limit": 5, "fleet": {"vans_per_depot": 3},
}  # fmt: skip


@pytest.fixture
def page(audit_page: Page) -> Page:
    """Every planner test runs axe-core: its pages bypass the policy."""
    return audit_page


def _sign_in(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/planner")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (planner)").fill(server.keys[Role.planner])
    page.get_by_label("API key (planner)").press("Tab")


def _no_serious_violations(page: Page, name: str) -> None:
    assert axe_violations(page, name) == []


def _wait_for_job(server: Server, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        body: dict[str, Any] = server.call("GET", url, Role.planner).json()
        if body["status"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def test_forecast_starts_the_day_after_the_history(server: Server, page: Page) -> None:
    """The first day is the API's: the day after the last day of history."""
    _sign_in(server, page)
    history = server.call("GET", "/v1/forecasts/history?days=1", Role.planner).json()
    expect(page.get_by_label("First day")).to_have_value(history["until"])
    assert page.get_by_label("First day").get_attribute("max") == history["until"]
    expect(page.get_by_label("Data", exact=True)).to_have_value("city")
    _no_serious_violations(page, "planner-start")


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
    # The forecast is listed among the past runs.
    expect(page.locator("#forecast-runs tbody tr").first).to_contain_text("7 days from")
    shot(page, "planner-forecast")


def test_default_library_comparison_shows_a_clear_difference(
    server: Server, page: Page
) -> None:
    """Baseline vs snow, as the page opens: a KPI differs clearly, and every
    chart's error bars lie inside the KPI's bounds and around its mean."""
    _sign_in(server, page)
    library = page.locator("#library-list li")
    expect(library.first).to_have_attribute("data-id", "baseline")
    expect(page.get_by_label("Baseline", exact=True)).to_be_checked()
    expect(page.get_by_label("Snow on the baseline day")).to_be_checked()
    expect(library.first.locator(".order")).to_have_text("reference")
    with page.expect_response(
        lambda r: r.url.endswith("/v1/scenarios") and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Compare", exact=True).click()
    job = posted.value.json()["id"]
    status = page.locator("#scenario-status")
    expect(status).to_contain_text("2 scenarios compared", timeout=WAIT_MS)
    got = server.call("GET", f"/v1/scenarios/{job}", Role.planner).json()["result"]
    base, snow = got["scenarios"]
    assert (base["name"], snow["name"]) == ("Baseline", "Snow on the baseline day")
    assert base["replications"] == snow["replications"] == 6

    # A difference whose interval excludes zero, listed on the page.
    clear = [
        k
        for k, d in snow["difference"].items()
        if d["low"] is not None and (d["low"] > 0 or d["high"] < 0)
    ]
    assert clear, snow["difference"]
    findings = page.locator("#clear-differences li")
    expect(findings).to_have_count(len(clear))
    for k in clear:
        expect(page.locator(f"#clear-differences li[data-kpi={k}]")).to_be_visible()

    # Error bars: drawn by the plugin (one dataset per chart, no interval bars),
    # around the mean, inside the bounds, matching the API.
    for kpi in CHARTED:
        drawn = page.evaluate(
            "(k) => { const c = Chart.getChart(document.getElementById('chart-' + k));"
            " return { sets: c.data.datasets.length, bars: c.$errorBars }; }",
            kpi,
        )
        assert drawn["sets"] == 1, kpi
        lower, upper = got["bounds"][kpi]
        assert len(drawn["bars"]) == 2, kpi
        for bar, summary in zip(drawn["bars"], got["scenarios"], strict=True):
            est = summary["kpis"][kpi]
            assert [bar["mean"], bar["low"], bar["high"]] == [
                est["mean"],
                est["low"],
                est["high"],
            ]
            assert lower <= bar["low"] <= bar["mean"] <= bar["high"], kpi
            assert upper is None or bar["high"] <= upper, kpi
            assert bar["top"] <= bar["bottom"], kpi  # pixels grow downwards
    shot(page, "planner-scenarios")
    _no_serious_violations(page, "planner-scenarios")


def _numbers(text: str) -> list[float]:
    """The numbers of a KPI cell: mean, low, high and the difference, if any."""
    return [float(x.replace(",", "")) for x in re.findall(r"[-+]?[\d,]*\.?\d+", text)]


def test_past_runs_are_listed_and_opened_again(server: Server, page: Page) -> None:
    """A finished comparison is listed newest first and opens from the list;
    one day each gives means without intervals, and no error bar."""
    body = {
        "scenarios": [
            {**TINY, "name": "Ordinary"},
            {**TINY, "name": "Driver absent",
             "fleet": {"vans_per_depot": 3, "absent_drivers": 1}},
        ]
    }  # fmt: skip
    job = server.call("POST", "/v1/scenarios", Role.planner, body).json()
    done = _wait_for_job(server, job["url"])
    assert done["status"] == "succeeded", done
    _sign_in(server, page)
    row = page.locator("#scenario-runs tbody tr").first
    expect(row).to_have_attribute("data-job", job["id"])
    expect(row).to_contain_text("Ordinary vs Driver absent")
    expect(row).to_contain_text("succeeded")
    row.get_by_role("button", name=re.compile("^Open comparison")).click()
    status = page.locator("#scenario-status")
    expect(status).to_contain_text("2 scenarios compared with Ordinary")
    km = page.locator("#kpi-table tbody tr[data-kpi=km] td")
    expect(km).to_have_count(2)
    for i, summary in enumerate(done["result"]["scenarios"]):
        est = summary["kpis"]["km"]
        assert est["low"] is None and est["reason"].startswith("1 replication;")
        want = [est["mean"], 1]  # "mean (n=1)"
        if i > 0:  # then "(+difference (n=1))"
            want += [summary["difference"]["km"]["mean"], 1]
        assert _numbers(km.nth(i).inner_text()) == pytest.approx(want, abs=0.006)
    expect(page.locator("#clear-differences")).to_contain_text("at least 5")
    bars = page.evaluate(
        "Chart.getChart(document.getElementById('chart-on_time_rate')).$errorBars"
    )
    assert bars == []
    _no_serious_violations(page, "planner-runs")


def test_own_scenario_and_raw_json(server: Server, page: Page) -> None:
    """The form's knobs change a library scenario; the JSON shows the request."""
    _sign_in(server, page)
    expect(page.locator("#library-list li")).not_to_have_count(0)
    page.locator("#own summary").click()
    page.get_by_label("Compare it too").check()
    page.get_by_label("Name", exact=True).fill("Two vans short")
    page.get_by_label("Starts from").select_option("baseline")
    page.get_by_label("Day vans per depot").fill("8")
    page.get_by_label("Vans without driver").fill("2")
    page.get_by_label("Weather").select_option("rain")
    page.get_by_label("Replications", exact=True).fill("5")
    page.locator("#advanced summary").click()
    page.get_by_role("button", name="Fill from the choices above").click()
    sent = json.loads(page.get_by_label("Scenarios (JSON", exact=False).input_value())
    names = [s["name"] for s in sent["scenarios"]]
    assert names == ["Baseline", "Snow on the baseline day", "Two vans short"]
    own = sent["scenarios"][2]
    assert own["fleet"]["vans_per_depot"] == 8
    assert own["fleet"]["absent_drivers"] == 2
    assert own["disruption"]["weather"] == "rain"
    assert own["orders"] == 100 and own["city"]["customers"] == 1000
    assert sent["replications"] == 5
    _no_serious_violations(page, "planner-own")


def test_bad_scenarios_say_why(server: Server, page: Page) -> None:
    """Nothing ticked, invalid JSON and a rejected body are explained."""
    _sign_in(server, page)
    status = page.locator("#scenario-status")
    for name in ("Baseline", "Snow on the baseline day"):
        page.get_by_label(name, exact=True).uncheck()
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(status).to_contain_text("Tick at least one scenario")
    page.locator("#advanced summary").click()
    page.get_by_label("Scenarios (JSON", exact=False).fill("{not json")
    page.get_by_role("button", name="Compare the JSON").click()
    expect(status).to_contain_text("not valid JSON")
    page.get_by_label("Scenarios (JSON", exact=False).fill('{"scenarios": []}')
    page.get_by_role("button", name="Compare the JSON").click()
    expect(status).to_contain_text("body.scenarios")
    expect(status).to_have_class("status error")
