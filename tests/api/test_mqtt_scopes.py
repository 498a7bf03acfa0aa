"""MQTT follows the rule of device keys: the topic's van is the scope.

Device events only, of the topic's van, about orders on its route that day
(``api.services.scopes``, the same rule as ``POST /v1/events``). Through the
local Mosquitto broker, on SQLite and PostgreSQL.
"""

from __future__ import annotations

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
from api.db.tables_tracking import EventRow
from api.mqtt import MqttConsumer, decode, topic_for
from api.services.scopes import DeviceScope, screen
from api.services.tracking import register_plan
from tests.api.tracking_fixtures import BEFORE, DAY, PLAN_ID, small_day
from tests.helpers import service_missing
from tracking.events import parse_events

BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database with the small day's plan tracked."""
    upgrade(database_url)
    engine = make_engine(database_url)
    made = make_sessionmaker(engine)
    problem, plan = small_day()
    with made.begin() as session:
        register_plan(
            session, day=DAY, plan_id=PLAN_ID, plan=plan, problem=problem, at=BEFORE
        )
    yield made
    engine.dispose()


def _two_vans() -> tuple[tuple[str, str], tuple[str, str]]:
    """(van, an order on its route) for two vans of the small day."""
    _, plan = small_day()
    own, other = [r for r in plan.routes if r.order_ids][:2]
    return (own.vehicle, own.order_ids[0]), (other.vehicle, other.order_ids[0])


def _delivered(event_id: str, van: str, order_id: str) -> dict[str, Any]:
    return {
        "type": "delivered",
        "id": event_id,
        "at": 30_000,
        "vehicle": van,
        "order_id": order_id,
        "proof": {"photo": "p"},
    }


def _ping(event_id: str, van: str) -> dict[str, Any]:
    return {
        "type": "position",
        "id": event_id,
        "at": 29_000,
        "vehicle": van,
        "lat": 37.5,
        "lon": 127.0,
    }


def test_decode_refuses_operator_events_and_other_vans() -> None:
    """On a van's topic, an operator event and another van's event are
    rejected with the same reasons as over HTTP; the van's own pass."""
    events = [
        _ping("a", "v1"),
        {"type": "order_cancelled", "id": "b", "at": 1, "order_id": "o-1"},
        _ping("c", "v2"),
        {"type": "order_dispatched", "id": "d", "at": 1, "order_id": "o-1"},
    ]
    message = decode(topic_for("v1"), json.dumps(events).encode(), DAY)
    assert [e.id for e in message.events] == ["a"]
    assert message.rejected == (
        "[1] event b: order_cancelled is an operator event; it needs a "
        "dispatcher or admin key",
        "[2] event c: vehicle 'v2' is not this device's (vehicle 'v1')",
        "[3] event d: order_dispatched is an operator event; it needs a "
        "dispatcher or admin key",
    )


def test_screen_refuses_orders_of_another_route(
    sessions: sessionmaker[Session],
) -> None:
    """The shared rule with the routes looked up: the van's own order passes,
    another van's order and an order on no route do not, naming them."""
    (van, mine), (other, theirs) = _two_vans()
    events = parse_events(
        [
            _delivered("ok", van, mine),
            _delivered("theirs", van, theirs),
            _delivered("nowhere", van, "o-nowhere"),
        ]
    )
    with sessions() as session:
        allowed, refused = screen(session, DAY, events, DeviceScope.vehicle(van))
    assert [e.id for e in allowed] == ["ok"]
    assert refused == [
        f"event theirs: order {theirs!r} is on the route of vehicle {other!r}, "
        f"not {van!r}",
        "event nowhere: order 'o-nowhere' is on no route that day",
    ]


def _wait(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_consumer_stores_only_what_the_van_may_send(
    sessions: sessionmaker[Session],
) -> None:
    """Through the broker: the van's ping and its own delivery are stored;
    another route's delivery and a cancellation on its topic are rejected,
    and the rest of the message still counts."""
    (van, mine), (_, theirs) = _two_vans()
    root = f"scopes-{uuid.uuid4().hex[:8]}"
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{root}")
    try:
        publisher.connect(*BROKER)
    except OSError as exc:
        service_missing(f"no MQTT broker at {BROKER[0]}:{BROKER[1]} ({exc})")
    publisher.loop_start()
    consumer = MqttConsumer(
        sessions, host=BROKER[0], port=BROKER[1], client_id=f"test-{root}", root=root
    )
    consumer.start()
    try:
        assert consumer.connected.wait(10), "the consumer did not connect"
        events = [
            _ping("ping", van),
            _delivered("mine", van, mine),
            _delivered("theirs", van, theirs),
            {"type": "order_cancelled", "id": "cancel", "at": 30_001, "order_id": mine},
        ]
        info = publisher.publish(
            topic_for(van, root),
            json.dumps({"day": DAY.isoformat(), "events": events}),
            qos=1,
        )
        info.wait_for_publish(timeout=10)

        def stored() -> set[str]:
            with sessions() as session:
                query = select(EventRow.id).where(EventRow.day == DAY)
                return set(session.scalars(query))

        assert _wait(lambda: {"ping", "mine"} <= stored())
        assert _wait(lambda: consumer.rejected >= 2)
        assert not {"theirs", "cancel"} & stored()
        assert consumer.accepted == 2
    finally:
        consumer.stop()
        publisher.disconnect()
        publisher.loop_stop()
