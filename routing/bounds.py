"""The bounds of every input field, as reusable annotated types.

Every number and string a problem, an order or an event carries is bounded
here, once, so that the library, the command line, the HTTP API and the
MQTT consumer refuse the same values with the same message naming the
field. The bounds are what the rest of the system can hold:

* **amounts and durations** (demand, capacity, service, setup, windows,
  breaks, distances, matrix entries) are integers within 32 bits,
  ``0..2 147 483 647`` in their unit: the database keeps them in 32-bit
  columns and OR-Tools sums them in 64 bits without overflow;
* **times of the operating day** (a device's event ``at``, a
  re-optimisation's ``time``) lie within the day ± 2 days: ``-172 800..259
  200`` seconds from its local midnight; the events of an order's life
  before and around its day (created, planned, dispatched, cancelled, an
  attempt resolved) within a year either side, since orders are booked,
  planned and cancelled ahead of their day;
* **ids** (orders, vehicles, depots, stations, breaks, events, customers,
  skills, profiles) are 1-128 printable characters without ``/``, and not
  ``.`` or ``..``: an id is one segment of a URL path, and must be fetchable
  again by it;
* **free text** (notes, reasons, names, proof) is at most 1,000 characters
  without NUL or other control characters but tab and newline (PostgreSQL
  text cannot hold NUL);
* **money** (the problem's currency) is finite, ``0..10^12``;
* **numbers are numbers and flags are flags**: ``true``/``false`` are
  refused where a number is asked (lax parsing would read them as 1 and 0),
  and ``0``/``1``/``"yes"`` where a flag is (:data:`Flag`, :data:`Real`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

__all__ = [
    "DAY_MARGIN",
    "INT32_MAX",
    "MAX_ID_LENGTH",
    "MAX_MONEY",
    "MAX_TEXT_LENGTH",
    "PLANNING_MARGIN",
    "Count",
    "Day",
    "DayTime",
    "Flag",
    "Id",
    "Int32",
    "Money",
    "NodeId",
    "PlanningTime",
    "Real",
    "Seconds",
    "Text",
    "Whole",
    "check_id",
    "check_text",
    "not_a_bool",
]

#: Largest amount or duration: what a signed 32-bit integer holds.
INT32_MAX = 2**31 - 1
#: How far before or after its operating day a time may lie (seconds).
DAY_MARGIN = 2 * 86_400
#: How far from its day an order's lifecycle event may lie (seconds).
PLANNING_MARGIN = 366 * 86_400
MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 1_000
#: Largest sum of money (in its currency) an input may name.
MAX_MONEY = 1e12

_ALLOWED_CONTROL = frozenset("\t\n\r")


def check_id(value: str) -> str:
    """An id: printable characters, no ``/``, not ``.`` or ``..``.

    Raises
    ------
    pydantic_core.PydanticCustomError
        Naming the first offending character (as ``U+XXXX`` when it is not
        printable).
    """
    for char in value:
        if char == "/":
            raise PydanticCustomError(
                "id_character", "an id cannot contain '/' (it is a URL path segment)"
            )
        if not char.isprintable():
            raise PydanticCustomError(
                "id_character",
                "an id must be printable characters; U+{code} is not",
                {"code": f"{ord(char):04X}"},
            )
    if value in (".", ".."):
        raise PydanticCustomError(
            "id_segment",
            "an id cannot be '{value}' (a relative path segment)",
            {"value": value},
        )
    return value


def check_text(value: str) -> str:
    """Free text: no NUL, no other control character but tab and newlines,
    no lone surrogate (not encodable as UTF-8)."""
    for char in value:
        if char in _ALLOWED_CONTROL:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise PydanticCustomError(
                "text_character",
                "text cannot contain the character U+{code}",
                {"code": f"{ord(char):04X}"},
            )
    return value


def not_a_bool(value: Any) -> Any:
    """``true``/``false`` are not numbers (lax parsing would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a number, not a boolean")
    return value


Id = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(check_id),
]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(check_text)]
#: An amount or a count in its unit (grams, parcels, metres, orders...).
Int32 = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(not_a_bool)]
#: A duration or a time of day in seconds (windows may pass 86 400).
Seconds = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(not_a_bool)]
#: A count of at least one (e.g. orders per route).
Count = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(not_a_bool)]
#: A road graph's node id. Within 2^53: JSON readers hold numbers as
#: doubles, so a wider bound would not be exact in the published schema
#: (OpenStreetMap ids are under 2^40).
NodeId = Annotated[int, Field(ge=-(2**53), le=2**53), BeforeValidator(not_a_bool)]
#: A whole number (bounds go with the field); ``true`` is not 1. Not for
#: ``Whole | None`` with bounds on the field: the published schema would
#: lose them (write the bounds inside an ``Annotated`` before the validator).
Whole = Annotated[int, BeforeValidator(not_a_bool)]
#: A real number (bounds go with the field); ``true`` is not 1.0. Strict:
#: it takes floats and ints (numpy's too), not booleans or strings.
Real = Annotated[float, Strict()]
#: A yes/no: only ``true`` or ``false`` (not 0, 1 or "yes").
Flag = Annotated[bool, Strict()]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    """A date is a ``YYYY-MM-DD`` string (or a date): not 0, not a timestamp."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise PydanticCustomError(
        "date_type", "Input should be a date as 'YYYY-MM-DD', not a number or a time"
    )


#: Seconds since local midnight of the operating day, within it ± 2 days.
DayTime = Annotated[
    int,
    Field(ge=-DAY_MARGIN, le=86_400 + DAY_MARGIN),
    BeforeValidator(not_a_bool),
]
#: Seconds since local midnight of an order's day, within a year either side.
PlanningTime = Annotated[
    int,
    Field(ge=-PLANNING_MARGIN, le=PLANNING_MARGIN),
    BeforeValidator(not_a_bool),
]
#: An operating or delivery day, written ``YYYY-MM-DD`` (0 is not a date).
Day = Annotated[dt.date, BeforeValidator(_iso_day)]
Money = Annotated[
    float,
    Field(ge=0.0, le=MAX_MONEY, allow_inf_nan=False),
    BeforeValidator(not_a_bool),
]
