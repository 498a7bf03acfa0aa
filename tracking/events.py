"""Tracking events: what vans, drivers and operators report.

Every event is a frozen pydantic model with a unique ``id`` (the sender's;
ingest is idempotent on it), a ``type`` (the discriminator of :data:`Event`)
and a time ``at``.

**Time.** ``at`` is integer **elapsed seconds since local midnight of the
operating day** in the deployment's timezone, the same clock as
:class:`routing.plan.Plan`: a night
route runs past 86 400 and an order created the afternoon before has a
negative time. Aware datetimes exist only at the service edge, which converts
with :func:`routing.units.to_seconds`.

=================  ===================================================
type               meaning
=================  ===================================================
order_created      a customer placed the order
order_planned      the order is on ``vehicle``'s route at ``position``
order_dispatched   the dispatcher released the order's plan to its van
shift_start        the van's shift began (its orders are dispatched)
shift_end          the van's shift ended
position           a GPS ping: ``lat``, ``lon``
stop_arrived       the van reached the stop of ``order_id`` (``None``:
                   its depot)
stop_departed      the van left the stop of ``order_id`` (``None``: the
                   depot, i.e. the route began)
delivered          handed over, with ``proof`` (recipient, photo
                   reference, image or signature)
failed_attempt     not delivered at the door, with a ``reason`` code
attempt_resolved   an operator's decision after a failed attempt
order_cancelled    the customer or an operator cancelled the order
sensor             a reading of the van's (or one parcel's) sensor:
                   temperature, humidity, door_open or shock
=================  ===================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from routing.base import FrozenModel
from routing.bounds import (
    DAY_MARGIN,
    DayTime,
    Id,
    Int32,
    PlanningTime,
    Real,
    Text,
    check_text,
)

__all__ = [
    "AttemptResolved",
    "Delivered",
    "Event",
    "FailedAttempt",
    "FailureReason",
    "OrderCancelled",
    "OrderCreated",
    "OrderDispatched",
    "OrderPlanned",
    "Position",
    "Proof",
    "SensorKind",
    "SensorReading",
    "ShiftEnded",
    "ShiftStarted",
    "StopArrived",
    "StopDeparted",
    "event_sort_key",
    "parse_event",
    "parse_events",
]


class FailureReason(StrEnum):
    """Why a delivery attempt failed at the door."""

    NOT_HOME = "not_home"
    ADDRESS_PROBLEM = "address_problem"
    REFUSED = "refused"
    DAMAGED = "damaged"
    ACCESS_DENIED = "access_denied"


#: How far before or after its operating day a device's event may lie
#: (seconds): a night route past midnight, a late report; anything further
#: is a wrong clock or a wrong ``day``. The events of an order's life
#: (created, planned, dispatched, cancelled, resolved) may lie up to a year
#: either side (:data:`routing.bounds.PLANNING_MARGIN`): orders are booked,
#: planned and cancelled ahead of their day.
MAX_OFFSET = DAY_MARGIN

_PLANNING_AT = Field(
    description="seconds since local midnight of the order's day, within a "
    "year either side (-31622400..31622400)"
)


def _type_required(schema: dict[str, Any]) -> None:
    """Every event names its ``type`` (the discriminator), even where the
    Python model has it as a default."""
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class _Event(FrozenModel):
    model_config = ConfigDict(json_schema_extra=_type_required)

    id: Id
    at: DayTime = Field(
        description="seconds since local midnight of the operating day, "
        "within the day ± 2 days (-172800..259200)",
    )


class OrderCreated(_Event):
    """A customer placed an order."""

    type: Literal["order_created"] = "order_created"
    at: PlanningTime = _PLANNING_AT
    order_id: Id
    customer_id: Id | None = None


class OrderPlanned(_Event):
    """The order is the ``position``-th stop (from 0) of ``vehicle``'s route."""

    type: Literal["order_planned"] = "order_planned"
    at: PlanningTime = _PLANNING_AT
    order_id: Id
    vehicle: Id
    position: Int32


