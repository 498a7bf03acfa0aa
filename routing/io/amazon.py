"""Amazon Last Mile Routing Research Challenge routes as milepost problems.

The 2021 challenge data (``rc_sample_13_routes`` in the shared data sets, the
official schema of MIT's ``rc-cli``) describes each route by four JSON files:
``new_route_data.json`` (station, date, departure time in UTC, van capacity,
stops), ``new_package_data.json`` (per stop, per package: time window in UTC
or ``NaN``, planned service time, dimensions), ``new_actual_sequences.json``
(the order the driver actually drove) and ``new_invalid_sequence_scores.json``
(not used here).

Modelling choices, made once here:

* **Time.** Every time is in seconds since *local* midnight of the day the van
  leaves, in the station's zone (:data:`STATION_ZONES`, chosen by the station
  code's prefix: ``DLA``/``DSE`` Los Angeles, ``DCH``/``DAU`` Chicago, ``DBO``
  New York), like every other milepost problem. The UTC instants of the files
  are converted with :mod:`zoneinfo`, so daylight saving is handled.
* **Fleet.** One depot at the ``Station`` stop (id = station code) and one van
  ``van`` starting and ending there. Its shift opens at the departure time and
  closes :data:`SHIFT_HOURS` later, or one hour after the last window closes
  when that is later. Capacity is ``(executor_capacity_cm3,``
  :data:`PARCEL_CAPACITY` ``)``: volume binds, the parcel count does not.
* **Orders.** One delivery :class:`~routing.model.Job` per ``Dropoff`` stop,
  id = stop id. Demand is ``(total package volume in cm3, rounded; number of
  packages)``; service is the sum of the packages' planned service times
  (rounded once, after summing). The stop's window is the **intersection** of
  its packages' windows; a package without a window (``NaN``) imposes none,
  and a missing end of a window leaves that side open. If the intersection is
  empty (no visit can honour every package) the window of the package that
  closes first is kept and the stop is listed in
  :attr:`AmazonRoute.window_conflicts`. None of the 13 sample routes has such
  a stop, and no window there closes before the van can reach its stop.
* **Travel.** Both our route and the driver's are timed by one
  :class:`~routing.travel.HaversineTravel` at a fixed speed
  (:func:`amazon_travel`): great-circle distance x :data:`DEFAULT_DETOUR` at
  :data:`DEFAULT_SPEED_KMH`. Both were measured on the 214 Austin routes of
  the same data set, whose legs the data set's authors priced with OSRM (car,
  free flow): over all legs, road km / straight-line km = 1.40 and road km /
  driving hours = 40 km/h (station legs run on highways at about 66 km/h,
  legs between stops at about 29 km/h). The challenge's own travel-time
  matrix is not in the sample.

Stop ids are unique only within a route, so everything here is per route.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from routing.io.files import InputError
from routing.model import Depot, Job, Location, Problem, TimeWindow, Vehicle
from routing.travel import HaversineTravel
from routing.units import HOUR

#: The 13-route sample, next to the repository (``../shared/datasets/...``).
DEFAULT_FOLDER = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "datasets"
    / "amazon_lmrrc_sample"
    / "rc_sample_13_routes"
)

ROUTE_FILE = "new_route_data.json"
PACKAGE_FILE = "new_package_data.json"
SEQUENCE_FILE = "new_actual_sequences.json"

#: IANA zone per station-code prefix (the letters after the leading ``D``).
STATION_ZONES: Mapping[str, str] = {
    "DLA": "America/Los_Angeles",
    "DSE": "America/Los_Angeles",
    "DCH": "America/Chicago",
    "DAU": "America/Chicago",
    "DBO": "America/New_York",
}

#: Road distance over great-circle distance (Austin OSRM legs: 1.40).
DEFAULT_DETOUR = 1.4
#: Average driving speed over whole routes, station legs included (Austin: 40).
DEFAULT_SPEED_KMH = 40.0
#: Shift length from the departure time; extended to the last window's end.
SHIFT_HOURS = 12
#: Parcel-count capacity of the van: large, so that volume is what binds.
PARCEL_CAPACITY = 10_000
VEHICLE_ID = "van"


def amazon_travel(
    detour: float = DEFAULT_DETOUR, speed_kmh: float = DEFAULT_SPEED_KMH
) -> HaversineTravel:
    """The fixed-speed travel model both routes are timed with.

    Parameters
    ----------
    detour
        Road distance over great-circle distance.
    speed_kmh
        Driving speed at every hour (no time-of-day bands).

    Returns
    -------
    HaversineTravel
        Straight-line travel with a single speed.
    """
    return HaversineTravel(detour=detour, speed_kmh=speed_kmh, bands=())


@dataclass(frozen=True)
class AmazonRoute:
    """One challenge route: the problem to plan and what the driver did.

    Attributes
    ----------
    route_id
        The challenge's route id (``RouteID_...``).
    problem
        One depot, one van, one job per drop-off stop (see the module notes).
    driver_sequence
        Stop ids in the order the driver visited them, station excluded.
    station_code, date, timezone
        The station, the local date the van left and the zone of its times.
    departure_utc
        When the van left the station (aware, UTC).
    capacity_cm3
        The van's volume capacity.
    n_packages, n_windowed_packages
        Packages on the route, and those with a time window.
    window_conflicts
        Stops whose packages' windows do not intersect (see the module notes).
    """

    route_id: str
    problem: Problem
    driver_sequence: tuple[str, ...]
    station_code: str
    date: dt.date
    timezone: str
    departure_utc: dt.datetime
    capacity_cm3: int
    n_packages: int
    n_windowed_packages: int
    window_conflicts: tuple[str, ...] = ()

    @property
    def n_stops(self) -> int:
        """Drop-off stops (the station excluded)."""
        return len(self.problem.jobs)

    @property
    def departure(self) -> int:
        """Departure in seconds since local midnight of :attr:`date`."""
        return self.problem.vehicles[0].shift.start


# -- reading -----------------------------------------------------------------


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    try:
        # Python's json accepts the bare ``NaN`` token these files use.
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), [f"cannot read: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            str(path), [f"line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    if not isinstance(data, dict):
        raise InputError(str(path), ["the top level must be a JSON object"])
    return data


def list_routes(folder: str | Path = DEFAULT_FOLDER) -> list[str]:
    """Route ids in ``folder`` (the order of ``new_route_data.json``).

    Parameters
    ----------
    folder
        A folder in the challenge's schema (``new_route_data.json`` etc.).

    Returns
    -------
    list of str
        The route ids.

    Raises
    ------
    InputError
        If the route file is missing or unreadable.
    """
    return list(_read(Path(folder), ROUTE_FILE))


def read_route(
    folder: str | Path, route_id: str, *, zone: str | None = None
) -> AmazonRoute:
    """Read one route as a milepost problem plus the driver's sequence.

    Parameters
    ----------
    folder
        A folder in the challenge's schema.
    route_id
        The route to read.
    zone
        IANA zone of the station; by default from :data:`STATION_ZONES`.

    Returns
    -------
    AmazonRoute
        The problem, the driver's sequence and the route's metadata.

    Raises
    ------
    InputError
        If a file is missing, the route is unknown or its data are inconsistent.
    """
    return read_routes(folder, [route_id], zone=zone)[0]


def read_routes(
    folder: str | Path = DEFAULT_FOLDER,
    route_ids: Iterable[str] | None = None,
    *,
    zone: str | None = None,
) -> list[AmazonRoute]:
    """Read several routes, parsing each file once.

    Parameters
    ----------
    folder
        A folder in the challenge's schema.
    route_ids
        Routes to read, in this order; all of them by default.
    zone
        IANA zone of the stations; by default from :data:`STATION_ZONES`.

    Returns
    -------
    list of AmazonRoute
        One per route id.

    Raises
    ------
    InputError
        If a file is missing, a route is unknown or its data are inconsistent.
    """
    folder = Path(folder)
    routes = _read(folder, ROUTE_FILE)
    ids = list(routes) if route_ids is None else list(route_ids)
    unknown = [r for r in ids if r not in routes]
    if unknown:
        raise InputError(
            str(folder / ROUTE_FILE), [f"unknown route id {r!r}" for r in unknown]
        )
    packages = _read(folder, PACKAGE_FILE)
    sequences = _read(folder, SEQUENCE_FILE)
    return [
        _build_route(
            rid, routes[rid], packages.get(rid), sequences.get(rid), folder, zone
        )
        for rid in ids
    ]


def station_zone(station_code: str) -> str:
    """The IANA zone of a station, from its code's prefix.

    Raises
    ------
    KeyError
        If the prefix is not in :data:`STATION_ZONES`.
    """
    return STATION_ZONES[station_code[:3].upper()]


def _utc(text: str) -> dt.datetime:
    """``"2018-08-11 14:00:00"`` (UTC) as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _seconds(moment: dt.datetime, midnight: dt.datetime) -> int:
    return round((moment - midnight).total_seconds())


