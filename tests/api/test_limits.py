"""Limits: open streams per token, key, address and process; request rates.

The limits are made small through the settings, so each is reached in a few
requests. Streams are held open with ``client.stream`` (the test client
returns once the headers are sent, and cancels the app when the response is
closed early); the client-disconnect case runs on a real uvicorn server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role, create_key
from api.errors import PROBLEM_JSON
from api.limits import StreamSlots, TokenBuckets, is_public_path
from api.settings import Settings
from tests.api.conftest import auth
from tests.serve import app_server

DAY = "2026-11-23"
JOB: dict[str, Any] = {
    "location": {"lat": 37.527, "lon": 127.0276},
    "demand": [2500, 1],
    "service": 180,
    "time_windows": [["10:00", "12:00"]],
}
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
#: Every limit off; a test turns on the ones it checks.
OFF = {
    "rate_limit_per_key": 0,
    "rate_limit_per_address": 0,
    "stream_limit_per_token": 0,
    "stream_limit_per_key": 0,
    "stream_limit_per_address": 0,
    "stream_limit_total": 0,
}


def with_limits(**values: float) -> pytest.MarkDecorator:
    """Run the test with these limits on (the others off)."""
    return pytest.mark.parametrize("limits", [values], indirect=True, ids=["limits"])


@pytest.fixture
def limits(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The limits of the test (:func:`with_limits`), the rest off."""
    return {**OFF, **getattr(request, "param", {})}


@pytest.fixture
def settings(database_url: str, limits: dict[str, Any]) -> Settings:
    """Service settings on the test database with the test's limits."""
    return Settings(database_url=database_url, log_json=False, **limits)


def _orders(client: TestClient, key: str, n: int) -> dict[str, str]:
    """Store ``n`` orders; their tracking tokens by order id."""
    tokens = {}
    for i in range(n):
        job = {**JOB, "id": f"o-{i}"}
        got = client.post(
            "/v1/orders", json={"day": DAY, "job": job}, headers=auth(key)
        )
        assert got.status_code == 201, got.text
        tokens[job["id"]] = got.json()["tracking_token"]
    return tokens


def _open(stack: contextlib.ExitStack, client: TestClient, url: str, **kw: Any) -> Any:
    """Open a stream and keep it open until ``stack`` closes."""
    response = stack.enter_context(
        client.stream("GET", url, params={"max_seconds": 30}, **kw)
    )
    return response


def _refused(response: Any, limit: str) -> None:
    """``response`` is a 429 problem naming ``limit``, with Retry-After."""
    assert response.status_code == 429, response.read()
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == 429 and body["limit"] == limit, body


def _refusals(client: TestClient, limit: str) -> float:
    """``milepost_rate_limited_total{limit=...}`` from ``/metrics``."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'milepost_rate_limited_total{{limit="{limit}"}}'):
            return float(line.split()[-1])
    return 0.0


# -- streams ------------------------------------------------------------------


@SQLITE
@with_limits(stream_limit_per_token=2)
def test_streams_per_token(client: TestClient, keys: dict[Role, str]) -> None:
    """The 3rd stream of a token is refused; another token's is not; closing
    one stream frees its slot."""
    tokens = list(_orders(client, keys[Role.storefront], 2).values())
    url = f"/v1/track/{tokens[0]}/stream"
    with contextlib.ExitStack() as stack:
        first = _open(stack, client, url)
        second = _open(stack, client, url)
        assert first.status_code == second.status_code == 200
        with client.stream("GET", url) as third:
            third.read()
            _refused(third, "stream_limit_per_token")
        other = _open(stack, client, f"/v1/track/{tokens[1]}/stream")
        assert other.status_code == 200
        first.close()  # the client goes away: the app is cancelled
        again = _open(stack, client, url)
        assert again.status_code == 200
    assert _refusals(client, "stream_limit_per_token") == 1
    assert client.app.state.limits.streams.open_streams == 0  # type: ignore[attr-defined]


@SQLITE
@with_limits(stream_limit_per_address=2)
def test_public_streams_per_address(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """One address holds 2 streams (any tokens); another address gets its own."""
    tokens = list(_orders(client, keys[Role.storefront], 3).values())
    with contextlib.ExitStack() as stack:
        for token in tokens[:2]:
            assert _open(stack, client, f"/v1/track/{token}/stream").status_code == 200
        with client.stream("GET", f"/v1/track/{tokens[2]}/stream") as third:
            third.read()
            _refused(third, "stream_limit_per_address")
        elsewhere = TestClient(app, client=("203.0.113.9", 40000))
        got = _open(stack, elsewhere, f"/v1/track/{tokens[2]}/stream")
        assert got.status_code == 200


@SQLITE
@with_limits(stream_limit_per_key=2)
def test_streams_per_key(client: TestClient, keys: dict[Role, str]) -> None:
    """A key holds 2 streams; the 3rd is refused, another key's is not."""
    orders = list(_orders(client, keys[Role.dispatcher], 1))
    url = f"/v1/orders/{orders[0]}/stream"
    storefront = auth(keys[Role.storefront])
    with contextlib.ExitStack() as stack:
        for _ in range(2):
            assert _open(stack, client, url, headers=storefront).status_code == 200
        with client.stream("GET", url, headers=storefront) as third:
            third.read()
            _refused(third, "stream_limit_per_key")
        mine = _open(stack, client, url, headers=auth(keys[Role.dispatcher]))
        assert mine.status_code == 200


