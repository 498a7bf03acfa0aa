"""Unit conventions, written once.

Inside milepost every quantity is an integer in a fixed unit:

* time and durations: **seconds** (``int``). Times of day inside a problem are
  **elapsed** seconds since local midnight of the problem's ``date`` in its
  timezone (``Problem.locale``), counted through UTC: on the day the clocks
  spring forward 06:00 is 5 h after midnight, so every difference of two times
  is a real duration. A night shift may run past 86 400 (e.g. 22:00-31:00 is
  22:00 to 07:00 next morning). :func:`wall_to_elapsed` turns a clock reading
  (what people write) into such a time.
* distances: **metres** (``int``).
* amounts (demand, capacity): integer vectors, one entry per dimension, e.g.
  ``[grams, parcels]``; every vehicle and order in one problem uses the same
  dimensions.
* coordinates: WGS84 degrees, ``lat``/``lon`` on our models, ``[lon, lat]`` in
  GeoJSON.
* money: the deployment's currency (``Problem.locale.currency``), a
  ``float`` in its major unit on the models, scaled to integers inside
  engines.

Timezone-aware datetimes exist only at the edges (API and CLI); the helpers
below convert between the two worlds and always take the zone: nothing here
assumes one.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo

SECOND = 1
MINUTE = 60
HOUR = 3600
DAY = 86_400

METRE = 1
KILOMETRE = 1000

EARTH_RADIUS_M = 6_371_008.8


def midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as an aware UTC datetime.

    Where a zone skips midnight (a few change their clocks at 00:00), the day
    starts at the first wall time that exists.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def to_seconds(moment: datetime, day: date, tz: tzinfo) -> int:
    """Elapsed seconds from local midnight of ``day`` in ``tz`` to ``moment``.

    ``moment`` may carry any offset: both ends are compared in UTC (aware
    subtraction within one zone would count wall-clock time, an hour off
    after a clock change).

    Raises
    ------
    ValueError
        If ``moment`` is naive: a time without a zone is ambiguous.
    """
    if moment.tzinfo is None:
        raise ValueError(f"datetime {moment.isoformat()} has no timezone")
    return round((moment.astimezone(UTC) - midnight(day, tz)).total_seconds())


def to_datetime(seconds: int, day: date, tz: tzinfo) -> datetime:
    """The aware local datetime (in ``tz``, with its offset then) that is
    ``seconds`` elapsed after local midnight of ``day``."""
    return (midnight(day, tz) + timedelta(seconds=seconds)).astimezone(tz)


def day_length(day: date, tz: tzinfo) -> int:
    """Seconds from midnight of ``day`` to the next midnight in ``tz``: 86 400,
    or an hour less or more on the days the clocks change."""
    return to_seconds(midnight(day + timedelta(days=1), tz), day, tz)


def wall_to_elapsed(seconds: int, day: date, tz: tzinfo) -> int:
    """A clock reading ``seconds`` after 00:00 of ``day`` (past 24 h: a later
    day's clock) as elapsed seconds since local midnight.

    The same number except on the days the clocks change, after the change:
    06:00 on a spring-forward day is 5 h elapsed, on a fall-back day 7 h. A
    reading the change skips (02:30 when 02:00 jumps to 03:00) counts as if
    the clock had not changed yet (03:30); one it repeats means its first
    occurrence.
    """
    days, rest = divmod(int(seconds), DAY)
    wall = datetime.combine(day + timedelta(days=days), time(0), tzinfo=tz)
    wall += timedelta(seconds=rest)  # wall-clock arithmetic: same tzinfo
    return to_seconds(wall, day, tz)


#: Days after its date a problem's times may reach (a night shift, margins).
CLOCK_REACH_DAYS = 3


def changes_clock(day: date, tz: tzinfo) -> bool:
    """Whether a clock reading and elapsed time differ somewhere between
    midnight of ``day`` and :data:`CLOCK_REACH_DAYS` days later in ``tz``."""
    start = midnight(day, tz)
    end = midnight(day + timedelta(days=CLOCK_REACH_DAYS), tz)
    return (end - start).total_seconds() != CLOCK_REACH_DAYS * DAY


def elapsed_to_wall(seconds: int, day: date, tz: tzinfo) -> int:
    """The clock reading of elapsed ``seconds`` after midnight of ``day``, as
    seconds after 00:00 of ``day`` (a later day's reading past 24 h): the
    inverse of :func:`wall_to_elapsed` where the reading exists."""
    local = to_datetime(seconds, day, tz)
    since = local.replace(tzinfo=None) - datetime.combine(day, time(0))
    return round(since.total_seconds())


def clock(seconds: int) -> str:
    """Format seconds as ``HH:MM`` (``+1`` suffix past a day).

    For ids and durations; a time of day people read goes through
    :func:`wall_clock`, which knows the zone.
    """
    days, rest = divmod(int(seconds), DAY)
    hours, rest = divmod(rest, HOUR)
    text = f"{hours:02d}:{rest // MINUTE:02d}"
    return f"{text}+{days}" if days else text


def wall_clock(seconds: int, day: date, tz: tzinfo) -> str:
    """The local clock reading ``HH:MM`` of elapsed ``seconds`` after
    midnight of ``day`` (``+1`` suffix on the next day, ``-1`` the day before)."""
    local = to_datetime(seconds, day, tz)
    text = f"{local.hour:02d}:{local.minute:02d}"
    days = (local.date() - day).days
    return f"{text}{days:+d}" if days else text


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def kmh_to_mps(kmh: float) -> float:
    """Kilometres per hour to metres per second."""
    return kmh * 1000.0 / 3600.0
