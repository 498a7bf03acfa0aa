"""The planner page's history: the summary, a refused file, an imported one.

Its own module (and so its own server): once a history is stored, every
forecast of that server runs on it, not on the embedded city.
"""

from __future__ import annotations

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.helpers import ROOT
from tests.history_data import HEADER, history_csv
from tests.web.conftest import (
    Server,
    axe_violations,
    open_planner,
    shot,
    watch_errors,
)

pytestmark = pytest.mark.browser

#: The stored history's zones; a forecast job runs in the server's one worker.
ZONES = ("Gangnam-gu", "Mapo-gu")
WAIT_MS = 120_000


def test_an_uploaded_history_becomes_the_forecasts_data(
    server: Server, audit_page: Page
) -> None:
    """A file with a bad row is refused by line and field and stores nothing;
    a good one is imported, summed up, and becomes the forecasts' data."""
    page = audit_page
    errors = watch_errors(page)
    open_planner(server, page)
    summary = page.locator("#history-summary")
    expect(summary).to_contain_text("No history stored")
    expect(page.get_by_label("Data", exact=True)).to_have_value("city")

    upload = page.get_by_label("Past orders (CSV or JSON lines, .gz too)")
    bad = f"{HEADER}\nx1,later,,Mapo-gu,,,,,delivered\n"
    upload.set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.get_by_role("button", name="Import").click()
    status = page.locator("#history-status")
    expect(status).to_contain_text("line 2, field created_at")
    expect(summary).to_contain_text("No history stored")

    text = history_csv(56, seed=7)
    rows = text.count("\n") - 1
    upload.set_input_files(
        {"name": "history.csv", "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Import").click()
    expect(status).to_contain_text(f"{rows} orders read: {rows} inserted")
    expect(summary).to_contain_text(f"{rows} orders stored, 2025-01-06 to 2025-03-02")
    expect(page.get_by_label("Data", exact=True)).to_have_value("stored")
    expect(page.locator("#zones option")).to_have_text(["Gangnam-gu", "Mapo-gu"])
    until = server.call("GET", "/v1/forecasts/history?days=1", Role.planner).json()
    expect(page.get_by_label("First day")).to_have_value(until["until"])
    assert axe_violations(page, "planner-history") == []
    assert errors == []


def test_a_forecast_by_the_fallback_model_says_so(
    server: Server, audit_page: Page
) -> None:
    """LightGBM on two zones of 56 stored days has too little history: the
    notice names each zone, LogLinear instead of GlobalGBM and the API's
    reason, and the depots left unsized; each zone's table says LogLinear."""
    page = audit_page
    stored = httpx.post(
        f"{server.url}/v1/history",
        content=history_csv(56, seed=7).encode(),
        headers={"X-API-Key": server.keys[Role.planner], "Content-Type": "text/csv"},
        timeout=60,
    )
    assert stored.status_code == 200, stored.text
    open_planner(server, page)
    expect(page.get_by_label("Data", exact=True)).to_have_value("stored")
    expect(page.locator("#zones option")).to_have_count(len(ZONES))
    notice = page.locator("#forecast-notice")
    expect(notice).to_be_hidden()
    page.get_by_label("Zones").select_option(list(ZONES))
    page.get_by_label("First day").fill("2025-02-24")
    page.get_by_label("Days", exact=True).fill("7")
    page.get_by_label("Model", exact=True).select_option("lightgbm")
    with page.expect_response(
        lambda r: r.url.endswith("/v1/forecasts") and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Forecast", exact=True).click()
    expect(page.locator("#forecast-status")).to_contain_text(
        "Forecast of 2 zones for 7 days", timeout=WAIT_MS
    )
    job = server.call("GET", posted.value.json()["url"], Role.planner).json()
    result = job["result"]
    assert {(f["series"], f["model"], f["used"]) for f in result["fallbacks"]} >= {
        ("zone", "GlobalGBM", "LogLinear")
    }
    expect(notice).to_be_visible()
    for zone in ZONES:
        (fell,) = [f for f in result["fallbacks"] if f["id"] == zone]
        assert "history" in fell["reason"]  # too short for the GBM
        expect(notice).to_contain_text(
            f"Zone {zone}: forecast by LogLinear instead of GlobalGBM: {fell['reason']}"
        )
        card = page.locator(f"figure.chart-card[data-zone='{zone}']")
        expect(card.locator("h3")).to_have_text(f"{zone} · by LogLinear, not GlobalGBM")
        expect(card.locator("thead th").last).to_have_text("Model")
        expect(card.locator("tbody tr td.fallback")).to_have_count(7)
        expect(card.locator("tbody tr").first).to_contain_text(
            "LogLinear (not GlobalGBM)"
        )
    # The stored history names no depot sites: no fleet is sized, by name.
    (unsized,) = result["unsized"]
    expect(notice).to_contain_text(
        f"Fleet of every depot not sized: {unsized['reason']}"
    )
    shot(page, "planner-fallback")
    assert axe_violations(page, "planner-fallback") == []


def test_a_calendar_upload_says_how_it_meets_the_public_holidays(
    server: Server, audit_page: Page
) -> None:
    """A bad calendar is refused by line; the example file is stored as the
    planner says, replacing the country's public holidays, and the status
    says so (GET /v1/calendar agrees)."""
    page = audit_page
    errors = watch_errors(page)
    open_planner(server, page)
    upload = page.get_by_label("Calendar (CSV or JSON lines)")
    status = page.locator("#history-status")
    bad = "start,end,name,kind,scope,intensity\n2026-01-02,,sale,party,,\n"
    upload.set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.get_by_role("button", name="Upload calendar").click()
    expect(status).to_contain_text("line 2")
    example = ROOT / "docs" / "examples" / "calendar.csv"
    entries = example.read_text(encoding="utf-8").strip().count("\n")
    upload.set_input_files(str(example))
    page.get_by_label("Public holidays").select_option("replace")
    page.get_by_role("button", name="Upload calendar").click()
    expect(status).to_have_text(
        f"calendar.csv: {entries} calendar entries stored, replacing KR's public "
        "holidays."
    )
    stored = server.call("GET", "/v1/calendar", Role.planner).json()
    assert stored["count"] == entries and stored["public_holidays"] == "replace"
    assert axe_violations(page, "planner-calendar") == []
    assert errors == []


def test_the_stored_history_is_deleted_after_the_planner_confirms(
    server: Server, audit_page: Page
) -> None:
    """Dismissing the question keeps the history; accepting it deletes every
    stored order, and the forecasts' data is the embedded city again. (Last
    in the module: the history the tests before stored goes.)"""
    page = audit_page
    errors = watch_errors(page)
    stored = httpx.post(
        f"{server.url}/v1/history",
        content=history_csv(14, seed=5).encode(),
        headers={"X-API-Key": server.keys[Role.planner], "Content-Type": "text/csv"},
        timeout=60,
    )
    assert stored.status_code == 200, stored.text
    rows = server.call("GET", "/v1/history", Role.planner).json()["rows"]
    open_planner(server, page)
    button = page.get_by_role("button", name="Delete the stored history")
    expect(page.get_by_label("Data", exact=True)).to_have_value("stored")

    page.once("dialog", lambda dialog: dialog.dismiss())
    button.click()
    expect(page.locator("#history-summary")).to_contain_text(f"{rows:,} orders stored")
    assert server.call("GET", "/v1/history", Role.planner).json()["rows"] == rows

    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    expect(page.locator("#history-status")).to_have_text(
        f"{rows:,} past orders deleted."
    )
    expect(page.locator("#history-summary")).to_contain_text("No history stored")
    expect(button).to_be_hidden()
    expect(page.get_by_label("Data", exact=True)).to_have_value("city")
    assert server.call("GET", "/v1/history", Role.planner).json()["rows"] == 0
    assert errors == []
