"""Device events over MQTT, through the local Mosquitto broker (a real one).

``scripts/test.sh`` starts Mosquitto on 127.0.0.1:1883 when it is down. Each
test uses its own client id and a topic prefix nobody else publishes on, so
tests can run side by side.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_tracking import DeadLetterRow, EventRow, ExceptionRow
from api.mqtt import MqttConsumer, decode, topic_for
from api.settings import Settings
from tests.api.poison import poison_events
from tests.api.sensor_fixtures import DAY as COLD_DAY
from tests.api.sensor_fixtures import track_cold_day
from tests.helpers import service_missing

DAY = dt.date(2026, 12, 1)
BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database (SQLite and PostgreSQL)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    """A connected publishing client."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4()}")
    try:
        client.connect(*BROKER)
    except OSError as exc:
        service_missing(
            f"no MQTT broker at {BROKER[0]}:{BROKER[1]} ({exc}); start Mosquitto "
            "(scripts/test.sh does: mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
        )
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def _publish(client: mqtt.Client, vehicle: str, payload: Any) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload)
    info = client.publish(topic_for(vehicle), raw, qos=1)
    info.wait_for_publish(timeout=10)
    assert info.is_published()


def _stored(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(EventRow.id).where(EventRow.day == DAY)))


def _wait(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _ping(event_id: str, vehicle: str, at: int = 30_000) -> dict[str, Any]:
    return {
        "type": "position",
        "id": event_id,
        "at": at,
        "vehicle": vehicle,
        "lat": 37.5,
        "lon": 127.0,
    }


def _consumer(sessions: sessionmaker[Session], client_id: str) -> MqttConsumer:
    consumer = MqttConsumer(
        sessions, host=BROKER[0], port=BROKER[1], client_id=client_id
    )
    consumer.start()
    assert consumer.connected.wait(10), "the consumer did not connect"
    return consumer


def test_published_events_are_stored(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """A batch with its day and a single event both land in the database."""
    van = f"van-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(sessions, f"test-{uuid.uuid4()}")
    try:
        _publish(
            publisher,
            van,
            {"day": DAY.isoformat(), "events": [_ping("m1", van), _ping("m2", van)]},
        )
        _publish(publisher, van, {"day": DAY.isoformat(), "events": _ping("m3", van)})
        assert _wait(lambda: {"m1", "m2", "m3"} <= _stored(sessions))
    finally:
        consumer.stop()


def test_events_of_another_van_are_refused_the_rest_stored(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """An event naming another van is rejected; its neighbours still count."""
    van = f"van-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(sessions, f"test-{uuid.uuid4()}")
    try:
        events = [_ping("ok-1", van), _ping("intruder", "someone-else"), "junk"]
        _publish(publisher, van, {"day": DAY.isoformat(), "events": events})
        assert _wait(lambda: "ok-1" in _stored(sessions))
        assert _wait(lambda: consumer.rejected >= 2)
        assert "intruder" not in _stored(sessions)
    finally:
        consumer.stop()


def test_messages_sent_while_the_consumer_is_down_arrive_later(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """The broker keeps QoS 1 messages for the consumer's session: none lost."""
    van = f"van-{uuid.uuid4().hex[:8]}"
    client_id = f"test-{uuid.uuid4()}"
    consumer = _consumer(sessions, client_id)  # registers the session
    consumer.stop()
    ids = [f"late-{k}" for k in range(20)]
    for k, event_id in enumerate(ids):
        _publish(
            publisher,
            van,
            {"day": DAY.isoformat(), "events": [_ping(event_id, van, 30_000 + k)]},
        )
    assert not set(ids) & _stored(sessions)
    consumer = _consumer(sessions, client_id)
    try:
        assert _wait(lambda: set(ids) <= _stored(sessions))
    finally:
        consumer.stop()


def test_decode_names_what_is_wrong() -> None:
    """Bad topics raise; bad events are listed with their position and field."""
    with pytest.raises(ValueError, match="not milepost/vehicles"):
        decode("other/topic", b"{}", DAY)
    message = decode(
        topic_for("v1"),
        json.dumps([_ping("a", "v1"), {"type": "position", "id": "b"}]).encode(),
        DAY,
    )
    assert [e.id for e in message.events] == ["a"]
    assert message.day == DAY
    assert message.rejected and message.rejected[0].startswith("[1]")


def test_sensor_excursion_over_mqtt_opens_and_closes_an_exception(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """A cold-chain van's temperature over MQTT: 9 °C opens an exception for
    its cold-chain parcel, 3 °C (still too warm for the frozen one) keeps it
    open, and delivering the frozen parcel closes it."""
    van = f"van-{uuid.uuid4().hex[:8]}"
    track_cold_day(sessions, van)

    def exceptions() -> list[tuple[bool, int | None]]:
        with sessions() as session:
            rows = session.scalars(
                select(ExceptionRow).where(ExceptionRow.vehicle == van)
            )
            return [(r.open, r.body["closed_at"]) for r in rows]

    def temperature(event_id: str, at: int, value: float) -> dict[str, Any]:
        return {
            "type": "sensor",
            "id": event_id,
            "at": at,
            "vehicle": van,
            "kind": "temperature",
            "value": value,
        }

    consumer = _consumer(sessions, f"test-{uuid.uuid4()}")
    try:
        start = {"type": "shift_start", "id": "s", "at": 28_800, "vehicle": van}
        _publish(
            publisher,
            van,
            {
                "day": COLD_DAY.isoformat(),
                "events": [start, temperature("t1", 29_000, 9.0)],
            },
        )
        assert _wait(lambda: exceptions() == [(True, None)]), exceptions()
        _publish(
            publisher,
            van,
            {"day": COLD_DAY.isoformat(), "events": temperature("t2", 29_600, 3.0)},
        )
        delivered = {
            "type": "delivered",
            "id": "d",
            "at": 30_000,
            "vehicle": van,
            "order_id": f"{van}-o1",
            "proof": {"photo": "x"},
        }
        _publish(publisher, van, {"day": COLD_DAY.isoformat(), "events": delivered})
        assert _wait(lambda: exceptions() == [(False, 30_000)]), exceptions()
    finally:
        consumer.stop()


def _dead_letters(sessions: sessionmaker[Session]) -> list[DeadLetterRow]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.id)))


def test_a_poison_event_is_dead_lettered_and_consuming_goes_on(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """Poison between normal events: an unstorable event (the database
    refuses it), unreadable messages (not JSON, nested past Python's
    recursion limit, not UTF-8) and out-of-bound events (``at`` 2**31 and
    2**63, a NUL in the id). Every normal event is stored, the unstorable
    one dead-lettered with its payload and error, the rest rejected, and
    the consumer is still consuming afterwards."""
    engine = sessions.kw["bind"]
    poison_events(engine)
    van = f"van-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(sessions, f"test-{uuid.uuid4()}")
    day = DAY.isoformat()
    try:
        normal: list[str] = []

        def ping(k: int) -> dict[str, Any]:
            normal.append(f"n{k}")
            return _ping(f"n{k}", van, 30_000 + k)

        poison: list[Any] = [
            {"day": day, "events": [ping(1), _ping("poison-1", van, 30_050), ping(2)]},
            b"{not json",
            b"[" * 100_000 + b"]" * 100_000,
            b"\xff\xfe",
            {"day": day, "events": _ping("huge-at", van, 2**31)},
            {"day": day, "events": _ping("huger-at", van, 2**63)},
            {"day": day, "events": _ping("nul\x00", van)},
            {"day": "not a day", "events": []},
        ]
        for k, payload in enumerate(poison):
            _publish(publisher, van, {"day": day, "events": ping(10 + k)})
            _publish(publisher, van, payload)
        _publish(publisher, van, {"day": day, "events": ping(99)})
        assert _wait(lambda: set(normal) <= _stored(sessions), 30), sorted(
            set(normal) - _stored(sessions)
        )
        assert _wait(lambda: consumer.rejected >= 7)
        stored = _stored(sessions)
        assert not {"poison-1", "huge-at", "huger-at"} & stored
        (letter,) = _dead_letters(sessions)
        assert letter.source == "mqtt"
        assert letter.event_id == "poison-1"
        assert letter.vehicle == van
        assert '"id":"poison-1"' in letter.payload
        assert "poisoned event" in letter.error
        assert consumer.ingest.dead_letters["mqtt"] == 1
        assert consumer.running
        # Still consuming: a new message after all that is stored.
        _publish(publisher, van, {"day": day, "events": _ping("after", van)})
        assert _wait(lambda: "after" in _stored(sessions))
        assert consumer.running
    finally:
        consumer.stop()
    assert not consumer.running


def test_a_message_that_breaks_handling_is_dead_lettered_whole(
    sessions: sessionmaker[Session], publisher: mqtt.Client
) -> None:
    """Whatever goes wrong handling a message (here the clock of the
    operating day fails) does not stop the consumer: the raw message is
    dead-lettered whole and the next one is handled."""
    van = f"van-{uuid.uuid4().hex[:8]}"
    calls = {"n": 0}

    def today() -> dt.date:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("clock unavailable")
        return DAY

    consumer = MqttConsumer(
        sessions,
        host=BROKER[0],
        port=BROKER[1],
        client_id=f"test-{uuid.uuid4()}",
        today=today,
    )
    consumer.start()
    assert consumer.connected.wait(10)
    try:
        _publish(publisher, van, _ping("first", van))
        _publish(publisher, van, _ping("second", van))
        assert _wait(lambda: "second" in _stored(sessions))
        assert "first" not in _stored(sessions)
        (letter,) = _dead_letters(sessions)
        assert letter.event_id is None
        assert letter.vehicle == van
        assert '"id": "first"' in letter.payload
        assert letter.error == "RuntimeError: clock unavailable"
        assert consumer.failed == 1
        assert consumer.ingest.dead_letters["mqtt"] == 1
        assert consumer.running
    finally:
        consumer.stop()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_readyz_turns_red_when_the_consumer_stops(
    database_url: str, publisher: mqtt.Client
) -> None:
    """Under ``serve --mqtt``: ready and ``milepost_mqtt_connected 1`` while
    the consumer consumes; once it stops, /readyz is 503 naming mqtt and the
    gauge is 0. Messages in and the lag are on /metrics."""
    root = f"t{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=database_url,
        log_json=False,
        mqtt=True,
        mqtt_host=BROKER[0],
        mqtt_port=BROKER[1],
        mqtt_client_id=f"test-{uuid.uuid4()}",
        mqtt_topic_root=root,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        consumer = app.state.mqtt
        assert _wait(lambda: consumer.running, 10)
        assert client.get("/readyz").status_code == 200
        van = "van-1"
        payload = {"day": DAY.isoformat(), "events": _ping("r1", van)}
        info = publisher.publish(topic_for(van, root), json.dumps(payload), qos=1)
        info.wait_for_publish(timeout=10)
        assert _wait(lambda: consumer.accepted == 1)
        metrics = client.get("/metrics").text
        assert _metric(metrics, "milepost_mqtt_connected") == 1.0
        assert _metric(metrics, "milepost_mqtt_messages_total") == 1.0
        assert _metric(metrics, "milepost_mqtt_dead_lettered_total") == 0.0
        assert 0.0 <= _metric(metrics, "milepost_mqtt_lag_seconds") < 10.0

        consumer.stop()
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "mqtt" in r.json()["detail"]
        metrics = client.get("/metrics").text
        assert _metric(metrics, "milepost_mqtt_connected") == 0.0


def test_readyz_is_red_while_the_broker_is_unreachable(database_url: str) -> None:
    """A consumer that cannot reach its broker is not ready."""
    settings = Settings(
        database_url=database_url,
        log_json=False,
        mqtt=True,
        mqtt_host="127.0.0.1",
        mqtt_port=1,  # nothing listens there
        mqtt_client_id=f"test-{uuid.uuid4()}",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "mqtt" in r.json()["detail"]
        assert _metric(client.get("/metrics").text, "milepost_mqtt_connected") == 0.0


def test_readyz_is_red_while_the_consumer_is_disconnected_and_recovers(
    database_url: str,
) -> None:
    """The broker drops the consumer (another client takes its client id):
    /readyz turns 503 naming mqtt and the gauge 0; once the intruder leaves,
    the consumer reconnects by itself and is ready again."""
    client_id = f"test-{uuid.uuid4()}"
    settings = Settings(
        database_url=database_url,
        log_json=False,
        mqtt=True,
        mqtt_host=BROKER[0],
        mqtt_port=BROKER[1],
        mqtt_client_id=client_id,
        mqtt_topic_root=f"t{uuid.uuid4().hex[:8]}",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        consumer = app.state.mqtt
        if not _wait(lambda: consumer.running, 10):
            service_missing(f"no MQTT broker at {BROKER[0]}:{BROKER[1]}")
        assert client.get("/readyz").status_code == 200
        intruder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        intruder.connect(*BROKER)
        intruder.loop_start()
        red: list[dict[str, Any]] = []

        def is_red() -> bool:
            r = client.get("/readyz")
            if r.status_code == 503:
                red.append(r.json())
            return bool(red)

        try:
            assert _wait(is_red, 10)
            assert "mqtt" in red[0]["detail"]
        finally:
            intruder.disconnect()
            intruder.loop_stop()
        assert _wait(lambda: client.get("/readyz").status_code == 200, 60)
        metrics = client.get("/metrics").text
        assert _metric(metrics, "milepost_mqtt_connected") == 1.0
