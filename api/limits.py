"""Limits on what one caller may ask of a process: request rates and open streams.

Why: one client could otherwise take the event loop and the worker threads
from everyone else. 300 anonymous streams on one tracking token (each polls
the database every second) raised the ETA p99 at 50 req/s from ~50 ms to
894 ms; a runaway script with a storefront key can do the same with plain
requests.

* **Rates** are token buckets: per API key on the routes that need one
  (checked in :func:`api.deps.require`, once the key is known), per client
  address on the routes that need none (:class:`AddressRateLimitMiddleware`).
* **Streams** (Server-Sent Events) are counted while open: per tracking
  token, per API key, per client address (public streams) and in all
  (:class:`LimitedStream`). A stream gives its slot back however it ends:
  finished, failed, or the client went away.

Over a limit the caller gets 429 with ``Retry-After`` (whole seconds, at
least 1) and a problem body whose ``limit`` names the setting that refused
it (:mod:`api.settings`); ``milepost_rate_limited_total{limit=...}`` counts
the refusals.

Everything here lives in one process's memory and runs on its event loop:
a few dict operations per request, no lock, no thread hop, no database.
With N API processes each enforces its own limits, so the effective limit
for a caller spread over them is up to N times the setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterable, Hashable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from prometheus_client import Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import TooManyRequests, problem_response
from api.settings import Settings
from api.telemetry import Metrics

__all__ = [
    "STREAM_RETRY_SECONDS",
    "AddressRateLimitMiddleware",
    "LimitedStream",
    "Limits",
    "StreamSlots",
    "TokenBuckets",
    "is_public_path",
]

#: ``Retry-After`` of a stream refused for being one too many: a slot frees
#: only when another stream of the same caller ends, which no one can foresee.
STREAM_RETRY_SECONDS = 5
#: Paths without a key that are never limited: probes and scrapers must get
#: through when everything else is refused.
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_public_path(path: str) -> bool:
    """Whether ``path`` is served without an API key (and is no ops probe).

    Every ``/v1`` route needs a key except the customer's tracking link;
    everything outside ``/v1`` (web pages, static files, the OpenAPI
    description) needs none.
    """
    if path.startswith("/v1/"):
        return path.startswith("/v1/track/")
    return path not in OPS_PATHS


class TokenBuckets:
    """One token bucket per caller: ``rate`` tokens a second, at most ``burst``.

    A request takes a token; with none left it waits. Buckets are refilled
    lazily from the time of their last use, so a request costs one dict
    lookup and some arithmetic.

    Parameters
    ----------
    rate
        Tokens added per second (> 0).
    burst
        Most tokens a bucket holds (>= 1): requests allowed at once.
    size
        Most buckets kept; past it, buckets that are full again (their
        caller was quiet long enough) are dropped, and if that is not
        enough, all of them.
    """

    def __init__(self, rate: float, burst: int, size: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, not {rate}, {burst}")
        self.rate = rate
        self.burst = float(burst)
        self.size = size
        #: caller -> [tokens at the last use, time of the last use]
        self._buckets: dict[Hashable, list[float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, caller: Hashable, now: float | None = None) -> int:
        """Take a token for ``caller``: 0 if it may go on, else seconds to wait."""
        if now is None:
            now = time.monotonic()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.size:
                self._prune(now)
            self._buckets[caller] = [self.burst - 1.0, now]
            return 0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0
        bucket[0] = tokens
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _prune(self, now: float) -> None:
        """Forget the full buckets (amortised: runs once per ``size`` new callers)."""
        full = [
            caller
            for caller, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for caller in full:
            del self._buckets[caller]
        if len(self._buckets) >= self.size:
            self._buckets.clear()


#: A stream's claims: ``(kind, value)``, kind ``token``, ``key`` or ``address``.
Claims = Sequence[tuple[str, Hashable]]


class StreamSlots:
    """Open streams, counted per claim and in all.

    Parameters
    ----------
    caps
        Most streams open at once per value of each kind of claim
        (``{"token": 3, "key": 20, "address": 10}``); 0 or missing: no cap.
    total
        Most streams open at once in the process (0: no cap).
    """

    def __init__(self, caps: Mapping[str, int], total: int) -> None:
        self.caps = dict(caps)
        self.total = total
        self.open_streams = 0
        self._open: dict[tuple[str, Hashable], int] = {}

    def full(self, claims: Claims) -> str | None:
        """The kind of claim that is at its cap (``"total"`` for the process)."""
        if self.total and self.open_streams >= self.total:
            return "total"
        for claim in claims:
            cap = self.caps.get(claim[0], 0)
            if cap and self._open.get(claim, 0) >= cap:
                return claim[0]
        return None

    def acquire(self, claims: Claims) -> str | None:
        """Take a slot under every claim; the full kind instead if one is full."""
        refused = self.full(claims)
        if refused is None:
            for claim in claims:
                self._open[claim] = self._open.get(claim, 0) + 1
            self.open_streams += 1
        return refused

    def release(self, claims: Claims) -> None:
        """Give back the slots :meth:`acquire` took."""
        for claim in claims:
            left = self._open.get(claim, 0) - 1
            if left > 0:
                self._open[claim] = left
            else:
                self._open.pop(claim, None)
        self.open_streams -= 1

    def held(self, kind: str, value: Hashable) -> int:
        """Streams open now under one claim."""
        return self._open.get((kind, value), 0)


#: The setting named in a refusal, by what was refused.
_STREAM_SETTING = {
    "token": "stream_limit_per_token",
    "key": "stream_limit_per_key",
    "address": "stream_limit_per_address",
    "total": "stream_limit_total",
}


class Limits:
    """An app's limits (one per app, on ``app.state.limits``), from its settings.

    A limit set to 0 is off: its buckets are None, its cap absent.
    """

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.per_key = (
            TokenBuckets(settings.rate_limit_per_key, settings.rate_burst_per_key)
            if settings.rate_limit_per_key > 0
            else None
        )
        self.per_address = (
            TokenBuckets(
                settings.rate_limit_per_address, settings.rate_burst_per_address
            )
            if settings.rate_limit_per_address > 0
            else None
        )
        self.streams = StreamSlots(
            {
                "token": settings.stream_limit_per_token,
                "key": settings.stream_limit_per_key,
                "address": settings.stream_limit_per_address,
            },
            settings.stream_limit_total,
        )
        self._refused = metrics.rate_limited
        Gauge(
            "milepost_open_streams",
            "Server-Sent Event streams open in this process",
            registry=metrics.registry,
        ).set_function(lambda: self.streams.open_streams)

    def check_key(self, key_id: int) -> None:
        """Count a request of an API key; raise 429 past its rate."""
        if self.per_key is not None:
            wait = self.per_key.take(key_id)
            if wait:
                self._refuse_rate("rate_limit_per_key", wait)

    def _refuse_rate(self, setting: str, wait: int) -> None:
        self._refused.labels(setting).inc()
        rate = getattr(self.settings, setting)
        burst = getattr(self.settings, setting.replace("limit", "burst"))
        raise TooManyRequests(
            setting,
            wait,
            f"over {rate:g} requests/s (bursts of {burst}) "
            f"{'per API key' if setting.endswith('key') else 'per client address'}; "
            f"retry after {wait} s",
        )

    def check_address(self, address: str) -> int:
        """Count a request of a client address: 0, or seconds to wait (refused)."""
        if self.per_address is None:
            return 0
        wait = self.per_address.take(address)
        if wait:
            self._refused.labels("rate_limit_per_address").inc()
        return wait

    def stream_refusal(self, claims: Claims) -> TooManyRequests | None:
        """The 429 for one more stream under ``claims`` if a cap is reached."""
        kind = self.streams.full(claims)
        return None if kind is None else self._stream_refused(kind)

    def _stream_refused(self, kind: str) -> TooManyRequests:
        setting = _STREAM_SETTING[kind]
        self._refused.labels(setting).inc()
        cap = getattr(self.settings, setting)
        where = "in this process" if kind == "total" else f"per {kind}"
        detail = (
            f"at most {cap} open streams {where} ({setting}); close one or "
            f"retry after {STREAM_RETRY_SECONDS} s"
        )
        return TooManyRequests(setting, STREAM_RETRY_SECONDS, detail)

    def acquire_stream(self, claims: Claims) -> TooManyRequests | None:
        """Open a stream under ``claims``; the 429 instead if a cap is reached."""
        kind = self.streams.acquire(claims)
        return None if kind is None else self._stream_refused(kind)


class LimitedStream(StreamingResponse):
    """A streaming response that holds a stream slot while it is being sent.

    The slot is taken when the response starts (on the event loop, so no
    lock is needed) and given back in ``finally``: when the stream ends, when
    the client disconnects (Starlette cancels the response), when sending
    fails. If a cap is reached by then, a 429 problem is sent instead.
    """

    def __init__(
        self,
        content: AsyncIterable[str],
        *,
        limits: Limits,
        claims: Claims,
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.limits = limits
        self.claims = tuple(claims)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stream inside a slot, or 429 when none is free."""
        refused = self.limits.acquire_stream(self.claims)
        if refused is not None:
            await refusal(Request(scope, receive), refused)(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.limits.streams.release(self.claims)


def refusal(request: Request, exc: TooManyRequests) -> Any:
    """The 429 problem response for ``exc``."""
    return problem_response(
        request,
        429,
        exc.detail,
        headers={"Retry-After": str(exc.retry_after)},
        limit=exc.limit,
    )


class AddressRateLimitMiddleware:
    """The request rate of each client address on the routes without a key.

    The address is the connection's peer as uvicorn reports it: behind a
    reverse proxy, the proxy's, unless uvicorn trusts its
    ``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``). Keyed routes are limited
    per key instead, in :func:`api.deps.require`.
    """

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse (429) a public request over its address's rate."""
        if (
            scope["type"] == "http"
            and self.limits.per_address is not None
            and is_public_path(scope["path"])
        ):
            client = scope.get("client")
            wait = self.limits.check_address(client[0] if client else "")
            if wait:
                detail = (
                    f"over {self.limits.settings.rate_limit_per_address:g} requests/s "
                    f"(bursts of {self.limits.settings.rate_burst_per_address}) per "
                    f"client address; retry after {wait} s"
                )
                exc = TooManyRequests("rate_limit_per_address", wait, detail)
                await refusal(Request(scope, receive), exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
