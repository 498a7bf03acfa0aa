"""Learning the ETA correction from past days.

Two steps, both from executed days (a plan and its tracking events):

1. **Factors** (:func:`fit_factors`). Every leg a van drove (left stop A at
   ``t``, reached stop B) gives ``log(actual / travel model)``; the median per
   departure hour, then per hour and destination zone, shrunk towards the
   level above, plus half the (robust) log variance, is the leg factor: the
   mean of a log-normal spread. Every stop gives ``actual / planned``
   service time (from the start of service to departure); their mean is the
   service factor. Medians keep an incident (a van stopped for half an hour)
   from moving a leg factor; the standstills themselves (pings at one place
   between two stops, :func:`observed_halts`) are kept to predict how long a
   standstill in progress will last.
2. **Residuals** (:func:`fit_residuals`). Replaying past days
   (:func:`eta_records`), the re-timed ETA made about every ten minutes with
   those factors is compared with the real arrival. Quantiles of ``actual -
   predicted`` per horizon bucket, then per bucket and hour of the predicted
   arrival, then per bucket, hour and zone, each shrunk towards the level
   above with weight ``n / (n + prior)`` (``n`` distinct stops), make the
   residual tables; their gaps are forced to grow with the horizon. The
   tail share of the window is calibrated per horizon bucket by leaving one
   past day out at a time, so that the P10-P90 window holds 80 % of a new
   day's arrivals.

Never fit on the day being predicted: :func:`fit_correction` takes the past
days only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from routing.model import Location, Problem
from routing.plan import Plan, Route, StepType
from routing.travel import TravelModel
from routing.units import DAY, HOUR
from tracking.correction import Correction, bucket_mid, default_spread
from tracking.eta import (
    LegTimes,
    WindowsByStop,
    progress_of,
    retimed_arrivals,
    service_opening,
    windows_of,
)
from tracking.events import (
    Event,
    Position,
    StopArrived,
    StopDeparted,
    event_sort_key,
)
from tracking.zones import ZoneFn, grid_zone

__all__ = [
    "DayLearner",
    "EtaRecord",
    "ExecutedDay",
    "LegRecord",
    "ServiceRecord",
    "eta_records",
    "fit_correction",
    "fit_factors",
    "fit_residuals",
    "observed_halts",
    "observed_legs",
    "observed_services",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

MEAN_FACTORS = True
#: Replay step (s) of :func:`eta_records`: not a multiple of usual ping
#: intervals, so replayed predictions see pings of every age, as live ones do
#: (a step aligned with the pings sees only fresh ones and the window comes
#: out too narrow).
REPLAY_EVERY = 577
#: Standstills kept in a correction.
MAX_HALTS = 500


@dataclass(frozen=True)
class LegRecord:
    """One driven leg: destination zone, departure hour, model and real seconds."""

    zone: str
    hour: int
    model: float
    actual: float


@dataclass(frozen=True)
class ServiceRecord:
    """One stop's planned and real service seconds."""

    zone: str
    planned: float
    actual: float


@dataclass(frozen=True)
class EtaRecord:
    """One replayed prediction and what happened.

    ``horizon`` is the predicted arrival minus ``made_at``; ``hour`` the
    hour of the predicted arrival.
    """

    order_id: str
    vehicle: str
    zone: str
    hour: int
    made_at: int
    predicted: int
    actual: int
    day: str = ""

    @property
    def horizon(self) -> int:
        """Seconds from the prediction to the predicted arrival."""
        return self.predicted - self.made_at

    @property
    def residual(self) -> int:
        """Actual minus predicted arrival, seconds."""
        return self.actual - self.predicted


@dataclass(frozen=True)
class ExecutedDay:
    """A past day to learn from: its plan, its events and (optionally) problem."""

    plan: Plan
    events: Sequence[Event]
    problem: Problem | None = None


def _route_events(route: Route, events: Iterable[Event]) -> list[Event]:
    orders = {s.id for s in route.steps if s.id is not None}
    mine = [
        e
        for e in events
        if getattr(e, "vehicle", None) == route.vehicle
        or getattr(e, "order_id", "") in orders
    ]
    return sorted(mine, key=event_sort_key)


def _latlon(loc: Location | None) -> tuple[float, float] | None:
    if loc is None or loc.lat is None or loc.lon is None:
        return None
    return (loc.lat, loc.lon)