class OrderDispatched(_Event):
    """The dispatcher released the plan: the order is handed to its van.

    ``shift_start`` dispatches a van's planned orders too; this event does it
    for one order, before the driver is on shift.
    """

    type: Literal["order_dispatched"] = "order_dispatched"
    at: PlanningTime = _PLANNING_AT
    order_id: Id
    vehicle: Id | None = None


class ShiftStarted(_Event):
    """The driver started the shift; the van's planned orders are dispatched."""

    type: Literal["shift_start"] = "shift_start"
    vehicle: Id


class ShiftEnded(_Event):
    """The driver ended the shift."""

    type: Literal["shift_end"] = "shift_end"
    vehicle: Id


class Position(_Event):
    """A GPS ping."""

    type: Literal["position"] = "position"
    vehicle: Id
    lat: Real = Field(ge=-90.0, le=90.0)
    lon: Real = Field(ge=-180.0, le=180.0)


class StopArrived(_Event):
    """The van reached a stop: an order's, or its depot when ``order_id`` is None."""

    type: Literal["stop_arrived"] = "stop_arrived"
    vehicle: Id
    order_id: Id | None = None


class StopDeparted(_Event):
    """The van left a stop: an order's, or its depot when ``order_id`` is None."""

    type: Literal["stop_departed"] = "stop_departed"
    vehicle: Id
    order_id: Id | None = None


#: Largest image a device may send as proof of delivery, as a data: URL
#: (characters; about 280 KB of image once decoded).
MAX_PROOF_IMAGE = 380_000
#: Longest recipient name a proof may carry.
MAX_RECIPIENT = 100
_IMAGE_URL = re.compile(r"data:image/(png|jpeg|webp);base64,[A-Za-z0-9+/]+={0,2}")


def _check_image(value: str) -> str:
    """A base64 ``data:`` URL of a PNG, JPEG or WebP image, nothing else."""
    if not _IMAGE_URL.fullmatch(value):
        raise PydanticCustomError(
            "proof_image",
            "must be a data:image/png, data:image/jpeg or data:image/webp "
            "URL with base64 content",
        )
    return value


#: Who took the parcel.
Recipient = Annotated[
    str, Field(min_length=1, max_length=MAX_RECIPIENT), AfterValidator(check_text)
]
#: A picture sent by the device: shown to the customer as it is.
ProofImage = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PROOF_IMAGE,
        description="a data:image/png|jpeg|webp;base64,... URL "
        f"(at most {MAX_PROOF_IMAGE} characters)",
    ),
    AfterValidator(_check_image),
]


class Proof(FrozenModel):
    """Proof of delivery: who took the parcel, a photo or the recipient's
    signature.

    ``recipient``, ``image`` and ``signature`` are shown to the customer on
    the tracking page; ``photo`` is the device's own reference to a photo
    kept elsewhere (shown to nobody).
    """

    recipient: Recipient | None = Field(
        default=None, description="who took the parcel (shown to the customer)"
    )
    photo: Text | None = Field(
        default=None, min_length=1, description="photo reference"
    )
    image: ProofImage | None = Field(
        default=None, description="a photo of the handed-over parcel"
    )
    signature: ProofImage | None = Field(
        default=None, description="the recipient's signature, as an image"
    )

    @model_validator(mode="after")
    def _something(self) -> Proof:
        if (
            self.recipient is None
            and self.photo is None
            and self.image is None
            and self.signature is None
        ):
            raise PydanticCustomError(
                "proof",
                "proof of delivery needs a recipient name, a photo reference, "
                "an image or a signature",
            )
        return self


class Delivered(_Event):
    """The parcel was handed over (``at``: end of service)."""

    type: Literal["delivered"] = "delivered"
    order_id: Id
    vehicle: Id | None = None
    proof: Proof


class FailedAttempt(_Event):
    """The driver could not deliver (``at``: when the attempt ended)."""

    type: Literal["failed_attempt"] = "failed_attempt"
    order_id: Id
    vehicle: Id | None = None
    reason: FailureReason
    note: Text = ""


class AttemptResolved(_Event):
    """An operator decided what happens after a failed attempt."""

    type: Literal["attempt_resolved"] = "attempt_resolved"
    at: PlanningTime = _PLANNING_AT
    order_id: Id
    outcome: Literal["rescheduled", "redirected_to_pickup_station", "returned_to_depot"]
    station: Id | None = Field(
        default=None, description="pickup station, for a redirect"
    )
    note: Text = ""


