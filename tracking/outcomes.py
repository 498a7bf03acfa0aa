"""Delivery outcomes per order, and operating metrics from them.

:func:`delivery_outcomes` turns a day's problem, plan and tracking events
into one :class:`DeliveryOutcome` per order: the promised windows, the
planned ETA, what really happened (arrival, start of service, completion),
minutes late, attempts and failure reasons, and the live ETA's error at
fixed times before the real arrival (replayed with the events known then).

:func:`performance` aggregates outcomes per day, zone or vehicle: on-time
rate, failed-attempt rate and ETA accuracy (MAE and window coverage per
horizon).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from routing.base import FrozenModel
from routing.model import Job, Order, Problem, TimeWindow
from routing.plan import Plan, Route, Step, StepType
from routing.travel import TravelModel
from tracking.correction import Correction
from tracking.eta import (
    LegTimes,
    WindowsByStop,
    naive_route_eta,
    progress_of,
    route_eta,
    service_opening,
    windows_of,
)
from tracking.events import (
    Delivered,
    Event,
    FailedAttempt,
    FailureReason,
    SensorReading,
    StopArrived,
    event_sort_key,
)
from tracking.excursion import Excursion
from tracking.sensors import limits_by_order
from tracking.store import MemoryStore
from tracking.tracker import Tracker
from tracking.zones import ZoneFn, grid_zone

__all__ = [
    "DEFAULT_HORIZONS",
    "DeliveryOutcome",
    "EtaCheck",
    "delivery_outcomes",
    "minutes_late",
    "outcomes_frame",
    "performance",
]

#: Minutes before the real arrival at which ETA quality is measured.
DEFAULT_HORIZONS: tuple[int, ...] = (120, 60, 15)

_SERVED = (StepType.JOB, StepType.DELIVERY)


class EtaCheck(FrozenModel):
    """The live ETA made ``horizon`` minutes before the real arrival.

    ``error`` is point minus real arrival in seconds (positive: the van came
    earlier than said); ``inside`` whether the arrival fell in the window.
    """

    horizon: int
    error: int
    inside: bool
    width: int


class DeliveryOutcome(FrozenModel):
    """What happened to one order on one day (times: seconds since midnight).

    ``arrival`` is the van's last arrival at the stop, ``service_start`` when
    service began there and ``completed_at`` the time of the final
    ``delivered`` or ``failed_attempt`` event. ``minutes_late`` counts whole
    minutes past the promise (0 when on time, early or not served).

    ``collected`` is whether something came back from the customer: a
    return, or an exchange's old item. An exchange is one visit, so its
    ``delivered`` event means the new item was handed over *and* the old one
    taken (both true); a failed attempt means neither.
    ``excursions`` are the sensor readings outside the order's handling
    limits while it was on board (:mod:`tracking.sensors`).
    """

    order_id: str
    customer_id: str | None = None
    vehicle: str | None = None
    zone: str = "?"
    day: dt.date | None = None
    windows: tuple[TimeWindow, ...] = ()
    planned_eta: int | None = None
    planned_service_start: int | None = None
    arrival: int | None = None
    service_start: int | None = None
    completed_at: int | None = None
    delivered: bool = False
    collected: bool = False
    minutes_late: int = 0
    attempts: int = 0
    failure_reasons: tuple[FailureReason, ...] = ()
    eta: tuple[EtaCheck, ...] = ()
    excursions: tuple[Excursion, ...] = ()

    @property
    def failed_attempt(self) -> bool:
        """Whether at least one attempt failed."""
        return bool(self.failure_reasons)

    def eta_error(self, horizon: int) -> int | None:
        """ETA error (s) at ``horizon`` minutes, if it was measured."""
        return next((c.error for c in self.eta if c.horizon == horizon), None)


def minutes_late(service_start: int, windows: Sequence[TimeWindow]) -> int:
    """Whole minutes past the promise (0 when inside a window or early).

    Between two windows the order is late against the earlier one.
    """
    if not windows or any(w.contains(service_start) for w in windows):
        return 0
    before = [w.end for w in windows if w.end < service_start]
    if not before:
        return 0
    return math.ceil((service_start - max(before)) / 60)


def delivery_outcomes(
    problem: Problem,
    plan: Plan,
    events: Iterable[Event],
    *,
    travel: TravelModel | LegTimes | None = None,
    correction: Correction | None = None,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    zone: ZoneFn = grid_zone,
    baseline: bool = False,
) -> list[DeliveryOutcome]:
    """One outcome per order of ``problem`` (served or not).

    Parameters
    ----------
    problem, plan
        The day's problem and plan.
    events
        The day's tracking events.
    travel
        The planner's travel model; when given, the live ETA is replayed at
        each horizon before the real arrival (:func:`tracking.eta.route_eta`
        with ``correction``). Not needed for ``baseline``.
    correction
        Learned ETA correction (fitted on other days).
    horizons
        Minutes before the real arrival.
    zone
        Zone function.
    baseline
        Replay :func:`tracking.eta.naive_route_eta` instead of the live ETA.

    Returns
    -------
    list[DeliveryOutcome]
        In the problem's order.
    """
    events = sorted(events, key=event_sort_key)
    windows = windows_of(problem)
    legs = (
        None
        if travel is None
        else travel
        if isinstance(travel, LegTimes)
        else LegTimes(travel)
    )
    steps = _served_steps(plan)
    seen = _Observed.of(events)
    checks: dict[str, list[EtaCheck]] = {}
    if legs is not None or baseline:
        replay = _EtaReplay(legs, correction, windows, zone, horizons, baseline)
        checks = replay.checks(plan, events, seen.arrived)
    excursions = _excursions(problem, plan, events)
    return [
        _outcome(order, problem.date, steps, seen, windows, zone, checks, excursions)
        for order in problem.orders
    ]


def _excursions(
    problem: Problem, plan: Plan, events: Sequence[Event]
) -> dict[str, tuple[Excursion, ...]]:
    """Sensor excursions per order: the day replayed through a tracker.

    Only when some order has handling limits and some event is a sensor
    reading; the plan is registered just before the first event.
    """
    limits = limits_by_order(problem)
    if not limits or not any(isinstance(e, SensorReading) for e in events):
        return {}
    tracker = Tracker(MemoryStore(limits))
    tracker.register_plan(plan, at=min(e.at for e in events) - 1)
    tracker.ingest(events)
    store = tracker.store
    assert isinstance(store, MemoryStore)
    out: dict[str, list[Excursion]] = {}
    for excursion in sorted(store.excursions.values(), key=lambda e: (e.start, e.id)):
        out.setdefault(excursion.order_id, []).append(excursion)
    return {order: tuple(found) for order, found in out.items()}


def _served_steps(plan: Plan) -> dict[str, tuple[str, Step]]:
    """The vehicle and step serving each order of ``plan``."""
    steps: dict[str, tuple[str, Step]] = {}
    for route in plan.routes:
        for s in route.steps:
            if s.type in _SERVED and s.id is not None:
                steps[s.id] = (route.vehicle, s)
    return steps


@dataclass(slots=True)
class _Observed:
    """What the events say happened to each order."""

    arrived: dict[str, int] = field(default_factory=dict)
    completed: dict[str, int] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    reasons: dict[str, list[FailureReason]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[Event]) -> _Observed:
        seen = cls()
        for e in events:
            if isinstance(e, StopArrived) and e.order_id is not None:
                seen.arrived[e.order_id] = e.at
            elif isinstance(e, Delivered):
                seen.completed[e.order_id] = e.at
                seen.delivered.add(e.order_id)
            elif isinstance(e, FailedAttempt):
                seen.completed[e.order_id] = e.at
                seen.reasons.setdefault(e.order_id, []).append(e.reason)
        return seen


@dataclass(frozen=True, slots=True)
class _EtaReplay:
    """Replays the (live or naive) ETA at fixed horizons before each arrival."""

    legs: LegTimes | None
    correction: Correction | None
    windows: WindowsByStop
    zone: ZoneFn
    horizons: Sequence[int]
    baseline: bool

    def checks(
        self, plan: Plan, events: Sequence[Event], arrived: Mapping[str, int]
    ) -> dict[str, list[EtaCheck]]:
        """ETA checks per order, for the orders whose arrival was seen."""
        by_vehicle: dict[str, list[Event]] = {}
        for e in events:
            vid = getattr(e, "vehicle", None)
            if vid is not None:
                by_vehicle.setdefault(vid, []).append(e)
        checks: dict[str, list[EtaCheck]] = {}
        for route in plan.routes:
            mine = by_vehicle.get(route.vehicle, [])
            for s in route.steps:
                if s.id is None or s.type not in _SERVED or s.id not in arrived:
                    continue
                for check in self._step_checks(route, mine, s.id, arrived[s.id]):
                    checks.setdefault(s.id, []).append(check)
        return checks

    def _step_checks(
        self, route: Route, mine: list[Event], stop: str, actual: int
    ) -> Iterator[EtaCheck]:
        for h in self.horizons:
            now = actual - 60 * h
            progress = progress_of(route, mine, now)
            if self.baseline:
                got = naive_route_eta(route, mine, now, progress=progress)
            else:
                assert self.legs is not None
                got = route_eta(
                    route,
                    mine,
                    self.legs,
                    now,
                    self.correction,
                    windows=self.windows,
                    zone=self.zone,
                    progress=progress,
                )
            e_ = got.get(stop)
            if e_ is None:
                continue
            yield EtaCheck(
                horizon=h,
                error=e_.point - actual,
                inside=e_.p10 <= actual <= e_.p90,
                width=e_.p90 - e_.p10,
            )


def _outcome(
    order: Order,
    day: dt.date | None,
    steps: Mapping[str, tuple[str, Step]],
    seen: _Observed,
    windows: WindowsByStop,
    zone: ZoneFn,
    checks: Mapping[str, list[EtaCheck]],
    excursions: Mapping[str, tuple[Excursion, ...]],
) -> DeliveryOutcome:
    """The outcome of one order."""
    ws = windows.get((order.id, "job")) or windows.get((order.id, "delivery"), ())
    vehicle, step = steps.get(order.id, (None, None))
    start: int | None = None
    if step is not None and order.id in seen.arrived:
        start = service_opening(step, seen.arrived[order.id] + step.setup, windows)
    loc = None if step is None else step.location
    delivered = order.id in seen.delivered
    reasons = seen.reasons.get(order.id, ())
    return DeliveryOutcome(
        order_id=order.id,
        customer_id=order.customer_id,
        vehicle=vehicle,
        zone=zone(loc) if loc is not None else "?",
        day=day,
        windows=tuple(ws),
        planned_eta=None if step is None else step.arrival,
        planned_service_start=None if step is None else step.service_start,
        arrival=seen.arrived.get(order.id),
        service_start=start,
        completed_at=seen.completed.get(order.id),
        delivered=delivered,
        collected=delivered and isinstance(order, Job) and order.type != "delivery",
        minutes_late=0 if start is None or not delivered else minutes_late(start, ws),
        attempts=len(reasons) + delivered,
        failure_reasons=tuple(reasons),
        eta=tuple(checks.get(order.id, ())),
        excursions=excursions.get(order.id, ()),
    )


def outcomes_frame(outcomes: Iterable[DeliveryOutcome]) -> pd.DataFrame:
    """One row per outcome, with ``eta_error_<h>`` / ``eta_inside_<h>`` columns."""
    rows = []
    for o in outcomes:
        row: dict[str, object] = {
            "order_id": o.order_id,
            "customer_id": o.customer_id,
            "vehicle": o.vehicle,
            "zone": o.zone,
            "day": o.day,
            "planned_eta": o.planned_eta,
            "arrival": o.arrival,
            "service_start": o.service_start,
            "completed_at": o.completed_at,
            "delivered": o.delivered,
            "minutes_late": o.minutes_late,
            "attempts": o.attempts,
            "failed_attempt": o.failed_attempt,
            "failure_reasons": ",".join(r.value for r in o.failure_reasons),
        }
        for c in o.eta:
            row[f"eta_error_{c.horizon}"] = c.error
            row[f"eta_inside_{c.horizon}"] = c.inside
        rows.append(row)
    return pd.DataFrame(rows)


def performance(
    outcomes: Iterable[DeliveryOutcome],
    by: str = "day",
    *,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
) -> pd.DataFrame:
    """On-time rate, failed-attempt rate and ETA accuracy per group.

    Parameters
    ----------
    outcomes
        Outcomes of one or more days.
    by
        ``"day"``, ``"zone"`` or ``"vehicle"``.
    horizons
        Horizons (minutes) whose ETA accuracy to report.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``orders``, ``attempted`` (served or failed),
        ``on_time_rate`` (delivered with 0 minutes late, among delivered),
        ``failed_attempt_rate`` (among attempted), and per horizon ``h``
        ``eta_mae_<h>`` (minutes) and ``eta_coverage_<h>``.
    """
    if by not in ("day", "zone", "vehicle"):
        raise ValueError(f"by must be 'day', 'zone' or 'vehicle', got {by!r}")
    frame = outcomes_frame(outcomes)
    if frame.empty:
        return pd.DataFrame()
    frame["attempted"] = frame["attempts"] > 0
    frame["on_time"] = frame["delivered"] & (frame["minutes_late"] == 0)
    grouped = frame.groupby(by, dropna=False)
    table = pd.DataFrame(
        {
            "orders": grouped.size(),
            "attempted": grouped["attempted"].sum(),
            "on_time_rate": grouped["on_time"].sum()
            / grouped["delivered"].sum().clip(lower=1),
            "failed_attempt_rate": grouped["failed_attempt"].sum()
            / grouped["attempted"].sum().clip(lower=1),
        }
    )
    for h in horizons:
        err, inside = f"eta_error_{h}", f"eta_inside_{h}"
        if err not in frame:
            table[f"eta_mae_{h}"] = float("nan")
            table[f"eta_coverage_{h}"] = float("nan")
            continue
        table[f"eta_mae_{h}"] = grouped[err].apply(lambda s: s.abs().mean() / 60.0)
        table[f"eta_coverage_{h}"] = grouped[inside].apply(
            lambda s: s.dropna().astype(bool).mean()
        )
    return table.reset_index()