def _hour(t: int) -> int:
    return (t % DAY) // HOUR


def observed_legs(
    plan: Plan,
    events: Iterable[Event],
    travel: TravelModel | LegTimes,
    *,
    zone: ZoneFn = grid_zone,
) -> list[LegRecord]:
    """Legs the vans drove, from ``stop_departed`` to the next ``stop_arrived``.

    Parameters
    ----------
    plan
        The day's plan (stop locations).
    events
        The day's events.
    travel
        The planner's travel model.
    zone
        Zone function.

    Returns
    -------
    list[LegRecord]
        Legs with a positive model time.
    """
    legs = travel if isinstance(travel, LegTimes) else LegTimes(travel)
    events = list(events)
    out: list[LegRecord] = []
    for route in plan.routes:
        where = {s.id: s.location for s in route.steps if s.id is not None}
        start, end = route.steps[0].location, route.steps[-1].location
        left: tuple[Location | None, int] | None = None
        for e in _route_events(route, events):
            if isinstance(e, StopDeparted):
                left = (start if e.order_id is None else where.get(e.order_id), e.at)
            elif isinstance(e, StopArrived) and left is not None:
                origin, t = left
                dest = end if e.order_id is None else where.get(e.order_id)
                left = None
                a, b = _latlon(origin), _latlon(dest)
                if a is None or b is None or dest is None:
                    continue
                model = legs.seconds(a, b, t)
                if model > 0:
                    out.append(LegRecord(zone(dest), _hour(t), model, e.at - t))
    return out


def observed_halts(plan: Plan, events: Iterable[Event]) -> list[float]:
    """Lengths (s) of standstills on the road: pings at one place between stops.

    A standstill is two or more consecutive pings at the same place after
    the van left a stop and before it reached the next; its length runs from
    the first of those pings to the last.
    """
    events = list(events)
    out: list[float] = []
    for route in plan.routes:
        last: tuple[float, float, int] | None = None
        since: int | None = None
        on_road = False
        for e in _route_events(route, events):
            if isinstance(e, StopArrived | StopDeparted):
                if since is not None and last is not None:
                    out.append(float(last[2] - since))
                last, since = None, None
                on_road = isinstance(e, StopDeparted)
            elif on_road and isinstance(e, Position) and e.vehicle == route.vehicle:
                same = (
                    last is not None
                    and abs(e.lat - last[0]) < 1e-6
                    and abs(e.lon - last[1]) < 1e-6
                )
                if same and last is not None:
                    since = last[2] if since is None else since
                elif since is not None and last is not None:
                    out.append(float(last[2] - since))
                    since = None
                last = (e.lat, e.lon, e.at)
    return out


def observed_services(
    plan: Plan,
    events: Iterable[Event],
    *,
    problem: Problem | None = None,
    zone: ZoneFn = grid_zone,
) -> list[ServiceRecord]:
    """Service times: from the start of service to ``stop_departed``.

    Service starts as :func:`~tracking.eta.service_opening` says (the
    problem's windows when given, else where the plan waited).
    """
    windows: WindowsByStop | None = windows_of(problem) if problem is not None else None
    events = list(events)
    out: list[ServiceRecord] = []
    for route in plan.routes:
        steps = {
            s.id: s
            for s in route.steps
            if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY)
        }
        arrived: dict[str, int] = {}
        for e in _route_events(route, events):
            if isinstance(e, StopArrived) and e.order_id in steps:
                arrived[e.order_id] = e.at
            elif (
                isinstance(e, StopDeparted)
                and e.order_id in steps
                and e.order_id in arrived
            ):
                step = steps[e.order_id]
                if step.service <= 0:
                    continue
                start = service_opening(step, arrived[e.order_id] + step.setup, windows)
                loc = step.location
                out.append(
                    ServiceRecord(
                        zone(loc) if loc is not None else "?",
                        float(step.service),
                        float(e.at - start),
                    )
                )
    return out


def _shrunk_median(
    values: FloatArray,
    groups: npt.NDArray[np.int64],
    n_groups: int,
    parent: FloatArray,
    prior: float,
) -> FloatArray:
    """Per-group median shrunk towards ``parent[g]`` with weight n / (n + prior)."""
    out = parent.copy()
    for g in range(n_groups):
        v = values[groups == g]
        if len(v):
            w = len(v) / (len(v) + prior)
            out[g] = parent[g] + w * (float(np.median(v)) - parent[g])
    return out


