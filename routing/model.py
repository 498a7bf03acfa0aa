"""The routing domain model: what a delivery day is made of.

Every class is a frozen pydantic model that forbids unknown keys, so the same
objects serve the library, the JSON files (``docs/API.md``) and the service.
Units follow :mod:`routing.units`: integer seconds, metres and amount vectors.

Vocabulary follows VROOM: a problem has *jobs* (a single stop: a delivery to
the customer, or a pickup/return collected from the customer and brought back
to the depot) and *shipments* (a pickup at one place and a delivery at another,
on the same vehicle, in that order). Jobs and shipments together are the
*orders*.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from routing.base import FrozenModel
from routing.bounds import (
    DAY_MARGIN,
    Count,
    Flag,
    Id,
    Int32,
    Money,
    NodeId,
    Real,
    Seconds,
    Text,
    Whole,
)
from routing.locale import DEFAULT_LOCALE, Locale, zone
from routing.units import changes_clock, wall_to_elapsed

__all__ = [
    "DROP_PENALTY_HOURS",
    "MAX_DIMENSIONS",
    "Amount",
    "Break",
    "Clock",
    "ClockReadings",
    "Costs",
    "DayClock",
    "Depot",
    "Handling",
    "Id",
    "Job",
    "Locale",
    "Location",
    "Matrices",
    "Order",
    "PickupStation",
    "Problem",
    "Seconds",
    "SensorBounds",
    "SensorLimits",
    "ServiceLevel",
    "Shipment",
    "ShipmentStep",
    "TimeWindow",
    "Vehicle",
    "Windows",
    "clock_readings",
]

#: An amount vector: one non-negative 32-bit integer per dimension.
Amount = tuple[Int32, ...]
#: Dimensions of an amount, at most.
MAX_DIMENSIONS = 16

#: Drop penalty of an order with priority 0, in driver-hours (the problem's
#: ``locale.amount`` turns it into its currency: 100,000 KRW, 125 USD); each
#: priority point adds the same again, so priority 100 costs 101x as much to
#: leave unserved.
DROP_PENALTY_HOURS = 5.0


class ServiceLevel(StrEnum):
    """How fast the customer was promised the parcel."""

    SAME_DAY = "same_day"
    NEXT_DAY = "next_day"
    SCHEDULED = "scheduled"
    NIGHT = "night"
    PICKUP_STATION = "pickup_station"


class Location(FrozenModel):
    """A place: WGS84 coordinates, optionally a road node or matrix row.

    ``index`` refers to a row of user-supplied travel matrices; ``node`` to a
    node of a road graph. When both coordinates are given they must be valid.
    """

    lat: Real | None = Field(default=None, ge=-90.0, le=90.0)
    lon: Real | None = Field(default=None, ge=-180.0, le=180.0)
    node: NodeId | None = None
    index: Int32 | None = None

    @model_validator(mode="after")
    def _coordinates_or_index(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise PydanticCustomError("location", "lat and lon must be given together")
        if self.lat is None and self.index is None:
            raise PydanticCustomError(
                "location", "a location needs lat/lon or a matrix index"
            )
        return self

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None


#: The day and zone ``"HH:MM"`` strings are clock readings of, while a
#: problem with a date (or :func:`clock_readings`) is being validated.
_READINGS: ContextVar[tuple[dt.date, dt.tzinfo] | None] = ContextVar(
    "milepost_clock_readings", default=None
)


@contextlib.contextmanager
def clock_readings(day: dt.date | None, tz: dt.tzinfo) -> Iterator[None]:
    """Within the block, a ``"HH:MM"`` time of day being validated is the
    clock reading of ``day`` in ``tz``, stored as elapsed seconds
    (:func:`routing.units.wall_to_elapsed`); integers stay as they are.

    A :class:`Problem` with a ``date`` reads its own strings this way; use
    this for what belongs to a problem's day but does not carry it (a
    re-optimisation state). Without a ``day`` or on a day without a clock
    change the strings are plain seconds, as always.
    """
    if day is None or not changes_clock(day, tz):
        yield
        return
    token = _READINGS.set((day, tz))
    try:
        yield
    finally:
        _READINGS.reset(token)


def _clock_to_seconds(value: object) -> object:
    """Accept ``"HH:MM"`` / ``"HH:MM:SS"`` strings (hours may pass 24): a
    clock reading, elapsed seconds on a day the clocks change."""
    if isinstance(value, str) and not value.isdigit():
        parts = value.split(":")
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
            h, m, *sec = (int(p) for p in parts)
            if m < 60 and (not sec or sec[0] < 60):
                seconds = h * 3600 + m * 60 + (sec[0] if sec else 0)
                reading = _READINGS.get()
                if reading is None:
                    return seconds
                return wall_to_elapsed(seconds, *reading)
        raise PydanticCustomError(
            "clock",
            "{value} is not a time of day: write HH:MM or HH:MM:SS, like '09:30'",
            {"value": repr(value)},
        )
    return value


Clock = Annotated[Seconds, BeforeValidator(_clock_to_seconds)]
#: "Now" on a day in execution: a clock time within the day + 2 days.
DayClock = Annotated[
    int,
    Field(ge=0, le=86_400 + DAY_MARGIN),
    BeforeValidator(_clock_to_seconds),
]


class ClockReadings(BaseModel):
    """A model whose ``"HH:MM"`` times of day are clock readings of a day it
    does not carry (an order whose day is the service's, a re-optimisation
    of a stored plan): :meth:`on_day` reads them for that day.

    Validation alone reads them as plain seconds and keeps what was sent.
    """

    _sent: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_sent(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        made = handler(data)
        if isinstance(data, dict) and _has_text(data):
            made._sent = data
        return made

    def on_day(self, day: dt.date | None, tz: dt.tzinfo) -> Self:
        """This model with its ``"HH:MM"`` strings read as clock readings of
        ``day`` in ``tz``; itself when it had none or the day has no change."""
        if self._sent is None or day is None or not changes_clock(day, tz):
            return self
        with clock_readings(day, tz):
            return self.model_validate(self._sent)


def _has_text(data: object) -> bool:
    """Whether ``data`` holds a string below it (a possible ``"HH:MM"``)."""
    if isinstance(data, dict):
        return any(_has_text(v) for v in data.values())
    if isinstance(data, list | tuple):
        return any(_has_text(v) for v in data)
    return isinstance(data, str) and ":" in data


class TimeWindow(FrozenModel):
    """Inclusive ``[start, end]`` in seconds since local midnight.

    JSON may give it as ``{"start": 32400, "end": 39600}``, as VROOM's pair
    ``[32400, 39600]``, or with clock strings ``["09:00", "11:00"]``.
    """

    start: Clock
    end: Clock

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise PydanticCustomError(
                    "time_window",
                    "a window pair needs exactly 2 values, got {n}",
                    {"n": len(value)},
                )
            return {"start": value[0], "end": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end < self.start:
            raise PydanticCustomError(
                "time_window",
                "end ({end}) is before start ({start})",
                {"end": self.end, "start": self.start},
            )
        return self

    def contains(self, t: int) -> bool:
        return self.start <= t <= self.end

    def as_list(self) -> list[int]:
        return [self.start, self.end]


Windows = tuple[TimeWindow, ...]


def _check_windows(windows: Windows) -> Windows:
    """Several windows must be sorted and must not overlap."""
    for a, b in itertools.pairwise(windows):
        if b.start <= a.end:
            raise PydanticCustomError(
                "time_windows",
                "windows must be sorted and disjoint: [{a0}, {a1}] then [{b0}, {b1}]",
                {"a0": a.start, "a1": a.end, "b0": b.start, "b1": b.end},
            )
    return windows


class Depot(FrozenModel):
    """Where vehicles start and end and where delivery parcels are loaded."""

    id: Id
    location: Location
    name: Text = ""


class PickupStation(FrozenModel):
    """A locker or shop where many parcels are dropped in one stop.

    The first parcel of a visit costs ``service`` seconds (parking, opening the
    locker bank); every parcel adds ``per_parcel`` seconds.
    """

    id: Id
    location: Location
    service: Seconds = 300
    per_parcel: Seconds = 20
    name: Text = ""


class Costs(FrozenModel):
    """Vehicle costs in the problem's currency (``Problem.locale``)."""

    fixed: Money = 0.0
    per_hour: Money = 0.0
    per_km: Money = 0.0


