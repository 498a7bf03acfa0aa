"""Errors as RFC 9457 problem details, and the request body size limit.

Every error the service answers is ``application/problem+json`` with
``type``, ``title``, ``status``, ``detail`` and ``instance``; validation
errors add ``errors: [{"field": "body.orders[3].lat", "reason": "..."}]``,
server errors add ``request_id`` and refusals by a limit (429) add ``limit``,
the setting that refused (:mod:`api.limits`).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence, Sized
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    field_path,
)

__all__ = [
    "PROBLEM_JSON",
    "BodySizeLimitMiddleware",
    "ControlCharacterMiddleware",
    "FieldError",
    "InvalidInput",
    "Problem",
    "TooManyRequests",
    "check_max_items",
    "field_path",
    "install_error_handlers",
    "problem_response",
    "problem_responses",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("milepost.errors")


class Problem(BaseModel):
    """An RFC 9457 problem detail (the body of every error response)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None
    #: On a 429: the setting of the limit that refused the request.
    limit: str | None = None


_REF = "#/components/schemas/{model}"
_TOO_MANY: dict[str, Any] = {
    "description": "Too many requests or open streams (``limit`` names which)",
    "headers": {
        "Retry-After": {
            "description": "seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem media type."""

    media_type = PROBLEM_JSON


def problem_response(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """A problem+json response for ``request``.

    Parameters
    ----------
    request
        The request being answered; its path becomes ``instance``.
    status
        HTTP status; its phrase becomes ``title``.
    detail
        What went wrong, for a human.
    headers
        Extra response headers (e.g. ``WWW-Authenticate``).
    **extra
        More members (``errors``, ``request_id``, ...).
    """
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem bodies."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}} for status in statuses
    }


class InvalidInput(HTTPException):
    """A 422 naming the fields at fault, for checks pydantic cannot make."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None):
        super().__init__(422, detail or _invalid_detail(len(errors)))
        self.errors = list(errors)


class TooManyRequests(HTTPException):
    """A 429 naming the limit that refused the request (:mod:`api.limits`).

    Parameters
    ----------
    limit
        The limit's setting, e.g. ``rate_limit_per_key``.
    retry_after
        Whole seconds to wait (>= 1), sent as ``Retry-After``.
    detail
        What was exceeded, for a human.
    """

    def __init__(self, limit: str, retry_after: int, detail: str) -> None:
        super().__init__(429, detail, headers={"Retry-After": str(retry_after)})
        self.limit = limit
        self.retry_after = retry_after
        self.detail: str = detail


def check_max_items(items: Sized, field: str, max_items: int) -> None:
    """Refuse (422) a list longer than ``max_items`` (``Settings.max_list_items``).

    Parameters
    ----------
    items
        The list the client sent.
    field
        Its path, as clients see it (e.g. ``"body.orders"``).
    max_items
        The most items allowed.
    """
    if len(items) > max_items:
        reason = f"at most {max_items} items, got {len(items)}"
        raise InvalidInput([FieldError(field=field, reason=reason)])


def _invalid_detail(n: int) -> str:
    return "1 field is invalid" if n == 1 else f"{n} fields are invalid"


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            # The location is a character offset, not a field.
            reason = f"invalid JSON: {err.get('ctx', {}).get('error', err['msg'])}"
            errors.append(FieldError(field=field_path(loc[:1]), reason=reason))
        else:
            errors.append(FieldError(field=field_path(loc), reason=err["msg"]))
    return errors


def request_id(request: Request) -> str | None:
    """The id the request context middleware gave this request."""
    return getattr(request.state, "request_id", None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path.

    Starlette's 405 names only the methods of the first route whose path
    matched; ``GET /v1/plans`` and ``POST /v1/plans`` are two routes.
    """
    path = request.url.path
    methods: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        route_methods = getattr(ctx.original_route, "methods", None)
        if ctx.path and route_methods and compile_path(ctx.path)[0].match(path):
            methods |= set(route_methods)
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["errors"] = [e.model_dump() for e in exc.errors]
    elif isinstance(exc, TooManyRequests):
        extra["limit"] = exc.limit
    headers = exc.headers
    if exc.status_code == 405:
        allow = allowed_methods(request)
        if allow:
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
    return problem_response(request, exc.status_code, detail, headers=headers, **extra)


_STATUS: dict[type[ServiceError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
}


async def _service_error(request: Request, exc: Exception) -> ProblemResponse:
    """A refusal of a service: 403, 404, 409 or 422 (with the fields at fault)."""
    assert isinstance(exc, ServiceError)
    if isinstance(exc, Invalid):
        errors = [e.model_dump() for e in exc.errors]
        detail = exc.detail or _invalid_detail(len(exc.errors))
        return problem_response(request, 422, detail, errors=errors)
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 409)
    return problem_response(request, status, str(exc))


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    return problem_response(
        request,
        422,
        _invalid_detail(len(errors)),
        errors=[e.model_dump() for e in errors],
    )


async def _data_error(request: Request, exc: Exception) -> ProblemResponse:
    """The database refused a value of the request (a backstop: the models'
    bounds should catch it first, naming the field)."""
    assert isinstance(exc, DataError)
    reason = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
    log.warning("the database refused a value of %s: %s", request.url.path, reason)
    errors = [{"field": "body", "reason": f"the database cannot hold it: {reason}"}]
    return problem_response(request, 422, _invalid_detail(1), errors=errors)


async def _server_error(request: Request, exc: Exception) -> ProblemResponse:
    rid = request_id(request)
    log.error(
        "unhandled error in %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": rid},
    )
    headers = {"X-Request-ID": rid} if rid else None
    return problem_response(
        request,
        500,
        "internal error; quote the request id when reporting it",
        headers=headers,
        request_id=rid,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem+json response, and say so.

    The OpenAPI description is corrected to match: FastAPI documents its own
    422 body (``HTTPValidationError``, ``application/json``) on every route
    with parameters, and error entries inherit the route's JSON media type.
    """
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _server_error)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


#: What :class:`ControlCharacterMiddleware` lets through in a path or query
#: value: no character of category Cc (exactly these two ranges).
NO_CONTROL_CHARACTERS = "^[^\u0000-\u001f\u007f-\u009f]*$"


def _no_control_characters(schema: dict[str, Any]) -> None:
    """Say in a parameter's schema what the middleware refuses."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "format" not in option:
            option.setdefault("pattern", NO_CONTROL_CHARACTERS)


def problem_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every 4xx/5xx response as ``application/problem+json``.

    Operations with a body also document 400 (unreadable) and 413 (too large);
    every operation but the ops probes (tag ``ops``) documents 429 with
    ``Retry-After``: it is rate limited per key or per address (:mod:`api.limits`).
    String parameters in the path and the query say they hold no control
    character (:class:`ControlCharacterMiddleware` refuses them).

    Parameters
    ----------
    document
        An OpenAPI document as FastAPI generates it; changed in place.

    Returns
    -------
    dict
        The same document, ``Problem`` in its components, FastAPI's
        validation-error schemas gone.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        problem_schema = Problem.model_json_schema(ref_template=_REF)
        for name, definition in problem_schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas["Problem"] = problem_schema
    problem = {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model="Problem")}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                # Any body can be unreadable (400) or too large (413).
                responses.setdefault("400", {"description": "Unreadable body"})
                responses.setdefault("413", {"description": "Body too large"})
            if "ops" not in operation.get("tags", ()):
                responses.setdefault("429", dict(_TOO_MANY))
            for code, response in responses.items():
                if str(code)[0] in "45":
                    response["content"] = dict(problem)
                    if str(code) == "422":
                        response["description"] = "Invalid input (field paths)"
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") in ("path", "query"):
                    _no_control_characters(parameter.get("schema", {}))
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return document


class BodyTooLarge(HTTPException):
    """The request body is over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodySizeLimitMiddleware:
    """Answer 413 to bodies over ``max_bytes`` without reading them whole.

    A declared ``Content-Length`` over the limit is refused before the app
    runs; a streamed body is counted as it is read, and reading past the
    limit raises :class:`BodyTooLarge`, which the error handlers turn into
    the same 413.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, paths: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Routes that take larger bodies (a history upload), by exact path.
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._refuse(scope, receive, send)
                    return
                break

        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Only reached when the body was read outside FastAPI's handlers.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        limit = self.paths.get(scope["path"], self.max_bytes)
        detail = f"request body is larger than {limit} bytes"
        response = problem_response(
            request, 413, detail, headers={"Connection": "close"}
        )
        await response(scope, receive, send)


def _control_character(text: str) -> str | None:
    """The first control character (NUL...) or lone surrogate in ``text``."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


class ControlCharacterMiddleware:
    """Refuse control characters in the path (404) and the query (422).

    No id can hold one (:mod:`routing.bounds`), so a path with, say,
    ``%00`` names nothing: 404, before a route passes it to a database that
    cannot even compare it (PostgreSQL refuses NUL in text). A query
    parameter with one is a 422 naming it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the decoded path and query, then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        bad = _control_character(scope["path"])
        if bad is not None:
            detail = f"nothing here: the path contains the control character {bad}"
            await problem_response(request, 404, detail)(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        errors = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            bad = _control_character(name) or _control_character(value)
            if bad is not None:
                reason = f"contains the control character {bad}"
                errors.append({"field": f"query.{name}", "reason": reason})
        if errors:
            response = problem_response(
                request, 422, _invalid_detail(len(errors)), errors=errors
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer under ``prefix``.

    A customer's tracking link carries a secret token and a live position:
    no shared or browser cache may keep the answer.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header to answers of paths under the prefix."""
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.lower() != b"cache-control"
                ]
                message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_no_store)