def fit_factors(
    legs: Sequence[LegRecord],
    services: Sequence[ServiceRecord],
    *,
    halts: Sequence[float] = (),
    prior: float = 30.0,
    min_model_seconds: float = 30.0,
) -> Correction:
    """Leg factors by hour and zone and the service factor (no residuals yet).

    Parameters
    ----------
    legs, services
        Observations from past days (:func:`observed_legs`,
        :func:`observed_services`).
    prior
        Shrinkage strength: a cell with ``n`` legs moves
        ``n / (n + prior)`` of the way from the level above to its own median.
    halts
        Standstill lengths of past days (:func:`observed_halts`); the latest
        :data:`MAX_HALTS` are kept.
    min_model_seconds
        Legs shorter than this in the model are too noisy to use.

    Returns
    -------
    Correction
        With ``leg_log_factor`` and ``service_factor``.
    """
    used = [r for r in legs if r.model >= min_model_seconds and r.actual > 0]
    zones = tuple(sorted({r.zone for r in used}))
    table, leg_cv = _leg_factors(used, zones, prior)
    service, service_cv = _service_factor(services)
    return Correction(
        zones=zones,
        leg_log_factor=table,
        service_factor=service,
        leg_cv=leg_cv,
        service_cv=service_cv,
        n_legs=len(used),
        halts=tuple(float(h) for h in halts[-MAX_HALTS:]),
    )


def _leg_factors(
    used: Sequence[LegRecord], zones: tuple[str, ...], prior: float
) -> tuple[FloatArray, float]:
    """Log leg factors by hour and zone (last column: all zones), and the CV."""
    z_index = {z: i for i, z in enumerate(zones)}
    table = np.zeros((24, len(zones) + 1))
    leg_cv = 0.25
    if used:
        logr = np.log(np.array([r.actual / r.model for r in used]))
        hours = np.array([r.hour for r in used], dtype=np.int64)
        zcol = np.array([z_index[r.zone] for r in used], dtype=np.int64)
        overall = float(np.median(logr))
        by_hour = _shrunk_median(logr, hours, 24, np.full(24, overall), prior)
        table[:, -1] = by_hour
        for z in range(len(zones)):
            mask = zcol == z
            table[:, z] = _shrunk_median(logr[mask], hours[mask], 24, by_hour, prior)
        if MEAN_FACTORS:
            # from median to mean of a log-normal spread, with a robust sigma
            sigma = 1.4826 * float(np.median(np.abs(logr - by_hour[hours])))
            table += sigma**2 / 2.0
            leg_cv = math.sqrt(math.expm1(sigma**2))
    return table, leg_cv


def _service_factor(services: Sequence[ServiceRecord]) -> tuple[float, float]:
    """The service factor and its CV."""
    service, service_cv = 1.0, 0.4
    ratios = np.array(
        [s.actual / s.planned for s in services if s.planned > 0 and s.actual > 0]
    )
    if len(ratios):
        if MEAN_FACTORS:
            kept = np.minimum(ratios, np.quantile(ratios, 0.995))
            service = float(np.mean(kept))
            service_cv = float(np.std(kept)) / service
        else:
            service = float(np.median(ratios))
    return service, service_cv


def eta_records(
    plan: Plan,
    events: Sequence[Event],
    travel: TravelModel | LegTimes,
    correction: Correction,
    *,
    every: int = REPLAY_EVERY,
    problem: Problem | None = None,
    zone: ZoneFn = grid_zone,
    day: str | None = None,
) -> list[EtaRecord]:
    """Replay a past day: re-timed ETAs every ``every`` seconds vs the truth.

    From each van's first departure to its return, the ETAs of
    :func:`~tracking.eta.retimed_arrivals` (leg and service factors of
    ``correction``, no residual tables) are made with the events known at
    that moment, for every stop not yet reached, and paired with the real
    arrival (the stop's ``stop_arrived`` event). ``day`` labels the records
    (default: the problem's date) so that calibration can leave days out.
    """
    legs = travel if isinstance(travel, LegTimes) else LegTimes(travel)
    windows = windows_of(problem) if problem is not None else None
    raw = correction.without_residuals()
    if day is None:
        day = "" if problem is None or problem.date is None else str(problem.date)
    out: list[EtaRecord] = []
    for route in plan.routes:
        mine = _route_events(route, events)
        actual: dict[str, int] = {}
        for e in mine:
            if isinstance(e, StopArrived) and e.order_id is not None:
                actual[e.order_id] = e.at
        if not actual:
            continue
        t = route.steps[0].departure
        last = max(actual.values())
        while t < last:
            progress = progress_of(route, mine, t)
            if progress.started:
                for step, predicted, z in retimed_arrivals(
                    route, progress, legs, t, raw, windows, zone
                ):
                    if step.id in actual and actual[step.id] > t:
                        out.append(
                            EtaRecord(
                                order_id=step.id,
                                vehicle=route.vehicle,
                                zone=z,
                                hour=_hour(predicted),
                                made_at=t,
                                predicted=predicted,
                                actual=actual[step.id],
                                day=day,
                            )
                        )
            t += every
    return out


