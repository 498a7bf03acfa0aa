"""Orders: store (one or a batch), change, cancel, with the stored-data checks.

An order is never deleted: cancelling clears ``active`` and it stays
readable, so plans, tracking and metrics keep their history.

**One cancellation.** ``DELETE /v1/orders/{id}`` and an ``order_cancelled``
event end in the same state: the stored order inactive and, when the order
is tracked, its status ``cancelled``. Both go through the tracker (the API
path sends an ``order_cancelled`` event of its own, :func:`cancel_order`),
and every accepted ``order_cancelled`` event is settled on the stored order
by :func:`settle_cancellations`, which the ingest calls. Field errors
name fields relative to the order (``job.location``, ``depot_id``); the
routes put them under where the order sat in the body.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)
from sqlalchemy.orm import Session

from api.db import fleet, orders, stations
from api.db import tracking as tracking_rows
from api.db.engine import locale_of
from api.db.errors import DuplicateId
from api.db.tables_dispatch import ID_LENGTH, OrderRow
from api.services.errors import (
    Conflict,
    FieldError,
    Invalid,
    NotFound,
    validation_errors,
)
from api.services.fleet import location_errors
from forecasting.calendar import PromotionType
from routing.bounds import MAX_MONEY, Day, not_a_bool
from routing.locale import Locale
from routing.model import ClockReadings, Id, Job, TimeWindow
from routing.units import changes_clock, elapsed_to_wall, to_seconds, wall_to_elapsed
from tracking.events import Event, OrderCancelled
from tracking.status import OrderState
from tracking.tracker import IngestResult

__all__ = [
    "PROMOTION_DOC",
    "VALUE_DOC",
    "BasketValue",
    "JobUpdate",
    "OrderChecker",
    "OrderCreate",
    "OrderCreated",
    "OrderPublic",
    "OrderUpdate",
    "OrdersCreate",
    "OrdersCreated",
    "OrdersPublic",
    "add_order",
    "add_orders",
    "cancel_order",
    "create_order",
    "create_orders",
    "list_orders",
    "new_tracking_token",
    "order_public",
    "read_order",
    "settle_cancellations",
    "update_order",
    "value_errors",
]

#: What ingests a batch of events and commits (``api.services.ingest``).
Ingest = Callable[[Session, dt.date, Sequence[Event]], IngestResult]

#: An order's basket in the deployment's currency, ``0..10^12`` (money's
#: bound), to the currency's minor unit (:func:`value_errors`).
#: Bounds sit inside the type so ``BasketValue | None`` keeps them in the
#: published schema.
BasketValue = Annotated[
    float,
    Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
    BeforeValidator(not_a_bool),
]
VALUE_DOC = (
    "basket value in the deployment's currency, to its minor unit (24.99 "
    "USD, 35000 KRW); null: not known"
)


def _amount(value: float | None) -> int | float | None:
    """A stored basket as JSON shows it: whole amounts without ``.0``."""
    return int(value) if value is not None and float(value).is_integer() else value


def value_errors(
    value: float | None, locale: Locale, field: str = "value"
) -> list[FieldError]:
    """A basket with more decimals than its currency has (24.999 USD, 100.5
    KRW) named on ``field``; none for a fitting one or none at all."""
    if value is None or locale.round_money(value) == value:
        return []
    reason = f"has more decimals than {locale.currency} has ({locale.minor_units})"
    return [FieldError(field=field, reason=reason)]


PROMOTION_DOC = (
    "the limited-time promotion the order was placed under; null: none. "
    "CRM metrics cut repurchase by it"
)

#: Fields of a job an update may not change: its id and what the order's own
#: fields (``depot_id``, ``customer_id``) set.
_FIXED = frozenset({"id", "depot", "customer_id"})


def _all_optional(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """``model``'s fields but the fixed ones, each optional (default None)."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name in _FIXED:
            continue
        annotation: Any = info.annotation
        optional = info.merge_field_infos(info, default=None)
        fields[field_name] = (annotation | None, optional)
    return create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields
    )


