"""Operations endpoints (no auth): liveness, readiness and metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db.engine import locale_of
from api.db.notify import Bus
from api.deps import EngineDep, MetricsDep, MqttDep
from api.errors import problem_response, problem_responses
from api.mqtt import MqttConsumer
from api.services.ingest import EventIngest
from api.services.retention import DayCost, current_pricing, day_cost
from api.services.tracking import LiveEtas, today
from api.services.watch import ExceptionWatch

__all__ = [
    "BusCollector",
    "ExceptionWatchCollector",
    "Health",
    "IngestCollector",
    "RetentionCostCollector",
    "router",
]

log = logging.getLogger("milepost.ops")

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    """The service answers (and, for readiness, its database too)."""

    status: Literal["ok"] = "ok"


@router.get("/healthz", response_model=Health)
def read_health() -> Health:
    """The process is alive."""
    return Health()


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
def read_ready(request: Request, engine: EngineDep, mqtt: MqttDep) -> Health | Response:
    """The database answers (and, with MQTT on, the consumer is connected and
    consuming); 503 naming what is not."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        return problem_response(request, 503, f"database unreachable ({reason})")
    if mqtt is not None and not mqtt.running:
        return problem_response(
            request,
            503,
            f"mqtt consumer not consuming (broker {mqtt.host}:{mqtt.port}, "
            f"topic {mqtt.topic})",
        )
    return Health()


class BusCollector(Collector):
    """Whether this process hears the database's notifications (PostgreSQL):
    without them its streams and job runner poll instead."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The current figures (none on SQLite)."""
        if not self.bus.enabled:
            return
        yield GaugeMetricFamily(
            "milepost_db_notifications_listening",
            "1 while this process listens for other processes' changes, else 0",
            value=1 if self.bus.listening else 0,
        )
        heard = CounterMetricFamily(
            "milepost_db_notifications",
            "Notifications heard from the database, by channel",
            labels=["channel"],
        )
        for channel, count in sorted(self.bus.heard.items()):
            heard.add_metric([channel], count)
        yield heard


class IngestCollector(Collector):
    """Ingest figures, read when ``/metrics`` is scraped: dead letters by
    source and, with MQTT on, the consumer's connection, messages and lag."""

    def __init__(self, ingest: EventIngest, mqtt: MqttConsumer | None) -> None:
        self.ingest = ingest
        self.mqtt = mqtt

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The current figures."""
        dead = CounterMetricFamily(
            "milepost_dead_letters",
            "Events this process could not store and kept as dead letters",
            labels=["source"],
        )
        for source, count in sorted(self.ingest.dead_letters.items()):
            dead.add_metric([source], count)
        yield dead
        mqtt = self.mqtt
        if mqtt is None:
            return
        yield GaugeMetricFamily(
            "milepost_mqtt_connected",
            "1 while the MQTT consumer is connected and consuming, else 0",
            value=1 if mqtt.running else 0,
        )
        yield CounterMetricFamily(
            "milepost_mqtt_messages",
            "MQTT messages received",
            value=mqtt.messages,
        )
        yield CounterMetricFamily(
            "milepost_mqtt_events_accepted",
            "Events from MQTT stored",
            value=mqtt.accepted,
        )
        yield CounterMetricFamily(
            "milepost_mqtt_rejected",
            "MQTT messages and events rejected (unreadable, invalid, other van)",
            value=mqtt.rejected,
        )
        yield CounterMetricFamily(
            "milepost_mqtt_dead_lettered",
            "Events from MQTT kept as dead letters (and messages kept whole)",
            value=self.ingest.dead_letters.get("mqtt", 0),
        )
        lag = mqtt.lag()
        yield GaugeMetricFamily(
            "milepost_mqtt_lag_seconds",
            "Seconds since the consumer last stored a message (since it "
            "connected, before the first); NaN before it ever connected",
            value=float("nan") if lag is None else lag,
        )


class ExceptionWatchCollector(Collector):
    """The exception watch of this process (:mod:`api.services.watch`): its
    ticks by outcome and when one last succeeded."""

    def __init__(self, watch: ExceptionWatch) -> None:
        self.watch = watch

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The current figures (none while the watch is off)."""
        watch = self.watch
        if not watch.enabled:
            return
        runs = CounterMetricFamily(
            "milepost_exception_watch_runs",
            "Evaluations of today's exception rules by this process's watch, "
            "by outcome",
            labels=["outcome"],
        )
        for outcome, count in sorted(watch.runs.items()):
            runs.add_metric([outcome], count)
        yield runs
        last = watch.last_ok
        yield GaugeMetricFamily(
            "milepost_exception_watch_last_success_timestamp_seconds",
            "Unix time of the watch's last successful evaluation; NaN before the first",
            value=float("nan") if last is None else last,
        )


#: Seconds a scrape's retention cost of the day is kept: a scrape every few
#: seconds prices the day at most once a minute.
RETENTION_COST_TTL = 60.0


class RetentionCostCollector(Collector):
    """The shop day's expected retention cost with the newest retention fit
    (:func:`api.services.retention.day_cost`), read from the database when
    ``/metrics`` is scraped and kept :data:`RETENTION_COST_TTL` seconds, so
    every process shows the deployment's figure. No sample before the first
    fit; a failure is logged with its traceback and counted."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        etas: LiveEtas,
        *,
        ttl: float = RETENTION_COST_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.etas = etas
        self.ttl = ttl
        self.clock = clock
        self.errors = 0
        self._kept: tuple[float, DayCost | None, str] | None = None
        self._lock = threading.Lock()

    def _cost(self) -> tuple[DayCost | None, str]:
        """The day's cost (None without a fit) and the deployment's currency."""
        with self._lock:
            now = self.clock()
            if self._kept is not None and now - self._kept[0] < self.ttl:
                return self._kept[1], self._kept[2]
            with self.sessions() as session:
                locale = locale_of(session)
                current = current_pricing(session)
                cost = (
                    None
                    if current is None
                    else day_cost(session, self.etas, today(locale.zone), current)
                )
            self._kept = (now, cost, locale.currency)
            return cost, locale.currency

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The day's figures (none before the first fit or after a failure)."""
        gauge = GaugeMetricFamily(
            "milepost_retention_cost",
            "Expected retention cost of the shop's day (money, in currency) "
            "with the newest retention fit: of the planned times and live "
            "(realised for attempted orders, live ETAs for the rest)",
            labels=["day", "kind", "currency"],
        )
        try:
            cost, currency = self._cost()
        except Exception:
            log.exception("retention cost of the day: pricing failed")
            self.errors += 1
            cost = None
        if cost is not None:
            day = cost.day.isoformat()
            gauge.add_metric([day, "planned", currency], cost.planned)
            gauge.add_metric([day, "live", currency], cost.live)
        yield gauge
        yield CounterMetricFamily(
            "milepost_retention_cost_errors",
            "Scrapes whose retention cost of the day failed (logged)",
            value=self.errors,
        )


@router.get("/metrics", response_class=PlainTextResponse)
def read_metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
