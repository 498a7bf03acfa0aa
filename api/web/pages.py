"""Routes of the web pages, their static files and the map's base layer.

Pages live outside ``/v1`` and out of the OpenAPI schema: they are files for
browsers, which then call the API like any other client. A page's script
asks for an API key (kept in the tab's ``sessionStorage``) and sends it in
the ``X-API-Key`` header, never in a URL; the tracking page needs none.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.deps import SessionDep, SettingsDep
from api.services.tracking_views import link_exists
from api.settings import Settings
from api.web.basemap import city_geojson

__all__ = ["VENDOR_FILES", "install", "missing_assets", "router"]

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
NODE_MODULES = WEB / "node_modules"

#: What the pages load from the npm packages: URL name -> file in node_modules.
#: Only these are served, so nothing else of node_modules is exposed.
VENDOR_FILES: dict[str, str] = {
    "leaflet.js": "leaflet/dist/leaflet-src.esm.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "chart.js": "chart.js/dist/chart.umd.min.js",
}

_INSTALL = "npm ci --prefix api/web"

router = APIRouter(include_in_schema=False)

Token = Annotated[str, PathParam(min_length=1, max_length=64)]


def missing_assets() -> list[str]:
    """The npm packages' files the pages need that are not installed."""
    return [f for f in VENDOR_FILES.values() if not (NODE_MODULES / f).is_file()]


def _tile_origin(url: str) -> str | None:
    """The origin of a tile URL template, ``{s}.`` subdomains as a wildcard."""
    parts = urlsplit(url.replace("{s}.", ""))
    if not parts.scheme or not parts.netloc:
        return None
    host = f"*.{parts.netloc}" if "{s}." in url else parts.netloc
    return f"{parts.scheme}://{host}"


def _csp(settings: Settings) -> str:
    """Only our own origin, plus the tile server's images when one is set."""
    images = "'self' data:"
    origin = _tile_origin(settings.tile_url) if settings.tile_url else None
    if origin:
        images += f" {origin}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _not_installed(missing: list[str]) -> HTMLResponse:
    """A page that says how to install the assets, instead of a broken page."""
    files = "".join(f"<li><code>{html.escape(f)}</code></li>" for f in missing)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>milepost: web assets not installed</title></head>
<body><main>
<h1>The web pages' assets are not installed</h1>
<p>Install them from the npm registry, from the repository's root:</p>
<pre><code>{_INSTALL}</code></pre>
<p>then reload this page. Missing:</p><ul>{files}</ul>
</main></body></html>"""
    return HTMLResponse(body, status_code=503)


def _page(settings: Settings, name: str, status_code: int = 200) -> Response:
    missing = missing_assets()
    if missing:
        return _not_installed(missing)
    return FileResponse(
        STATIC / name,
        status_code=status_code,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _csp(settings),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/console")
def console_page(settings: SettingsDep) -> Response:
    """The dispatcher console: a day's routes on the map, live."""
    return _page(settings, "console.html")


@router.get("/planner")
def planner_page(settings: SettingsDep) -> Response:
    """The planner view: forecasts against history, scenario comparisons."""
    return _page(settings, "planner.html")


@router.get("/t/{token}")
def tracking_page(token: Token, settings: SettingsDep, session: SessionDep) -> Response:
    """The customer's tracking page (404 with the same page for an unknown link).

    ``Referrer-Policy: no-referrer`` keeps the link, which is the customer's
    only credential, out of other sites' logs.
    """
    found = link_exists(session, token)
    return _page(settings, "track.html", 200 if found else 404)


@router.get("/web/config.json")
def web_config(settings: SettingsDep) -> dict[str, str | None]:
    """What the pages' scripts need from the settings: the tile layer, if any."""
    return {
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
    }


@router.get("/web/city.geojson")
def city_layer() -> Response:
    """The base layer: districts, roads and depots of the embedded city."""
    return Response(
        city_geojson(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/static/vendor/{name}")
def vendor_file(name: str) -> FileResponse:
    """One of :data:`VENDOR_FILES` from ``node_modules``."""
    rel = VENDOR_FILES.get(name)
    if rel is None:
        raise HTTPException(404, f"no vendor file {name}")
    path = NODE_MODULES / rel
    if not path.is_file():
        raise HTTPException(503, f"the web assets are not installed: run {_INSTALL}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


def install(app: FastAPI) -> None:
    """Add the pages, the base layer and the static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