if TYPE_CHECKING:
    JobUpdate = BaseModel
else:
    JobUpdate = _all_optional(
        Job,
        "JobUpdate",
        "Fields of the job to change; the result is checked as a whole ``Job``.\n\n"
        "Sending ``null`` clears an optional field (``penalty``, "
        "``lateness_cost``,\n``scheduled_date``, ``collect``); changing "
        "``type`` away from ``exchange``\nclears ``collect``.",
    )


class OrderUpdate(ClockReadings):
    """Changes to an active order; fields left out stay as they are.

    ``"HH:MM"`` windows are clock readings of the order's (new) day.
    """

    model_config = ConfigDict(extra="forbid")

    day: Day | None = None
    depot_id: Id | None = Field(default=None, description="null: no fixed depot")
    customer_id: Id | None = None
    value: BasketValue | None = Field(default=None, description=VALUE_DOC)
    promotion: PromotionType | None = Field(default=None, description=PROMOTION_DOC)
    job: JobUpdate | None = None


class OrderCreate(ClockReadings):
    """A new order: the routing job, its day, and where and whose it is.

    ``"HH:MM"`` windows are clock readings of ``day`` in the deployment's
    timezone; integers are elapsed seconds since its midnight.
    """

    model_config = ConfigDict(extra="forbid")

    day: Day = Field(description="delivery date")
    job: Job = Field(
        description="the stop; its id becomes the order id. A delivery to a "
        "pickup station names a stored station in `station` (location may be "
        "left out)"
    )
    depot_id: Id | None = Field(
        default=None, description="depot holding the parcel; default job.depot"
    )
    customer_id: Id | None = Field(
        default=None, description="who ordered it; default job.customer_id"
    )
    value: BasketValue | None = Field(default=None, description=VALUE_DOC)
    promotion: PromotionType | None = Field(default=None, description=PROMOTION_DOC)


class OrdersCreate(BaseModel):
    """Orders to store together: all of them, or none."""

    model_config = ConfigDict(extra="forbid")

    orders: list[OrderCreate] = Field(min_length=1)


class OrderCreated(BaseModel):
    """A stored order's id and the token its customer tracks it with."""

    id: str
    tracking_token: str


class OrdersCreated(BaseModel):
    """The orders a batch stored, in the order sent."""

    data: list[OrderCreated]
    count: int


class OrderPublic(BaseModel):
    """A stored order."""

    id: str
    day: dt.date
    depot_id: str | None
    customer_id: str | None
    # int first: a whole amount reads 35000, not 35000.0
    value: int | float | None = Field(description=VALUE_DOC)
    promotion: PromotionType | None = Field(description=PROMOTION_DOC)
    active: bool = Field(description="false once cancelled")
    tracking_token: str = Field(description="for the customer's tracking page")
    job: Job
    created_at: dt.datetime
    updated_at: dt.datetime


class OrdersPublic(BaseModel):
    """A page of orders, by day then id."""

    data: list[OrderPublic]
    count: int


