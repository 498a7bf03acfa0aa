"""Device events over MQTT: a consumer feeding the same ingest as HTTP.

Vans publish to ``milepost/vehicles/{vehicle_id}/events`` (QoS 1). The
payload is JSON: one event, a list of events, or ``{"day": "YYYY-MM-DD",
"events": [...]}``; without ``day`` the events count from local midnight
(the deployment's timezone) of the day the message arrives, so night routes
that run past midnight should say their day.

Nothing is lost: the consumer keeps a persistent session (a fixed client id,
one per deployment, ``clean_session=False``), so the broker holds QoS 1
messages published while it is down and delivers them when it is back, as
many as its queue limit allows (``deploy/mosquitto/milepost.conf`` sizes it
for an hour's outage; Mosquitto's default of 1,000 drops the rest); and each
message is acknowledged only after its events are committed by the
service's :class:`~api.services.ingest.EventIngest`, the same path as
``POST /v1/events``. A message redelivered after a crash between commit and
acknowledgement is harmless: ingest is idempotent by event id.

**No message stops the consumer.** An unreadable message (not JSON, not
events) or an invalid event is logged and counted as rejected; an event
the database cannot store is dead-lettered by the ingest (table
``dead_letters``); a message whose handling fails in any other way is
dead-lettered whole, with its raw payload. Each is then acknowledged, and
the consumer goes on with the next message. Only while the database does
not answer is a message left unacknowledged, for the broker to deliver
again. :attr:`MqttConsumer.running` and :attr:`MqttConsumer.connected` say
whether it consumes (``/readyz``), and :meth:`MqttConsumer.lag` how long
ago it last stored a message (``/metrics``).

Events must be ones the topic's van may send (the rule of device keys,
:mod:`api.services.scopes`): device events only, of that van, about orders
on its route that day. Any other (another van's, an operator event such as
``order_cancelled``, an order of another route) is rejected and logged, and
the rest of the message is still ingested.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.services.ingest import EventIngest
from api.services.scopes import DeviceScope, refusal, screen
from routing.locale import DEFAULT_LOCALE, Locale
from tracking.events import Event, parse_event

__all__ = [
    "CLIENT_ID",
    "ROOT",
    "TOPIC",
    "Message",
    "MqttConsumer",
    "decode",
    "topic_for",
]

#: The first level of the topics; a service can be given its own
#: (``MILEPOST_MQTT_TOPIC_ROOT``) so that two services on one broker do not
#: consume each other's vans.
ROOT = "milepost"
TOPIC = "milepost/vehicles/+/events"
CLIENT_ID = "milepost-ingest"
QOS = 1
_TRIES = 5  # commits attempted per message before leaving it unacknowledged

log = logging.getLogger("milepost.mqtt")


def topic_for(vehicle_id: str, root: str = ROOT) -> str:
    """The topic a van publishes its events to."""
    return f"{root}/vehicles/{vehicle_id}/events"


@dataclass(frozen=True)
class Message:
    """A decoded message: its day, the van's valid events, and the refused."""

    vehicle: str
    day: dt.date
    events: tuple[Event, ...]
    rejected: tuple[str, ...]


