"""A real server for tests: ``milepost serve`` in a process, or an app in a thread."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI

__all__ = ["app_server", "free_port", "serve", "start_worker"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _milepost(
    args: list[str], database_url: str, log: Path, env: dict[str, str] | None
) -> subprocess.Popen[bytes]:
    every = {
        **os.environ,
        "MILEPOST_DATABASE_URL": database_url,
        "MILEPOST_LOG_JSON": "false",
        **(env or {}),
    }
    milepost = Path(sys.executable).with_name("milepost")
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(milepost), *args], env=every, stdout=out, stderr=subprocess.STDOUT
        )


def start_worker(
    database_url: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``milepost worker`` (one job at a time), logging to ``log``."""
    return _milepost(["worker", "--jobs", "1"], database_url, log, env)


def serve(
    database_url: str, port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``milepost serve`` on ``port``; returns once /readyz answers (else fails).

    ``env`` adds ``MILEPOST_*`` settings (e.g. ``MILEPOST_JOB_WORKERS=0``).
    """
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = _milepost(args, database_url, log, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"server did not become ready:\n{log.read_text()}")


@contextlib.contextmanager
def app_server(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread; its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