def order_public(row: OrderRow) -> OrderPublic:
    """The response model of an order row."""
    return OrderPublic(
        id=row.id,
        day=row.day,
        depot_id=row.depot_id,
        customer_id=row.customer_id,
        value=_amount(row.value),
        promotion=row.promotion,
        active=row.active,
        tracking_token=row.tracking_token,
        job=row.job,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def new_tracking_token() -> str:
    """A fresh customer tracking token: 24 random bytes, URL-safe (32 chars)."""
    return secrets.token_urlsafe(24)


class OrderChecker:
    """Checks orders against the stored depots, stations and fleet, read once.

    Parameters
    ----------
    session
        Open session; the depots, the stations and the fleet's capacity
        dimensions are read now, so checking a batch costs three queries.
    """

    def __init__(self, session: Session) -> None:
        self.locale = locale_of(session)
        self.zone = self.locale.zone
        self.depot_ids = fleet.depot_ids(session)
        self.station_ids = stations.station_ids(session)
        self.dims = fleet.fleet_dims(session)

    def __call__(self, order: OrderCreate) -> OrderCreate:
        """Reconcile and check one order (:class:`Invalid` if it does not fit).

        The depot defaults to ``job.depot`` and the customer to
        ``job.customer_id``; the returned job has ``customer_id`` filled in,
        and its ``"HH:MM"`` windows are read on the order's day.
        """
        try:
            order = order.on_day(order.day, self.zone)
        except ValidationError as exc:
            raise Invalid(validation_errors(exc, "")) from None
        job = order.job
        depot_id, errors = self._depot(job, order.depot_id)
        customer_id, more = self._customer(job, order.customer_id)
        errors += more + self._job_errors(job) + value_errors(order.value, self.locale)
        if errors:
            raise Invalid(errors)
        if customer_id is not None and job.customer_id is None:
            job = job.model_copy(update={"customer_id": customer_id})
        return order.model_copy(
            update={"job": job, "depot_id": depot_id, "customer_id": customer_id}
        )

    def _depot(
        self, job: Job, depot_id: str | None
    ) -> tuple[str | None, list[FieldError]]:
        errors: list[FieldError] = []
        if depot_id is None:
            depot_id = job.depot
        elif job.depot is not None and job.depot != depot_id:
            reason = f"job.depot is {job.depot!r}; they must agree"
            errors.append(FieldError(field="depot_id", reason=reason))
        if depot_id is not None and depot_id not in self.depot_ids:
            field = "depot_id" if job.depot is None else "job.depot"
            reason = f"unknown depot id {depot_id!r}"
            errors.append(FieldError(field=field, reason=reason))
        return depot_id, errors

    def _customer(
        self, job: Job, customer_id: str | None
    ) -> tuple[str | None, list[FieldError]]:
        errors: list[FieldError] = []
        if customer_id is None:
            customer_id = job.customer_id
        elif job.customer_id is not None and job.customer_id != customer_id:
            reason = f"job.customer_id is {job.customer_id!r}; they must agree"
            errors.append(FieldError(field="customer_id", reason=reason))
        if customer_id is not None and len(customer_id) > ID_LENGTH:
            reason = f"at most {ID_LENGTH} characters"
            errors.append(FieldError(field="job.customer_id", reason=reason))
        return customer_id, errors

    def _job_errors(self, job: Job) -> list[FieldError]:
        errors: list[FieldError] = []
        if job.station is not None and job.station not in self.station_ids:
            # A stored day is planned at its stations' stored places.
            reason = f"unknown station id {job.station!r}"
            errors.append(FieldError(field="job.station", reason=reason))
        errors += location_errors(job.location, "job.location")
        if self.dims is not None and len(job.demand) != self.dims:
            reason = (
                f"has {len(job.demand)} dimensions; vehicle capacity has {self.dims}"
            )
            errors.append(FieldError(field="job.demand", reason=reason))
        if self.dims is not None and job.collect and len(job.collect) != self.dims:
            reason = (
                f"has {len(job.collect)} dimensions; vehicle capacity has {self.dims}"
            )
            errors.append(FieldError(field="job.collect", reason=reason))
        return errors


def _order(session: Session, order_id: str) -> OrderRow:
    row = orders.get_order(session, order_id=order_id)
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    return row


def read_order(session: Session, *, order_id: str) -> OrderPublic:
    """The order, active or cancelled (:class:`NotFound` if there is none)."""
    return order_public(_order(session, order_id))


def list_orders(
    session: Session,
    *,
    day: dt.date | None,
    depot_id: str | None,
    customer_id: str | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> OrdersPublic:
    """A page of orders by day then id, filtered by day, depot, customer, state."""
    count, rows = orders.list_orders(
        session,
        day=day,
        depot_id=depot_id,
        customer_id=customer_id,
        active=active,
        limit=limit,
        offset=offset,
    )
    return OrdersPublic(data=[order_public(r) for r in rows], count=count)


def add_order(session: Session, *, order: OrderCreate) -> OrderPublic:
    """:func:`create_order`, answered as the stored order."""
    return order_public(create_order(session, order=order))


def add_orders(session: Session, *, batch: Sequence[OrderCreate]) -> OrdersCreated:
    """:func:`create_orders`, answered with the ids and tracking tokens."""
    rows = create_orders(session, batch=batch)
    data = [OrderCreated(id=r.id, tracking_token=r.tracking_token) for r in rows]
    return OrdersCreated(data=data, count=len(data))


def create_order(session: Session, *, order: OrderCreate) -> OrderRow:
    """Store a new order with a fresh tracking token.

    Raises :class:`Invalid` (fields relative to the order) when it does not
    fit the stored data and :class:`Conflict` when its id is taken.
    """
    return _create(session, [order], numbered=False)[0]


def create_orders(session: Session, *, batch: Sequence[OrderCreate]) -> list[OrderRow]:
    """Store several orders, all or none (see :func:`create_order`).

    Fields are prefixed with the order's position (``"[3].job.demand"``); an
    id given twice is an error of its second occurrence (``"[5].job.id"``).
    """
    return _create(session, batch, numbered=True)


def _checked(
    session: Session, batch: Sequence[OrderCreate], numbered: bool
) -> list[OrderCreate]:
    check = OrderChecker(session)
    errors: list[FieldError] = []
    checked: list[OrderCreate] = []
    first_at: dict[str, int] = {}
    for i, order in enumerate(batch):
        where = f"[{i}]." if numbered else ""
        try:
            checked.append(check(order))
        except Invalid as exc:
            errors += [
                FieldError(field=where + e.field, reason=e.reason) for e in exc.errors
            ]
        job_id = order.job.id
        if job_id in first_at:
            reason = f"repeats the id of order [{first_at[job_id]}]"
            errors.append(FieldError(field=f"{where}job.id", reason=reason))
        first_at.setdefault(job_id, i)
    if errors:
        raise Invalid(errors)
    return checked


def _create(
    session: Session, batch: Sequence[OrderCreate], *, numbered: bool
) -> list[OrderRow]:
    checked = _checked(session, batch, numbered)
    ids = [o.job.id for o in checked]
    rows = [
        OrderRow(
            id=o.job.id,
            day=o.day,
            depot_id=o.depot_id,
            station_id=o.job.station,
            customer_id=o.customer_id,
            value=o.value,
            promotion=None if o.promotion is None else o.promotion.value,
            spec=o.job.model_dump(mode="json"),
            tracking_token=new_tracking_token(),
            active=True,
        )
        for o in checked
    ]
    try:
        taken = orders.taken_ids(session, ids=ids)
        if taken:
            raise DuplicateId("order", taken)
        orders.add_orders(session, rows=rows)
    except DuplicateId as exc:
        raise Conflict(str(exc)) from None
    return rows


def update_order(
    session: Session, *, order_id: str, update: OrderUpdate
) -> OrderPublic:
    """Change an active order's day, depot, customer, value, promotion or job.

    Field errors name the body's fields (``day``, ``job.demand``); ``null``
    clears the value or the promotion.
    """
    row = _order(session, order_id)
    if not row.active:
        raise Conflict(f"order {order_id!r} is cancelled")
    sent = update.model_fields_set
    if "day" in sent and update.day is None:
        raise Invalid.one("day", "may not be null")
    if errors := value_errors(update.value, locale_of(session)):
        raise Invalid(errors)
    depot_id = update.depot_id if "depot_id" in sent else row.depot_id
    customer_id = update.customer_id if "customer_id" in sent else row.customer_id
    try:
        update = update.on_day(update.day or row.day, locale_of(session).zone)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc, "")) from None
    job = _updated_job(row.job, update, depot_id, customer_id)
    if update.day is not None and not _sent_windows(update):
        job = _windows_moved(job, row.day, update.day, locale_of(session).zone)
    order = OrderChecker(session)(
        OrderCreate(job=job, day=row.day, depot_id=depot_id, customer_id=customer_id)
    )
    row.job = order.job
    row.depot_id = order.depot_id
    row.customer_id = order.customer_id
    if update.day is not None:
        row.day = update.day
    if "value" in sent:
        row.value = update.value
    if "promotion" in sent:
        row.promotion = None if update.promotion is None else update.promotion.value
    session.flush()
    return order_public(row)


