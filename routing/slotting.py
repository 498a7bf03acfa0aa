"""Delivery slots at checkout: which windows to offer, at what marginal cost.

A :class:`SlotBook` keeps one day's plan up to date through the bookings.
For an address it lists the candidate slots (:class:`SlotConfig`: 2-hour
home windows, a night window, pickup stations nearby) and for each one says
whether it is available and what serving it would add to the plan, by
cheapest feasible insertion into the current routes
(:class:`routing.solver.insertion.LivePlan`): no solve per quote. Slots where a van
already passes are cheap; they are listed first when ``sort="cost"``.

Booking a slot inserts the order into the plan with the slot as a **hard**
time window, so every later plan (an insertion, a re-optimisation) must keep
it there.

A slot is *not available* when (reason in brackets):

* booking for it has closed: ``now`` is past ``cutoff`` or less than
  ``lead_time`` before the window opens (``closed``);
* no vehicle of the day may carry the order at all, e.g. no night van
  (``no_vehicle``);
* no route can take it inside the window, its shift, capacity and limits,
  and opening an unused van is not allowed or does not help either
  (``full``);
* taking it would eat into the time held back for the demand still to come
  (``reserved``): the forecast of further orders in that slot,
  ``buffer[slot]``, times ``minutes_per_stop``, plus ``buffer_share`` of the
  fleet's working time in the window, must stay free. Free time in a window
  is what the compatible vans spend waiting, or not yet or no longer on the
  road, inside it.

Retention pricing (:class:`SlotPricing`, optional). The route cost of a
slot is what the vans spend; a late delivery also costs what the customer
will not buy again. Given each planned order's learned price of a late
minute (money) and the quoting customer's, a quote adds ``retention_cost``:

* **the other orders' extra late minutes**: for every order on the route
  that takes the new stop, its planned minutes past its window after the
  insertion minus before, at its own price. Only soft-windowed orders
  (priced by the plan, ``Job.lateness_cost``) can be planned late; a
  hard-windowed one (a booked slot) never is, the insertion must keep it in
  its window, so it adds nothing. The screening keeps every on-time order
  on time, so this is mostly orders already planned late pushed further;
* **the quoted order's own risk**: its window is hard, so the plan never
  has it late, but the day runs behind its plan. A stop starts ``D``
  seconds after its planned start, so with ``s`` seconds of slack between
  the planned start and the window's end the expected late minutes are
  ``E[(D - s)+] / 60``, at the customer's price
  (:meth:`SlotPricing.late_minutes`). ``D`` is the learned late running
  (``running_late``: how far stops on the deployment's tracked days ran
  behind their plan) when there is one, else assumed exponential of mean
  ``delay`` (``delay * exp(-s / delay) / 60``). A slot the van reaches just
  before it closes costs a valuable customer the typical late running; one
  with an hour to spare almost nothing.

``total_cost`` = ``marginal_cost + retention_cost`` orders ``sort="cost"``
(when the marginal cost is in metres, the plan having no vehicle costs,
the two are not added: ``total_cost`` is the marginal cost). Pricing never
changes availability: the same insertion is judged by the same rules, only
its price grows. Within a slot the position is still the cheapest by route
cost (the van and ETA are those of the unpriced quote): the retention cost
prices that insertion, it does not search for another one. Without pricing,
``retention_cost`` is 0.

Times are seconds since local midnight of the plan's date (``now`` may be
negative: the evening before); the config's are clock readings, read on
that date (:class:`SlotConfig`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import Field

from routing.base import FrozenModel
from routing.bounds import Real, Whole
from routing.model import (
    Amount,
    Id,
    Job,
    Location,
    Problem,
    Seconds,
    ServiceLevel,
    TimeWindow,
)
from routing.plan import Plan, Route, StepType
from routing.solver.data import fits_alone, incompatibility
from routing.solver.insertion import Insertion, LivePlan, Probe
from routing.travel import TravelModel
from routing.units import DAY, HOUR, changes_clock, clock, haversine_m, wall_to_elapsed


def _two_hour_windows() -> tuple[TimeWindow, ...]:
    return tuple(
        TimeWindow(start=h * HOUR, end=(h + 2) * HOUR) for h in range(9, 21, 2)
    )


class SlotKind(StrEnum):
    HOME = "home"
    NIGHT = "night"
    STATION = "station"


class SlotConfig(FrozenModel):
    """Which slots exist and the rules of availability.

    Its times (windows, night and station windows, cutoff) are clock
    readings: the same every day, like a van's shift. A :class:`SlotBook`
    reads them on its day, so on a day the clocks change the 09:00-11:00
    slot still opens at 09:00 on the wall and keeps its id.
    """

    windows: tuple[TimeWindow, ...] = Field(
        default_factory=_two_hour_windows,
        description="home delivery windows (default 2-hour windows 09:00-21:00)",
    )
    night: TimeWindow | None = Field(
        default=TimeWindow(start=DAY, end=DAY + 7 * HOUR),
        description="dawn window served by night vans (00:00-07:00 next morning)",
    )
    station_radius_m: Real = Field(
        default=1500.0, ge=0.0, description="offer pickup stations this close"
    )
    station_window: TimeWindow = Field(
        default=TimeWindow(start=9 * HOUR, end=18 * HOUR),
        description="when parcels are dropped at stations",
    )
    lead_time: Seconds = Field(
        default=HOUR, description="booking closes this long before a window opens"
    )
    cutoff: int | None = Field(
        default=None,
        description="no bookings after this time (seconds since midnight of "
        "the plan's date; negative: the day before)",
    )
    buffer: dict[str, float] = Field(
        default_factory=dict,
        description="orders still expected per slot id (from the forecast)",
    )
    buffer_share: Real = Field(
        default=0.0, ge=0.0, le=1.0, description="share of working time held back"
    )
    minutes_per_stop: Real = Field(
        default=8.0, gt=0.0, description="van time one expected order needs"
    )
    demand: Amount = Field(
        default=(1500, 1), min_length=1, description="default order demand"
    )
    service: Seconds = Field(default=180, description="default service seconds")
    open_vehicles: bool = Field(
        default=True, description="may a slot open an unused van"
    )
    sort: Literal["cost", "time"] = "cost"
    neighbours: Whole = Field(default=60, ge=1, description="stops tried per quote")


class Slot(FrozenModel):
    """One thing a customer can choose."""

    id: str
    kind: SlotKind
    window: TimeWindow
    station: Id | None = None


class SlotReason(StrEnum):
    OK = "ok"
    CLOSED = "closed"
    NO_VEHICLE = "no_vehicle"
    FULL = "full"
    RESERVED = "reserved"


class SlotPricing(FrozenModel):
    """Retention prices of a quote: money per late minute, by order.

    See the module docstring for how a quote's ``retention_cost`` is made.
    """

    per_minute: dict[str, float] = Field(
        default_factory=dict,
        description="price of a late minute of each planned order, by id "
        "(an order not listed costs nothing)",
    )
    customer: Real = Field(
        default=0.0, ge=0.0, description="price of a late minute of the quoted order"
    )
    delay: Seconds = Field(
        default=600,
        gt=0,
        description="mean of the assumed (exponential) late running at a stop, "
        "used when running_late is empty",
    )
    running_late: tuple[int, ...] = Field(
        default=(),
        max_length=1_001,
        description="seconds stops started after their planned start on tracked "
        "days (a sample, negative when early): the learned late running",
    )

    def late_minutes(self, slack: int) -> float:
        """Expected minutes a stop planned ``slack`` seconds before its
        window's end starts past it: ``E[(D - slack)+]`` over the learned
        late running ``D``, or the assumed exponential's
        ``delay * exp(-slack / delay)`` without one."""
        if self.running_late:
            over = sum(max(0, d - slack) for d in self.running_late)
            return over / len(self.running_late) / 60.0
        return self.delay * math.exp(-slack / self.delay) / 60.0


class SlotQuote(FrozenModel):
    """A slot, whether it can be booked and what it would cost to serve.

    ``marginal_cost`` is in the problem's currency (metres when the plan has
    no vehicle costs);
    ``retention_cost`` is the expected retention the insertion costs (money;
    0 without pricing) and ``total_cost`` the two together (the marginal
    cost alone when it is in metres): the order of ``sort="cost"``.
    ``vehicle`` and ``eta`` say which van would serve it and when.
    """

    slot: Slot
    available: bool
    marginal_cost: float | None = None
    retention_cost: float | None = None
    total_cost: float | None = None
    reason: SlotReason
    detail: str = ""
    vehicle: str | None = None
    eta: int | None = None


class Booking(FrozenModel):
    """A booked order."""

    order: Id
    slot: Slot
    vehicle: str
    eta: int
    marginal_cost: float
    retention_cost: float | None = Field(
        default=None,
        description="expected retention cost of the insertion when booked "
        "with pricing (as its quote said); None: booked unpriced",
    )


class SlotUnavailableError(ValueError):
    """The slot cannot be booked (any more)."""

    def __init__(self, quote: SlotQuote) -> None:
        self.quote = quote
        super().__init__(
            f"slot {quote.slot.id} is not available: {quote.reason.value}"
            + (f" ({quote.detail})" if quote.detail else "")
        )


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def free_time(route: Route | None, shift: TimeWindow, window: TimeWindow) -> int:
    """Seconds of ``window`` in which a van of ``shift`` is idle.

    Idle is waiting at a stop, before its route leaves or after it returns
    (an unused van is idle for its whole shift).
    """
    w0, w1 = window.start, window.end
    if route is None:
        return _overlap(shift.start, shift.end, w0, w1)
    steps = route.steps
    idle = _overlap(shift.start, steps[0].departure, w0, w1)
    idle += _overlap(steps[-1].arrival, shift.end, w0, w1)
    for s in steps[1:-1]:
        if s.waiting_time > 0 and s.type != StepType.BREAK:
            idle += _overlap(s.service_start - s.waiting_time, s.service_start, w0, w1)
    return idle


class SlotBook:
    """One day's plan, kept up to date through quotes and bookings.

    Parameters
    ----------
    problem, plan
        The day and its current plan.
    travel
        Travel model (the problem's own matrices win).
    config
        The slots and the rules of availability.
    id_prefix
        Prefix of generated order ids.
    """

    def __init__(
        self,
        problem: Problem,
        plan: Plan,
        travel: TravelModel,
        config: SlotConfig | None = None,
        *,
        id_prefix: str = "slot-",
    ) -> None:
        self.config = config or SlotConfig()
        self.live = LivePlan.from_plan(
            problem, plan, travel, neighbours=self.config.neighbours
        )
        self.bookings: dict[str, Booking] = {}
        self._prefix = id_prefix
        self._counter = itertools.count(1)
        self._uses_depots = any(j.depot is not None for j in problem.jobs)
        self._free: dict[tuple[int, TimeWindow], int] = {}
        day, tz = problem.date, problem.locale.zone
        # Config readings as the day's elapsed seconds (the same numbers on
        # the ~363 days without a clock change).
        if day is None or not changes_clock(day, tz):
            self._at: Callable[[int], int] = int
        else:
            self._at = functools.partial(wall_to_elapsed, day=day, tz=tz)

    # -- state ---------------------------------------------------------------

    @property
    def problem(self) -> Problem:
        """The day with every booked order."""
        return self.live.problem

    @property
    def date(self) -> dt.date | None:
        return self.live.problem.date

    def plan(self) -> Plan:
        """The plan with every booking inserted."""
        return self.live.plan(engine="slots")

    # -- slots ---------------------------------------------------------------

    def slots(self, location: Location) -> list[Slot]:
        """Every slot the config offers for an address."""
        cfg = self.config
        # Ids name the readings, so they are the same every day.
        out = [
            Slot(
                id=f"{clock(w.start)}-{clock(w.end)}",
                kind=SlotKind.HOME,
                window=self._on_day(w),
            )
            for w in cfg.windows
        ]
        if cfg.night is not None:
            out.append(
                Slot(id="night", kind=SlotKind.NIGHT, window=self._on_day(cfg.night))
            )
        if location.has_coordinates:
            assert location.lat is not None and location.lon is not None
            for st in self.problem.stations:
                loc = st.location
                if loc.lat is None or loc.lon is None:
                    continue
                metres = haversine_m(location.lat, location.lon, loc.lat, loc.lon)
                if metres <= cfg.station_radius_m:
                    out.append(
                        Slot(
                            id=f"station:{st.id}",
                            kind=SlotKind.STATION,
                            window=self._on_day(cfg.station_window),
                            station=st.id,
                        )
                    )
        return out

    def _job(
        self,
        slot: Slot,
        location: Location,
        order_id: str,
        demand: Amount | None,
        service: int | None,
        customer_id: str | None,
        collect: Amount | None = None,
        base: Job | None = None,
    ) -> Job:
        cfg = self.config
        where = location
        level = ServiceLevel.NEXT_DAY
        scheduled = None
        if slot.kind == SlotKind.NIGHT:
            level = ServiceLevel.NIGHT
        elif slot.kind == SlotKind.STATION:
            level = ServiceLevel.PICKUP_STATION
            assert slot.station is not None
            where = self.problem.station(slot.station).location
        elif self.date is not None:
            level, scheduled = ServiceLevel.SCHEDULED, self.date
        if base is not None:
            return self._moved(base, slot, order_id, level, scheduled, where)
        return Job(
            id=order_id,
            location=None if slot.kind == SlotKind.STATION else location,
            station=slot.station,
            demand=demand or cfg.demand,
            service=0
            if slot.kind == SlotKind.STATION
            else (cfg.service if service is None else service),
            time_windows=(slot.window,),
            service_level=level,
            scheduled_date=scheduled,
            customer_id=customer_id,
            depot=self._depot_for(where) if self._uses_depots else None,
            **({"type": "exchange", "collect": collect} if collect else {}),
        )

    def _moved(
        self,
        base: Job,
        slot: Slot,
        order_id: str,
        level: ServiceLevel,
        scheduled: dt.date | None,
        where: Location,
    ) -> Job:
        """``base`` (an order as accepted) in ``slot`` of this day: every field
        kept but its id, its window and its day (``service_level``,
        ``scheduled_date``), and its depot when it had none and the day pins
        depots."""
        if scheduled is None and base.scheduled_date is not None:
            scheduled = self.date
        update: dict[str, object] = {
            "id": order_id,
            "time_windows": (slot.window,),
            "service_level": level,
            "scheduled_date": scheduled,
        }
        if slot.kind == SlotKind.STATION:
            update |= {"location": None, "station": slot.station, "service": 0}
        if base.depot is None and self._uses_depots:
            update["depot"] = self._depot_for(where)
        # Validated again: the new fields must make a valid job as a whole.
        return Job.model_validate({**dict(base), **update})

    def _depot_for(self, location: Location) -> str:
        """The depot nearest a place (straight line, or travel without it)."""
        depots = self.problem.depots
        if location.has_coordinates and all(d.location.has_coordinates for d in depots):
            assert location.lat is not None and location.lon is not None
            lat, lon = location.lat, location.lon

            def metres(loc: Location) -> float:
                assert loc.lat is not None and loc.lon is not None
                return haversine_m(lat, lon, loc.lat, loc.lon)

            return min(depots, key=lambda d: metres(d.location)).id
        m = self.live.travel.matrix([location, *(d.location for d in depots)])
        return depots[int(m.durations[1:, 0].argmin())].id

    # -- quotes --------------------------------------------------------------

    def quote(
        self,
        location: Location,
        day: dt.date | None = None,
        *,
        demand: Amount | None = None,
        service: int | None = None,
        now: int | None = None,
        collect: Amount | None = None,
        job: Job | None = None,
        pricing: SlotPricing | None = None,
    ) -> list[SlotQuote]:
        """Every slot for an address: available or not, and its marginal cost.

        ``collect`` makes the order an exchange (``demand`` delivered,
        ``collect`` taken back at the same visit): a van must have room for
        both, and pickup stations are not offered.

        ``job`` is an order accepted already (moved to this day after a
        failed attempt): it is quoted as it is (its skills, handling,
        priority...), only its window and day set by the slot; ``demand``,
        ``service`` and ``collect`` are then its own.

        ``pricing`` adds each quote's expected retention cost (see the
        module docstring); it never changes which slots are available.

        Raises
        ------
        ValueError
            When ``day`` is not the plan's date.
        """
        self._check_day(day)
        slots = self.slots(location)
        if job is not None:
            demand, service, collect = job.demand, job.service, job.collect or None
        quotes = [
            q
            for q, _ in self._quote(
                slots,
                location,
                demand,
                service,
                now,
                collect=collect,
                base=job,
                pricing=pricing,
            )
        ]
        if self.config.sort == "cost":
            quotes.sort(
                key=lambda q: (
                    not q.available,
                    q.total_cost if q.total_cost is not None else math.inf,
                    q.slot.window.start,
                )
            )
        return quotes

    def _check_day(self, day: dt.date | None) -> None:
        if day is not None and self.date is not None and day != self.date:
            raise ValueError(f"the plan is for {self.date}, not {day}")

    def _quote(
        self,
        slots: Sequence[Slot],
        location: Location,
        demand: Amount | None,
        service: int | None,
        now: int | None,
        order_id: str = "?quote",
        customer_id: str | None = None,
        collect: Amount | None = None,
        base: Job | None = None,
        pricing: SlotPricing | None = None,
    ) -> list[tuple[SlotQuote, tuple[Insertion, Route] | None]]:
        out: list[tuple[SlotQuote, tuple[Insertion, Route] | None]] = []
        probes: dict[Location, Probe] = {}
        pending: list[tuple[Slot, Job]] = []
        for slot in slots:
            closed = self._closed(slot, now)
            if not closed and collect and slot.kind == SlotKind.STATION:
                closed = "an exchange is handed over at the door, not at a station"
            if closed:
                quote = SlotQuote(
                    slot=slot, available=False, reason=SlotReason.CLOSED, detail=closed
                )
                out.append((quote, None))
                continue
            job = self._job(
                slot, location, order_id, demand, service, customer_id, collect, base
            )
            pending.append((slot, job))
        by_place: dict[Location, list[tuple[Slot, Job]]] = {}
        for slot, job in pending:
            by_place.setdefault(self.problem.job_location(job), []).append((slot, job))
        for place, items in by_place.items():
            probe = probes.setdefault(place, self.live.probe(place))
            screened = self.live.candidates([j for _, j in items], probe=probe)
            for (slot, job), found in zip(items, screened, strict=True):
                out.append(self._judge(slot, job, found, pricing))
        order = {s.id: k for k, s in enumerate(slots)}
        out.sort(key=lambda item: order[item[0].slot.id])
        return out

    def _closed(self, slot: Slot, now: int | None) -> str:
        cfg = self.config
        if now is None:
            return ""
        if cfg.cutoff is not None and now > self._at(cfg.cutoff):
            return f"bookings closed at {clock(cfg.cutoff % DAY)}"
        if now > slot.window.start - cfg.lead_time:
            return f"needs {cfg.lead_time // 60} min notice"
        return ""

    def _on_day(self, window: TimeWindow) -> TimeWindow:
        """A config window of clock readings as the day's elapsed seconds."""
        start, end = self._at(window.start), self._at(window.end)
        if (start, end) == (window.start, window.end):
            return window
        return TimeWindow(start=start, end=end)

    def _compatible(self, job: Job) -> list[int]:
        return [
            v
            for v, vehicle in enumerate(self.live.vehicles)
            if incompatibility(vehicle, job) is None and fits_alone(job, vehicle)
        ]

    def _judge(
        self,
        slot: Slot,
        job: Job,
        screened: Sequence[Insertion],
        pricing: SlotPricing | None = None,
    ) -> tuple[SlotQuote, tuple[Insertion, Route] | None]:
        compat = self._compatible(job)
        if not compat:
            return SlotQuote(
                slot=slot,
                available=False,
                reason=SlotReason.NO_VEHICLE,
                detail="no vehicle of the day can carry it",
            ), None
        if not self.config.open_vehicles:
            screened = [i for i in screened if not i.opens_vehicle]
        found = self.live.best(job, screened=screened)
        if found is None:
            return SlotQuote(
                slot=slot,
                available=False,
                reason=SlotReason.FULL,
                detail="no van can fit it in this window",
            ), None
        ins, route = found
        eta = next(s.service_start for s in route.steps if s.id == job.id)
        vehicle = self.live.vehicles[ins.vehicle].id
        retention = self._retention(job, slot, ins.vehicle, route, eta, pricing)
        # Money and money add up; metres (no vehicle costs) and money do not.
        total = ins.cost + retention if self.live.by_cost else ins.cost
        costs = {
            "marginal_cost": ins.cost,
            "retention_cost": retention,
            "total_cost": round(total, 2),
        }
        reserve = self._reserve(slot, compat)
        if reserve > 0:
            free = sum(self._free_time(v, slot.window) for v in compat)
            if free - ins.work < reserve:
                return SlotQuote(
                    slot=slot,
                    available=False,
                    **costs,
                    reason=SlotReason.RESERVED,
                    detail=f"{free // 60} min free, {math.ceil(reserve / 60)} min "
                    "held for expected orders",
                    vehicle=vehicle,
                    eta=eta,
                ), None
        return SlotQuote(
            slot=slot,
            available=True,
            **costs,
            reason=SlotReason.OK,
            vehicle=vehicle,
            eta=eta,
        ), found

    def _retention(
        self,
        job: Job,
        slot: Slot,
        v: int,
        route: Route,
        eta: int,
        pricing: SlotPricing | None,
    ) -> float:
        """Expected retention cost (money) of serving ``job`` on ``route``, the
        new route of vehicle ``v``: the other orders' extra planned late
        minutes and the order's own risk (module docstring)."""
        if pricing is None:
            return 0.0
        served = (StepType.JOB, StepType.DELIVERY)
        old = self.live.routes[v]
        before = (
            {} if old is None else {s.id: s.late for s in old.steps if s.type in served}
        )
        late = 0.0
        for s in route.steps:
            if s.type not in served or s.id is None or s.id == job.id:
                continue
            price = pricing.per_minute.get(s.id, 0.0)
            if price:
                late += price * (s.late - before.get(s.id, 0)) / 60.0
        slack = max(0, slot.window.end - eta)
        return round(late + pricing.customer * pricing.late_minutes(slack), 2)

    def _reserve(self, slot: Slot, compat: Sequence[int]) -> float:
        cfg = self.config
        reserve = cfg.buffer.get(slot.id, 0.0) * cfg.minutes_per_stop * 60.0
        if cfg.buffer_share > 0:
            total = sum(
                _overlap(
                    self.live.vehicles[v].shift.start,
                    self.live.vehicles[v].shift.end,
                    slot.window.start,
                    slot.window.end,
                )
                for v in compat
            )
            reserve += cfg.buffer_share * total
        return reserve

    def _free_time(self, v: int, window: TimeWindow) -> int:
        key = (v, window)
        if key not in self._free:
            vehicle = self.live.vehicles[v]
            self._free[key] = free_time(self.live.routes[v], vehicle.shift, window)
        return self._free[key]

    # -- booking --------------------------------------------------------------

    def book(
        self,
        location: Location,
        slot_id: str,
        *,
        order_id: str | None = None,
        day: dt.date | None = None,
        demand: Amount | None = None,
        service: int | None = None,
        now: int | None = None,
        customer_id: str | None = None,
        collect: Amount | None = None,
        job: Job | None = None,
        pricing: SlotPricing | None = None,
    ) -> Booking:
        """Reserve a slot: insert the order into the plan with that window
        (an exchange when ``collect`` is given, as in :meth:`quote`).

        ``pricing``: insert it where the quote with the same pricing would
        (route and retention cost), and report that retention cost.

        ``job``: an order accepted already, booked with every field it has
        but its id (``order_id``), window and day, as in :meth:`quote`
        (``demand``, ``service``, ``customer_id`` and ``collect`` are its own).

        Raises
        ------
        KeyError
            For a slot id not offered at this address.
        SlotUnavailableError
            When the slot cannot be booked (the quote says why).
        ValueError
            For another day, or an order id already in the plan.
        """
        self._check_day(day)
        slot = next((s for s in self.slots(location) if s.id == slot_id), None)
        if slot is None:
            raise KeyError(f"no slot {slot_id!r} at this address")
        oid = order_id or self._new_id()
        if oid in self.live.orders:
            raise ValueError(f"order id {oid!r} is already in the plan")
        if job is not None:
            demand, service, collect = job.demand, job.service, job.collect or None
            customer_id = job.customer_id
        ((quote, found),) = self._quote(
            [slot],
            location,
            demand,
            service,
            now,
            order_id=oid,
            customer_id=customer_id,
            collect=collect,
            base=job,
            pricing=pricing,
        )
        if not quote.available or found is None:
            raise SlotUnavailableError(quote)
        booked = self._job(
            slot, location, oid, demand, service, customer_id, collect, job
        )
        ins, route = found
        self.live.insert(booked, found=found)
        self._free = {k: v for k, v in self._free.items() if k[0] != ins.vehicle}
        eta = next(s.service_start for s in route.steps if s.id == oid)
        booking = Booking(
            order=oid,
            slot=slot,
            vehicle=self.live.vehicles[ins.vehicle].id,
            eta=eta,
            marginal_cost=ins.cost,
            retention_cost=None if pricing is None else quote.retention_cost,
        )
        self.bookings[oid] = booking
        return booking

    def _new_id(self) -> str:
        while True:
            oid = f"{self._prefix}{next(self._counter):05d}"
            if oid not in self.live.orders:
                return oid


def quote(
    slots: SlotBook,
    location: Location,
    day: dt.date | None = None,
    *,
    demand: Amount | None = None,
    service: int | None = None,
    now: int | None = None,
    collect: Amount | None = None,
    pricing: SlotPricing | None = None,
) -> list[SlotQuote]:
    """Every slot for an address on ``day`` (:meth:`SlotBook.quote`)."""
    return slots.quote(
        location,
        day,
        demand=demand,
        service=service,
        now=now,
        collect=collect,
        pricing=pricing,
    )


def book(
    slots: SlotBook,
    location: Location,
    slot_id: str,
    *,
    order_id: str | None = None,
    day: dt.date | None = None,
    demand: Amount | None = None,
    service: int | None = None,
    now: int | None = None,
    collect: Amount | None = None,
) -> Booking:
    """Reserve a slot; returns the booking (:meth:`SlotBook.book`)."""
    return slots.book(
        location,
        slot_id,
        order_id=order_id,
        day=day,
        demand=demand,
        service=service,
        now=now,
        collect=collect,
    )
