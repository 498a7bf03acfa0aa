"""Routes of the web pages, their static files and the map's base layer.

Pages live outside ``/v1`` and out of the OpenAPI schema: they are files for
browsers, which then call the API like any other client. A page's script
asks for an API key (kept in the tab's ``sessionStorage``) and sends it in
the ``X-API-Key`` header, never in a URL; the tracking page needs none.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.deps import SessionDep, SettingsDep
from api.services.tracking_views import link_exists
from api.settings import Settings
from api.web.basemap import city_geojson

__all__ = [
    "VENDOR_FILES",
    "Asset",
    "install",
    "minified",
    "missing_assets",
    "not_installed",
    "router",
]

log = logging.getLogger("milepost.web")

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
NODE_MODULES = WEB / "node_modules"

#: What the pages load from the npm packages: URL name -> file in node_modules.
#: Only these are served, so nothing else of node_modules is exposed.
VENDOR_FILES: dict[str, str] = {
    "leaflet.js": "leaflet/dist/leaflet-src.esm.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "chart.js": "chart.js/dist/chart.umd.min.js",
    # The API's documentation pages (api/web/docs.py): /docs and /redoc.
    "swagger-ui.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui.png": "swagger-ui-dist/favicon-32x32.png",
    "redoc.js": "redoc/bundles/redoc.standalone.js",
}
#: Vendor files the packages ship unminified (Leaflet has no minified ES
#: module build): minified when served, like the pages' own scripts.
MINIFY_VENDOR = frozenset({"leaflet.js", "leaflet.css"})

#: Our own files are revalidated on every load (a 304 when unchanged);
#: the pinned vendor files may be reused for an hour.
OWN_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=3600"

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

_INSTALL = "npm ci --prefix api/web"

router = APIRouter(include_in_schema=False)

Token = Annotated[str, PathParam(min_length=1, max_length=64)]


def missing_assets(names: Iterable[str] | None = None) -> list[str]:
    """The npm packages' files the pages need that are not installed.

    ``names`` (URL names of :data:`VENDOR_FILES`) limits the check to the
    files one page loads; by default every listed file is checked.
    """
    files = VENDOR_FILES.values() if names is None else map(VENDOR_FILES.get, names)
    return [f for f in files if f and not (NODE_MODULES / f).is_file()]


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


def not_installed(missing: list[str]) -> HTMLResponse:
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
    """A page with the deployment's locale in a meta tag, which the scripts
    read (``LOCALE`` in common.js) to show times and money as it says."""
    missing = missing_assets()
    if missing:
        return not_installed(missing)
    locale = settings.locale
    meta = html.escape(f"{locale.timezone}|{locale.currency}|{locale.minor_units}")
    page = (
        (STATIC / name)
        .read_text(encoding="utf-8")
        .replace(
            "</head>", f'<meta name="milepost-locale" content="{meta}">\n</head>', 1
        )
    )
    return HTMLResponse(
        page,
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


@router.api_route("/static/vendor/{name}", methods=["GET", "HEAD"])
def vendor_file(name: str, request: Request) -> Response:
    """One of :data:`VENDOR_FILES` from ``node_modules``."""
    rel = VENDOR_FILES.get(name)
    if rel is None:
        raise HTTPException(404, f"no vendor file {name}")
    path = NODE_MODULES / rel
    if not path.is_file():
        raise HTTPException(503, f"the web assets are not installed: run {_INSTALL}")
    if path.suffix not in _MEDIA_TYPES:
        return FileResponse(path, headers={"Cache-Control": VENDOR_CACHE})
    asset = _load(path, shrink=name in MINIFY_VENDOR)
    return asset.response(request, VENDOR_CACHE)


@router.api_route("/static/{name}.js", methods=["GET", "HEAD"])
def own_script(name: str, request: Request) -> Response:
    """A page's own ES module, minified."""
    return _own(name + ".js", request)


@router.api_route("/static/{name}.css", methods=["GET", "HEAD"])
def own_style(name: str, request: Request) -> Response:
    """A page's own style sheet, minified."""
    return _own(name + ".css", request)


