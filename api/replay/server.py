"""The replay's service: a fresh PostgreSQL database and ``milepost serve``.

:class:`ReplayService` is a context manager: it checks that PostgreSQL and
the MQTT broker answer (:class:`ServiceUnavailable` naming the one that
does not), creates ``milepost_replay_<pid>`` on the server, migrates it,
issues the keys, starts ``milepost serve --mqtt`` on a free port with its own
MQTT client id, and on exit (also after Ctrl-C) stops the server and drops
the database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType

import httpx2 as httpx
import psycopg
from sqlalchemy.engine import make_url

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from scenarios.city.day import CITY_LOCALE

__all__ = ["DEFAULT_SERVER", "ReplayService", "ServiceUnavailable"]

#: The PostgreSQL server the replay makes its database on.
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`KeyboardInterrupt` inside the block.

    A replay stopped by a supervisor, ``timeout`` or ``kill`` then cleans up
    like Ctrl-C; otherwise its child server outlives it, with its database
    and its MQTT subscription. Signals can only be set in the main thread:
    elsewhere the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ServiceUnavailable(RuntimeError):
    """PostgreSQL or the MQTT broker does not answer; the message names it."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def check_broker(host: str, port: int) -> None:
    """Raise :class:`ServiceUnavailable` unless the broker accepts TCP."""
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        raise ServiceUnavailable(
            f"Mosquitto (MQTT broker) is not reachable at {host}:{port}: {exc}; "
            "start it (mosquitto -d) or pass --mqtt-host/--mqtt-port"
        ) from None


class ReplayService:
    """A fresh database on ``server`` and a ``milepost serve`` on it.

    Parameters
    ----------
    server
        SQLAlchemy URL of a PostgreSQL database to connect to for
        ``CREATE DATABASE`` (the replay's database goes on the same server).
    mqtt_host, mqtt_port
        The broker the server consumes device events from.
    log
        Where the server's log goes (default: a temporary file).
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        mqtt_host: str = "127.0.0.1",
        mqtt_port: int = 1883,
        log: Path | None = None,
    ) -> None:
        url = make_url(server)
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"--database-url: not a PostgreSQL URL: {server}")
        self.name = f"milepost_replay_{os.getpid()}"
        self.admin = url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.url = (
            url.set(drivername="postgresql+psycopg", database=self.name)
        ).render_as_string(hide_password=False)
        self.mqtt_host = mqtt_host
        self.mqtt_port = mqtt_port
        self.mqtt_client_id = f"milepost-replay-{os.getpid()}"
        # Its own topics: no other service on the broker takes these vans'
        # events, and no other run's vans reach this service.
        self.mqtt_root = f"milepost-replay-{os.getpid()}"
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(
            tempfile.mkstemp(prefix="milepost-replay-", suffix=".log")[1]
        )
        self.keys: dict[Role, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._created = False

    def _admin(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.admin, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            one_line = " ".join(str(exc).split())
            raise ServiceUnavailable(
                f"PostgreSQL is not reachable at {self.admin} ({one_line}); start it "
                "(pg_ctlcluster <version> main start) or pass --database-url"
            ) from None

    def __enter__(self) -> ReplayService:
        check_broker(self.mqtt_host, self.mqtt_port)
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self._created = True
        try:
            upgrade(self.url)
            engine = make_engine(self.url)
            with make_sessionmaker(engine, CITY_LOCALE).begin() as session:
                # Device keys are bound to a van: the replay issues one per van
                # as it starts reporting (ReplayRun._device_headers).
                for role in (Role.dispatcher, Role.storefront):
                    self.keys[role] = create_key(session, role, "replay")
            engine.dispose()
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        env = {
            **os.environ,
            "MILEPOST_DATABASE_URL": self.url,
            "MILEPOST_MQTT_HOST": self.mqtt_host,
            "MILEPOST_MQTT_PORT": str(self.mqtt_port),
            "MILEPOST_MQTT_CLIENT_ID": self.mqtt_client_id,
            "MILEPOST_MQTT_TOPIC_ROOT": self.mqtt_root,
            "MILEPOST_LOG_JSON": "true",
            # The replayed city is Seoul: the service keeps its clock and won.
            "MILEPOST_TIMEZONE": CITY_LOCALE.timezone,
            "MILEPOST_CURRENCY": CITY_LOCALE.currency,
            "MILEPOST_COUNTRY": CITY_LOCALE.country,
            "MILEPOST_SUBDIVISION": "",
        }
        milepost = Path(sys.executable).with_name("milepost")
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [
                    str(milepost),
                    "serve",
                    "--mqtt",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: Ctrl-C in the terminal reaches the
                # replay, which stops the server in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"milepost serve exited with code {self._process.returncode}; "
                    f"see {self.log}"
                )
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"milepost serve did not get ready in 120 s; see {self.log}")

    def close(self) -> None:
        """Stop the server and drop the database (each at most once)."""
        proc, self._process = self._process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._created:
            self._created = False
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