class Break(FrozenModel):
    """A driver break of ``service`` seconds inside one of its windows."""

    id: Id
    time_windows: Windows = Field(min_length=1)
    service: Seconds

    _sorted = field_validator("time_windows")(_check_windows)


class Vehicle(FrozenModel):
    """A van with its driver's shift.

    ``start`` and ``end`` are depot ids; ``end=None`` means the route may end
    at its last stop. ``night`` vans run dawn-delivery shifts and carry only
    ``night`` orders; day vans never carry them.
    """

    id: Id
    start: Id | None = None
    end: Id | None = None
    capacity: Amount = Field(min_length=1, max_length=MAX_DIMENSIONS)
    shift: TimeWindow
    costs: Costs = Costs()
    skills: frozenset[Id] = frozenset()
    breaks: tuple[Break, ...] = ()
    max_duration: Seconds | None = None
    max_distance: Int32 | None = None
    max_orders: Count | None = None
    night: Flag = False
    profile: Id = "car"


class SensorBounds(FrozenModel):
    """An allowed range of a sensor reading; either end may be open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SensorBounds:
        if self.min is None and self.max is None:
            raise PydanticCustomError("bounds", "give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError(
                "bounds", "min {lo} is above max {hi}", {"lo": self.min, "hi": self.max}
            )
        return self


class SensorLimits(FrozenModel):
    """What an order tolerates on the way: temperature in °C, relative
    humidity in %, shock in g (``max`` only), and the longest a van door may
    stay open outside a stop (seconds)."""

    temperature: SensorBounds | None = None
    humidity: SensorBounds | None = None
    shock: SensorBounds | None = None
    door_open: Seconds | None = None

    @field_validator("temperature")
    @classmethod
    def _plausible_temperature(cls, v: SensorBounds | None) -> SensorBounds | None:
        for end in (v.min, v.max) if v is not None else ():
            if end is not None and not -60.0 <= end <= 80.0:
                raise ValueError(f"{end} °C is outside -60..80 °C")
        return v

    @field_validator("humidity")
    @classmethod
    def _humidity_percent(cls, v: SensorBounds | None) -> SensorBounds | None:
        for end in (v.min, v.max) if v is not None else ():
            if end is not None and not 0.0 <= end <= 100.0:
                raise ValueError(f"{end} %RH is outside 0..100 %")
        return v

    @field_validator("shock")
    @classmethod
    def _shock_max_only(cls, v: SensorBounds | None) -> SensorBounds | None:
        if v is not None and (v.min is not None or v.max is None or v.max <= 0):
            raise ValueError("a shock limit is a positive max in g, without min")
        return v


class Handling(FrozenModel):
    """Handling requirements of an order while it travels.

    ``requirement`` names a preset (``cold_chain``: 0-4 °C, ``frozen``:
    at most -18 °C; both: a door open at most 5 minutes outside a stop);
    ``limits`` adds to it or overrides it kind by kind. The checks live in
    :mod:`tracking.sensors`.
    """

    requirement: Literal["cold_chain", "frozen"] | None = None
    limits: SensorLimits = SensorLimits()

    @model_validator(mode="after")
    def _something(self) -> Handling:
        if self.requirement is None and self.limits == SensorLimits():
            raise PydanticCustomError(
                "handling", "handling needs a requirement or at least one limit"
            )
        return self


class _OrderBase(FrozenModel):
    id: Id
    demand: Amount = Field(min_length=1, max_length=MAX_DIMENSIONS)
    priority: Whole = Field(default=0, ge=0, le=100)
    penalty: Money | None = Field(
        default=None,
        description="money lost when the order is left unserved (the problem's "
        "currency); default from priority",
    )
    skills: frozenset[Id] = frozenset()
    service_level: ServiceLevel = ServiceLevel.NEXT_DAY
    scheduled_date: dt.date | None = None
    customer_id: Id | None = None
    depot: Id | None = Field(
        default=None, description="depot that holds the parcel, if fixed"
    )
    lateness_cost: Money | None = Field(
        default=None,
        description="money per minute late (the problem's currency); None means "
        "the windows are hard",
    )
    handling: Handling | None = Field(
        default=None, description="limits watched on the way (tracking.sensors)"
    )

    def drop_penalty_in(self, locale: Locale) -> float:
        """Money lost leaving the order unserved, in ``locale``'s currency:
        ``penalty``, else :data:`DROP_PENALTY_HOURS` per priority step."""
        if self.penalty is not None:
            return self.penalty
        return locale.amount(DROP_PENALTY_HOURS) * (1 + self.priority)

    @model_validator(mode="after")
    def _scheduled_has_date(self) -> _OrderBase:
        if self.service_level is ServiceLevel.SCHEDULED and self.scheduled_date is None:
            raise PydanticCustomError(
                "order", "scheduled_date is required for a scheduled order"
            )
        return self


class Job(_OrderBase):
    """One stop at the customer.

    ``type="delivery"`` brings ``demand`` from the depot; ``type="pickup"`` is
    a return: ``demand`` is collected and carried back to the end depot.
    ``type="exchange"`` does both at one visit: ``demand`` (the new item)
    rides from the depot to the stop and ``collect`` (the old one) from the
    stop to the route's end; ``collect`` is given for exchanges only.
    ``setup`` is spent only when arriving from another place (parking);
    ``service`` always. A ``pickup_station`` delivery names its ``station``
    and may omit ``location`` (the station's is used).
    """

    type: Literal["delivery", "pickup", "exchange"] = "delivery"
    collect: Amount = Field(
        default=(),
        validate_default=True,
        description="what an exchange collects (exchanges only)",
    )
    location: Location | None = None
    station: Id | None = None
    setup: Seconds = 0
    service: Seconds = 0
    time_windows: Windows = ()
    early_ok: Flag = Field(
        default=False,
        description="the customer allows the hand-over before the window opens "
        "(the tracking page then shows the van's arrival, not the window)",
    )
    buffer: Seconds = Field(
        default=0,
        description="plan to start service this long before the last window "
        "ends; starting inside it costs buffer_cost per minute (the window "
        "itself stays the promise). Hard windows only",
    )
    buffer_cost: Money = Field(
        default=0.0,
        description="money per minute the service starts inside buffer "
        "(the problem's currency)",
    )

    _sorted = field_validator("time_windows")(_check_windows)

    @model_validator(mode="after")
    def _buffer_in_the_window(self) -> Job:
        if self.buffer and self.time_windows:
            last = self.time_windows[-1]
            if self.buffer > last.end - last.start:
                raise PydanticCustomError(
                    "buffer",
                    "buffer ({buffer} s) is longer than the last window",
                    {"buffer": self.buffer},
                )
        return self

    @property
    def soft_end(self) -> int | None:
        """Where the buffer starts: the last window's end minus ``buffer``
        (None without a buffer, a window, or with soft windows)."""
        if not self.buffer or not self.time_windows or self.lateness_cost is not None:
            return None
        return self.time_windows[-1].end - self.buffer

    @property
    def delivered(self) -> Amount:
        """What rides from the depot to this stop (zeros for a return)."""
        if self.type == "pickup":
            return (0,) * len(self.demand)
        return self.demand

    @property
    def collected(self) -> Amount:
        """What rides from this stop to the route's end (zeros for a delivery)."""
        if self.type == "pickup":
            return self.demand
        if self.type == "exchange":
            return self.collect
        return (0,) * len(self.demand)

    @property
    def loads_at_depot(self) -> bool:
        """Whether the van loads this job at its start depot (a delivery or
        an exchange's new item): on board from there."""
        return self.type != "pickup"

    @field_validator("collect")
    @classmethod
    def _exchange_collects(cls, collect: Amount, info: ValidationInfo) -> Amount:
        kind, demand = info.data.get("type"), info.data.get("demand")
        if kind == "exchange":
            if not collect:
                raise PydanticCustomError(
                    "exchange",
                    "required for an exchange: what is collected from the "
                    "customer, an amount like demand",
                )
            if demand is not None and len(collect) != len(demand):
                raise PydanticCustomError(
                    "exchange",
                    "has {n} dimensions but demand has {m}",
                    {"n": len(collect), "m": len(demand)},
                )
        elif collect and kind is not None:
            raise PydanticCustomError(
                "exchange",
                "only an exchange collects; a {type} has only demand",
                {"type": kind},
            )
        return collect

    @model_validator(mode="after")
    def _where(self) -> Job:
        if self.station is not None and self.type != "delivery":
            raise PydanticCustomError(
                "job", "only a delivery can go to a pickup station"
            )
        if self.service_level is ServiceLevel.PICKUP_STATION and self.station is None:
            raise PydanticCustomError(
                "job", "station is required for service level pickup_station"
            )
        if self.location is None and self.station is None:
            raise PydanticCustomError(
                "job", "location is required unless a station is given"
            )
        return self


class ShipmentStep(FrozenModel):
    """Where and when one end of a shipment happens."""

    location: Location
    setup: Seconds = 0
    service: Seconds = 0
    time_windows: Windows = ()

    _sorted = field_validator("time_windows")(_check_windows)


class Shipment(_OrderBase):
    """Collect ``demand`` at ``pickup`` and bring it to ``delivery``."""

    pickup: ShipmentStep
    delivery: ShipmentStep


Order = Job | Shipment


class Matrices(FrozenModel):
    """User-supplied travel: rows/columns are ``Location.index`` values."""

    durations: tuple[tuple[Int32, ...], ...]
    distances: tuple[tuple[Int32, ...], ...] | None = None

    @model_validator(mode="after")
    def _square(self) -> Matrices:
        for name in ("durations", "distances"):
            rows = getattr(self, name)
            if rows is None:
                continue
            n = len(rows)
            for i, row in enumerate(rows):
                if len(row) != n:
                    raise PydanticCustomError(
                        "matrix",
                        "{name}[{i}] has {m} entries, the matrix has {n} rows",
                        {"name": name, "i": i, "m": len(row), "n": n},
                    )
        if self.distances is not None and len(self.distances) != len(self.durations):
            raise PydanticCustomError(
                "matrix", "distances and durations differ in size"
            )
        return self


class Problem(FrozenModel):
    """One planning problem: a day's orders, the fleet and the places.

    The fleet may be empty (the rest of a day on which no van is left): a
    plan of such a problem leaves every order unassigned, with the reason.
    ``locale`` says the timezone its times of day count in (elapsed seconds
    since local midnight of ``date``: :mod:`routing.units`) and the currency
    of its money; it defaults to Asia/Seoul and KRW.
    """

    date: dt.date | None = None
    locale: Locale = DEFAULT_LOCALE
    matrices: Matrices | None = None
    depots: tuple[Depot, ...] = Field(min_length=1)
    stations: tuple[PickupStation, ...] = ()
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...] = ()
    shipments: tuple[Shipment, ...] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _readings_of_its_day(
        cls, data: Any, handler: ModelWrapValidatorHandler[Problem]
    ) -> Problem:
        """``"HH:MM"`` strings are clock readings of the problem's date in
        its zone (integers are elapsed seconds already)."""
        day_zone = _day_and_zone(data)
        if day_zone is None:
            return handler(data)
        with clock_readings(*day_zone):
            return handler(data)

    @property
    def orders(self) -> Iterator[Order]:
        yield from self.jobs
        yield from self.shipments

    @property
    def n_dims(self) -> int:
        """Dimensions of capacity and demand: the first vehicle's, else the
        first order's (1 for a problem with neither)."""
        if self.vehicles:
            return len(self.vehicles[0].capacity)
        first = next(self.orders, None)
        return 1 if first is None else len(first.demand)

    def drop_penalty(self, order: Order) -> float:
        """Money lost leaving ``order`` unserved, in the problem's currency."""
        return order.drop_penalty_in(self.locale)

    @property
    def base_drop_penalty(self) -> float:
        """The default drop penalty of a priority-0 order: the engines' unit
        when they rank orders by penalty relative to distance."""
        return self.locale.amount(DROP_PENALTY_HOURS)

    def depot(self, depot_id: str) -> Depot:
        return self._depots_by_id()[depot_id]

    def station(self, station_id: str) -> PickupStation:
        return {s.id: s for s in self.stations}[station_id]

    def _depots_by_id(self) -> dict[str, Depot]:
        return {d.id: d for d in self.depots}

    def job_location(self, job: Job) -> Location:
        """Where a job is served: its own location, or its station's."""
        if job.station is not None:
            return self.station(job.station).location
        assert job.location is not None  # guaranteed by Job validation
        return job.location

    @model_validator(mode="after")
    def _consistent(self) -> Problem:
        errors: list[str] = []
        for field, items in (
            ("depots", self.depots),
            ("stations", self.stations),
            ("vehicles", self.vehicles),
        ):
            errors += _duplicates(field, [i.id for i in items])
        order_ids = [o.id for o in self.jobs] + [s.id for s in self.shipments]
        errors += _duplicates("jobs/shipments", order_ids)

        depot_ids = {d.id for d in self.depots}
        station_ids = {s.id for s in self.stations}
        n_dims = self.n_dims
        fleet = "vehicle capacity" if self.vehicles else "the first order"
        for i, v in enumerate(self.vehicles):
            where = f"vehicles[{i}]"
            for key in ("start", "end"):
                ref = getattr(v, key)
                if ref is not None and ref not in depot_ids:
                    errors.append(f"{where}.{key}: unknown depot id {ref!r}")
            if len(v.capacity) != n_dims:
                errors.append(
                    f"{where}.capacity: has {len(v.capacity)} dimensions but "
                    f"vehicles[0] has {n_dims}"
                )
        for field, orders in (("jobs", self.jobs), ("shipments", self.shipments)):
            for i, order in enumerate(orders):
                where = f"{field}[{i}]"
                if len(order.demand) != n_dims:
                    errors.append(
                        f"{where}.demand: has {len(order.demand)} dimensions "
                        f"but {fleet} has {n_dims}"
                    )
                if order.depot is not None and order.depot not in depot_ids:
                    errors.append(f"{where}.depot: unknown depot id {order.depot!r}")
                if (
                    isinstance(order, Job)
                    and order.station is not None
                    and order.station not in station_ids
                ):
                    errors.append(
                        f"{where}.station: unknown station id {order.station!r}"
                    )
        errors += self._check_matrix_indices()
        if errors:
            raise PydanticCustomError(
                "problem", "{errors}", {"errors": "; ".join(errors)}
            )
        return self

    def locations(self) -> Iterator[tuple[str, Location]]:
        """Every location in the problem with its field path."""
        for i, d in enumerate(self.depots):
            yield f"depots[{i}].location", d.location
        for i, s in enumerate(self.stations):
            yield f"stations[{i}].location", s.location
        for i, j in enumerate(self.jobs):
            if j.location is not None:
                yield f"jobs[{i}].location", j.location
        for i, sh in enumerate(self.shipments):
            yield f"shipments[{i}].pickup.location", sh.pickup.location
            yield f"shipments[{i}].delivery.location", sh.delivery.location

    def _check_matrix_indices(self) -> list[str]:
        errors = []
        n = None if self.matrices is None else len(self.matrices.durations)
        for where, loc in self.locations():
            if n is None and not loc.has_coordinates:
                errors.append(
                    f"{where}: lat/lon required (the problem has no matrices)"
                )
            elif n is not None and loc.index is None:
                errors.append(f"{where}.index: required when matrices are given")
            elif n is not None and loc.index is not None and loc.index >= n:
                errors.append(
                    f"{where}.index: {loc.index} is outside the {n}x{n} matrices"
                )
        return errors


def _duplicates(field: str, ids: list[str]) -> list[str]:
    return [
        f"{field}: duplicate id {key!r} ({n} times)"
        for key, n in Counter(ids).items()
        if n > 1
    ]


_DATE = TypeAdapter(dt.date)


def _day_and_zone(data: object) -> tuple[dt.date, dt.tzinfo] | None:
    """The date and zone raw problem input names, when both are valid (an
    invalid one is reported by its field's own validation)."""
    if not isinstance(data, dict) or data.get("date") is None:
        return None
    try:
        day = _DATE.validate_python(data["date"])
    except ValidationError:
        return None
    locale = data.get("locale", DEFAULT_LOCALE)
    if isinstance(locale, Locale):
        return day, locale.zone
    name = (
        locale.get("timezone", DEFAULT_LOCALE.timezone)
        if isinstance(locale, dict)
        else None
    )
    if not isinstance(name, str):
        return None
    try:
        return day, zone(name)
    except ValueError:
        return None