class OrderCancelled(_Event):
    """The order was cancelled."""

    type: Literal["order_cancelled"] = "order_cancelled"
    at: PlanningTime = _PLANNING_AT
    order_id: Id
    reason: Text = ""


class SensorKind(StrEnum):
    """What a sensor measures, and its unit."""

    TEMPERATURE = "temperature"  # °C
    HUMIDITY = "humidity"  # % relative humidity
    DOOR_OPEN = "door_open"  # 1 (true) open, 0 (false) closed
    SHOCK = "shock"  # peak acceleration in g


#: Readings a working sensor can give; anything outside is a broken sensor
#: or a typo, and is refused naming ``value``.
SENSOR_RANGES: dict[SensorKind, tuple[float, float]] = {
    SensorKind.TEMPERATURE: (-60.0, 80.0),
    SensorKind.HUMIDITY: (0.0, 100.0),
    SensorKind.DOOR_OPEN: (0.0, 1.0),
    SensorKind.SHOCK: (0.0, 200.0),
}


class SensorReading(_Event):
    """A sensor reading on a van, or on one parcel when ``order_id`` is set.

    ``value``: °C, %RH, door open (``true``/``1``) or closed (``false``/``0``),
    shock in g. A van's reading applies to every parcel on board that has
    limits; a parcel's reading to that order only.
    """

    type: Literal["sensor"] = "sensor"
    vehicle: Id
    order_id: Id | None = None
    kind: SensorKind
    #: A door's state comes as true/false (read as 1.0/0.0).
    value: Annotated[
        float,
        WithJsonSchema(
            {
                "anyOf": [{"type": "number"}, {"type": "boolean"}],
                "description": "the reading; a door's open state as true/false",
            }
        ),
    ]

    @field_validator("value", mode="before")
    @classmethod
    def _door_bool(cls, v: object) -> object:
        return float(v) if isinstance(v, bool) else v

    @model_validator(mode="after")
    def _in_range(self) -> SensorReading:
        lo, hi = SENSOR_RANGES[self.kind]
        if not lo <= self.value <= hi or (
            self.kind is SensorKind.DOOR_OPEN and self.value not in (0.0, 1.0)
        ):
            unit = {
                SensorKind.TEMPERATURE: f"{lo:g}..{hi:g} °C",
                SensorKind.HUMIDITY: f"{lo:g}..{hi:g} %RH",
                SensorKind.DOOR_OPEN: "true/false (1/0)",
                SensorKind.SHOCK: f"{lo:g}..{hi:g} g",
            }[self.kind]
            # Raised as a ValidationError located at ``value``, so that the
            # service's 422 names the field (a model-level error would not).
            error = PydanticCustomError(
                "sensor_value",
                "{value} is not a possible {kind} reading ({unit})",
                {"value": self.value, "kind": self.kind.value, "unit": unit},
            )
            raise ValidationError.from_exception_data(
                "SensorReading",
                [InitErrorDetails(type=error, loc=("value",), input=self.value)],
            )
        return self


Event = Annotated[
    OrderCreated
    | OrderPlanned
    | OrderDispatched
    | ShiftStarted
    | ShiftEnded
    | Position
    | StopArrived
    | StopDeparted
    | Delivered
    | FailedAttempt
    | AttemptResolved
    | OrderCancelled
    | SensorReading,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def parse_event(data: Mapping[str, Any]) -> Event:
    """Validate one event from JSON-like data.

    Parameters
    ----------
    data
        A mapping with ``type``, ``id``, ``at`` and the type's fields.

    Returns
    -------
    Event
        The event model of that type.

    Raises
    ------
    pydantic.ValidationError
        Naming the field and the reason when the data are not an event.
    """
    return _ADAPTER.validate_python(data)


def parse_events(data: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Validate a list of events (see :func:`parse_event`)."""
    return _LIST_ADAPTER.validate_python(list(data))


def event_sort_key(event: Event) -> tuple[int, str]:
    """Time order with the id as tie-breaker, so replays are deterministic."""
    return (event.at, event.id)
