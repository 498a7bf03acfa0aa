"""The API's documentation pages, served from the installed npm assets.

``/docs`` (Swagger UI) and ``/redoc`` are FastAPI's own pages, but their
scripts and styles come from ``api/web/node_modules`` under
``/static/vendor/`` instead of a CDN, so they work without internet. Both
read ``/openapi.json``. Swagger UI starts from an inline script: the page's
Content-Security-Policy allows exactly that script, by its SHA-256 hash, and
no other inline script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from api.web import pages

__all__ = ["OAUTH2_REDIRECT", "install", "router"]

#: Where Swagger UI sends an OAuth2 login back to (FastAPI's default path).
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

#: The vendor files each page loads (names of :data:`pages.VENDOR_FILES`).
SWAGGER_FILES = ("swagger-ui.js", "swagger-ui.css", "swagger-ui.png")
REDOC_FILES = ("redoc.js", "swagger-ui.png")

router = APIRouter(include_in_schema=False)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _csp(body: str) -> str:
    """Our origin only, plus the page's own inline scripts by their hashes.

    Styles may be inline (both libraries set style attributes; Redoc writes
    its style sheet at run time); Redoc's search runs in a worker it makes
    from a ``blob:`` URL.
    """
    hashes = "".join(
        " 'sha256-"
        + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        + "'"
        for s in _INLINE_SCRIPT.findall(body)
    )
    return (
        f"default-src 'self'; script-src 'self'{hashes}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _page(page: HTMLResponse, files: tuple[str, ...]) -> Response:
    """``page`` with its policy, or the install page if its files are missing."""
    missing = pages.missing_assets(files)
    if missing:
        return pages.not_installed(missing)
    body = bytes(page.body).decode()
    return HTMLResponse(
        body,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _csp(body),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _urls(request: Request) -> tuple[str, str]:
    """The root path (behind a proxy) and the OpenAPI description's URL."""
    root = request.scope.get("root_path", "").rstrip("/")
    return root, root + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    """Swagger UI: every operation, and "Try it out" against this service."""
    root, openapi = _urls(request)
    page = get_swagger_ui_html(
        openapi_url=openapi,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}/static/vendor/swagger-ui.js",
        swagger_css_url=f"{root}/static/vendor/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/vendor/swagger-ui.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        # No badge from the online validator: nothing leaves this origin.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _page(page, SWAGGER_FILES)


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> Response:
    """Where an OAuth2 login opened from Swagger UI returns to."""
    return _page(get_swagger_ui_oauth2_redirect_html(), ())


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """Redoc: the API reference on one page."""
    root, openapi = _urls(request)
    page = get_redoc_html(
        openapi_url=openapi,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}/static/vendor/redoc.js",
        redoc_favicon_url=f"{root}/static/vendor/swagger-ui.png",
        with_google_fonts=False,
    )
    return _page(page, REDOC_FILES)


def install(app: FastAPI) -> None:
    """Add the documentation pages to ``app`` (built with ``docs_url=None``)."""
    app.include_router(router)
