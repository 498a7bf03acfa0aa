"""An order history built from public data, for tutorials and end-to-end tests.

A shop brings its own history; someone trying milepost first may have none.
:func:`rossmann_history` turns the public Rossmann store data (German
drugstores, 2013-2015: daily customers, promotions, school holidays) into
the files a deployment imports: past orders, a calendar of the chain's own
promotions and school holidays per zone, and depots.

* **Orders**: each store is a zone; a store's customers of a day, divided by
  ``scale``, are the online orders placed that day (at random local times,
  08:00-20:00 in ``timezone``). Each is delivered the next day on which the
  depots deliver (not Sundays or the country's public holidays), so the
  first day after a closure carries its backlog. A share fails
  (``failed``) or is cancelled before delivery (``cancelled``).
* **Places**: zone centres and orders are nodes of the road graph's largest
  strongly connected component, so every order is on a road; each order lies
  among the ``spread`` nodes nearest its zone centre. Depots sit at the nodes
  nearest the centres of ``depots`` bands of the graph, west to east; a
  zone is served by the nearest depot.
* **Calendar**: one ``promotion`` entry per run of a store's promo days and
  one ``event`` entry (``school_holidays``) per run of its school holidays,
  scoped to the store's zone; the country's public holidays come from the
  deployment's country.

The store data keep their dates; nothing is read from the embedded city.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["PublicHistory", "rossmann_history"]

_TRAIN = "train_stores_1_100.csv.gz"
#: Shares of orders that fail at the door and that are cancelled.
FAILED_SHARE = 0.02
CANCELLED_SHARE = 0.01


@dataclass(frozen=True)
class PublicHistory:
    """What :func:`rossmann_history` builds: three tables to write as files."""

    orders: pd.DataFrame
    calendar: pd.DataFrame
    depots: pd.DataFrame

    def write(self, folder: Path, day: dt.date | None = None) -> dict[str, Path]:
        """Write ``history.csv``, ``calendar.csv`` and ``depots.csv``; with
        ``day``, also ``orders-<day>.json`` (:meth:`day_orders`)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            name: folder / f"{name}.csv" for name in ("history", "calendar", "depots")
        }
        self.orders.to_csv(paths["history"], index=False)
        self.calendar.to_csv(paths["calendar"], index=False)
        self.depots.to_csv(paths["depots"], index=False)
        if day is not None:
            paths["orders"] = folder / f"orders-{day.isoformat()}.json"
            paths["orders"].write_text(json.dumps(self.day_orders(day), indent=1))
        return paths

    def day_orders(self, day: dt.date) -> dict[str, Any]:
        """The orders delivered (or attempted) on ``day`` as a body of ``POST
        /v1/orders/batch``: one parcel each, 3 minutes at the door, the
        depots' working day 08:00-20:00 as the window.

        Raises
        ------
        ValueError
            If no order was delivered on ``day``.
        """
        done = self.orders.dropna(subset=["delivered_at"])
        on_day = done[done["delivered_at"].str.startswith(day.isoformat())]
        if on_day.empty:
            raise ValueError(f"no order of the history is delivered on {day}")
        orders = [
            {
                "day": day.isoformat(),
                "depot_id": row.depot,
                "job": {
                    "id": f"{row.order_id}-{day:%m%d}",
                    "location": {"lat": row.lat, "lon": row.lon},
                    "demand": [1],
                    "service": 180,
                    "time_windows": [["08:00", "20:00"]],
                },
            }
            for row in on_day.itertuples()
        ]
        return {"orders": orders}


def rossmann_history(
    data_dir: Path,
    graph: nx.MultiDiGraph,
    *,
    stores: Sequence[int] = tuple(range(1, 11)),
    scale: float = 50.0,
    depots: int = 2,
    spread: int = 60,
    timezone: str = "Europe/Berlin",
    country: str = "DE",
    subdivision: str | None = "NW",
    seed: int = 0,
) -> PublicHistory:
    """Orders, calendar and depots of a delivery operation shaped like
    ``stores`` of the Rossmann data (see the module docstring).

    Parameters
    ----------
    data_dir
        The ``rossmann_100stores`` folder.
    graph
        A road graph (``routing.travel.osm.load_graph``): nodes with ``y``
        (lat) and ``x`` (lon).
    stores
        Store numbers (1-100), one zone each.
    scale
        Store customers per online order.
    depots, spread, timezone, country, subdivision, seed
        See the module docstring.

    Raises
    ------
    FileNotFoundError
        When the data file is absent.
    ValueError
        On an unknown store, a ``scale`` below 1 or a graph too small.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    rows = _store_days(data_dir, stores)
    rng = np.random.default_rng(seed)
    nodes = _road_nodes(graph)
    if len(nodes) < max(spread, len(stores) + depots):
        raise ValueError(f"the road graph has only {len(nodes)} connected nodes")
    centres = nodes[rng.choice(len(nodes), size=len(stores), replace=False)]
    depot_at = _depot_nodes(nodes, depots)
    zone_depot = {
        _zone(s): f"depot-{int(np.argmin(_dist(depot_at, c)) + 1)}"
        for s, c in zip(stores, centres, strict=True)
    }
    near = {
        _zone(s): nodes[np.argsort(_dist(nodes, c))[:spread]]
        for s, c in zip(stores, centres, strict=True)
    }
    off = _closed_days(rows["Date"], country, subdivision)
    orders = _orders(rows, scale, near, zone_depot, off, ZoneInfo(timezone), rng)
    depot_table = pd.DataFrame(
        {
            "id": [f"depot-{i + 1}" for i in range(depots)],
            "lat": depot_at[:, 0].round(6),
            "lon": depot_at[:, 1].round(6),
        }
    )
    return PublicHistory(orders, _calendar(rows), depot_table)


def _zone(store: int) -> str:
    return f"store-{store:03d}"


def _store_days(data_dir: Path, stores: Sequence[int]) -> pd.DataFrame:
    train = data_dir / _TRAIN
    if not train.is_file():
        raise FileNotFoundError(
            f"{train} not found: give the rossmann_100stores folder"
        )
    raw = pd.read_csv(train, dtype={"StateHoliday": str}, parse_dates=["Date"])
    unknown = sorted(set(stores) - set(raw["Store"]))
    if unknown:
        raise ValueError(f"stores {unknown} are not in {train.name}")
    rows = raw[raw["Store"].isin(stores)]
    return rows.sort_values(["Date", "Store"]).reset_index(drop=True)


def _road_nodes(graph: nx.MultiDiGraph) -> np.ndarray:
    """``[lat, lon]`` of the largest strongly connected component, by node id."""
    core = max(nx.strongly_connected_components(graph), key=len)
    ids = sorted(core, key=str)
    return np.array([[graph.nodes[n]["y"], graph.nodes[n]["x"]] for n in ids])


def _dist(points: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Equirectangular distances (m) from ``points`` to one point: fine at
    city scale, for ranking only."""
    k = math.cos(math.radians(float(to[0])))
    d = (points - to) * np.array([111_195.0, 111_195.0 * k])
    distances: np.ndarray = np.hypot(d[:, 0], d[:, 1])
    return distances


