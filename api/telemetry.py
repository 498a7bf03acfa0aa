"""Request ids, access logs and Prometheus metrics, in one cheap middleware."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from routing.plan import Plan

__all__ = [
    "FALLBACKS",
    "PLAN_KINDS",
    "JsonFormatter",
    "Metrics",
    "RequestContextMiddleware",
    "RequestIdFilter",
    "current_request_id",
    "logging_config",
]

access_log = logging.getLogger("milepost.access")

# A client's request id is echoed into logs and headers: accept only tame ones
# (1-128 printable ASCII characters, no space at either end); else make one.
_SAFE_ID = re.compile(rb"[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?")
#: The id of the request being answered (None outside a request).
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Give every log record the id of the request it was logged in ("-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``request_id`` unless the record names one already."""
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get() or "-"
        return True


UNMATCHED = "<unmatched>"  # one label for every unknown path, not one per path
#: How a plan is made when the search asked for finds none (``Plan.fallback``).
FALLBACKS = ("more_time", "insertion")
#: Job kinds that store plans (``plan``, ``reoptimize``).
PLAN_KINDS = ("plan", "reoptimize")


@dataclass
class Metrics:
    """The app's own Prometheus registry (apps in one process stay apart)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "milepost_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "milepost_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=(
                0.001,
                0.0025,
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1,
                2.5,
                10,
            ),
            registry=self.registry,
        )
        # Exposed as milepost_rate_limited_total{limit="rate_limit_per_key"}.
        self.rate_limited = Counter(
            "milepost_rate_limited",
            "Requests refused with 429 by a limit (named by its setting)",
            ["limit"],
            registry=self.registry,
        )
        # Exposed as milepost_plans_fallback_total{kind="plan",fallback="insertion"}.
        self.plans_fallback = Counter(
            "milepost_plans_fallback",
            "Plans stored by this process's job runner that a fallback made "
            "(the search asked for found none), by job kind and fallback",
            ["kind", "fallback"],
            registry=self.registry,
        )
        for kind in PLAN_KINDS:
            for fallback in FALLBACKS:  # every series shows, at 0 until one counts
                self.plans_fallback.labels(kind, fallback)

    def plan_stored(self, kind: str, plan: Plan) -> None:
        """Count a stored plan of a ``kind`` job if a fallback made it."""
        if plan.fallback is not None:
            self.plans_fallback.labels(kind, plan.fallback).inc()


class RequestContextMiddleware:
    """Give each request an id, then count, time and log it.

    Pure ASGI (no ``BaseHTTPMiddleware``): it adds one wrapper around ``send``
    and no task or body copy, so it stays cheap on hot endpoints.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._routes: dict[int, str] = {}

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        found = self._routes.get(id(route))
        if found is None:
            # Included routers report the route without their prefix: map each
            # route object to its full path template, rebuilt on an unseen route.
            routes = getattr(scope.get("app"), "routes", [])
            # path_format: "/v1/keys/{key_id}", not "{key_id:int}".
            self._routes = {
                id(ctx.original_route): ctx.path_format or ctx.path
                for ctx in iter_route_contexts(routes)
                if ctx.path
            }
            found = self._routes.setdefault(
                id(route), getattr(route, "path", UNMATCHED)
            )
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag, time and record one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if _SAFE_ID.fullmatch(value):
                    rid = value.decode("ascii")
                break
        if rid is None:
            rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        context = current_request_id.set(rid)
        header = (b"x-request-id", rid.encode("ascii"))
        status = 500  # stays so if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = self._template(scope)
            method = scope["method"]
            labels = (method, route, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                ms = round(elapsed * 1000, 2)
                access_log.info(
                    "%s %s %d %.2fms",
                    method,
                    scope["path"],
                    status,
                    ms,
                    extra={
                        "request_id": rid,
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": ms,
                    },
                )
            current_request_id.reset(context)


_RECORD_FIELDS = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    | {"message", "asctime", "color_message"}  # uvicorn adds a colored copy
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def logging_config(*, json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server (milepost and uvicorn).

    Uvicorn's own access log is replaced by ``milepost.access``.
    """
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if json_lines
        else {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
        }
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["request_id"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "milepost": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "propagate": False},
            "alembic": {"handlers": ["default"], "level": "WARNING"},
        },
    }