@SQLITE
@with_limits(stream_limit_total=2)
def test_streams_in_all(client: TestClient, keys: dict[Role, str]) -> None:
    """The process holds 2 streams whoever opens them."""
    tokens = _orders(client, keys[Role.dispatcher], 1)
    order_id, token = next(iter(tokens.items()))
    with contextlib.ExitStack() as stack:
        assert _open(stack, client, f"/v1/track/{token}/stream").status_code == 200
        keyed = _open(
            stack,
            client,
            f"/v1/orders/{order_id}/stream",
            headers=auth(keys[Role.storefront]),
        )
        assert keyed.status_code == 200
        with client.stream("GET", f"/v1/track/{token}/stream") as third:
            third.read()
            _refused(third, "stream_limit_total")
    with contextlib.ExitStack() as stack:
        assert _open(stack, client, f"/v1/track/{token}/stream").status_code == 200


@SQLITE
@with_limits(stream_limit_per_token=1)
def test_client_disconnect_frees_the_slot(settings: Settings) -> None:
    """A client that drops the connection gives its stream slot back."""
    app = create_app(settings)
    with app_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        with app.state.sessionmaker.begin() as session:
            key = create_key(session, Role.dispatcher, "limits")
        got = http.post(
            "/v1/orders",
            json={"day": DAY, "job": {**JOB, "id": "o-1"}},
            headers=auth(key),
        )
        assert got.status_code == 201, got.text
        url = f"/v1/track/{got.json()['tracking_token']}/stream?max_seconds=30"
        with (
            httpx.Client(base_url=base, timeout=10) as first,
            first.stream("GET", url) as stream,
        ):
            assert stream.status_code == 200
            lines = stream.iter_lines()  # dropped, it would close the stream
            assert next(lines).startswith("retry:")
            assert http.get(url).status_code == 429
            del lines
        # The connection is closed; the server notices within a poll or two.
        deadline = time.monotonic() + 5
        while True:
            with http.stream("GET", url) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.2)


# -- a stream's key -----------------------------------------------------------


def _read_until_end(response: Any) -> list[str]:
    """The events' names until the stream ends."""
    kinds = []
    for line in response.iter_lines():
        if line.startswith("event: "):
            kinds.append(line.removeprefix("event: "))
    return kinds


def test_revoked_key_ends_its_stream(client: TestClient, keys: dict[Role, str]) -> None:
    """A revoked key's open stream ends with a ``revoked`` event within 5 s."""
    dispatcher = auth(keys[Role.dispatcher])
    order_id = next(iter(_orders(client, keys[Role.dispatcher], 1)))
    key_id = client.get("/v1/keys/me", headers=dispatcher).json()["id"]
    with client.stream(
        "GET",
        f"/v1/orders/{order_id}/stream",
        params={"max_seconds": 20},
        headers=dispatcher,
    ) as stream:
        lines = stream.iter_lines()
        while not next(lines).startswith("event: status"):
            pass
        revoked = client.delete(f"/v1/keys/{key_id}", headers=auth(keys[Role.admin]))
        assert revoked.status_code == 200, revoked.text
        start = time.monotonic()
        kinds = [line.removeprefix("event: ") for line in lines if "event:" in line]
        took = time.monotonic() - start
    assert kinds[-1:] == ["revoked"], kinds
    assert took < 5, f"the stream went on for {took:.1f} s"