_NORMAL = NormalDist()

#: Tail shares tried for the window, widest first (nominal: 10 %).
TAILS: tuple[float, ...] = (0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11)


def _levels() -> list[float]:
    """Quantile levels of the tables, ascending: lows, median, highs."""
    return [*TAILS, 0.5, *(1.0 - a for a in reversed(TAILS))]


def _weight(units: npt.NDArray[np.intp], prior: float) -> float:
    """Shrinkage weight ``n / (n + prior)`` with ``n`` distinct stops.

    Records of one stop made a few minutes apart are nearly the same; the
    number of distinct stops, not of records, measures the evidence.
    """
    n = len(np.unique(units))
    return n / (n + prior)


def _tables(
    correction: Correction,
    horizon: FloatArray,
    resid: FloatArray,
    hours: npt.NDArray[np.int64],
    zcol: npt.NDArray[np.int64],
    units: npt.NDArray[np.intp],
    prior: float,
) -> FloatArray:
    """Shrunk residual quantiles ``(levels, buckets, 24, zones + 1)``."""
    edges = correction.horizon_edges
    levels = _levels()
    n_b, n_z = len(edges) - 1, len(correction.zones) + 1
    q = np.zeros((len(levels), n_b, 24, n_z))
    bucket = np.array([correction.bucket(h) for h in horizon], dtype=np.int64)
    previous: FloatArray | None = None
    for b in range(n_b):
        in_b = bucket == b
        if not in_b.any():
            if previous is None:
                sd = default_spread(bucket_mid(edges, b))
                base = np.array([sd * _NORMAL.inv_cdf(level) for level in levels])
            else:
                base = previous
            q[:, b, :, :] = base[:, None, None]
            continue
        base = np.quantile(resid[in_b], levels)
        previous = base
        for h in np.unique(hours[in_b]):
            in_h = in_b & (hours == h)
            w = _weight(units[in_h], prior)
            level_h = base + w * (np.quantile(resid[in_h], levels) - base)
            q[:, b, h, :] = level_h[:, None]
            for z in np.unique(zcol[in_h]):
                in_z = in_h & (zcol == z)
                w = _weight(units[in_z], prior)
                own = np.quantile(resid[in_z], levels)
                q[:, b, h, z] = level_h + w * (own - level_h)
        for h in np.setdiff1d(np.arange(24), hours[in_b]):
            q[:, b, h, :] = base[:, None]
    # quantiles in order, and every gap to the median only grows with horizon
    mid = len(TAILS)
    q = np.sort(q, axis=0)
    gaps = np.maximum.accumulate(np.abs(q - q[mid]), axis=1)
    below = (np.arange(len(levels)) < mid)[:, None, None, None]
    out: FloatArray = np.where(below, -gaps, gaps) + q[mid]
    return out


