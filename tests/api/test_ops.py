"""Liveness, readiness, metrics, request ids and access logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.telemetry import JsonFormatter


def test_healthz_answers(client: TestClient) -> None:
    """/healthz says ok while the process runs."""
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_checks_the_database(client: TestClient) -> None:
    """/readyz is ok when the database answers."""
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_503_without_database() -> None:
    """/readyz answers 503 problem+json when the database is unreachable."""
    settings = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        migrate_on_start=False,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 503
    assert body["instance"] == "/readyz"
    assert "database unreachable" in body["detail"]


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    """/metrics counts requests by method, route template and status."""
    client.get("/healthz")
    client.get("/healthz")
    client.delete("/v1/keys/12345")
    client.get("/no/such/path/4711")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    line = (
        'milepost_http_requests_total{method="GET",route="/healthz",status="200"} 2.0'
    )
    assert line in text
    assert 'route="/v1/keys/{key_id}",status="401"' in text
    assert "milepost_http_request_duration_seconds_bucket" in text
    # Unknown paths share one label instead of one series each.
    assert 'route="<unmatched>",status="404"' in text
    assert "4711" not in text


def test_apps_keep_separate_metrics(settings: Settings) -> None:
    """Two apps in one process count their own requests only."""
    with TestClient(create_app(settings)) as one:
        one.get("/healthz")
    with TestClient(create_app(settings)) as two:
        text = two.get("/metrics").text
    assert 'route="/healthz"' not in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    """A sane X-Request-ID is echoed; a missing or unsafe one is replaced."""
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"
    ] == ("abc-123")
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    unsafe = client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


def test_one_access_log_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs request_id, method, path, status and ms once."""
    with caplog.at_level(logging.INFO, logger="milepost.access"):
        client.get("/healthz", headers={"X-Request-ID": "log-me"})
    records = [r for r in caplog.records if r.name == "milepost.access"]
    assert len(records) == 1
    rec = records[0]
    assert (rec.request_id, rec.method, rec.path, rec.status) == (
        "log-me",
        "GET",
        "/healthz",
        200,
    )
    assert rec.ms >= 0
    line = json.loads(JsonFormatter().format(rec))
    assert line["request_id"] == "log-me"
    assert line["level"] == "info"
    assert line["logger"] == "milepost.access"
