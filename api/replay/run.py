"""The operator-day replay: a day of the embedded city, driven through the service.

:class:`Replay` is a client of a running service (:class:`ReplayService`):

1. it loads the day (depots, vehicles, orders) through the API, plans it
   (``POST /v1/plans``, polling the job) and dispatches it;
2. simulated vans (:mod:`api.replay.devices`) drive it in slices of
   simulated time; half of them report over ``POST /v1/events``, the other
   half over MQTT;
3. the seeded disruptions (:mod:`api.replay.schedule`) happen, each through
   its handler: the dispatcher cancels orders, posts urgent ones, rebooks a
   slot, loses a van;
4. every ``eta_minutes`` the customers ask each open order's ETA (with an
   explicit ``at``); the dispatcher applies the late-risk rule
   (:func:`api.replay.late_risk.late_risk`) to them and re-optimises
   (``POST /v1/plans/{id}/reoptimize``) when an order newly turns at risk,
   at most once per ``cooldown_minutes``, and after each disruption that
   changes the day's orders or vans; the new plan is dispatched and the vans
   follow it from where they are;
5. at the end it checks every plan version with the independent checker,
   accounts for every parcel and every acknowledged event, and scores the
   ETAs the customers saw (:class:`ReplayReport`).

The service only ever sees events and requests; the truth (actual travel
and service times, failures, the slowdown) stays in the vans.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from api.auth import Role, create_key
from api.db import plans as plan_rows
from api.db.engine import make_engine, make_sessionmaker
from api.db.tables_dispatch import OrderRow
from api.db.tables_tracking import EventRow
from api.mqtt import topic_for
from api.replay.devices import DeviceSettings, Stop, Van, VanState, stops_of
from api.replay.late_risk import (
    LATE_HORIZON,
    LATE_TOLERANCE,
    late_risk,
    promised_window_end,
)
from api.replay.schedule import (
    Breakdown,
    Cancellation,
    Disruption,
    DoorFailure,
    ExchangeOrder,
    LateStart,
    Rebooking,
    ScheduleShares,
    SensorExcursion,
    Slowdown,
    UrgentOrder,
    build_schedule,
)
from api.replay.server import ReplayService, sigterm_as_interrupt
from routing.model import Handling, Job, Problem, ServiceLevel, TimeWindow
from routing.plan import Plan
from routing.solver import check
from routing.travel import HaversineTravel
from routing.units import HOUR, MINUTE, to_datetime, to_seconds
from scenarios.city import build_city, day_baskets, day_problem
from scenarios.city.day import CITY_LOCALE
from scenarios.city.geography import DISTRICTS
from scenarios.disruption import ZonedTravel
from scenarios.execution import FAILURE_REASON_SHARES
from scenarios.sensors import random_warmup, readings
from tracking.eta import LegTimes
from tracking.events import Event, FailureReason, SensorReading

__all__ = ["Replay", "ReplayConfig", "ReplayReport", "percentile", "run_replay"]


def _hhmm(seconds: int) -> str:
    return f"{seconds // HOUR:02d}:{seconds % HOUR // MINUTE:02d}"


def _quiet(_line: str) -> None:
    """Progress nobody reads."""


#: Disruptions whose effect is part of the truth from the start (a van's
#: late driver, a door that will not open, a road that will slow down):
#: handled before the day starts; the others when they happen.
ARMED = frozenset({"door_failure", "late_start", "slowdown", "sensor_excursion"})


@dataclass(frozen=True)
class ReplayConfig:
    """What to replay and how (times in simulated seconds unless named)."""

    orders: int = 600
    seed: int = 0
    day: dt.date | None = None  # default: tomorrow in Seoul
    until: int | None = None  # stop the day here (default: every van home)
    slice_minutes: int = 5
    eta_minutes: int = 15
    plan_seconds: float = 10.0
    reoptimize_seconds: float = 3.0
    cooldown_minutes: int = 30
    tolerance: int = LATE_TOLERANCE
    horizon: int | None = LATE_HORIZON
    shares: ScheduleShares = field(default_factory=ScheduleShares)
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    eta_workers: int = 4


#: Lead-time buckets of the ETA figures: (upper bound in seconds, name).
LEAD_BUCKETS: tuple[tuple[float, str], ...] = (
    (30 * MINUTE, "under 30 min"),
    (60 * MINUTE, "30-60 min"),
    (120 * MINUTE, "1-2 h"),
    (float("inf"), "over 2 h"),
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values``; None when empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


@dataclass
class ReplayReport:
    """The run's figures (see :meth:`as_dict`)."""

    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return self.figures

    def to_json(self) -> str:
        return json.dumps(self.figures, indent=2, default=str) + "\n"


@dataclass
class _Exception:
    order: str
    opened: int
    closed: int | None = None