def _sent_windows(update: OrderUpdate) -> bool:
    return update.job is not None and "time_windows" in update.job.model_fields_set


def _windows_moved(job: Job, old: dt.date, new: dt.date, tz: dt.tzinfo) -> Job:
    """``job`` moved from day ``old`` to ``new`` keeping its windows' clock
    readings: stored elapsed seconds of ``old`` become those of ``new``,
    which differ when either day changes the clock."""
    if old == new or not (changes_clock(old, tz) or changes_clock(new, tz)):
        return job

    def moved(seconds: int) -> int:
        return wall_to_elapsed(elapsed_to_wall(seconds, old, tz), new, tz)

    windows = tuple(
        TimeWindow(start=moved(w.start), end=moved(w.end)) for w in job.time_windows
    )
    return job.model_copy(update={"time_windows": windows})


def _updated_job(
    job: Job, update: OrderUpdate, depot_id: str | None, customer_id: str | None
) -> Job:
    """The order's job with the update's fields; its depot and customer follow."""
    spec = job.model_dump()
    if update.job is not None:
        changes = update.job.model_dump(exclude_unset=True)
        spec.update(changes)
        # An exchange made a delivery or a return collects nothing any more;
        # null clears collect like any optional field.
        if spec.get("collect") is None or (
            changes.get("type") not in (None, "exchange") and "collect" not in changes
        ):
            spec["collect"] = ()
    sent = update.model_fields_set
    # The job's own depot and customer follow the order's, which they matched.
    if "depot_id" in sent and job.depot is not None:
        spec["depot"] = depot_id
    if "customer_id" in sent:
        spec["customer_id"] = customer_id
    try:
        return Job.model_validate(spec)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc, "job")) from None


