"""The planner page's history: the summary, a refused file, an imported one.

Its own module (and so its own server): once a history is stored, every
forecast of that server runs on it, not on the embedded city.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.history_data import HEADER, history_csv
from tests.web.conftest import Server, axe_violations, watch_errors

pytestmark = pytest.mark.browser


def test_an_uploaded_history_becomes_the_forecasts_data(
    server: Server, audit_page: Page
) -> None:
    """A file with a bad row is refused by line and field and stores nothing;
    a good one is imported, summed up, and becomes the forecasts' data."""
    page = audit_page
    errors = watch_errors(page)
    page.goto(f"{server.url}/planner")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (planner)").fill(server.keys[Role.planner])
    page.get_by_label("API key (planner)").press("Tab")
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
