"""Light and offline: compressed answers, minified assets, local API docs.

JSON, pages and static files over :data:`api.app.GZIP_MINIMUM_BYTES` come
gzipped to a client that sends ``Accept-Encoding: gzip`` and as they are to
one that does not. The scripts and styles are minified and gzipped once per
file version (``api.web.pages``) with a strong ETag per form. Server-Sent
Events are never compressed or held back: the stream test runs on a real
uvicorn server and reads the raw bytes. ``/docs`` and ``/redoc`` name no
other site and allow only their own inline script (``tests/web/test_offline.py``
loads them in Chromium with the network cut).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from api.app import GZIP_MINIMUM_BYTES, create_app
from api.auth import Role, create_key
from api.settings import Settings
from api.web import pages
from tests.api.conftest import auth, make_keys, sqlite_url
from tests.helpers import service_missing
from tests.serve import app_server

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
DAY = "2026-11-23"
JOB = {
    "location": {"lat": 37.527, "lon": 127.0276},
    "demand": [2500, 1],
    "service": 180,
    "time_windows": [["10:00", "12:00"]],
}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service on SQLite (the client decodes gzip itself)."""
    settings = Settings(
        database_url=sqlite_url(tmp_path_factory.mktemp("gzip")), log_json=False
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def assets() -> None:
    """The npm assets (the vendor files are among those checked)."""
    if pages.missing_assets():
        service_missing("web assets not installed: run npm ci --prefix api/web")


def _raw(web: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """``GET path``: the response and its body as sent (not decoded)."""
    with web.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def test_json_is_gzipped_only_when_accepted(web: TestClient) -> None:
    """The OpenAPI description: gzip for gzip, as it is for identity."""
    zipped, zipped_raw = _raw(web, "/openapi.json", GZIP)
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    document = json.loads(gzip.decompress(zipped_raw))
    assert document["info"]["title"] == "milepost"
    assert len(zipped_raw) < len(json.dumps(document)) / 3

    plain, plain_raw = _raw(web, "/openapi.json", IDENTITY)
    assert "content-encoding" not in plain.headers
    assert json.loads(plain_raw) == document


def test_an_api_answer_is_gzipped_and_still_counted(web: TestClient) -> None:
    """A large /v1 answer is gzipped; the metrics still count its 200."""
    key = make_keys(web.app)[Role.dispatcher]  # type: ignore[arg-type]
    for i in range(12):
        got = web.post(
            "/v1/orders",
            json={"day": DAY, "job": {**JOB, "id": f"gz-{i}"}},
            headers=auth(key),
        )
        assert got.status_code == 201, got.text
    listed, listed_raw = _raw(web, f"/v1/orders?day={DAY}", {**GZIP, **auth(key)})
    assert listed.status_code == 200
    assert listed.headers["content-encoding"] == "gzip"
    assert "x-request-id" in listed.headers
    body = json.loads(gzip.decompress(listed_raw))
    assert len(json.dumps(body)) > GZIP_MINIMUM_BYTES
    metrics = web.get("/metrics").text
    assert 'route="/v1/orders",status="200"' in metrics


def test_small_answers_are_sent_as_they_are(web: TestClient) -> None:
    """Under the minimum size gzip would save nothing: no encoding."""
    got, got_raw = _raw(web, "/healthz", GZIP)
    assert got.status_code == 200
    assert len(got_raw) < GZIP_MINIMUM_BYTES
    assert "content-encoding" not in got.headers


@pytest.mark.usefixtures("assets")
@pytest.mark.parametrize(
    "path",
    ["/static/console.js", "/static/common.css", "/static/vendor/leaflet.js"],
)
def test_static_files_are_minified_and_gzipped(web: TestClient, path: str) -> None:
    """Scripts and styles: smaller than the file, gzipped when accepted."""
    zipped, zipped_raw = _raw(web, path, GZIP)
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    plain, plain_raw = _raw(web, path, IDENTITY)
    assert "content-encoding" not in plain.headers
    body = plain_raw
    assert gzip.decompress(zipped_raw) == body
    name = path.rsplit("/", 1)[1]
    source = (
        pages.NODE_MODULES / pages.VENDOR_FILES[name]
        if "/vendor/" in path
        else pages.STATIC / name
    )
    assert len(body) < 0.9 * source.stat().st_size
    # Two forms, two strong tags.
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert not zipped.headers["etag"].startswith("W/")


@pytest.mark.usefixtures("assets")
def test_pages_are_gzipped(web: TestClient) -> None:
    """An HTML page over the minimum size comes gzipped too."""
    got, got_raw = _raw(web, "/console", GZIP)
    assert got.status_code == 200
    assert got.headers["content-encoding"] == "gzip"
    assert b"<!doctype html>" in gzip.decompress(got_raw).lower()
    assert "content-encoding" not in _raw(web, "/console", IDENTITY)[0].headers


@pytest.mark.usefixtures("assets")
def test_unchanged_static_file_is_304(web: TestClient) -> None:
    """The ETag comes back as If-None-Match: 304, no body, same tag."""
    first = web.get("/static/console.js", headers=GZIP)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = web.get("/static/console.js", headers={**GZIP, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    other = web.get("/static/console.js", headers={**GZIP, "If-None-Match": '"x"'})
    assert other.status_code == 200


def test_unknown_static_file_is_404(web: TestClient) -> None:
    """Only files of the pages' folder are served."""
    assert web.get("/static/nothing-here.js").status_code == 404
    assert web.get("/static/..%2Fpages.py").status_code == 404


def test_a_changed_file_is_minified_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache follows the file: a new version is minified anew."""
    script = tmp_path / "x.js"
    script.write_text("export const answer = 40 + 2;\n")
    first = pages.minified(script)
    assert pages.minified(script) is first
    script.write_text("export const answer = 41 + 2;   // changed\n")
    second = pages.minified(script)
    assert b"41" in second.body and b"changed" not in second.body
    assert second.tag != first.tag


def test_a_licence_notice_is_kept(tmp_path: Path) -> None:
    """A leading copyright comment survives minification; others do not."""
    script = tmp_path / "lib.js"
    script.write_text(
        "/* @preserve\n * Lib 1.0 (c) Someone */\n\n/* plain */\nexport const a = 1;\n"
    )
    body = pages.minified(script).body.decode()
    assert body.startswith("/* @preserve\n * Lib 1.0 (c) Someone */\n")
    assert "plain" not in body


@seed(18)
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["gzip", "x-gzip", "br", "*", "deflate"]),
            st.sampled_from([None, "0", "0.0", "0.5", "1"]),
        ),
        max_size=4,
    )
)
def test_accept_encoding_is_read_with_its_quality(
    codings: list[tuple[str, str | None]],
) -> None:
    """gzip is used when the header names it with a quality above 0."""
    header = ", ".join(c if q is None else f"{c};q={q}" for c, q in codings)
    first = next(((c, q) for c, q in codings if c in ("gzip", "x-gzip")), None)
    expected = first is not None and (first[1] is None or float(first[1]) > 0)
    assert pages.accepts_gzip(header) is expected


#: Modern syntax a regex-based minifier gets wrong: nested template literals
#: holding comment-like text, regular expressions, optional chaining,
#: automatic semicolons, private fields, ``import``/``export``.
TRICKY_MODULE = r"""
import { strict as assert } from "node:assert";
/* a comment */
const host = "x", list = [1, 2];
const url = `http://${host}/a // not a comment /* nor this */`;
const nested = `outer ${`inner ${1 + 2} // still`} end`;
const items = `a ${list.map((i) => `<li class="c">${i}</li>`).join("")} b`;
const quoted = `x ${"}"} y ${'`'} z`;
const re = /\/\*[^*]*\*\//g;
const div = 10 / 2 / 5;
const obj = { a: { b: null } };
const opt = obj?.a?.b ?? "fallback";
const call = obj.f?.() ?? "nocall";
let x = 1
let y = x
++x
const arrow = (a) => a
  ? "yes"
  : "no";
const multi = `line1
  line2   spaced`;
class K { #p = 3; get p() { return this.#p; } static s = 1; }
export const out = [url, nested, items, quoted, "/* x */".replace(re, "R"), div,
  opt, call, x, y, arrow(0), multi, new K().p, K.s, 2 ** 3];
assert.equal(out.length, 15);
console.log(JSON.stringify(out));
"""


def _node() -> str:
    """Node.js, which runs the modules (a missing one fails the test)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "no node: install it with apt-get install nodejs npm (scripts/test.sh does)"
        )
    return node


def test_minified_module_means_the_same(tmp_path: Path) -> None:
    """Node prints the same values from the module and from its minified form."""
    source = tmp_path / "tricky.mjs"
    source.write_text(TRICKY_MODULE)
    script = tmp_path / "tricky.js"  # what the pages serve: a .js module
    script.write_text(TRICKY_MODULE)
    small = tmp_path / "small.mjs"
    small.write_bytes(pages.minified(script).body)
    assert len(small.read_bytes()) < 0.8 * len(TRICKY_MODULE)
    ran = [
        subprocess.run(
            [_node(), str(f)], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        for f in (source, small)
    ]
    assert ran[0] == ran[1]
    assert "outer inner 3 // still end" in ran[0]


@pytest.mark.usefixtures("assets")
def test_served_scripts_parse(tmp_path: Path) -> None:
    """Every page script and Leaflet, minified, is a valid ES module."""
    scripts = [
        *sorted(pages.STATIC.glob("*.js")),
        pages.NODE_MODULES / pages.VENDOR_FILES["leaflet.js"],
    ]
    for script in scripts:
        out = tmp_path / f"{script.stem}.mjs"
        out.write_bytes(pages.minified(script).body)
        checked = subprocess.run(
            [_node(), "--check", str(out)], capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"


# -- the API's documentation pages ---------------------------------------------

_INLINE = re.compile(r"<script>(.*?)</script>", re.S)


def _script_src(csp: str) -> list[str]:
    """The sources of a policy's ``script-src`` directive."""
    for directive in csp.split(";"):
        name, *sources = directive.split()
        if name == "script-src":
            return sources
    raise AssertionError(f"no script-src in {csp}")


@pytest.mark.usefixtures("assets")
@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect", "/redoc"])
def test_docs_pages_name_no_other_site(web: TestClient, path: str) -> None:
    """Local scripts, styles and icon; inline scripts allowed by hash only."""
    got = web.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", got.text), got.text
    sources = _script_src(got.headers["content-security-policy"])
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    hashes = {
        "'sha256-"
        + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        + "'"
        for s in _INLINE.findall(got.text)
    }
    assert set(sources) == {"'self'", *hashes}
    for url in re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', got.text):
        assert web.get(url).status_code == 200, url


@pytest.mark.usefixtures("assets")
def test_swagger_ui_reads_the_openapi_description(web: TestClient) -> None:
    """Swagger UI starts from /openapi.json, with no online validator."""
    text = web.get("/docs").text
    assert "url: '/openapi.json'" in text
    assert '"validatorUrl": null' in text
    assert "/docs/oauth2-redirect" in text
    assert 'spec-url="/openapi.json"' in web.get("/redoc").text
    paths = web.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


def test_docs_without_assets_say_how_to_install(
    web: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without node_modules: /docs and /redoc answer 503 with the command."""
    monkeypatch.setattr(pages, "NODE_MODULES", tmp_path / "node_modules")
    for path, missing in (
        ("/docs", "swagger-ui-dist/swagger-ui-bundle.js"),
        ("/redoc", "redoc/bundles/redoc.standalone.js"),
    ):
        got = web.get(path)
        assert got.status_code == 503
        assert "npm ci --prefix api/web" in got.text
        assert missing in got.text


# -- Server-Sent Events ---------------------------------------------------------


def test_event_stream_is_not_compressed_nor_held(tmp_path: Path) -> None:
    """A client accepting gzip gets the stream plain, its first event at once."""
    app = create_app(Settings(database_url=sqlite_url(tmp_path), log_json=False))
    with app_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        with app.state.sessionmaker.begin() as session:
            key = create_key(session, Role.dispatcher, "gzip")
        got = http.post(
            "/v1/orders",
            json={"day": DAY, "job": {**JOB, "id": "o-1"}},
            headers=auth(key),
        )
        assert got.status_code == 201, got.text
        url = f"/v1/track/{got.json()['tracking_token']}/stream?max_seconds=60"
        start = time.monotonic()
        # A read timeout of 5 s: an event held back in a buffer fails here.
        with (
            httpx.Client(base_url=base, timeout=5) as client,
            client.stream("GET", url, headers=GZIP) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in stream.headers
            raw = b""
            for chunk in stream.iter_raw():
                raw += chunk
                if b"event: status" in raw and raw.endswith(b"\n\n"):
                    break
        assert time.monotonic() - start < 5
        block = raw.split(b"event: status\n", 1)[1].decode()
        data = json.loads(block.split("data: ", 1)[1])
        assert data["status"] == "created", data
