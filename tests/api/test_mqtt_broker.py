"""The shipped broker config (``deploy/mosquitto/milepost.conf``) under faults.

Each test starts its own Mosquitto with the shipped config on a free port
and a temporary persistence directory (the only lines it changes, plus the
user to run as); the system broker is not touched.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import service as cli_service
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_tracking import EventRow
from api.mqtt import MqttConsumer, topic_for
from api.settings import Settings, default_client_id
from tests.helpers import ROOT, service_missing

CONF = ROOT / "deploy" / "mosquitto" / "milepost.conf"
DAY = "2026-12-01"
MOSQUITTO_DEFAULT_QUEUE = 1000

log = logging.getLogger(__name__)


def _settings_of(text: str) -> dict[str, str]:
    """The config's options (the first value of each)."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            options.setdefault(key, value.strip())
    return options


def _documented_rate(text: str) -> float:
    """Messages per second the config says it is sized for."""
    found = re.search(r"(\d+) vans x 1 event per (\d+) s", text)
    assert found, "the config states the fleet rate it assumes"
    return int(found[1]) / int(found[2])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Broker:
    """A Mosquitto running the shipped config."""

    port: int
    process: subprocess.Popen[bytes]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto with the shipped config on a free port, its own store."""
    binary = shutil.which("mosquitto")
    if binary is None:
        service_missing("no mosquitto binary (apt-get install mosquitto)")
    port = _free_port()
    store = tmp_path / "store"
    store.mkdir()
    conf = CONF.read_text(encoding="utf-8")
    conf = re.sub(r"(?m)^listener 1883 ", f"listener {port} ", conf)
    conf = re.sub(
        r"(?m)^persistence_location .*$", f"persistence_location {store}/", conf
    )
    # Run as ourselves (as root Mosquitto would switch to its own user, who
    # cannot write in the test's directory).
    conf += f"\nuser {getpass.getuser()}\n"
    path = tmp_path / "milepost.conf"
    path.write_text(conf, encoding="utf-8")
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen(
        [binary, "-c", str(path)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        assert _wait(lambda: _accepts(port), 10), (
            "mosquitto did not start with the shipped config: "
            + (tmp_path / "mosquitto.log").read_text(errors="replace")
        )
        yield Broker(port, process)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database (SQLite and PostgreSQL)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


# -- the config ------------------------------------------------------------


def test_shipped_config_holds_an_hour_at_the_documented_rate() -> None:
    """Persistence is on, the queue per client holds one hour of the fleet's
    documented event rate (far above Mosquitto's default 1,000), no byte cap
    drops messages first, and docs/service.md states the same figures."""
    text = CONF.read_text(encoding="utf-8")
    options = _settings_of(text)
    rate = _documented_rate(text)
    assert options["persistence"] == "true"
    assert options["persistence_location"]
    queue = int(options["max_queued_messages"])
    assert queue >= rate * 3600 > MOSQUITTO_DEFAULT_QUEUE
    assert int(options["max_queued_bytes"]) == 0
    docs = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    assert "## MQTT broker" in docs
    assert "mosquitto -c deploy/mosquitto/milepost.conf" in docs
    assert f"max_queued_messages {queue}" in docs
    assert _documented_rate(docs) == rate


def test_shipped_config_keeps_more_than_the_default_queue(broker: Broker) -> None:
    """Mosquitto starts with the shipped config, and a persistent session
    that is away gets all of 3,000 QoS 1 messages on its return, where the
    default queue would have kept 1,000."""
    topic = f"t{uuid.uuid4().hex[:8]}/vehicles/v/events"
    client_id = f"away-{uuid.uuid4()}"
    got: list[bytes] = []

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got.append(bytes(msg.payload))

    subscribed = threading.Event()
    sub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
    )
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    sub.disconnect()
    sub.loop_stop()

    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4()}")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    infos = [pub.publish(topic, str(k), qos=1) for k in range(3000)]
    for info in infos:
        info.wait_for_publish(timeout=10)
    pub.disconnect()
    pub.loop_stop()

    back = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
    )
    back.on_message = on_message
    back.connect("127.0.0.1", broker.port)
    back.loop_start()
    try:
        assert _wait(lambda: len(got) >= 3000, 20), len(got)
    finally:
        back.disconnect()
        back.loop_stop()
    assert sorted(int(p) for p in got) == list(range(3000))


# -- the client id ---------------------------------------------------------


def test_default_client_id_is_one_per_deployment(tmp_path: Path) -> None:
    """Two databases (two deployments) get two client ids; one database gets
    the same id every time, whatever its credentials; an id given wins."""
    a = "postgresql+psycopg://postgres@10.0.0.1:5432/milepost"
    same = "postgresql+psycopg://ops:secret@10.0.0.1:5432/milepost?sslmode=require"
    other_host = "postgresql+psycopg://postgres@10.0.0.2:5432/milepost"
    other_db = "postgresql+psycopg://postgres@10.0.0.1:5432/milepost_b"
    ids = {default_client_id(u) for u in (a, other_host, other_db)}
    assert len(ids) == 3
    assert default_client_id(a) == default_client_id(same)
    assert default_client_id(a).startswith("milepost-milepost-")
    lite_a = f"sqlite:///{tmp_path / 'a' / 'milepost.db'}"
    lite_b = f"sqlite:///{tmp_path / 'b' / 'milepost.db'}"
    assert default_client_id(lite_a) != default_client_id(lite_b)
    assert Settings(database_url=a).mqtt_client_id == default_client_id(a)
    given = Settings(database_url=a, mqtt_client_id="depot-north")
    assert given.mqtt_client_id == "depot-north"


def test_serve_and_ingest_mqtt_use_the_deployment_client_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --mqtt`` (the app's consumer) and ``milepost ingest-mqtt``
    connect with the same client id, the one derived from the database."""
    url = f"sqlite:///{tmp_path / 'milepost.db'}"
    expected = default_client_id(url)
    app = create_app(Settings(database_url=url, log_json=False, mqtt=True))
    try:
        assert app.state.mqtt.client_id == expected
    finally:
        app.state.engine.dispose()

    seen: list[str] = []

    class Recording(MqttConsumer):
        def run_forever(self) -> None:
            seen.append(self.client_id)

    monkeypatch.setenv("MILEPOST_DATABASE_URL", url)
    monkeypatch.delenv("MILEPOST_MQTT_CLIENT_ID", raising=False)
    monkeypatch.setattr("api.mqtt.MqttConsumer", Recording)
    cli_service.ingest_mqtt_command(host=None, port=None, client_id=None)
    assert seen == [expected]


# -- the fault -------------------------------------------------------------


@dataclass
class Publisher:
    """A van fleet publishing one position event per message, QoS 1,
    remembering which the broker acknowledged (PUBACK)."""

    port: int
    root: str
    sent: dict[int, str] = field(default_factory=dict)
    acked: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fleet-{uuid.uuid4()}"
        )
        self.client.max_inflight_messages_set(1000)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any
    ) -> None:
        with self.lock:
            self.acked.add(mid)

    def run(self, seconds: float, rate: float) -> None:
        """Publish at ``rate`` messages a second for ``seconds``."""
        start = time.monotonic()
        for k in range(round(seconds * rate)):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            n = len(self.sent)
            van = f"van-{n % 200}"
            event = {
                "type": "position",
                "id": f"p{n}",
                "at": 30_000 + n % 40_000,
                "vehicle": van,
                "lat": 37.5,
                "lon": 127.0,
            }
            payload = json.dumps({"day": DAY, "events": [event]})
            info = self.client.publish(topic_for(van, self.root), payload, qos=1)
            with self.lock:
                self.sent[info.mid] = event["id"]

    def acknowledged(self) -> set[str]:
        with self.lock:
            return {self.sent[mid] for mid in self.acked if mid in self.sent}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _stored(sessions: sessionmaker[Session]) -> tuple[set[str], int]:
    with sessions() as session:
        ids = set(session.scalars(select(EventRow.id)))
        rows = session.scalar(select(func.count()).select_from(EventRow)) or 0
    return ids, rows