def _vehicle_of(topic: str, root: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 4 and parts[:2] == [root, "vehicles"] and parts[3] == ("events"):
        return parts[2] or None
    return None


def decode(
    topic: str, payload: bytes | bytearray, today: dt.date, root: str = ROOT
) -> Message:
    """Parse a message; what cannot be ingested goes to ``rejected`` with why.

    Parameters
    ----------
    topic
        ``milepost/vehicles/{vehicle_id}/events``.
    payload
        JSON: an event, a list of events, or ``{"day", "events"}``.
    today
        The operating day for payloads without ``day``.

    Raises
    ------
    ValueError
        When the topic or the payload as a whole cannot be read.
    """
    vehicle = _vehicle_of(topic, root)
    if vehicle is None:
        raise ValueError(f"topic {topic!r} is not {root}/vehicles/<id>/events")
    data: Any = json.loads(payload)
    day = today
    if isinstance(data, dict) and "events" in data:
        if "day" in data:
            day = dt.date.fromisoformat(str(data["day"]))
        data = data["events"]
    items = data if isinstance(data, list) else [data]
    events: list[Event] = []
    rejected: list[str] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append(f"[{k}]: not a JSON object")
            continue
        try:
            event = parse_event(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            rejected.append(f"[{k}] {where}: {first['msg']}")
            continue
        # The rule of device keys (api.services.scopes), the topic's van as
        # the scope; the orders' routes are checked when the batch is stored.
        reason = refusal(event, DeviceScope.vehicle(vehicle))
        if reason is not None:
            rejected.append(f"[{k}] {reason}")
            continue
        events.append(event)
    return Message(vehicle, day, tuple(events), tuple(rejected))


class MqttConsumer:
    """Consume device events from the broker into the database.

    Parameters
    ----------
    sessions
        Session factory of the service database.
    host, port
        The broker (the local Mosquitto by default settings).
    client_id
        Fixed, so that the broker keeps the session (and the messages
        queued for it) while the consumer is down. Run one consumer per
        client id; the service derives it from its database
        (:func:`api.settings.default_client_id`).
    today
        The operating day of payloads without ``day`` (default: the date at
        receipt in ``locale``'s timezone).
    ingest
        The ingest to commit events with; the app hands in its own (default:
        a new one, for a consumer running alone).
    root
        First level of the topics consumed (``{root}/vehicles/+/events``).
    locale
        The deployment's (``Settings.locale``): whose date is "today".
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        client_id: str = CLIENT_ID,
        today: Callable[[], dt.date] | None = None,
        ingest: EventIngest | None = None,
        root: str = ROOT,
        locale: Locale = DEFAULT_LOCALE,
    ) -> None:
        self.sessions = sessions
        self.ingest = ingest or EventIngest()
        self.host = host
        self.port = port
        #: The session the broker keeps for this consumer.
        self.client_id = client_id
        self.today = today or (lambda: dt.datetime.now(locale.zone).date())
        self.root = root
        self.topic = topic_for("+", root)
        self.messages = 0
        self.accepted = 0
        self.rejected = 0
        #: Messages dead-lettered whole (the ingest counts them among its own).
        self.failed = 0
        #: Set while connected and subscribed (the broker confirmed it).
        self.connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: ``time.monotonic()`` when a message was last stored or set aside
        #: (or when the consumer connected, before the first one).
        self._last_stored: float | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        # A callback that raises is logged by paho, not raised out of the
        # network loop (which would end it).
        self.client.suppress_exceptions = True

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Connect and consume on a background thread (reconnects by itself)."""
        self._stopping = False
        self.client.connect_async(self.host, self.port, keepalive=30)
        self._thread = threading.Thread(
            target=self._loop, name="milepost-mqtt", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Disconnect and stop the background thread."""
        self._stopping = True
        self.client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.connected.clear()

    def run_forever(self) -> None:
        """Connect and consume on this thread until interrupted."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self._loop()

    def _loop(self) -> None:
        # The network loop reconnects by itself; should it still raise (a
        # bug, a socket error paho does not handle), it is logged and run
        # again, so that the consumer keeps consuming until stopped.
        while True:
            try:
                self.client.loop_forever(retry_first_connection=True)
            except Exception:
                self.connected.clear()
                log.exception("the MQTT loop failed; starting it again")
                if self._stopping:
                    break
                time.sleep(1.0)
                continue
            break
        self.connected.clear()
        if not self._stopping:
            log.error("the MQTT consumer is no longer consuming")

    @property
    def running(self) -> bool:
        """Whether the consumer's loop is alive and connected to the broker."""
        thread = self._thread
        alive = thread is not None and thread.is_alive()
        return alive and self.connected.is_set()

    def lag(self) -> float | None:
        """Seconds since a message was last stored (or set aside as a dead
        letter or a rejection); since connecting, before the first; None
        before that. A quiet fleet also raises it: read it with
        ``milepost_mqtt_messages_total``."""
        last = self._last_stored
        return None if last is None else time.monotonic() - last

    # -- callbacks ---------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: Any,
        _properties: Any,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        # Subscribing again on every connect is harmless and covers a broker
        # that lost its stored sessions.
        client.subscribe(self.topic, qos=QOS)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reasons: Any,
        _properties: Any,
    ) -> None:
        # Ready only once the broker confirmed the subscription: from then on
        # it keeps this session's messages, even while we are away.
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.error("MQTT subscription to %s refused: %s", self.topic, reasons)
            return
        self.connected.set()
        if self._last_stored is None:
            self._last_stored = time.monotonic()
        log.info("consuming %s from %s:%s", self.topic, self.host, self.port)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: Any,
        _properties: Any,
    ) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(
        self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage
    ) -> None:
        self.messages += 1
        try:
            handled = self._handle(msg)
        except Exception as exc:
            # Nothing a message holds may stop the consumer: keep it aside
            # with the error and go on.
            log.exception("MQTT message on %s could not be handled", msg.topic)
            handled = self._dead_letter_message(msg, exc)
        if not handled:
            # Left unacknowledged: the broker delivers it again after a
            # reconnect, by which time the database may be back.
            client.reconnect()
            return
        self._last_stored = time.monotonic()
        client.ack(msg.mid, msg.qos)

    def _handle(self, msg: mqtt.MQTTMessage) -> bool:
        """Decode and ingest one message; False: leave it for redelivery."""
        try:
            message = decode(msg.topic, msg.payload, self.today(), self.root)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # Unreadable: redelivering it would fail the same way forever.
            self.rejected += 1
            log.warning("rejected MQTT message on %s: %s", msg.topic, exc)
            return True
        for reason in message.rejected:
            self.rejected += 1
            log.warning("rejected event from %s: %s", message.vehicle, reason)
        return not message.events or self._ingest(message)

    def _dead_letter_message(self, msg: mqtt.MQTTMessage, exc: Exception) -> bool:
        payload = bytes(msg.payload).decode("utf-8", errors="backslashreplace")
        try:
            with self.sessions() as session:
                self.ingest.dead_letter(
                    session,
                    None,
                    None,
                    exc,
                    source="mqtt",
                    payload=payload,
                    vehicle=_vehicle_of(msg.topic, self.root),
                )
        except SQLAlchemyError:
            log.exception("could not dead-letter a message on %s", msg.topic)
            return False
        self.failed += 1
        return True

    def _ingest(self, message: Message) -> bool:
        for attempt in range(_TRIES):
            try:
                with self.sessions() as session:
                    events, refused = screen(
                        session,
                        message.day,
                        message.events,
                        DeviceScope.vehicle(message.vehicle),
                    )
                    result = self.ingest(session, message.day, events, source="mqtt")
            except SQLAlchemyError as exc:
                log.warning(
                    "could not store events from %s (try %d): %s",
                    message.vehicle,
                    attempt + 1,
                    exc,
                )
                time.sleep(min(2.0**attempt * 0.2, 5.0))
                continue
            self.accepted += len(result.accepted)
            self.rejected += len(result.rejected) + len(refused)
            for reason in refused:
                log.warning("rejected event from %s: %s", message.vehicle, reason)
            for r in result.rejected:
                log.warning(
                    "rejected event %s from %s: %s",
                    r.event_id,
                    message.vehicle,
                    r.reason,
                )
            return True
        log.error("events from %s not stored; left for redelivery", message.vehicle)
        return False