def _depot_nodes(nodes: np.ndarray, depots: int) -> np.ndarray:
    """The node nearest the centre of each of ``depots`` west-east bands."""
    lo, hi = nodes[:, 1].min(), nodes[:, 1].max()
    lat = float(np.median(nodes[:, 0]))
    picked = []
    for i in range(depots):
        lon = lo + (hi - lo) * (i + 0.5) / depots
        picked.append(nodes[int(np.argmin(_dist(nodes, np.array([lat, lon]))))])
    return np.array(picked)


def _closed_days(
    days: Iterable[pd.Timestamp], country: str, subdivision: str | None
) -> frozenset[dt.date]:
    """Sundays and public holidays of the years ``days`` span, and a year on."""
    dates = sorted({d.date() for d in days})
    years = range(dates[0].year, dates[-1].year + 2)
    public = holidays.country_holidays(country, subdiv=subdivision, years=years)
    first, last = dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)
    every = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return frozenset(d for d in every if d.weekday() == 6 or d in public)


def _next_open(day: dt.date, off: frozenset[dt.date]) -> dt.date:
    nxt = day + dt.timedelta(days=1)
    while nxt in off:
        nxt += dt.timedelta(days=1)
    return nxt


def _orders(
    rows: pd.DataFrame,
    scale: float,
    near: dict[str, np.ndarray],
    zone_depot: dict[str, str],
    off: frozenset[dt.date],
    tz: ZoneInfo,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per order (see the module docstring)."""
    counts = rng.poisson(rows["Customers"].to_numpy() / scale)
    records: list[tuple[object, ...]] = []
    for (_, row), n in zip(rows.iterrows(), counts, strict=True):
        if n == 0 or row["Open"] == 0:
            continue
        day, zone = row["Date"].date(), _zone(int(row["Store"]))
        delivery = _next_open(day, off)
        places = near[zone][rng.integers(0, len(near[zone]), size=n)]
        placed = np.sort(rng.integers(8 * 60, 20 * 60, size=n))
        served = rng.integers(9 * 60, 18 * 60, size=n)
        fate = rng.random(n)
        promo = "promo" if row["Promo"] == 1 else ""
        for i in range(n):
            outcome = _outcome(float(fate[i]))
            served_at = _at(delivery, int(served[i]), tz)
            records.append(
                (
                    _at(day, int(placed[i]), tz),
                    None if outcome == "cancelled" else served_at,
                    zone,
                    *places[i].round(6),
                    zone_depot[zone],
                    promo,
                    outcome,
                )
            )
    columns = ["created_at", "delivered_at", "zone", "lat", "lon", "depot"]
    frame = pd.DataFrame(records, columns=[*columns, "promotions", "outcome"])
    frame.insert(0, "order_id", [f"r{i + 1:07d}" for i in range(len(frame))])
    return frame


def _outcome(draw: float) -> str:
    if draw < CANCELLED_SHARE:
        return "cancelled"
    return "failed" if draw < CANCELLED_SHARE + FAILED_SHARE else "delivered"


def _at(day: dt.date, minute: int, tz: ZoneInfo) -> str:
    moment = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz)
    return moment.isoformat(timespec="minutes")


def _runs(days: pd.Series) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive dates, as (first, last)."""
    ordered = sorted(d.date() for d in days)
    runs: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _calendar(rows: pd.DataFrame) -> pd.DataFrame:
    """The stores' promotions and school holidays, by zone."""
    entries = []
    for store, days in rows.groupby("Store"):
        zone = _zone(int(str(store)))
        for flag, name, kind in (
            ("Promo", "promo", "promotion"),
            ("SchoolHoliday", "school_holidays", "event"),
        ):
            for first, last in _runs(days.loc[days[flag] == 1, "Date"]):
                entries.append((first, last, name, kind, zone, 1.0))
    columns = ["start", "end", "name", "kind", "scope", "intensity"]
    return pd.DataFrame(entries, columns=columns).sort_values(["start", "scope"])
