"""The exception watch: the rules run in the service without anyone asking.

The small example day is stored and dispatched for a day of which the wall
clock is at least nine hours in (the watch evaluates the wall clock's "now"
and is told that this day is today), so the main route's van, due at 08:00
and silent since, is late to start. Nothing here calls ``GET
/v1/exceptions``: the exception reaches the plan's live view and its stream
through the watch alone. The live tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.auth import Role
from api.services.console import refresh_exceptions
from api.services.watch import ExceptionWatch
from api.settings import Settings
from routing.locale import DEFAULT_LOCALE
from routing.plan import Plan
from tests.api.conftest import auth, sqlite_url
from tests.api.tracking_fixtures import dispatch_small_day, main_route

PLAN_ID = "watched-plan"
#: The watch's interval in these tests.
WATCH = 0.2
#: Seconds a test waits for the watch before it fails.
WAIT = 15.0


def _watched_day() -> dt.date:
    """A day the wall clock is 9 to 33 hours into, in the shop's timezone:
    every van of the small day (shifts from 08:00) is past its start + 15 min."""
    return (dt.datetime.now(DEFAULT_LOCALE.zone) - dt.timedelta(hours=9)).date()


def _other_day() -> dt.date:
    """A day without plans."""
    return _watched_day() - dt.timedelta(days=30)


@pytest.fixture
def day() -> dt.date:
    return _watched_day()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The service with a fast exception watch."""
    return Settings(
        database_url=database_url, log_json=False, exception_watch_seconds=WATCH
    )


@pytest.fixture
def app(settings: Settings, day: dt.date) -> FastAPI:
    """The service, its watch told that ``day`` is today."""
    app = create_app(settings)
    app.state.exception_watch.today = lambda: day
    return app


def _dispatch(client: TestClient, key: str, day: dt.date) -> Plan:
    """The small day stored as a plan of ``day`` and dispatched."""
    return dispatch_small_day(client, key, day=day, plan_id=PLAN_ID)


def _until(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail after WAIT s."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {WAIT} s for {what}")


def _not_started(view: dict[str, Any]) -> set[str]:
    return {e["vehicle"] for e in view["exceptions"] if e["kind"] == "van_not_started"}


def _metric(text: str, name: str) -> float | None:
    """The value of the sample ``name`` (with its labels) in a scrape."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_a_van_not_started_reaches_the_live_view_without_a_read(
    client: TestClient, keys: dict[Role, str], day: dt.date
) -> None:
    """The watch opens van_not_started for the dispatched plan's late van;
    the plan's live view lists it though nobody read ``/v1/exceptions``."""
    key = keys[Role.dispatcher]
    plan = _dispatch(client, key, day)
    van = main_route(plan).vehicle

    def raised() -> dict[str, Any] | None:
        response = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key))
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view if van in _not_started(view) else None

    view = _until(raised, f"van_not_started of {van} in the live view")
    (found,) = [
        e
        for e in view["exceptions"]
        if e["kind"] == "van_not_started" and e["vehicle"] == van
    ]
    assert found["day"] == day.isoformat() and found["closed_at"] is None
    assert "08:00" in found["detail"]

    scrape = client.get("/metrics").text
    assert "/v1/exceptions" not in scrape  # no request ever asked for the list
    ok = _metric(scrape, 'milepost_exception_watch_runs_total{outcome="ok"}')
    assert ok is not None and ok >= 1
    assert _metric(scrape, 'milepost_exception_watch_runs_total{outcome="error"}') == 0
    last = _metric(scrape, "milepost_exception_watch_last_success_timestamp_seconds")
    assert last is not None and abs(time.time() - last) < WAIT + 5

    # Evaluated again at every tick: still the one exception.
    app: FastAPI = client.app  # type: ignore[assignment]
    watch: ExceptionWatch = app.state.exception_watch
    ticks = watch.runs["ok"]
    _until(lambda: watch.runs["ok"] >= ticks + 2, "two more ticks")
    again = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()
    same = [e["id"] for e in again["exceptions"] if e["kind"] == "van_not_started"]
    assert found["id"] in same and len(same) == len(set(same))


