"""Unit conventions, written once.

Inside milepost every quantity is an integer in a fixed unit:

* time and durations: **seconds** (``int``). Times of day inside a problem are
  seconds since local midnight (Asia/Seoul) of the problem's ``date``; a night
  shift may run past 86 400 (e.g. 22:00-31:00 is 22:00 to 07:00 next morning).
* distances: **metres** (``int``).
* amounts (demand, capacity): integer vectors, one entry per dimension, e.g.
  ``[grams, parcels]``; every vehicle and order in one problem uses the same
  dimensions.
* coordinates: WGS84 degrees, ``lat``/``lon`` on our models, ``[lon, lat]`` in
  GeoJSON.
* money: Korean won (``float`` on the models, scaled to integers inside
  engines).

Timezone-aware datetimes exist only at the edges (API and CLI); the helpers
below convert between the two worlds.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Seoul")

SECOND = 1
MINUTE = 60
HOUR = 3600
DAY = 86_400

METRE = 1
KILOMETRE = 1000

EARTH_RADIUS_M = 6_371_008.8


def midnight(day: date) -> datetime:
    """Local midnight (Asia/Seoul) that starts ``day``."""
    return datetime.combine(day, time(0), tzinfo=TIMEZONE)


def to_seconds(moment: datetime, day: date) -> int:
    """Seconds from local midnight of ``day`` to an aware ``moment``.

    Raises
    ------
    ValueError
        If ``moment`` is naive: a time without a zone is ambiguous.
    """
    if moment.tzinfo is None:
        raise ValueError(f"datetime {moment.isoformat()} has no timezone")
    return round((moment - midnight(day)).total_seconds())


def to_datetime(seconds: int, day: date) -> datetime:
    """Aware local datetime ``seconds`` after midnight of ``day``."""
    return midnight(day) + timedelta(seconds=seconds)


def clock(seconds: int) -> str:
    """Format seconds since midnight as ``HH:MM`` (``+1`` suffix past a day)."""
    days, rest = divmod(int(seconds), DAY)
    hours, rest = divmod(rest, HOUR)
    text = f"{hours:02d}:{rest // MINUTE:02d}"
    return f"{text}+{days}" if days else text


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