def fit_residuals(
    correction: Correction,
    records: Sequence[EtaRecord],
    *,
    prior: float = 50.0,
    coverage: float = 0.8,
    lead_minutes: tuple[float, float] = (10.0, 180.0),
    min_calibration: int = 200,
) -> Correction:
    """Residual quantile tables by horizon bucket, hour and zone.

    Quantiles of ``actual - predicted`` are taken per horizon bucket, then
    per bucket and hour, then per bucket, hour and zone, each shrunk towards
    the level above (weight ``n / (n + prior)``, ``n`` distinct stops); the
    gaps to the median only grow with the horizon.

    The window's tails are **calibrated** by leaving one day out: a table
    fitted on the other days must hold ``coverage`` of the left-out day's
    arrivals (predictions made ``lead_minutes`` before the real arrival),
    per horizon bucket. In-sample quantiles are too narrow for a new day
    (days differ: incidents, the factors learned so far), so the tail share,
    one of :data:`TAILS`, is usually a little below the nominal 10 %.

    Parameters
    ----------
    correction
        The factors the records were made with (:func:`fit_factors`).
    records
        Replayed predictions of past days (:func:`eta_records`).
    prior
        Shrinkage strength of the hour and zone levels, in distinct stops.
    coverage
        Share of arrivals the window should hold.
    lead_minutes
        Range of real lead times the calibration looks at.
    min_calibration
        Left-out records a horizon bucket needs to get its own tail share
        (else the overall one).

    Returns
    -------
    Correction
        ``correction`` with residual tables (rows: lower bound, median,
        upper bound).
    """
    if not records:
        return correction
    r = _ResidualArrays.of(correction, records, lead_minutes)
    n_b = len(correction.horizon_edges) - 1
    held, total = _held_out(correction, r, prior, n_b)
    overall, tails = _tail_shares(held, total, coverage, min_calibration)
    q = _tables(correction, r.horizon, r.resid, r.hours, r.zcol, r.units, prior)
    mid = len(TAILS)
    col = np.arange(n_b)
    lower = q[mid] - q[tails, col]
    upper = q[len(q) - 1 - tails, col] - q[mid]
    lower = np.maximum.accumulate(lower, axis=0)
    upper = np.maximum.accumulate(upper, axis=0)
    chosen = np.stack([q[mid] - lower, q[mid], q[mid] + upper])
    return correction.with_residuals(chosen, len(records), tail=TAILS[overall])


def _tail_shares(
    held: FloatArray, total: FloatArray, coverage: float, min_calibration: int
) -> tuple[int, IntArray]:
    """Index in :data:`TAILS` of the tail share overall and per horizon bucket.

    One overall, and one per horizon bucket with enough evidence.
    """
    overall = TAILS.index(0.10)
    if total.sum():
        overall = int(np.argmin(np.abs(held.sum(0) / total.sum() - coverage)))
    tails = np.full(len(total), overall)
    for b in range(len(total)):
        if total[b] >= min_calibration:
            tails[b] = int(np.argmin(np.abs(held[b] / total[b] - coverage)))
    return overall, tails


@dataclass(frozen=True, slots=True)
class _ResidualArrays:
    """The ETA records as arrays, one entry per record."""

    horizon: FloatArray
    resid: FloatArray
    hours: IntArray
    zcol: IntArray
    units: IntArray  # distinct stops
    days: IntArray
    scored: BoolArray  # real lead time in the calibration range
    bucket: IntArray

    @classmethod
    def of(
        cls,
        correction: Correction,
        records: Sequence[EtaRecord],
        lead_minutes: tuple[float, float],
    ) -> _ResidualArrays:
        z_index = {z: i for i, z in enumerate(correction.zones)}
        n_z = len(correction.zones) + 1
        horizon = np.array([r.horizon for r in records], dtype=np.float64)
        zcol = [z_index.get(r.zone, n_z - 1) for r in records]
        units = np.unique(
            np.array([f"{r.day}|{r.vehicle}|{r.order_id}" for r in records]),
            return_inverse=True,
        )[1]
        days = np.unique(np.array([r.day for r in records]), return_inverse=True)[1]
        lead = (
            np.array([r.actual - r.made_at for r in records], dtype=np.float64) / 60.0
        )
        return cls(
            horizon=horizon,
            resid=np.array([r.residual for r in records], dtype=np.float64),
            hours=np.array([r.hour for r in records], dtype=np.int64),
            zcol=np.array(zcol, dtype=np.int64),
            units=units,
            days=days,
            scored=(lead >= lead_minutes[0]) & (lead <= lead_minutes[1]),
            bucket=np.array([correction.bucket(h) for h in horizon], dtype=np.int64),
        )