@SQLITE
def test_expiring_key_ends_its_stream(app: FastAPI, client: TestClient) -> None:
    """A key that expires while streaming ends the stream (``expired``)."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    with app.state.sessionmaker.begin() as session:
        key = create_key(session, Role.dispatcher, "short", expires_at=expires)
    with app.state.sessionmaker.begin() as session:
        planner = create_key(session, Role.planner, "planner")
    order_id = next(iter(_orders(client, key, 1)))
    with client.stream(
        "GET",
        f"/v1/orders/{order_id}/stream",
        params={"max_seconds": 20},
        headers=auth(key),
    ) as stream:
        kinds = _read_until_end(stream)
    ended = dt.datetime.now(dt.UTC)
    assert kinds[0] == "status" and kinds[-1] == "expired", kinds
    assert (ended - expires).total_seconds() < 5
    # Another key's stream is unaffected: the plan stream of a planner is 404
    # for an unknown plan, not a refusal.
    got = client.get("/v1/plans/none/live/stream", headers=auth(planner))
    assert got.status_code == 404


# -- request rates ------------------------------------------------------------


# Slow refills (one request per 4 s): a loaded machine taking seconds over
# the burst must not refill the bucket before the refusal the test expects.
@SQLITE
@with_limits(rate_limit_per_key=0.25, rate_burst_per_key=3)
def test_rate_per_key(client: TestClient, keys: dict[Role, str]) -> None:
    """A burst past the bucket is refused until Retry-After has passed; other
    keys are not held back."""
    storefront = auth(keys[Role.storefront])
    for _ in range(3):
        assert client.get("/v1/orders/none/eta", headers=storefront).status_code == 404
    refused = client.get("/v1/orders/none/eta", headers=storefront)
    _refused(refused, "rate_limit_per_key")
    other = client.get("/v1/orders/none/eta", headers=auth(keys[Role.dispatcher]))
    assert other.status_code == 404
    time.sleep(int(refused.headers["retry-after"]))
    assert client.get("/v1/orders/none/eta", headers=storefront).status_code == 404
    assert _refusals(client, "rate_limit_per_key") == 1


@SQLITE
@with_limits(rate_limit_per_address=0.25, rate_burst_per_address=2)
def test_rate_per_address_on_public_routes(app: FastAPI, client: TestClient) -> None:
    """The tracking link and the web pages are limited per client address;
    the probes and the keyed routes are not."""
    assert client.get("/v1/track/no-such-token").status_code == 404
    assert client.get("/web/config.json").status_code == 200
    refused = client.get("/v1/track/no-such-token")
    _refused(refused, "rate_limit_per_address")
    assert refused.headers["cache-control"] == "no-store"
    for path in ("/healthz", "/readyz", "/metrics", "/v1/keys/me"):
        assert client.get(path).status_code != 429, path
    elsewhere = TestClient(app, client=("203.0.113.9", 40000))
    assert elsewhere.get("/v1/track/no-such-token").status_code == 404
    time.sleep(int(refused.headers["retry-after"]))
    assert client.get("/v1/track/no-such-token").status_code == 404
    assert _refusals(client, "rate_limit_per_address") == 1


@SQLITE
def test_no_limits_when_off(client: TestClient, keys: dict[Role, str]) -> None:
    """Limits set to 0 refuse nothing."""
    storefront = auth(keys[Role.storefront])
    for _ in range(50):
        assert client.get("/v1/orders/none/eta", headers=storefront).status_code == 404
        assert client.get("/v1/track/none").status_code == 404


@SQLITE
def test_429_is_in_the_openapi_description(client: TestClient) -> None:
    """Every limited operation declares 429 with Retry-After; the probes do not."""
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in (
        ("/v1/orders/{order_id}/eta", "get"),
        ("/v1/track/{token}", "get"),
        ("/v1/track/{token}/stream", "get"),
        ("/v1/events", "post"),
    ):
        response = paths[path][method]["responses"]["429"]
        assert PROBLEM_JSON in response["content"], path
        assert "Retry-After" in response["headers"], path
    assert "429" not in paths["/healthz"]["get"]["responses"]


# -- the parts ----------------------------------------------------------------


def test_token_bucket_refills_and_says_how_long_to_wait() -> None:
    """A bucket lets a burst through, then one request per 1/rate seconds."""
    buckets = TokenBuckets(rate=2, burst=2)
    assert buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == 1  # half a second, rounded up
    assert buckets.take("a", now=0.6) == 0
    assert TokenBuckets(rate=0.1, burst=1).take("b", now=0.0) == 0
    slow = TokenBuckets(rate=0.1, burst=1)
    slow.take("b", now=0.0)
    assert slow.take("b", now=1.0) == 9


def test_token_buckets_stay_bounded() -> None:
    """Past ``size`` callers the quiet ones are forgotten."""
    buckets = TokenBuckets(rate=1, burst=1, size=3)
    for i, caller in enumerate("abc"):
        buckets.take(caller, now=float(i))
    buckets.take("d", now=10.0)  # a, b and c are full again
    assert len(buckets) == 1


def test_stream_slots_count_each_claim() -> None:
    """A slot is taken under every claim and given back under every claim."""
    slots = StreamSlots({"token": 1, "address": 2}, total=0)
    assert slots.acquire([("token", "t1"), ("address", "x")]) is None
    assert slots.acquire([("token", "t1"), ("address", "x")]) == "token"
    assert slots.acquire([("token", "t2"), ("address", "x")]) is None
    assert slots.acquire([("token", "t3"), ("address", "x")]) == "address"
    slots.release([("token", "t1"), ("address", "x")])
    assert slots.held("token", "t1") == 0 and slots.held("address", "x") == 1
    assert slots.open_streams == 1


def test_public_paths() -> None:
    """Which paths the per-address rate applies to."""
    assert is_public_path("/v1/track/abc")
    assert is_public_path("/t/abc") and is_public_path("/openapi.json")
    assert not is_public_path("/v1/orders/x/eta")
    assert not any(is_public_path(p) for p in ("/healthz", "/readyz", "/metrics"))