def test_the_live_stream_redraws_when_the_watch_opens_one(
    client: TestClient, keys: dict[Role, str], day: dt.date
) -> None:
    """An open live stream sends a new view with the exception as soon as
    the watch raises it (a commit to dispatch_exceptions, nothing else)."""
    key = keys[Role.dispatcher]
    app: FastAPI = client.app  # type: ignore[assignment]
    watch: ExceptionWatch = app.state.exception_watch
    watch.today = _other_day  # the watch looks elsewhere for now
    plan = _dispatch(client, key, day)
    van = main_route(plan).vehicle
    seen: list[dict[str, Any]] = []
    first = threading.Event()

    def listen() -> None:
        with client.stream(
            "GET",
            f"/v1/plans/{PLAN_ID}/live/stream",
            params={"max_seconds": int(WAIT)},
            headers=auth(key),
        ) as response:
            assert response.status_code == 200
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "status":
                    seen.append(json.loads(line.removeprefix("data: ")))
                    first.set()
                    if van in _not_started(seen[-1]):
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert first.wait(WAIT), "the stream sent no first view"
    assert _not_started(seen[0]) == set()
    ticks = watch.runs["ok"]
    _until(lambda: watch.runs["ok"] > ticks, "a tick of the watch")
    assert van not in _not_started(seen[-1])  # the other day raised nothing

    watch.today = lambda: day
    reader.join(WAIT + 5)
    assert not reader.is_alive(), "the stream never showed the exception"
    assert van in _not_started(seen[-1])


def _sqlite_app(tmp_path: Path, seconds: float) -> FastAPI:
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        log_json=False,
        exception_watch_seconds=seconds,
    )
    return create_app(settings)


def test_a_failing_tick_is_logged_counted_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One tick raises: it is logged with its traceback and counted as an
    error; the thread lives on and the next tick succeeds."""
    real = refresh_exceptions
    calls = []

    def fails_once(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs["day"])
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        real(*args, **kwargs)

    monkeypatch.setattr("api.services.watch.refresh_exceptions", fails_once)
    app = _sqlite_app(tmp_path, WATCH)
    watch: ExceptionWatch = app.state.exception_watch
    with caplog.at_level(logging.ERROR, logger="milepost.watch"), TestClient(app) as c:
        _until(lambda: watch.runs["ok"] >= 1, "a successful tick after the failure")
        assert watch.runs["error"] == 1 and watch.running
        scrape = c.get("/metrics").text
    assert _metric(scrape, 'milepost_exception_watch_runs_total{outcome="error"}') == 1
    ok = _metric(scrape, 'milepost_exception_watch_runs_total{outcome="ok"}')
    assert ok is not None and ok >= 1
    (failed,) = [r for r in caplog.records if r.name == "milepost.watch"]
    assert failed.exc_info is not None
    assert "the database went away" in str(failed.exc_info[1])


def test_zero_turns_the_watch_off(tmp_path: Path) -> None:
    """With ``MILEPOST_EXCEPTION_WATCH_SECONDS=0`` no thread starts, nothing
    is evaluated and ``/metrics`` has no watch figures."""
    app = _sqlite_app(tmp_path, 0)
    watch: ExceptionWatch = app.state.exception_watch
    with TestClient(app) as c:
        assert not watch.enabled and not watch.running
        assert "exception-watch" not in {t.name for t in threading.enumerate()}
        assert "milepost_exception_watch" not in c.get("/metrics").text
    assert watch.runs == {"ok": 0, "error": 0}


def test_shutdown_stops_the_watch_promptly(tmp_path: Path) -> None:
    """The thread ends with the app, at once, even mid-wait of a long interval."""
    app = _sqlite_app(tmp_path, 3600)
    watch: ExceptionWatch = app.state.exception_watch
    client = TestClient(app)
    client.__enter__()
    try:
        assert watch.running
        threads = [t for t in threading.enumerate() if t.name == "exception-watch"]
        assert threads and all(t.daemon for t in threads)
    finally:
        began = time.monotonic()
        client.__exit__(None, None, None)
    assert time.monotonic() - began < 3.0
    assert not watch.running
    assert not any(t.is_alive() for t in threads)
    assert watch.runs == {"ok": 0, "error": 0}  # an hour never passed


@pytest.mark.parametrize("seconds", [-1, 0.05, 3601])
def test_the_interval_is_validated(seconds: float) -> None:
    """Negative, too short (under 0.1 s but not 0) or over an hour: refused,
    naming the setting."""
    with pytest.raises(ValidationError, match="exception_watch_seconds"):
        Settings(exception_watch_seconds=seconds)
