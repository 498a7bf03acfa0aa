"""A service's own MQTT topic root (``MILEPOST_MQTT_TOPIC_ROOT``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from api.mqtt import ROOT, decode, topic_for
from api.settings import Settings

DAY = dt.date(2026, 12, 1)
PING = {"type": "position", "id": "p1", "at": 30_000, "vehicle": "v1", "lat": 37.5}


def test_topics_under_another_root_are_decoded_only_by_that_root() -> None:
    """A consumer with root ``r1`` reads ``r1/vehicles/v1/events`` and refuses
    the default root's topic, so two services on one broker stay apart."""
    payload = json.dumps({**PING, "lon": 127.0}).encode()
    assert topic_for("v1", "r1") == "r1/vehicles/v1/events"
    message = decode(topic_for("v1", "r1"), payload, DAY, "r1")
    assert [e.id for e in message.events] == ["p1"]
    with pytest.raises(ValueError, match="r1/vehicles/<id>/events"):
        decode(topic_for("v1"), payload, DAY, "r1")
    assert topic_for("v1") == f"{ROOT}/vehicles/v1/events"


def test_a_topic_root_with_wildcards_is_refused() -> None:
    """``+``, ``#`` and ``/`` would change what the consumer subscribes to."""
    for bad in ("a/b", "+", "#", ""):
        with pytest.raises(ValueError, match="mqtt_topic_root"):
            Settings(mqtt_topic_root=bad)
