"""The disruptions of a replayed day, drawn on a seeded schedule.

A schedule is a list of typed disruptions, each with the simulated time it
happens (seconds since local midnight of the day). The replay has one
handler per kind (:class:`api.replay.run.Replay`); adding a kind is a new
model here, a line in :func:`build_schedule` and a handler there.

Which order or van a disruption hits is partly decided when it happens
(``pick``, a uniform draw in ``[0, 1)``: the ``pick``-th share of the
candidates then, e.g. the orders not served yet), because only then is it
known which orders are still open. The same seed gives the same schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from routing.base import FrozenModel
from routing.model import Job
from routing.units import HOUR, MINUTE
from scenarios.disruption import ZoneSlowdown

__all__ = [
    "Breakdown",
    "Cancellation",
    "Disruption",
    "DoorFailure",
    "ExchangeOrder",
    "LateStart",
    "Rebooking",
    "ScheduleShares",
    "SensorExcursion",
    "Slowdown",
    "UrgentOrder",
    "build_schedule",
]


class _Timed(FrozenModel):
    at: int = Field(description="seconds since local midnight of the day")


class Cancellation(_Timed):
    """A customer cancels an open order (the ``pick``-th of those open then)."""

    kind: Literal["cancellation"] = "cancellation"
    pick: float = Field(ge=0.0, lt=1.0)


class UrgentOrder(_Timed):
    """A new urgent order arrives: ``job`` (its window is set on arrival)."""

    kind: Literal["urgent_order"] = "urgent_order"
    job: Job
    value: float | None = None  # its basket (None: not known)


class ExchangeOrder(_Timed):
    """A customer books an exchange: ``job`` (type ``exchange``: a new item
    delivered, the old one ``collect``-ed; its window is set on arrival)."""

    kind: Literal["exchange_order"] = "exchange_order"
    job: Job
    value: float | None = None  # its basket (None: not known)


class SensorExcursion(_Timed):
    """A cold-chain van's cooling fails for a while: the ``pick``-th of the
    vans carrying cold-chain orders; ``seed`` draws when
    (:func:`scenarios.sensors.random_warmup`) and seeds its readings."""

    kind: Literal["sensor_excursion"] = "sensor_excursion"
    pick: float = Field(ge=0.0, lt=1.0)
    seed: int


class DoorFailure(_Timed):
    """The attempt at ``order_id`` fails at the door (armed at ``at``)."""

    kind: Literal["door_failure"] = "door_failure"
    order_id: str


class Breakdown(_Timed):
    """A van on the road breaks down (the ``pick``-th of those on the road)."""

    kind: Literal["breakdown"] = "breakdown"
    pick: float = Field(ge=0.0, lt=1.0)


class LateStart(_Timed):
    """``vehicle`` leaves its depot ``minutes`` after its planned start."""

    kind: Literal["late_start"] = "late_start"
    vehicle: str
    minutes: int = Field(gt=0)


class Slowdown(_Timed):
    """Roads in a zone slow down; only the vans find out (not foreseen)."""

    kind: Literal["slowdown"] = "slowdown"
    slowdown: ZoneSlowdown


class Rebooking(_Timed):
    """A customer moves an open home delivery to another slot."""

    kind: Literal["rebooking"] = "rebooking"
    pick: float = Field(ge=0.0, lt=1.0)


Disruption = Annotated[
    Cancellation
    | UrgentOrder
    | DoorFailure
    | Breakdown
    | LateStart
    | Slowdown
    | Rebooking
    | ExchangeOrder
    | SensorExcursion,
    Field(discriminator="kind"),
]


class ScheduleShares(FrozenModel):
    """How much of each disruption a day gets (shares of its orders)."""

    cancellations: float = Field(default=0.03, ge=0.0, le=1.0)
    urgent_orders: float = Field(default=0.02, ge=0.0, le=1.0)
    failed_attempts: float = Field(default=0.05, ge=0.0, le=1.0)
    breakdowns: int = Field(default=1, ge=0)
    late_starts: int = Field(default=1, ge=0)
    late_minutes: int = Field(default=40, gt=0)
    slowdowns: int = Field(default=1, ge=0)
    slowdown_multiplier: float = Field(default=1.8, gt=1.0, le=5.0)
    rebookings: int = Field(default=1, ge=0)
    exchanges: int = Field(default=1, ge=0)
    cold_chain: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="share of the orders loaded with cold_chain handling",
    )
    sensor_excursions: int = Field(default=1, ge=0)


def _count(share: float, n: int) -> int:
    return round(share * n)


def _times(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    """``n`` seeded times in ``[lo, hi)``, whole minutes."""
    if n == 0:
        return []
    minutes = rng.integers(lo // MINUTE, max(lo // MINUTE + 1, hi // MINUTE), n)
    return [int(m) * MINUTE for m in minutes]


def build_schedule(
    *,
    orders: Sequence[str],
    vehicles: Sequence[tuple[str, int]],
    urgent_pool: Sequence[Job],
    districts: Sequence[str],
    seed: int,
    shares: ScheduleShares | None = None,
    day_start: int = 8 * HOUR,
    day_end: int = 18 * HOUR,
    values: Mapping[str, float] | None = None,
) -> list[Disruption]:
    """The seeded disruptions of a day, in time order.

    Parameters
    ----------
    orders
        Ids of the orders the first plan routes (door failures hit these).
    vehicles
        ``(vehicle, planned start)`` of the vans with a route; the late start
        hits one of them (a van of the earliest shift when there is one).
    urgent_pool
        Jobs the urgent orders and then the exchanges are taken from (ids
        are replaced), at least as many as the two ask together.
    districts
        District names a slowdown may hit.
    seed
        Seed of the draw: the same seed and inputs give the same schedule.
    shares
        How much of each (default :class:`ScheduleShares`).
    day_start, day_end
        The span most disruptions fall in (seconds since midnight).
    values
        Baskets of the pool's jobs by id; an urgent or exchange order
        carries its pool job's.

    Returns
    -------
    list[Disruption]
        Sorted by time, then kind.
    """
    shares = shares or ScheduleShares()
    basket = values or {}
    rng = np.random.default_rng(seed)
    n = len(orders)
    out: list[Disruption] = []
    span = (day_start, day_end)
    for at in _times(rng, _count(shares.cancellations, n), *span):
        out.append(Cancellation(at=at, pick=float(rng.random())))
    n_urgent = _count(shares.urgent_orders, n)
    if n_urgent + shares.exchanges > len(urgent_pool):
        raise ValueError(
            f"urgent_pool: {len(urgent_pool)} jobs, {n_urgent} urgent orders "
            f"and {shares.exchanges} exchanges asked"
        )
    urgent_span = (day_start + HOUR, day_end - 3 * HOUR)
    for k, at in enumerate(_times(rng, n_urgent, *urgent_span)):
        job = urgent_pool[k].model_copy(update={"id": f"urgent-{seed}-{k:04d}"})
        value = basket.get(urgent_pool[k].id)
        out.append(UrgentOrder(at=at, job=job, value=value))
    failing = rng.choice(
        n, size=min(n, _count(shares.failed_attempts, n)), replace=False
    )
    for i in sorted(int(i) for i in failing):
        out.append(DoorFailure(at=0, order_id=orders[i]))
    for at in _times(
        rng, shares.breakdowns, day_start + 2 * HOUR, day_start + 5 * HOUR
    ):
        out.append(Breakdown(at=at, pick=float(rng.random())))
    if vehicles and shares.late_starts:
        first = min(start for _, start in vehicles)
        early = sorted(v for v, start in vehicles if start == first)
        for k in rng.choice(
            len(early), size=min(len(early), shares.late_starts), replace=False
        ):
            vehicle = early[int(k)]
            out.append(
                LateStart(at=first, vehicle=vehicle, minutes=shares.late_minutes)
            )
    for _ in range(shares.slowdowns):
        district = districts[int(rng.integers(len(districts)))]
        start = int(rng.integers(day_start // HOUR + 2, day_start // HOUR + 5))
        zone = ZoneSlowdown(
            districts=(district,),
            hours=(start, start + 4),
            multiplier=shares.slowdown_multiplier,
            foreseen=False,
            reason="replay: roadworks",
        )
        out.append(Slowdown(at=start * HOUR, slowdown=zone))
    for at in _times(rng, shares.rebookings, day_start + HOUR, day_start + 4 * HOUR):
        out.append(Rebooking(at=at, pick=float(rng.random())))
    for k, at in enumerate(
        _times(rng, shares.exchanges, day_start + HOUR, day_end - 4 * HOUR)
    ):
        base = urgent_pool[n_urgent + k]
        job = base.model_copy(
            update={
                "id": f"exchange-{seed}-{k:04d}",
                "type": "exchange",
                "collect": base.demand,
            }
        )
        out.append(
            ExchangeOrder(
                at=at,
                job=Job.model_validate(job.model_dump()),
                value=basket.get(base.id),
            )
        )
    for _ in range(shares.sensor_excursions):
        out.append(
            SensorExcursion(
                at=0, pick=float(rng.random()), seed=int(rng.integers(2**31))
            )
        )
    out.sort(key=lambda d: (d.at, d.kind))
    return out
