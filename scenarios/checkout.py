"""Checkout: shoppers choose among the slots the storefront can still promise.

With ``checkout = "quoted"`` in a :class:`~scenarios.city.day.ServicePolicy`,
a simulated day's home deliveries with one window are not simply given
their window. The orders that need no choice (night, same-day, stations,
returns, any-time deliveries) are planned first; then the shoppers arrive
one at a time in random order, and for each the storefront quotes the
policy's windows at that address (:class:`routing.slotting.SlotBook`:
cheapest feasible insertion into the plan so far, no solve per quote).
A shopper takes the window they wanted when it is offered; when it is not,
they take the nearest offered window with probability :data:`FLEXIBLE`,
else they leave without ordering. The booked day is then planned as usual,
with every booked window hard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.model import Job, Problem, ServiceLevel, TimeWindow
from routing.plan import Plan
from routing.slotting import SlotBook, SlotConfig, SlotKind, SlotQuote
from routing.solver import SolveParams, solve
from routing.travel import TravelModel
from routing.units import HOUR
from scenarios.city.day import ServicePolicy

__all__ = ["FLEXIBLE", "Checkout", "checkout", "offered_windows"]

#: Chance that a shopper whose window is not offered takes another one.
FLEXIBLE = 0.7
#: Booking for a window closes this long before it opens (the evening
#: before, nothing closes: every shopper of a next-day order is early).
LEAD_TIME = HOUR


@dataclass(frozen=True)
class Checkout:
    """The booked day: its problem, the plan kept through the bookings."""

    problem: Problem
    plan: Plan
    shoppers: int
    first_choice: int
    lost: tuple[str, ...]


def offered_windows(policy: ServicePolicy) -> tuple[TimeWindow, ...]:
    """The home windows the storefront offers: back to back from the first."""
    width = policy.window_hours
    return tuple(
        TimeWindow(start=h * HOUR, end=(h + width) * HOUR)
        for h in range(policy.windows_from, policy.windows_to - width + 1, width)
    )


def _shops(job: Job) -> bool:
    """A home delivery with one window: its customer picks a slot."""
    return (
        job.type == "delivery"
        and job.location is not None
        and job.service_level in (ServiceLevel.NEXT_DAY, ServiceLevel.SCHEDULED)
        and len(job.time_windows) == 1
    )


def _choose(
    wanted: TimeWindow, quotes: list[SlotQuote], rng: np.random.Generator
) -> tuple[str | None, bool]:
    """The slot a shopper books (None: leaves) and whether it was first choice."""
    offered = [q for q in quotes if q.available and q.slot.kind == SlotKind.HOME]
    if not offered:
        return None, False

    def overlap(q: SlotQuote) -> int:
        w = q.slot.window
        return max(0, min(w.end, wanted.end) - max(w.start, wanted.start))

    def distance(q: SlotQuote) -> int:
        return abs(q.slot.window.start - wanted.start)

    best = max(offered, key=lambda q: (overlap(q), -distance(q)))
    if overlap(best) * 2 >= wanted.end - wanted.start:
        return best.slot.id, True
    if rng.random() < FLEXIBLE:
        return min(offered, key=distance).slot.id, False
    return None, False


def _slot_config(policy: ServicePolicy) -> SlotConfig:
    """The slots offered at checkout: the policy's day windows, by time."""
    return SlotConfig(
        windows=offered_windows(policy),
        night=None,
        station_radius_m=0.0,
        lead_time=LEAD_TIME,
        sort="time",
    )


def checkout(
    problem: Problem,
    travel: TravelModel,
    policy: ServicePolicy,
    params: SolveParams,
    seed: int,
) -> Checkout:
    """Book the day's shoppers into the slots the plan can still take.

    Parameters
    ----------
    problem
        The drawn day; each shopper's window is the one they want.
    travel
        The planner's travel model.
    policy
        The windows offered.
    params
        The search that plans the orders needing no choice.
    seed
        Seed of the shoppers' order of arrival and their flexibility.

    Returns
    -------
    Checkout
    """
    rng = np.random.default_rng([seed, 5])
    shoppers = [j for j in problem.jobs if _shops(j)]
    fixed = tuple(j for j in problem.jobs if not _shops(j))
    base = problem.model_copy(update={"jobs": fixed})
    plan = solve(base, travel=travel, params=params)
    book = SlotBook(base, plan, travel, _slot_config(policy))
    first = 0
    lost: list[str] = []
    for k in rng.permutation(len(shoppers)):
        job = shoppers[int(k)]
        assert job.location is not None
        quotes = book.quote(job.location, demand=job.demand, service=job.service)
        slot, wanted = _choose(job.time_windows[0], quotes, rng)
        if slot is None:
            lost.append(job.id)
            continue
        book.book(
            job.location,
            slot,
            order_id=job.id,
            demand=job.demand,
            service=job.service,
            customer_id=job.customer_id,
        )
        first += wanted
    return Checkout(
        problem=book.problem,
        plan=book.plan(),
        shoppers=len(shoppers),
        first_choice=first,
        lost=tuple(lost),
    )