@dataclass
class _Stop:
    volume: float = 0.0
    service: float = 0.0
    packages: int = 0
    windowed: int = 0
    start: int | None = None  # latest opening (None: open from midnight)
    end: int | None = None  # earliest closing (None: open until the shift ends)
    first_end: tuple[int, int] | None = None  # the first-closing package window
    conflict: bool = False


def _stop_packages(
    stop_id: str, items: Mapping[str, Any], midnight: dt.datetime
) -> _Stop:
    stop = _Stop()
    for pid, pkg in items.items():
        dims = pkg["dimensions"]
        stop.volume += dims["depth_cm"] * dims["height_cm"] * dims["width_cm"]
        stop.service += float(pkg["planned_service_time_seconds"])
        stop.packages += 1
        tw = pkg.get("time_window") or {}
        s, e = tw.get("start_time_utc"), tw.get("end_time_utc")
        # A window side is a "YYYY-MM-DD hh:mm:ss" string, or NaN when absent.
        s_sec = _seconds(_utc(s), midnight) if isinstance(s, str) else None
        e_sec = _seconds(_utc(e), midnight) if isinstance(e, str) else None
        if s_sec is None and e_sec is None:
            continue
        if s_sec is not None and e_sec is not None and e_sec < s_sec:
            raise ValueError(f"stop {stop_id} package {pid}: window ends before start")
        stop.windowed += 1
        if s_sec is not None:
            stop.start = s_sec if stop.start is None else max(stop.start, s_sec)
        if e_sec is not None:
            stop.end = e_sec if stop.end is None else min(stop.end, e_sec)
            if stop.first_end is None or e_sec < stop.first_end[1]:
                stop.first_end = (s_sec or 0, e_sec)
    if stop.start is not None and stop.end is not None and stop.end < stop.start:
        stop.conflict = True
    return stop


