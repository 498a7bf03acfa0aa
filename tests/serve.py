"""A real ``milepost serve`` in its own process, for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

__all__ = ["free_port", "serve"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``milepost serve`` on ``port``; returns once /readyz answers (else fails)."""
    env = {
        **os.environ,
        "MILEPOST_DATABASE_URL": database_url,
        "MILEPOST_LOG_JSON": "false",
    }
    milepost = Path(sys.executable).with_name("milepost")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(milepost), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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