def _held_out(
    correction: Correction, r: _ResidualArrays, prior: float, n_b: int
) -> tuple[FloatArray, FloatArray]:
    """Left-out arrivals held by each candidate tail share, per horizon bucket.

    Returns ``held`` (bucket x tail share) and ``total`` (per bucket).
    """
    mid = len(TAILS)
    held = np.zeros((n_b, mid))
    total = np.zeros(n_b)
    days = r.days
    folds = range(int(days.max()) + 1) if days.max() > 0 else [None]
    for fold in folds:
        # leave one day out: the window must hold on a day it has not seen
        train = days != fold if fold is not None else np.ones(len(days), bool)
        test = (days == fold if fold is not None else train) & r.scored
        if not test.any():
            continue
        q = _tables(
            correction,
            r.horizon[train],
            r.resid[train],
            r.hours[train],
            r.zcol[train],
            r.units[train],
            prior,
        )
        b, h, z, res = r.bucket[test], r.hours[test], r.zcol[test], r.resid[test]
        for j in range(mid):
            inside = (res >= q[j, b, h, z]) & (res <= q[-1 - j, b, h, z])
            held[:, j] += np.bincount(b, weights=inside, minlength=n_b)
        total += np.bincount(b, minlength=n_b)
    return held, total


def fit_correction(
    days: Sequence[ExecutedDay],
    travel: TravelModel | LegTimes,
    *,
    zone: ZoneFn = grid_zone,
    every: int = REPLAY_EVERY,
    factor_prior: float = 30.0,
    residual_prior: float = 50.0,
) -> Correction:
    """Factors and residual tables from past days (never the day to predict).

    Parameters
    ----------
    days
        Executed past days.
    travel
        The planner's travel model.
    zone
        Zone function (the same must be used when predicting).
    every
        Replay step of :func:`eta_records`, seconds.
    factor_prior, residual_prior
        Shrinkage strengths (see :func:`fit_factors`, :func:`fit_residuals`).

    Returns
    -------
    Correction
    """
    legs_cache = travel if isinstance(travel, LegTimes) else LegTimes(travel)
    legs: list[LegRecord] = []
    services: list[ServiceRecord] = []
    halts: list[float] = []
    for day in days:
        halts += observed_halts(day.plan, day.events)
        legs += observed_legs(day.plan, day.events, legs_cache, zone=zone)
        services += observed_services(
            day.plan, day.events, problem=day.problem, zone=zone
        )
    factors = fit_factors(legs, services, halts=halts, prior=factor_prior)
    records: list[EtaRecord] = []
    for day in days:
        records += eta_records(
            day.plan,
            day.events,
            legs_cache,
            factors,
            every=every,
            problem=day.problem,
            zone=zone,
        )
    return fit_residuals(factors, records, prior=residual_prior)


@dataclass(slots=True)
class DayLearner:
    """The correction learned day by day, as a shop lives its days.

    :meth:`learn` adds one finished day: its legs, services and standstills,
    and (from the second day on) its ETA records, replayed with the factors
    the days before it taught. :meth:`correction` is what the next day's
    ETAs use: the factors of every day learned and, once a day has been
    replayed, the residual tables of :func:`fit_residuals`. Only what a
    shop observes is used: the plan, the problem and the tracking events.
    """

    travel: LegTimes
    zone: ZoneFn = grid_zone
    every: int = REPLAY_EVERY
    days: int = 0
    legs: list[LegRecord] = field(default_factory=list)
    services: list[ServiceRecord] = field(default_factory=list)
    halts: list[float] = field(default_factory=list)
    records: list[EtaRecord] = field(default_factory=list)

    def factors(self) -> Correction:
        """Leg and service factors of the days learned so far."""
        return fit_factors(self.legs, self.services, halts=self.halts)

    def correction(self) -> Correction:
        """The correction for the next day (the default before any day)."""
        if not self.days:
            return Correction()
        return fit_residuals(self.factors(), self.records)

    def learn(self, day: ExecutedDay, *, factors: Correction | None = None) -> None:
        """Add one finished day.

        ``factors`` are those its ETAs were made with (default: the days
        learned so far); its records are replayed only when a day came
        before (the first day's ETAs had no factors to replay).
        """
        if self.days:
            self.records += eta_records(
                day.plan,
                day.events,
                self.travel,
                self.factors() if factors is None else factors,
                every=self.every,
                problem=day.problem,
                zone=self.zone,
                day=str(self.days),
            )
        self.legs += observed_legs(day.plan, day.events, self.travel, zone=self.zone)
        self.halts += observed_halts(day.plan, day.events)
        self.services += observed_services(
            day.plan, day.events, problem=day.problem, zone=self.zone
        )
        self.days += 1