def _build_route(
    route_id: str,
    info: Mapping[str, Any],
    packages: Mapping[str, Any] | None,
    sequence: Mapping[str, Any] | None,
    folder: Path,
    zone: str | None,
) -> AmazonRoute:
    where = f"{folder.name}/{route_id}"
    if packages is None or sequence is None:
        missing = PACKAGE_FILE if packages is None else SEQUENCE_FILE
        raise InputError(where, [f"route missing from {missing}"])
    try:
        return _route(route_id, info, packages, sequence, zone)
    except KeyError as exc:
        raise InputError(where, [f"bad route data: missing key {exc}"]) from None
    except (TypeError, ValueError) as exc:
        raise InputError(where, [f"bad route data: {exc}"]) from None


def _route(
    route_id: str,
    info: Mapping[str, Any],
    packages: Mapping[str, Any],
    sequence: Mapping[str, Any],
    zone: str | None,
) -> AmazonRoute:
    code = str(info["station_code"])
    if zone is None and code[:3].upper() not in STATION_ZONES:
        raise ValueError(f"no time zone known for station {code!r}; pass zone=")
    tz_name = zone or station_zone(code)
    tz = ZoneInfo(tz_name)
    departure = _utc(f"{info['date_YYYY_MM_DD']} {info['departure_time_utc']}")
    local_day = departure.astimezone(tz).date()
    midnight = dt.datetime.combine(local_day, dt.time(0), tzinfo=tz)
    depart = _seconds(departure, midnight)

    station_id, depot = _station(code, info["stops"])
    stops = {
        sid: _stop_packages(sid, packages.get(sid) or {}, midnight)
        for sid, s in info["stops"].items()
        if s["type"] != "Station"
    }
    latest_end = max((s.end for s in stops.values() if s.end is not None), default=0)
    shift_end = max(depart + SHIFT_HOURS * HOUR, latest_end + HOUR)
    capacity = round(float(info["executor_capacity_cm3"]))
    problem = Problem(
        date=local_day,
        depots=(depot,),
        vehicles=(
            Vehicle(
                id=VEHICLE_ID,
                start=code,
                end=code,
                capacity=(capacity, PARCEL_CAPACITY),
                shift=TimeWindow(start=depart, end=shift_end),
            ),
        ),
        jobs=tuple(
            _job(sid, stop, info["stops"][sid], shift_end)
            for sid, stop in stops.items()
        ),
    )
    visits = _actual_sequence(sequence, info["stops"])
    return AmazonRoute(
        route_id=route_id,
        problem=problem,
        driver_sequence=tuple(v for v in visits if v != station_id),
        station_code=code,
        date=local_day,
        timezone=tz_name,
        departure_utc=departure,
        capacity_cm3=capacity,
        n_packages=sum(s.packages for s in stops.values()),
        n_windowed_packages=sum(s.windowed for s in stops.values()),
        window_conflicts=tuple(sid for sid, s in stops.items() if s.conflict),
    )


