"""Delivery slots at checkout: quote the windows for an address, book one.

See :mod:`api.services.slots`: quotes and bookings work on the day's
current plan, under that day's lock.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Principal, Role, SessionDep, SlotBooksDep, require
from api.errors import problem_responses
from api.services import slots
from api.services.errors import fields_under
from api.services.slots import (
    SlotBookingCreate,
    SlotBookingPublic,
    SlotQuoteCreate,
    SlotQuotesPublic,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/slots", tags=["slots"], responses=problem_responses(401, 403)
)


@router.post(
    "/quote",
    response_model=SlotQuotesPublic,
    responses=problem_responses(404, 409, 422),
)
def quote_slots(
    body: SlotQuoteCreate,
    session: SessionDep,
    books: SlotBooksDep,
    _: Annotated[Principal, Depends(require(Role.storefront, Role.dispatcher))],
) -> SlotQuotesPublic:
    """Quote every delivery slot for an address: availability, route cost and
    expected retention cost (priced with the newest retention fit unless
    ``pricing`` is ``"uniform"``)."""
    with fields_under("body"):
        return slots.quote_slots(session, books=books, request=body)


@router.post(
    "/book",
    response_model=SlotBookingPublic,
    status_code=201,
    responses=problem_responses(404, 409, 422),
)
def book_slot(
    body: SlotBookingCreate,
    session: SessionDep,
    books: SlotBooksDep,
    _: Annotated[Principal, Depends(require(Role.storefront))],
) -> SlotBookingPublic:
    """Reserve a slot: store the order and the plan version that serves it."""
    with fields_under("body"):
        return slots.book_slot(session, books=books, request=body)