def _own(name: str, request: Request) -> Response:
    path = STATIC / name
    if path.parent != STATIC or not path.is_file():
        raise HTTPException(404, f"no static file {name}")
    return minified(path).response(request, OWN_CACHE)


# -- minified, compressed assets ------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """A script or style sheet as served: its bytes, gzipped once, and tag.

    The ETag is a hash of the served bytes, strong, with ``-gzip`` added for
    the compressed form (another representation of the same file).
    """

    body: bytes
    gzipped: bytes
    tag: str
    media_type: str

    def response(self, request: Request, cache_control: str) -> Response:
        """The asset for ``request``: gzipped if accepted, 304 if unchanged."""
        gz = accepts_gzip(request.headers.get("accept-encoding", ""))
        etag = f'"{self.tag}-gzip"' if gz else f'"{self.tag}"'
        headers = {
            "ETag": etag,
            "Cache-Control": cache_control,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        match = request.headers.get("if-none-match", "")
        if match.strip() == "*" or self.tag in _etags(match):
            return Response(status_code=304, headers=headers)
        if gz:
            headers["Content-Encoding"] = "gzip"
        return Response(
            self.gzipped if gz else self.body,
            media_type=self.media_type,
            headers=headers,
        )


_ETAG = re.compile(r'(?:W/)?"([^"]*)"')


def _etags(header: str) -> set[str]:
    """The tags of an ``If-None-Match`` header, without a ``-gzip`` suffix."""
    return {t.removesuffix("-gzip") for t in _ETAG.findall(header)}


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (q above 0)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip().lower().removeprefix("q=")
        try:
            return not params.strip() or float(quality) > 0
        except ValueError:
            return True
    return False


#: Each file as served, by path, with the mtime and size it was read at.
_CACHE: dict[Path, tuple[int, int, Asset]] = {}

#: The file's leading comment, kept when it is a licence or copyright notice.
_LEADING_COMMENT = re.compile(r"\A\s*(/\*.*?\*/)", re.S)
_NOTICE_WORDS = ("@preserve", "@license", "(c)", "©", "copyright")


def minified(path: Path) -> Asset:
    """``path`` (a ``.js`` ES module or ``.css`` file), minified.

    Minified once per version of the file (its mtime and size) and kept in
    memory, with its gzipped bytes. The minifier (tdewolff/minify) parses
    the code, so template literals, regular expressions, optional chaining
    and ``import``/``export`` come out as they went in; a leading licence
    notice is kept. A file it cannot parse is served as it is.
    """
    return _load(path, shrink=True)


def _load(path: Path, *, shrink: bool) -> Asset:
    """``path`` as served, from the cache while the file is unchanged."""
    stat = path.stat()
    found = _CACHE.get(path)
    if found is not None and found[:2] == (stat.st_mtime_ns, stat.st_size):
        return found[2]
    raw = path.read_bytes()
    body = _minify(raw, path) if shrink else raw
    asset = Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        tag=hashlib.sha256(body).hexdigest()[:32],
        media_type=_MEDIA_TYPES[path.suffix],
    )
    _CACHE[path] = (stat.st_mtime_ns, stat.st_size, asset)
    return asset


def _minify(raw: bytes, path: Path) -> bytes:
    # Imported on first use: it loads a Go runtime (a shared library), which
    # only the process serving the pages needs, never a job's worker.
    import minify  # type: ignore[import-untyped]

    text = raw.decode("utf-8")
    kind = "text/javascript" if path.suffix == ".js" else "text/css"
    try:
        small: str = minify.string(kind, text)
    except minify.MinifyError as exc:
        log.warning("serving %s unminified: %s", path.name, exc)
        return raw
    lead = _LEADING_COMMENT.match(text)
    notice = lead.group(1) if lead else ""
    if any(w in notice.lower() for w in _NOTICE_WORDS) and notice not in small:
        small = f"{notice}\n{small}"
    return small.encode("utf-8")


def install(app: FastAPI) -> None:
    """Add the pages, the base layer and the static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