def _station(code: str, stops: Mapping[str, Any]) -> tuple[str, Depot]:
    """The route's one ``Station`` stop, as the depot named by the station code."""
    stations = [sid for sid, s in stops.items() if s["type"] == "Station"]
    if len(stations) != 1:
        raise ValueError(f"expected one Station stop, found {len(stations)}")
    station = stops[stations[0]]
    location = Location(lat=station["lat"], lon=station["lng"])
    return stations[0], Depot(id=code, location=location, name=code)


def _job(sid: str, stop: _Stop, where: Mapping[str, Any], shift_end: int) -> Job:
    """One delivery per drop-off stop, its window the packages' intersection."""
    windows: tuple[TimeWindow, ...] = ()
    if stop.conflict:
        assert stop.first_end is not None
        lo, hi = stop.first_end
        windows = (TimeWindow(start=max(0, lo), end=max(0, hi)),)
    elif stop.start is not None or stop.end is not None:
        lo = max(0, stop.start or 0)
        hi = shift_end if stop.end is None else max(0, stop.end)
        windows = (TimeWindow(start=min(lo, hi), end=hi),)
    return Job(
        id=sid,
        location=Location(lat=where["lat"], lon=where["lng"]),
        demand=(round(stop.volume), stop.packages),
        service=round(stop.service),
        time_windows=windows,
    )


def _actual_sequence(
    sequence: Mapping[str, Any], stops: Mapping[str, Any]
) -> list[str]:
    """The stops in the order the driver drove them, each exactly once."""
    order = sequence.get("actual", sequence)
    visits = sorted(order, key=lambda sid: order[sid])
    if set(visits) != set(stops):
        raise ValueError("the actual sequence does not list every stop once")
    return visits
