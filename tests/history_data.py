"""Seeded synthetic order histories: a few zones, two depots, a weekly rhythm.

Small on purpose: the tests import, count and forecast them in seconds.
``docs/examples/history.csv`` is ``history_csv(days=56, seed=7)``
(tests/scenarios/test_history.py keeps the two equal).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np

from routing.model import Depot, Location

FIRST_DAY = dt.date(2025, 1, 6)
#: zone: (lat, lon, depot, orders on an average weekday)
ZONES = {
    "Mapo-gu": (37.560, 126.910, "depot-west", 5.0),
    "Gangnam-gu": (37.500, 127.040, "depot-east", 7.0),
}
DEPOTS = (
    Depot(id="depot-west", location=Location(lat=37.555, lon=126.925)),
    Depot(id="depot-east", location=Location(lat=37.505, lon=127.060)),
)
HEADER = "order_id,created_at,delivered_at,zone,lat,lon,depot,promotions,outcome"


def history_rows(days: int, seed: int = 0) -> list[dict[str, Any]]:
    """One dict per order (the file's columns), times naive local ISO strings."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for d in range(days):
        day = FIRST_DAY + dt.timedelta(days=d)
        rhythm = 1.2 if day.weekday() < 5 else 0.6
        for zone, (lat, lon, depot, rate) in ZONES.items():
            for _ in range(int(rng.poisson(rate * rhythm))):
                minute = int(rng.integers(8 * 60, 20 * 60))
                created = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    minutes=minute
                )
                delivered = rng.random() < 0.95
                rows.append(
                    {
                        "order_id": f"o{len(rows) + 1:06d}",
                        "created_at": created.isoformat(timespec="minutes"),
                        "delivered_at": (
                            created + dt.timedelta(hours=int(rng.integers(14, 30)))
                        ).isoformat(timespec="minutes")
                        if delivered
                        else None,
                        "zone": zone,
                        "lat": round(lat + float(rng.normal(0, 0.008)), 5),
                        "lon": round(lon + float(rng.normal(0, 0.008)), 5),
                        "depot": depot,
                        "promotions": ["coupon"] if rng.random() < 0.1 else [],
                        "outcome": "delivered" if delivered else "failed",
                    }
                )
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def as_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as a history CSV (header first)."""
    names = HEADER.split(",")
    lines = [HEADER] + [",".join(_cell(r[n]) for n in names) for r in rows]
    return "\n".join(lines) + "\n"


def as_jsonl(rows: list[dict[str, Any]]) -> str:
    """The rows as JSON lines."""
    return "".join(json.dumps(r) + "\n" for r in rows)


def history_csv(days: int, seed: int = 0) -> str:
    """A history CSV of ``days`` days from :data:`FIRST_DAY`."""
    return as_csv(history_rows(days, seed))
