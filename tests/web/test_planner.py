"""The planner view: forecasts against their history, library scenarios compared
with error bars inside each KPI's bounds, and earlier runs opened again."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from api.services.metrics import retention_of
from tests.web.conftest import Server, axe_violations, open_planner, shot

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


def _latest_forecast(server: Server) -> dict[str, Any]:
    """The result of the newest forecast job."""
    runs = server.call("GET", "/v1/forecasts?limit=1", Role.planner).json()
    url = runs["data"][0]["url"]
    body: dict[str, Any] = server.call("GET", url, Role.planner).json()
    return dict(body["result"])


def test_forecast_starts_the_day_after_the_history(server: Server, page: Page) -> None:
    """The first day is the API's: the day after the last day of history."""
    open_planner(server, page)
    history = server.call("GET", "/v1/forecasts/history?days=1", Role.planner).json()
    expect(page.get_by_label("First day")).to_have_value(history["until"])
    assert page.get_by_label("First day").get_attribute("max") == history["until"]
    expect(page.get_by_label("Data", exact=True)).to_have_value("city")
    _no_serious_violations(page, "planner-start")


def test_forecast_against_history(server: Server, page: Page) -> None:
    """One chart per chosen zone; the table has a row per forecast day."""
    open_planner(server, page)
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
    # Each depot's deliveries and the fleet sized for them, a row per day.
    result = _latest_forecast(server)
    depots = {d["depot"] for d in result["depots"]}
    table = page.locator("#depot-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(len(depots) * 7)
    first = result["fleet"][0]
    row = table.locator(
        f"tbody tr[data-depot='{first['depot']}']", has_text=first["day"]
    )
    expect(row.locator("td").nth(6)).to_contain_text(str(first["vans"]))
    _no_serious_violations(page, "planner-forecast")
    # The forecast is listed among the past runs.
    expect(page.locator("#forecast-runs tbody tr").first).to_contain_text("7 days from")
    shot(page, "planner-forecast")


def test_default_library_comparison_shows_a_clear_difference(
    server: Server, page: Page
) -> None:
    """Baseline vs snow, as the page opens: a KPI differs clearly, and every
    chart's error bars lie inside the KPI's bounds and around its mean."""
    open_planner(server, page)
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
    open_planner(server, page)
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
    open_planner(server, page)
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
    open_planner(server, page)
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


def _customers_body() -> dict[str, Any]:
    """What ``GET /v1/metrics/retention`` answers for 40 customers over 150
    days (made by the service's own code, from a seeded history)."""
    rng = np.random.default_rng(7)
    start = dt.date(2026, 5, 1)
    rows, rated = [], []
    for k in range(40):
        day = int(rng.integers(0, 40))
        late = [0, 10, 45, 0][k % 4]
        for n in range(int(rng.integers(1, 4))):
            rows.append(
                {
                    "customer_id": f"c{k}",
                    "order_id": f"c{k}-{n}",
                    "ds": pd.Timestamp(start) + pd.Timedelta(days=day),
                    "delivery_date": pd.Timestamp(start) + pd.Timedelta(days=day),
                    "minutes_late": late if n == 0 else 0,
                    "failed_attempts": int(k % 7 == 0 and n == 0),
                    "zone": "z1",
                }
            )
            rated.append((f"c{k}-{n}", 1 + k % 5, k % 11))
            day += int(rng.integers(5, 50))
    history = pd.DataFrame(rows)
    history = history[history["ds"] <= pd.Timestamp(start + dt.timedelta(days=149))]
    ratings = pd.DataFrame(rated, columns=["order_id", "csat", "nps"])
    body = retention_of(
        history,
        ratings,
        start=start,
        end=start + dt.timedelta(days=149),
        zone=None,
        horizon_days=60,
    )
    return body.model_dump(mode="json")


def test_customers_section(server: Server, page: Page) -> None:
    """No tracked days: the empty state says why. With data (the service's
    answer for a seeded history): LTV, repeat-rate and ratings bars with
    error bars, retention curves, the rating model and the cohort table."""
    open_planner(server, page)
    page.get_by_label("Zone", exact=True).fill("nowhere")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#customers-empty")).to_contain_text("No data yet")
    expect(page.locator("#customers-status")).to_contain_text("in nowhere")
    _no_serious_violations(page, "planner-customers-empty")

    body = _customers_body()
    page.route(
        "**/v1/metrics/retention?*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.get_by_label("Zone", exact=True).fill("")
    page.get_by_role("button", name="Show").click()
    status = page.locator("#customers-status")
    expect(status).to_contain_text(f"{body['customers']} customers")
    for chart in ("ltv", "repeat", "curves", "csat", "nps"):
        expect(page.locator(f"#chart-{chart}")).to_be_visible()
    bars = page.evaluate(
        """() => Object.fromEntries(["chart-ltv", "chart-repeat", "chart-csat"].map(
            (id) => [id, Chart.getChart(id).$errorBars.length]))"""
    )
    with_interval = {
        "chart-ltv": sum(r["low"] is not None for r in body["ltv"]),
        "chart-repeat": sum(r["low"] is not None for r in body["first_repeat"]),
        "chart-csat": sum(r["csat_low"] is not None for r in body["ratings"]),
    }
    assert bars == with_interval
    assert all(n > 0 for n in bars.values())
    curves = page.evaluate(
        "() => Chart.getChart('chart-curves').data.datasets.filter(d => !d.band)"
        ".map(d => d.data.map(p => p.y))"
    )
    assert curves and all(all(b <= a for a, b in itertools.pairwise(c)) for c in curves)
    expect(page.locator("#hazard-table tbody tr")).to_have_count(4)
    effect = body["rating_effect"]
    expected = effect["reason"] or str(effect["n"])
    expect(page.locator("#rating-effect")).to_contain_text(expected)
    expect(page.locator("#acquisition-table caption")).to_contain_text(
        "do not record promotions"
    )
    shot(page, "planner-customers")
    _no_serious_violations(page, "planner-customers")