def cancel_order(session: Session, *, order_id: str, ingest: Ingest) -> OrderPublic:
    """Cancel an order (it stays readable, inactive); cancelling twice is harmless.

    A tracked order is cancelled by an ``order_cancelled`` event through
    ``ingest``, exactly as a dispatcher's event would (so its status is
    ``cancelled`` too); one the tracker may not cancel any more (on the
    doorstep, delivered, a failed attempt) is refused with :class:`Conflict`
    naming its state, and stays active.
    """
    row = _order(session, order_id)
    tracked = tracking_rows.tracked_order(session, order_id=order_id)
    if tracked is not None and tracked[1].state is not OrderState.CANCELLED:
        day, status, _ = tracked
        now = to_seconds(dt.datetime.now(dt.UTC), day, locale_of(session).zone)
        event = OrderCancelled(
            id=f"api-cancel-{secrets.token_hex(12)}",
            at=max(now, status.updated_at),
            order_id=order_id,
            reason="through the API",
        )
        result = ingest(session, day, [event])
        if result.rejected:
            raise Conflict(
                f"order {order_id!r} cannot be cancelled: {result.rejected[0].reason}"
            )
    else:
        orders.deactivate(session, order_ids=[order_id])
    session.refresh(row)
    return order_public(row)


def settle_cancellations(
    session: Session, events: Sequence[Event], accepted: Collection[str]
) -> None:
    """Make the stored orders of accepted ``order_cancelled`` events inactive.

    The ingest calls it for every batch, in the batch's transaction: the one
    place a cancellation reaches the stored order, whichever way it came.
    """
    ids = [
        e.order_id for e in events if isinstance(e, OrderCancelled) and e.id in accepted
    ]
    if ids:
        orders.deactivate(session, order_ids=ids)