class Replay:
    """One replayed day against a running service.

    Parameters
    ----------
    service
        The started service (its URL, keys and database).
    config
        What to replay.
    progress
        Called with a line of progress now and then (the CLI prints it on
        stderr).
    """

    def __init__(
        self,
        service: ReplayService,
        config: ReplayConfig,
        progress: Callable[[str], None] = _quiet,
    ) -> None:
        self.service = service
        self.config = config
        self.say = progress
        self.day = config.day or (
            dt.datetime.now(CITY_LOCALE.zone).date() + dt.timedelta(days=1)
        )
        timeout = httpx.Timeout(60.0)
        self.http = {
            role: httpx.Client(
                base_url=service.base_url,
                headers={"Authorization": f"Bearer {service.keys[role]}"},
                timeout=timeout,
            )
            for role in (Role.dispatcher, Role.storefront)
        }
        # Each van's device has a key of its own, bound to the van.
        self.http[Role.device] = httpx.Client(
            base_url=service.base_url, timeout=timeout
        )
        self.device_keys: dict[str, str] = {}
        self.engine = make_engine(service.url)
        self.sessions = make_sessionmaker(self.engine, CITY_LOCALE)
        self.mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{service.mqtt_client_id}-vans"
        )
        self.rng = np.random.default_rng([config.seed, 7])
        # The day as it unfolds.
        self.problem: Problem | None = None
        self.plan_id = ""
        self.plan: Plan | None = None
        self.vans: dict[str, Van] = {}
        self.channel: dict[str, str] = {}
        self.failing: dict[str, FailureReason] = {}
        self.cancelled: set[str] = set()
        self.broken: set[str] = set()
        self.all_orders: dict[str, Job] = {}
        # Each order's basket, sent with it (the CRM metrics and the
        # retention fit's customer values read them).
        self.values: dict[str, float] = {}
        self.pending_new: list[Job] = []
        self.pending_changed: list[Job] = []
        self.reopt_reasons: list[str] = []
        self.last_reopt = -(10**9)
        self.flagged: set[str] = set()
        # What is measured.
        self.versions: list[str] = []
        self.version_checks: list[dict[str, Any]] = []
        self.reopts: list[dict[str, Any]] = []
        self.acked_http: set[str] = set()
        self.acked_mqtt: set[str] = set()
        self.rejected_http: list[dict[str, str]] = []
        self.sent = {"http": 0, "mqtt": 0}
        self.samples: list[tuple[str, int, int, int, int]] = []
        self.exceptions: dict[str, _Exception] = {}
        self.closed_exceptions: list[_Exception] = []
        self.disruptions: list[dict[str, Any]] = []
        self.station_orders = 0
        self.last_seen: dict[str, str] = {}
        self.legs: LegTimes | None = None
        self._schedule_armed: list[Disruption] = []
        self.cold_chain: set[str] = set()
        self.sensor_queue: dict[str, list[SensorReading]] = {}
        self.rescued: dict[str, dict[str, Any]] = {}

    # -- HTTP helpers -----------------------------------------------------------

    def _call(
        self, role: Role, method: str, path: str, ok: Iterable[int] = (200,), **kw: Any
    ) -> Any:
        r = self.http[role].request(method, path, **kw)
        if r.status_code not in set(ok):
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code}: {r.text[:500]}")
        return r.json()

    def _device_headers(self, vehicle: str) -> dict[str, str]:
        """The van's device key (issued on first use, bound to the van)."""
        key = self.device_keys.get(vehicle)
        if key is None:
            with self.sessions.begin() as session:
                key = create_key(
                    session, Role.device, f"replay {vehicle}", vehicle_id=vehicle
                )
            self.device_keys[vehicle] = key
        return {"Authorization": f"Bearer {key}"}

    # -- loading and planning ---------------------------------------------------

    def _day_orders(self) -> tuple[Problem, list[Job]]:
        """The day's problem (as the service takes it) and a pool of urgent jobs."""
        city = build_city(seed=0)
        problem = day_problem(city, self.day, self.config.orders, seed=self.config.seed)
        jobs = list(problem.jobs)
        self.station_orders = sum(j.station is not None for j in jobs)
        # Some parcels travel chilled: their handling is watched on the way.
        rng = np.random.default_rng([self.config.seed, 11])
        n_cold = round(self.config.shares.cold_chain * len(jobs))
        cold = Handling(requirement="cold_chain")
        for i in sorted(int(i) for i in rng.choice(len(jobs), n_cold, replace=False)):
            jobs[i] = jobs[i].model_copy(update={"handling": cold})
            self.cold_chain.add(jobs[i].id)
        problem = problem.model_copy(update={"jobs": tuple(jobs)})
        pool_problem = day_problem(
            city, self.day, max(50, self.config.orders // 10), seed=self.config.seed + 1
        )
        pool = [
            j for j in pool_problem.jobs if j.type == "delivery" and j.station is None
        ]
        self.values = day_baskets(city, problem, self.config.seed)
        self.values.update(day_baskets(city, pool_problem, self.config.seed + 1))
        return problem, pool

    def _load(self, problem: Problem) -> None:
        for depot in problem.depots:
            self._call(
                Role.dispatcher,
                "POST",
                "/v1/depots",
                (201,),
                json=depot.model_dump(mode="json"),
            )
        for station in problem.stations:
            self._call(
                Role.dispatcher,
                "POST",
                "/v1/stations",
                (201,),
                json=station.model_dump(mode="json"),
            )
        for vehicle in problem.vehicles:
            self._call(
                Role.dispatcher,
                "POST",
                "/v1/vehicles",
                (201,),
                json=vehicle.model_dump(mode="json"),
            )
        jobs = list(problem.jobs)
        for k in range(0, len(jobs), 500):
            batch = [
                self._order_body(j, self.values.get(j.id)) for j in jobs[k : k + 500]
            ]
            self._call(
                Role.dispatcher,
                "POST",
                "/v1/orders/batch",
                (201,),
                json={"orders": batch},
            )
        self.all_orders.update({j.id: j for j in jobs})

    def _order_body(self, job: Job, value: float | None) -> dict[str, Any]:
        """``POST /v1/orders`` body of ``job``, with its basket when it has one."""
        body: dict[str, Any] = {
            "day": self.day.isoformat(),
            "job": job.model_dump(mode="json"),
        }
        if value is not None:
            body["value"] = value
        return body

    def _wait_plan(self, plan_id: str) -> dict[str, Any]:
        while True:
            body: dict[str, Any] = self._call(
                Role.dispatcher, "GET", f"/v1/plans/{plan_id}"
            )
            if body["status"] not in ("queued", "running"):
                return body
            time.sleep(0.1)

    def _adopt(self, body: dict[str, Any]) -> None:
        """Check, dispatch and hand to the vans a finished plan version."""
        plan = Plan.model_validate(body["plan"])
        with self.sessions() as session:
            row = plan_rows.get_plan(session, plan_id=body["id"])
            assert row is not None, f"plan {body['id']} not stored"
            problem = row.problem
        verdict = check(problem, plan, HaversineTravel())
        self.version_checks.append(
            {
                "plan": body["id"],
                "violations": len(verdict.violations),
                "first": [f"{v.kind}: {v.detail}" for v in verdict.violations[:3]],
                "routes": len(plan.routes),
                "unassigned": len(plan.unassigned),
            }
        )
        self.versions.append(body["id"])
        for r in plan.routes:
            for o in r.order_ids:
                self.last_seen[o] = f"{body['id']}: on {r.vehicle}"
        for u in plan.unassigned:
            self.last_seen[u.id] = f"{body['id']}: unassigned ({u.reason})"
        self._call(Role.dispatcher, "POST", f"/v1/plans/{body['id']}/dispatch")
        self.plan_id, self.plan, self.problem = body["id"], plan, problem

    # -- the day ------------------------------------------------------------------

    def run(self) -> ReplayReport:
        cfg = self.config
        t_wall = time.perf_counter()
        problem, pool = self._day_orders()
        self._load(problem)
        self.say(
            f"loaded {len(problem.jobs)} orders, {len(problem.vehicles)} vans, "
            f"{len(problem.depots)} depots for {self.day}"
        )
        t0 = time.perf_counter()
        accepted = self._call(
            Role.dispatcher,
            "POST",
            "/v1/plans",
            (202,),
            json={
                "day": self.day.isoformat(),
                "params": {"time_limit": cfg.plan_seconds},
            },
        )
        body = self._wait_plan(accepted["id"])
        if body["status"] == "failed":
            raise RuntimeError(f"the day's plan failed: {body['job']['error']}")
        plan_seconds = time.perf_counter() - t0
        self._adopt(body)
        assert self.plan is not None and self.problem is not None
        self.say(
            f"planned in {plan_seconds:.1f} s: {len(self.plan.routes)} routes, "
            f"{len(self.plan.unassigned)} unassigned; dispatched"
        )
        legs, schedule = self._arm(pool)
        self._start_vans(legs)
        self.mqtt.connect(self.service.mqtt_host, self.service.mqtt_port)
        self.mqtt.loop_start()
        try:
            end = self._drive(schedule)
        finally:
            self.mqtt.disconnect()
            self.mqtt.loop_stop()
        figures = self._report(end, plan_seconds, time.perf_counter() - t_wall)
        return ReplayReport(figures)

    def _arm(self, pool: list[Job]) -> tuple[LegTimes, list[Disruption]]:
        """The seeded schedule; the disruptions that are part of the truth."""
        assert self.plan is not None
        routed = [o for r in self.plan.routes for o in r.order_ids]
        vehicles = [(r.vehicle, r.steps[0].departure) for r in self.plan.routes]
        schedule = build_schedule(
            orders=routed,
            vehicles=vehicles,
            urgent_pool=pool,
            districts=[d.name for d in DISTRICTS],
            seed=self.config.seed,
            shares=self.config.shares,
            values=self.values,
        )
        slowdowns = tuple(d.slowdown for d in schedule if isinstance(d, Slowdown))
        legs = LegTimes(ZonedTravel(HaversineTravel(), slowdowns))
        self._schedule_armed = [d for d in schedule if d.kind in ARMED]
        return legs, [d for d in schedule if d.kind not in ARMED]

    def _add_van(self, vid: str, k: int, start_at: int, stops: list[Stop]) -> None:
        """The ``k``-th van's device."""
        assert self.problem is not None and self.legs is not None
        problem = self.problem
        vehicle = next(v for v in problem.vehicles if v.id == vid)
        home = problem.depot(vehicle.start or problem.depots[0].id).location
        end = problem.depot(vehicle.end or vehicle.start or problem.depots[0].id)
        assert home.lat is not None and home.lon is not None
        assert end.location.lat is not None and end.location.lon is not None
        self.vans[vid] = Van(
            vid,
            home=(home.lat, home.lon),
            end=(end.location.lat, end.location.lon),
            start_at=start_at,
            stops=stops,
            legs=self.legs,
            settings=self.config.devices,
            rng=np.random.default_rng([self.config.seed, k]),
            fails=self.failing.get,
            cancelled=self.cancelled.__contains__,
        )
        if not stops:
            self.vans[vid].state = VanState.DONE

    def _start_vans(self, legs: LegTimes) -> None:
        assert self.plan is not None and self.problem is not None
        self.legs = legs
        for k, route in enumerate(self.plan.routes):
            stops = stops_of(route, self.problem)
            self._add_van(route.vehicle, k, route.steps[0].departure, stops)
        for d in self._schedule_armed:
            self._handle(d, d.at)

    def _drive(self, schedule: list[Disruption]) -> int:
        cfg = self.config
        step = cfg.slice_minutes * MINUTE
        now = min(v.start_at for v in self.vans.values()) // step * step
        until = cfg.until if cfg.until is not None else 40 * HOUR
        queue = list(schedule)
        next_eta = now + cfg.eta_minutes * MINUTE
        next_say = now
        while now < until:
            t1 = min(now + step, until)
            while queue and queue[0].at <= t1:
                d = queue.pop(0)
                at = max(d.at, now)
                for van in self.vans.values():
                    van.advance(at)
                self._handle(d, at)
            for van in self.vans.values():
                van.advance(t1)
            self._send(t1)
            now = t1
            if self.pending_new or self.pending_changed or self.reopt_reasons:
                self._reoptimise(now)
            if now >= next_eta:
                next_eta += cfg.eta_minutes * MINUTE
                self._wait_mqtt(20.0)
                self._eta_sweep(now)
            if now >= next_say:
                next_say += 30 * MINUTE
                self.say(
                    f"{now // HOUR:02d}:{now % HOUR // MINUTE:02d} "
                    f"events http {self.sent['http']} mqtt {self.sent['mqtt']}, "
                    f"re-optimisations {len(self.reopts)}, "
                    f"at risk {len(self.exceptions)}, "
                    f"vans out {self._vans_out()}"
                )
            if all(
                v.state in (VanState.DONE, VanState.BROKEN) for v in self.vans.values()
            ):
                break
        return now

    def _vans_out(self) -> int:
        busy = (VanState.DRIVING, VanState.SERVING)
        return sum(v.state in busy for v in self.vans.values())

    # -- events -------------------------------------------------------------------

    def _readings(self, vid: str, now: int) -> list[Event]:
        """The van's sensor readings up to ``now`` (from its actual start)."""
        queue, van = self.sensor_queue.get(vid), self.vans[vid]
        if not queue or not van.started:
            return []
        due = [r for r in queue if van.start_at <= r.at <= now]
        if van.state in (VanState.DONE, VanState.BROKEN):
            queue.clear()
        else:
            queue[:] = [r for r in queue if r.at > now]
        return list(due)

    def _send(self, now: int) -> None:
        http: dict[str, list[Event]] = {}
        for vid, van in self.vans.items():
            events = van.take_events() + self._readings(vid, now)
            if not events:
                continue
            if vid not in self.channel:
                # Vans report over HTTP and MQTT in turn, in the order they
                # start: half of the active devices on each.
                self.channel[vid] = "mqtt" if len(self.channel) % 2 else "http"
            if self.channel[vid] == "mqtt":
                payload = {
                    "day": self.day.isoformat(),
                    "events": [e.model_dump(mode="json") for e in events],
                }
                topic = topic_for(vid, self.service.mqtt_root)
                info = self.mqtt.publish(topic, json.dumps(payload), qos=1)
                info.wait_for_publish(timeout=30)
                if not info.is_published():
                    raise RuntimeError(f"MQTT publish for {vid} not acknowledged")
                self.acked_mqtt.update(e.id for e in events)
                self.sent["mqtt"] += len(events)
            else:
                http[vid] = events
        # One request per van, with the van's own device key.
        for vid, van_events in http.items():
            for k in range(0, len(van_events), 2000):
                batch = van_events[k : k + 2000]
                body = self._call(
                    Role.device,
                    "POST",
                    "/v1/events",
                    json={
                        "day": self.day.isoformat(),
                        "events": [e.model_dump(mode="json") for e in batch],
                    },
                    headers=self._device_headers(vid),
                )
                self.acked_http.update(body["accepted"])
                self.acked_http.update(body["duplicates"])
                self.rejected_http += body["rejected"]
                self.sent["http"] += len(batch)

    def _baskets(self) -> dict[str, Any]:
        """The day's stored orders and those stored with a basket (``value``)."""
        with self.sessions() as session:
            orders, valued, mean = session.execute(
                select(
                    func.count(), func.count(OrderRow.value), func.avg(OrderRow.value)
                ).where(OrderRow.day == self.day)
            ).one()
        return {
            "orders": orders,
            "with_value": valued,
            "mean_value": None if mean is None else round(float(mean)),
        }

    def _stored_ids(self) -> set[str]:
        with self.sessions() as session:
            q = select(EventRow.id).where(EventRow.day == self.day)
            return set(session.scalars(q))

    def _wait_mqtt(self, seconds: float) -> int:
        """Wait until the MQTT events published are stored; how many are not."""
        deadline = time.monotonic() + seconds
        while True:
            missing = len(self.acked_mqtt - self._stored_ids())
            if missing == 0 or time.monotonic() > deadline:
                return missing
            time.sleep(0.1)

    # -- disruptions ----------------------------------------------------------------

    def _handle(self, d: Disruption, at: int) -> None:
        handlers: dict[str, Callable[[Any, int], str]] = {
            "cancellation": self._cancellation,
            "urgent_order": self._urgent_order,
            "door_failure": self._door_failure,
            "breakdown": self._breakdown,
            "late_start": self._late_start,
            "slowdown": self._slowdown,
            "rebooking": self._rebooking,
            "exchange_order": self._exchange_order,
            "sensor_excursion": self._sensor_excursion,
        }
        what = handlers[d.kind](d, at)
        self.disruptions.append({"kind": d.kind, "at": at, "what": what})

    def _open_orders(self) -> list[str]:
        """Orders on a van's route that no van has reached yet, in id order."""
        out: set[str] = set()
        for van in self.vans.values():
            if van.state in (VanState.DONE, VanState.BROKEN):
                continue
            nxt = van.next_order
            out.update(o for o in van.open_orders() if o != nxt)
        return sorted(out - self.cancelled)

    def _cancellation(self, d: Cancellation, _at: int) -> str:
        open_ = self._open_orders()
        if not open_:
            return "no open order left to cancel"
        order = open_[int(d.pick * len(open_))]
        r = self.http[Role.dispatcher].delete(f"/v1/orders/{order}")
        if r.status_code == 409:
            # Too late: the service saw the van reach the door first (its
            # events run ahead of the replay's own view of the van).
            return f"cancellation of {order} refused: {r.json().get('detail')}"
        if r.status_code != 200:
            raise RuntimeError(
                f"DELETE /v1/orders/{order}: HTTP {r.status_code}: {r.text}"
            )
        self.cancelled.add(order)
        return f"cancelled {order}"

    def _urgent_order(self, d: UrgentOrder, at: int) -> str:
        window = TimeWindow(start=at + 30 * MINUTE, end=at + 4 * HOUR)
        job = d.job.model_copy(
            update={
                "time_windows": (window,),
                "priority": 90,
                "service_level": ServiceLevel.SAME_DAY,
            }
        )
        self._call(
            Role.dispatcher,
            "POST",
            "/v1/orders",
            (201,),
            json=self._order_body(job, d.value),
        )
        self.all_orders[job.id] = job
        self.pending_new.append(job)
        span = f"{_hhmm(window.start)}-{_hhmm(window.end)}"
        return f"new urgent order {job.id}, window {span}"

    def _exchange_order(self, d: ExchangeOrder, at: int) -> str:
        window = TimeWindow(start=at + HOUR, end=at + 5 * HOUR)
        job = d.job.model_copy(update={"time_windows": (window,)})
        self._call(
            Role.dispatcher,
            "POST",
            "/v1/orders",
            (201,),
            json=self._order_body(job, d.value),
        )
        self.all_orders[job.id] = job
        self.pending_new.append(job)
        span = f"{_hhmm(window.start)}-{_hhmm(window.end)}"
        return f"new exchange order {job.id}, window {span}"

    def _sensor_excursion(self, d: SensorExcursion, _at: int) -> str:
        """A cold-chain van's cooling fails for a while: its temperature
        readings (sent with its other events) carry the warm-up."""
        assert self.plan is not None
        until = self.config.until if self.config.until is not None else 40 * HOUR
        spans: list[tuple[str, int, int, int]] = []
        for route in sorted(self.plan.routes, key=lambda r: r.vehicle):
            cold = [s.service_start for s in route.steps if s.id in self.cold_chain]
            start = route.steps[0].departure
            # After a late driver has left; before its last chilled parcel.
            lo, hi = start + HOUR, min(max(cold, default=0), until)
            if hi - lo > 1800:
                spans.append((route.vehicle, start, lo, hi))
        if not spans:
            return "no cold-chain van on the road long enough for a warm-up"
        vid, start, lo, hi = spans[int(d.pick * len(spans))]
        warmup = random_warmup(lo, hi, d.seed)
        route = next(r for r in self.plan.routes if r.vehicle == vid)
        end = route.steps[-1].arrival
        self.sensor_queue[vid] = readings(vid, start, end, d.seed, excursion=warmup)
        return (
            f"{vid}'s cooling fails at {_hhmm(warmup.at)} for "
            f"{warmup.duration // MINUTE} min (+{warmup.rise:g} °C at its middle)"
        )

    def _door_failure(self, d: DoorFailure, _at: int) -> str:
        reasons = list(FAILURE_REASON_SHARES)
        shares = np.array(list(FAILURE_REASON_SHARES.values()))
        reason = reasons[int(self.rng.choice(len(reasons), p=shares / shares.sum()))]
        self.failing[d.order_id] = reason
        return f"{d.order_id} will fail at the door ({reason.value})"

    def _late_start(self, d: LateStart, _at: int) -> str:
        van = self.vans.get(d.vehicle)
        if van is None:
            return f"{d.vehicle} has no route"
        van.delay_start(d.minutes)
        return f"{d.vehicle} leaves {d.minutes} min late"

    def _slowdown(self, d: Slowdown, _at: int) -> str:
        s = d.slowdown
        # Part of the vans' travel times already (_arm); nobody tells the planner.
        return (
            f"{', '.join(s.districts)} x{s.multiplier:g} from {s.hours[0]}:00 "
            f"to {s.hours[1]}:00 (not foreseen)"
        )

    def _breakdown(self, d: Breakdown, at: int) -> str:
        out = sorted(
            vid
            for vid, van in self.vans.items()
            if van.state in (VanState.DRIVING, VanState.SERVING) and van.open_orders()
        )
        if not out:
            return "no van on the road to break down"
        vid = out[int(d.pick * len(out))]
        on_board = len(self.vans[vid].open_orders())
        self.vans[vid].break_down(at)
        self.broken.add(vid)
        self.reopt_reasons.append(f"breakdown of {vid}")
        return (
            f"{vid} broke down with {on_board} orders open; re-optimised with "
            "its parcels handed over to another van (rescue: transfer)"
        )

    def _rebooking(self, d: Rebooking, _at: int) -> str:
        assert self.problem is not None
        jobs = {j.id: j for j in self.problem.jobs}
        candidates = [
            o
            for o in self._open_orders()
            if o in jobs
            and len(jobs[o].time_windows) == 1
            and jobs[o].time_windows[0].end <= 19 * HOUR
            and jobs[o].location is not None
        ]
        if not candidates:
            return "no open home delivery to rebook"
        order = candidates[int(d.pick * len(candidates))]
        job = jobs[order]
        assert job.location is not None
        quote = self._call(
            Role.storefront,
            "POST",
            "/v1/slots/quote",
            json={
                "location": job.location.model_dump(mode="json"),
                "day": self.day.isoformat(),
            },
        )
        current = job.time_windows[0]
        later = [
            q["slot"]
            for q in quote["data"]
            if q["slot"]["kind"] == "home"
            and q["slot"]["window"]["start"] >= current.end
        ]
        if not later:
            return f"{order}: no later slot quoted"
        slot = min(later, key=lambda s: s["window"]["start"])
        window = [slot["window"]["start"], slot["window"]["end"]]
        body = self._call(
            Role.dispatcher,
            "PATCH",
            f"/v1/orders/{order}",
            json={"job": {"time_windows": [window]}},
        )
        changed = Job.model_validate(body["job"])
        self.all_orders[order] = changed
        self.pending_changed.append(changed)
        available = sum(q["available"] for q in quote["data"])
        return (
            f"{order} moved from {_hhmm(current.start)}-{_hhmm(current.end)} to slot "
            f"{slot['id']} (quoted {len(quote['data'])} slots, {available} bookable: "
            "the day is dispatched, so the order is changed and re-planned)"
        )

    # -- re-optimising --------------------------------------------------------------

    def _state(self, now: int) -> dict[str, Any]:
        """The execution state the dispatcher knows from the vans' reports."""
        assert self.plan is not None and self.problem is not None
        routes = {r.vehicle: set(r.order_ids) for r in self.plan.routes}
        shipments = {s.id for s in self.problem.shipments}
        vehicles = []
        for vid, van in self.vans.items():
            if not van.started or vid not in routes:
                continue
            (lat, lon), at = van.reported(now)
            nxt = van.next_order
            if nxt is not None and (nxt not in routes[vid] or nxt in self.cancelled):
                nxt = None
            vehicles.append(
                {
                    "vehicle": vid,
                    "position": {"lat": lat, "lon": lon},
                    "time": at,
                    "completed": [o for o in van.completed if o in routes[vid]],
                    # A re-planned day holds an on-board shipment as a plain
                    # delivery: only the plan's own shipments are "picked up".
                    "picked_up": [
                        o for o in van.on_board if o in routes[vid] and o in shipments
                    ],
                    "next": nxt,
                }
            )
        vans = {v.id for v in self.problem.vehicles}
        return {
            "time": now,
            "vehicles": vehicles,
            "new_orders": [j.model_dump(mode="json") for j in self.pending_new],
            "changed": [j.model_dump(mode="json") for j in self.pending_changed],
            "unavailable": sorted(self.broken & vans),
            "rescue": dict.fromkeys(sorted(self.broken & vans), "transfer"),
            "params": {"time_limit": self.config.reoptimize_seconds},
        }

    def _reoptimise(self, now: int) -> None:
        reasons = list(self.reopt_reasons)
        if self.pending_new:
            reasons.append(f"{len(self.pending_new)} new orders")
        if self.pending_changed:
            reasons.append(f"{len(self.pending_changed)} changed orders")
        body = self._state(now)
        t0 = time.perf_counter()
        r = self.http[Role.dispatcher].post(
            f"/v1/plans/{self.plan_id}/reoptimize", json=body
        )
        record: dict[str, Any] = {"at": now, "reasons": reasons, "parent": self.plan_id}
        if r.status_code != 202:
            record.update(ok=False, error=f"HTTP {r.status_code}: {r.text[:500]}")
            self.reopts.append(record)
            self.reopt_reasons.clear()
            self.say(f"re-optimisation refused: {record['error']}")
            return
        done = self._wait_plan(r.json()["id"])
        record["seconds"] = round(time.perf_counter() - t0, 3)
        self.reopts.append(record)
        self.reopt_reasons.clear()
        self.last_reopt = now
        if done["status"] == "failed":
            record.update(ok=False, error=(done.get("job") or {}).get("error"))
            self.say(f"re-optimisation failed: {record['error']}")
            return
        job = done.get("job") or {}
        if job.get("finished_at"):
            made = dt.datetime.fromisoformat(job["finished_at"])
            asked = dt.datetime.fromisoformat(job["created_at"])
            record["job_seconds"] = round((made - asked).total_seconds(), 3)
        record.update(ok=True, plan=done["id"])
        for r in (done.get("changes") or {}).get("rescued", []):
            self.rescued[r["order"]] = r
        self.pending_new.clear()
        self.pending_changed.clear()
        self._adopt(done)
        assert self.plan is not None and self.problem is not None
        in_plan = {r.vehicle: r for r in self.plan.routes}
        for vid in in_plan.keys() - self.vans.keys():
            # A van the day's first plan left at its depot.
            self._add_van(vid, len(self.vans), in_plan[vid].steps[0].departure, [])
        for vid, van in self.vans.items():
            route = in_plan.get(vid)
            if route is None:
                van.follow(None, None, now)
            else:
                stops = stops_of(route, self.problem)
                van.follow(stops, route.steps[0].departure, now)

    # -- ETAs and the late-risk rule -------------------------------------------------

    def _ask_eta(self, order: str, at: int) -> dict[str, Any] | None:
        r = self.http[Role.storefront].get(f"/v1/orders/{order}/eta", params={"at": at})
        if r.status_code != 200:
            return None
        eta: dict[str, Any] | None = r.json().get("eta")
        return eta

    def _eta_sweep(self, now: int) -> None:
        assert self.plan is not None and self.problem is not None
        served = {v.order_id for van in self.vans.values() for v in van.visits}
        orders = [
            o
            for van in self.vans.values()
            if van.state not in (VanState.DONE, VanState.BROKEN)
            for o in van.open_orders()
            if o not in served and o not in self.cancelled
        ]
        with ThreadPoolExecutor(self.config.eta_workers) as pool:
            etas = list(pool.map(lambda o: self._ask_eta(o, now), orders))
        starts = {
            s.id: s.service_start
            for r in self.plan.routes
            for s in r.steps
            if s.id is not None
        }
        at_risk: set[str] = set()
        for order, eta in zip(orders, etas, strict=True):
            if eta is None or eta.get("arrived"):
                continue
            self.samples.append((order, now, eta["point"], eta["p10"], eta["p90"]))
            job = self.all_orders.get(order)
            if job is None:
                continue
            end = promised_window_end(job.time_windows, starts.get(order))
            risky = late_risk(
                eta["p90"],
                end,
                now=now,
                tolerance=self.config.tolerance,
                horizon=self.config.horizon,
            )
            if risky:
                at_risk.add(order)
        for order in at_risk - set(self.exceptions):
            self.exceptions[order] = _Exception(order, now)
        for order in set(self.exceptions) - at_risk:
            ex = self.exceptions.pop(order)
            ex.closed = now
            self.closed_exceptions.append(ex)
        new = at_risk - self.flagged
        cooldown = self.config.cooldown_minutes * MINUTE
        if new and now - self.last_reopt >= cooldown:
            self.flagged = at_risk
            self.reopt_reasons.append(f"late risk: {len(new)} orders newly at risk")
            self._reoptimise(now)

    # -- the report -----------------------------------------------------------------

    def _service_exceptions(self, end: int) -> dict[str, Any]:
        """The service's own exceptions of the day (``GET /v1/exceptions``):
        how many by kind, and how long each stayed open (still open ones:
        until the replay stopped)."""
        rows: list[dict[str, Any]] = []
        while True:
            page = self._call(
                Role.dispatcher,
                "GET",
                "/v1/exceptions",
                params={
                    "day": self.day.isoformat(),
                    "limit": 1000,
                    "offset": len(rows),
                },
            )
            rows += page["data"]
            if not page["data"] or len(rows) >= page["count"]:
                break
        stop = to_datetime(end, self.day, CITY_LOCALE.zone)
        by_kind: dict[str, int] = {}
        opened: list[dict[str, Any]] = []
        for row in rows:
            by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + 1
            start = dt.datetime.fromisoformat(row["opened_at"])
            closed = row["closed_at"]
            until = dt.datetime.fromisoformat(closed) if closed else stop
            opened.append(
                {
                    "kind": row["kind"],
                    "vehicle": row["vehicle"],
                    "orders": len(row["order_ids"]),
                    "severity": row["severity"],
                    "opened": _hhmm(to_seconds(start, self.day, CITY_LOCALE.zone)),
                    "open": row["open"],
                    "open_minutes": round((until - start).total_seconds() / 60, 1),
                }
            )
        return {
            "count": len(rows),
            "by_kind": by_kind,
            "still_open": sum(r["open"] for r in rows),
            "each": opened,
        }

    @staticmethod
    def _late(job: Job, arrival: int) -> bool:
        """Arrived after the end of every window that was still open."""
        deadline = promised_window_end(job.time_windows, arrival)
        return deadline is not None and arrival > deadline

    def _report(self, end: int, plan_seconds: float, wall: float) -> dict[str, Any]:
        assert self.plan is not None
        missing_mqtt = self._wait_mqtt(60.0)
        stored = self._stored_ids()
        with self.sessions() as session:
            dup = session.execute(
                select(EventRow.id)
                .where(EventRow.day == self.day)
                .group_by(EventRow.id)
                .having(func.count() > 1)
            ).all()
        acked = self.acked_http | self.acked_mqtt
        visits = {v.order_id: v for van in self.vans.values() for v in van.visits}
        unassigned = {u.id: u for u in self.plan.unassigned}
        on_routes = {o: r.vehicle for r in self.plan.routes for o in r.order_ids}
        outcome: dict[str, int] = {}
        lost: list[str] = []
        on_time = 0
        for order, job in self.all_orders.items():
            if order in visits:
                kind = "failed" if visits[order].failed else "delivered"
                if kind == "delivered" and not self._late(job, visits[order].arrival):
                    on_time += 1
            elif order in self.cancelled:
                kind = "cancelled"
            elif order in unassigned:
                kind = f"unassigned ({unassigned[order].reason})"
            elif (
                order in on_routes
                and self.vans.get(on_routes[order]) is not None
                and self.vans[on_routes[order]].state
                not in (VanState.DONE, VanState.BROKEN)
            ):
                kind = "open when the replay stopped"
            else:
                kind = "lost"
                lost.append(order)
            outcome[kind] = outcome.get(kind, 0) + 1
        errors: list[float] = []
        covered = 0
        # By how far ahead the customer asked: an ETA hours ahead is
        # expected to be less sure than one for the next stop.
        by_lead: dict[str, list[tuple[float, bool]]] = {b: [] for _, b in LEAD_BUCKETS}
        for order, at, point, p10, p90 in self.samples:
            v = visits.get(order)
            if v is None:
                continue
            errors.append(abs(point - v.arrival))
            inside = p10 <= v.arrival <= p90
            covered += inside
            bucket = next(b for top, b in LEAD_BUCKETS if v.arrival - at < top)
            by_lead[bucket].append((abs(point - v.arrival), inside))
        late = {
            o
            for o, v in visits.items()
            if not v.failed
            and o in self.all_orders
            and self._late(self.all_orders[o], v.arrival)
        }
        raised = {ex.order for ex in self.closed_exceptions} | set(self.exceptions)
        ok_reopts = [r["seconds"] for r in self.reopts if r.get("ok")]
        durations = [
            ex.closed - ex.opened
            for ex in self.closed_exceptions
            if ex.closed is not None
        ]
        still_open = len(self.exceptions)
        delivered = outcome.get("delivered", 0)
        rescued_by = [r for r in self.rescued.values() if r.get("by")]
        return {
            "day": self.day.isoformat(),
            "orders": self.config.orders,
            "seed": self.config.seed,
            "simulated_until": f"{end // HOUR:02d}:{end % HOUR // MINUTE:02d}",
            "wall_seconds": round(wall, 1),
            "plan_seconds": round(plan_seconds, 1),
            "plan_versions": len(self.versions),
            "checker_violations": sum(c["violations"] for c in self.version_checks),
            "version_checks": self.version_checks,
            "parcels_lost": len(lost),
            "lost_orders": {
                o: self.last_seen.get(o, "never planned") for o in lost[:50]
            },
            "outcomes": outcome,
            "station_orders": self.station_orders,
            "orders_served": delivered,
            "on_time": on_time,
            "on_time_share": round(on_time / delivered, 4) if delivered else None,
            "events": {
                "sent_http": self.sent["http"],
                "sent_mqtt": self.sent["mqtt"],
                "acknowledged": len(acked),
                "lost": len(acked - stored),
                "duplicated": len(dup),
                "rejected_http": len(self.rejected_http),
                "rejected_http_first": self.rejected_http[:5],
                "mqtt_not_stored": missing_mqtt,
            },
            "eta": {
                "samples": len(errors),
                "mae_minutes": round(statistics.fmean(errors) / 60, 2)
                if errors
                else None,
                "p10_p90_coverage": round(covered / len(errors), 4) if errors else None,
                "by_lead": {
                    bucket: {
                        "samples": len(rows),
                        "mae_minutes": round(
                            statistics.fmean(e for e, _ in rows) / 60, 2
                        ),
                        "p10_p90_coverage": round(
                            sum(inside for _, inside in rows) / len(rows), 4
                        ),
                    }
                    for bucket, rows in by_lead.items()
                    if rows
                },
            },
            "reoptimisations": {
                "count": len(self.reopts),
                "ok": len(ok_reopts),
                "failed": [r for r in self.reopts if not r.get("ok")],
                "p50_seconds": percentile(ok_reopts, 50),
                "p95_seconds": percentile(ok_reopts, 95),
                "runs": self.reopts,
            },
            "late_risk": {
                "rule": "P90 of the live ETA past the promised window end by more "
                f"than {self.config.tolerance} s, for windows ending within "
                f"{self.config.horizon} s",
                "raised": len(self.closed_exceptions) + still_open,
                "still_open": still_open,
                "orders_flagged": len(raised),
                "flagged_and_delivered_late": len(raised & late),
                "flagged_and_delivered_on_time": len(
                    {o for o in raised if o in visits and not visits[o].failed} - late
                ),
                "delivered_late_never_flagged": len(late - raised),
                "open_minutes_p50": (percentile(durations, 50) or 0) / 60
                if durations
                else None,
                "open_minutes_max": max(durations) / 60 if durations else None,
            },
            "service_exceptions": self._service_exceptions(end),
            "rescue": {
                "mode": "transfer",
                "parcels": len(self.rescued),
                "rescued": len(rescued_by),
                "lost": len(self.rescued) - len(rescued_by),
                "delivered": sum(
                    1 for o in self.rescued if o in visits and not visits[o].failed
                ),
            },
            "cold_chain_orders": len(self.cold_chain),
            "baskets": self._baskets(),
            "disruptions": self.disruptions,
        }


def run_replay(
    config: ReplayConfig,
    *,
    server: str,
    mqtt_host: str = "127.0.0.1",
    mqtt_port: int = 1883,
    progress: Callable[[str], None] = _quiet,
) -> ReplayReport:
    """Start the service, replay the day, clean up; the report.

    Ctrl-C or SIGTERM stops the server and drops its database
    (:class:`KeyboardInterrupt` is raised to the caller).
    """
    with (
        sigterm_as_interrupt(),
        ReplayService(server, mqtt_host=mqtt_host, mqtt_port=mqtt_port) as service,
    ):
        progress(f"service on {service.base_url}, database {service.name}")
        replay = Replay(service, config, progress)
        try:
            return replay.run()
        finally:
            replay.engine.dispose()
            for client in replay.http.values():
                client.close()
