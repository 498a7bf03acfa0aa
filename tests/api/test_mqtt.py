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
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_tracking import EventRow, ExceptionRow
from api.mqtt import MqttConsumer, decode, topic_for
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
    info = client.publish(topic_for(vehicle), json.dumps(payload), qos=1)
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
