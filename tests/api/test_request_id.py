"""The client's ``X-Request-ID``: echoed when sane, and on every log line of
the request (issue #19, item 5)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.telemetry import RequestIdFilter

#: 128 printable characters, spaces and punctuation inside: still sane.
LONGEST = "r" + "x y/z=+;" * 15 + "abcdefg"


class _Lines(logging.Handler):
    """The records of a request, as the server's handler would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def lines(app: FastAPI) -> Iterator[_Lines]:
    """A handler on ``milepost`` and a sync and an async route that log."""

    @app.get("/test/log-sync")
    def log_sync() -> dict[str, bool]:
        logging.getLogger("milepost.test").warning("sync line")
        return {"ok": True}

    @app.get("/test/log-async")
    async def log_async() -> dict[str, bool]:
        logging.getLogger("milepost.test").warning("async line")
        return {"ok": True}

    handler = _Lines()
    logger = logging.getLogger("milepost")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the access log is INFO
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize("path", ["/test/log-sync", "/test/log-async"])
@pytest.mark.parametrize("rid", ["abc-123", LONGEST, "order #7 (retry)"])
def test_a_sane_request_id_is_echoed_and_logged(
    client: TestClient, lines: _Lines, path: str, rid: str
) -> None:
    """The id comes back as sent and tags the route's own log line."""
    assert len(LONGEST) == 128
    got = client.get(path, headers={"X-Request-ID": rid})
    assert got.status_code == 200, got.text
    assert got.headers["x-request-id"] == rid
    mine = [r for r in lines.records if r.name == "milepost.test"]
    assert [r.request_id for r in mine] == [rid]  # type: ignore[attr-defined]
    access = [r for r in lines.records if r.name == "milepost.access"]
    assert [r.request_id for r in access] == [rid]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "rid", [LONGEST + "9", " padded", "tab\there", "caf\u00e9", "bell\x07"]
)
def test_an_unsafe_request_id_is_replaced_everywhere(
    client: TestClient, lines: _Lines, rid: str
) -> None:
    """Too long, padded or non-printable: a fresh id, on the answer and the log."""
    got = client.get("/test/log-sync", headers={"X-Request-ID": rid.encode()})
    made = got.headers["x-request-id"]
    assert made != rid and len(made) == 32
    mine = [r for r in lines.records if r.name == "milepost.test"]
    assert [r.request_id for r in mine] == [made]  # type: ignore[attr-defined]


def test_lines_outside_a_request_say_so(lines: _Lines) -> None:
    """A record logged by no request (a job thread, startup) gets ``-``."""
    logging.getLogger("milepost.test").warning("no request")
    assert [r.request_id for r in lines.records] == ["-"]  # type: ignore[attr-defined]
