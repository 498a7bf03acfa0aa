"""Booking a slot through the service, without HTTP."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db.orders import get_order
from api.db.plans import current_plan, get_plan
from api.db.tracking import order_status
from api.services.errors import Invalid, NotFound
from api.services.slots import (
    SlotBookingCreate,
    SlotBooks,
    SlotQuoteCreate,
    book_slot,
    quote_slots,
)
from routing.model import Location
from tests.api.routes.test_slots import DAY, DEPOT, a_stop, store_day


def test_book_slot_stores_order_plan_version_and_tracking(
    app: FastAPI, client: TestClient
) -> None:
    """The service books, commits and answers with the order and new plan version."""
    row = store_day(app)
    where, slot = a_stop(row)
    books = SlotBooks()
    request = SlotBookingCreate(
        location=Location(**where), day=DAY, depot_id=DEPOT, slot_id=slot
    )
    with app.state.sessionmaker() as session:
        booked = book_slot(session, books=books, request=request)
    assert booked.slot.id == slot
    with app.state.sessionmaker() as session:
        order = get_order(session, order_id=booked.order_id)
        assert order is not None and order.tracking_token == booked.tracking_token
        new = current_plan(session, day=DAY, depot_id=DEPOT)
        assert new is not None and new.id == booked.plan_id
        assert new.parent_id == row.id
        parent = get_plan(session, plan_id=row.id)
        assert parent is not None and parent.status == "superseded"
        status = order_status(session, order_id=booked.order_id)
        assert status is not None and status.vehicle == booked.vehicle


def test_quote_and_book_refuse_with_service_errors(
    app: FastAPI, client: TestClient
) -> None:
    """No plan is NotFound; an unknown slot is Invalid naming ``slot_id``."""
    books = SlotBooks()
    nowhere = SlotQuoteCreate(location=Location(lat=37.5, lon=127.0), day=DAY)
    with app.state.sessionmaker() as session, pytest.raises(NotFound):
        quote_slots(session, books=books, request=nowhere)
    row = store_day(app)
    where, _ = a_stop(row)
    request = SlotBookingCreate(
        location=Location(**where), day=DAY, depot_id=DEPOT, slot_id="25:00-27:00"
    )
    with app.state.sessionmaker() as session, pytest.raises(Invalid) as info:
        book_slot(session, books=books, request=request)
    assert [e.field for e in info.value.errors] == ["slot_id"]