def _consumer(
    sessions: sessionmaker[Session], port: int, client_id: str, root: str
) -> MqttConsumer:
    consumer = MqttConsumer(
        sessions, host="127.0.0.1", port=port, client_id=client_id, root=root
    )
    consumer.start()
    assert consumer.connected.wait(10), "the consumer did not connect"
    return consumer


@pytest.mark.slow
def test_consumer_down_30_s_at_200_msg_s_loses_nothing(
    broker: Broker, sessions: sessionmaker[Session]
) -> None:
    """With the shipped config, the consumer stopped for 30 s while vans
    publish 200 messages a second (6,000 queued for it, six times
    Mosquitto's default queue), restarted, and drained: every event the
    broker acknowledged is stored exactly once, and nothing else is."""
    root = f"t{uuid.uuid4().hex[:8]}"
    client_id = f"milepost-fault-{uuid.uuid4().hex[:8]}"
    fleet = Publisher(broker.port, root)
    first = _consumer(sessions, broker.port, client_id, root)
    try:
        fleet.run(5, 200)
        first.stop()
        fleet.run(30, 200)
        second = _consumer(sessions, broker.port, client_id, root)
        back = time.monotonic()
        try:
            fleet.run(5, 200)
            assert _wait(lambda: len(fleet.acked) == len(fleet.sent), 30)
            acked = fleet.acknowledged()
            assert _wait(lambda: acked <= _stored(sessions)[0], 180)
            drained = time.monotonic() - back
            time.sleep(1.0)  # anything late would show up as extra rows
            stored, rows = _stored(sessions)
        finally:
            second.stop()
    finally:
        fleet.close()
    lost = acked - stored
    extra = stored - acked
    log.info(
        f"sent {len(fleet.sent)}, acknowledged {len(acked)}, stored {len(stored)} "
        f"in {rows} rows, lost {len(lost)}, extra {len(extra)}; consumer "
        f"messages {first.messages} + {second.messages}; drained "
        f"{drained:.0f} s after the restart"
    )
    assert len(acked) == len(fleet.sent) == 8000
    assert lost == set()
    assert extra == set()
    assert rows == len(stored) == len(acked)
    assert first.accepted + second.accepted == len(acked)
