"""An operation's own past orders: read a history file, check every row, count per day.

A history file is CSV (a header naming the columns) or JSON lines (one
object per line) with these fields, one order each:

========================  =====================================================
``order_id``              required; unique per deployment (1-128 characters)
``created_at``            required; when the order was placed
``delivered_at``          when it was delivered (required when ``delivered``)
``zone``                  the zone (district) of the stop
``lat``, ``lon``          the stop; a row needs ``zone`` or both of these
``depot``                 the depot that held it
``promotions``            promotion flags: ``;``-separated in CSV, a list in JSON
``outcome``               required; ``delivered``, ``failed``, ``cancelled``
                          or ``returned``
========================  =====================================================

Times are ISO 8601; one without an offset is read in the deployment's
timezone (``tz``). :func:`read_history` checks every row before it returns
any: a file with a bad row raises :class:`HistoryInvalid` listing each
problem as ``line N, field F: reason``, so a caller imports all or nothing.

:func:`demand_history` turns plain rows (a frame, as the service reads them
from its table) into the daily counts a forecast of the stored operation
learns from (:class:`DemandHistory`): orders per zone by the day they were
placed, deliveries per depot by the day they were delivered.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from forecasting.calendar import CalendarEntry, PublicHolidays
from routing.base import FrozenModel
from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Depot

__all__ = [
    "COLUMNS",
    "MAX_PROBLEMS",
    "NO_DEPOT",
    "NO_ZONE",
    "DailySeries",
    "DemandHistory",
    "DepotStops",
    "HistoryFormat",
    "HistoryInvalid",
    "Outcome",
    "OwnCalendar",
    "PastOrder",
    "RowProblem",
    "demand_history",
    "history_format",
    "read_history",
]

HistoryFormat = Literal["csv", "jsonl"]

#: Every column a history file may have, in the order the docs list them.
COLUMNS = (
    "order_id",
    "created_at",
    "delivered_at",
    "zone",
    "lat",
    "lon",
    "depot",
    "promotions",
    "outcome",
)
_REQUIRED = ("order_id", "created_at", "outcome")
#: Problems a refused file lists at most (the message says how many more).
MAX_PROBLEMS = 50
#: The series of orders without a zone, and of deliveries without a depot.
NO_ZONE = "(no zone)"
NO_DEPOT = "(no depot)"
#: Stops per depot a forecast payload carries for sizing the fleet.
MAX_STOPS = 500
#: Deliveries of the first days include orders placed before the history.
WARM_UP_DAYS = 7


class Outcome(StrEnum):
    """How an order ended."""

    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"
    returned = "returned"


def _aware(value: Any, info: ValidationInfo) -> Any:
    """An ISO time as an aware datetime; a naive one is read in ``context["tz"]``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                "not an ISO 8601 time (e.g. 2025-03-01T14:05:00+09:00)"
            ) from None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        tz = (info.context or {}).get("tz")
        if tz is None:
            raise ValueError("a time without an offset, and no timezone to read it in")
        value = value.replace(tzinfo=tz)
    return value


#: A time of a history row: aware, or read in the deployment's timezone.
AwareTime = Annotated[dt.datetime, BeforeValidator(_aware)]


class PastOrder(FrozenModel):
    """One past order of the operation (a row of a history file)."""

    order_id: str = Field(min_length=1, max_length=128)
    created_at: AwareTime
    delivered_at: AwareTime | None = None
    zone: str | None = Field(default=None, min_length=1, max_length=128)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    depot: str | None = Field(default=None, min_length=1, max_length=128)
    promotions: tuple[str, ...] = Field(default=(), max_length=20)
    outcome: Outcome

    @field_validator("order_id", "zone", "depot", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _blank_number(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("promotions", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(";")
        if isinstance(value, list | tuple):
            flags = [str(v).strip() for v in value]
            return tuple(sorted({f for f in flags if f}))
        return value


def _checks(order: PastOrder) -> Iterator[tuple[str, str]]:
    """What is wrong across the fields of a valid-looking row, as (field, reason)."""
    if order.zone is None and (order.lat is None or order.lon is None):
        yield "zone", "give the zone, or both lat and lon"
    elif (order.lat is None) != (order.lon is None):
        yield ("lon" if order.lon is None else "lat"), "give lat and lon together"
    if order.delivered_at is not None and order.delivered_at < order.created_at:
        yield "delivered_at", "is before created_at"
    if order.outcome is Outcome.delivered and order.delivered_at is None:
        yield "delivered_at", "required when the outcome is delivered"
    if order.outcome is Outcome.cancelled and order.delivered_at is not None:
        yield "delivered_at", "a cancelled order has no delivery time"


@dataclass(frozen=True)
class RowProblem:
    """One bad field of one line of a history file (the header is line 1)."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.reason}"


class HistoryInvalid(ValueError):
    """A history file with bad rows: nothing of it is to be imported.

    ``problems`` lists the first :data:`MAX_PROBLEMS`; ``bad_rows`` counts
    every bad line.
    """

    def __init__(self, problems: Sequence[RowProblem], bad_rows: int) -> None:
        self.problems = list(problems[:MAX_PROBLEMS])
        self.bad_rows = bad_rows
        shown = "; ".join(str(p) for p in self.problems)
        more = len(problems) - len(self.problems)
        tail = f"; and {more} more problems" if more > 0 else ""
        plural = "" if bad_rows == 1 else "s"
        super().__init__(f"{bad_rows} bad row{plural}, nothing imported: {shown}{tail}")


def history_format(name: str | None, given: str | None = None) -> HistoryFormat:
    """The format of a history file: ``given``, else by the name's extension.

    Raises
    ------
    ValueError
        When neither says ``csv`` or ``jsonl`` (``.json``/``.ndjson`` count
        as JSON lines; a ``.gz`` suffix is looked through).
    """
    choice = (given or "").strip().lower()
    if not choice and name:
        stem = name.lower().removesuffix(".gz")
        suffix = stem.rsplit(".", 1)[-1] if "." in stem else ""
        choice = {"json": "jsonl", "ndjson": "jsonl"}.get(suffix, suffix)
    if choice == "csv":
        return "csv"
    if choice == "jsonl":
        return "jsonl"
    raise ValueError(
        f"cannot tell the format of {name or 'the file'!r}: "
        "name it .csv or .jsonl, or give the format (csv or jsonl)"
    )


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, raw row) of a CSV file; a bad header is a problem on line 1."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in _REQUIRED if c not in header]
    problems = [RowProblem(1, h, "unknown column") for h in unknown]
    problems += [RowProblem(1, c, "missing column") for c in missing]
    if problems:
        raise HistoryInvalid(problems, 1)
    reader.fieldnames = header
    line = 1
    for row in reader:
        line = reader.line_num
        if None in row:
            raise HistoryInvalid(
                [RowProblem(line, "row", "more values than columns")], 1
            )
        yield line, {k: (None if v == "" else v) for k, v in row.items()}


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    """(line, raw object or the problem of that line) of a JSON lines file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, RowProblem(number, "row", f"not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield number, RowProblem(number, "row", "not a JSON object")
            continue
        unknown = [k for k in value if k not in COLUMNS]
        if unknown:
            yield number, RowProblem(number, unknown[0], "unknown field")
            continue
        yield number, value


def _row_problems(
    line: int, raw: Mapping[str, Any], tz: dt.tzinfo
) -> PastOrder | list[RowProblem]:
    """The order of one row, or every problem of it."""
    try:
        order = PastOrder.model_validate(raw, context={"tz": tz})
    except ValidationError as exc:
        return [
            RowProblem(
                line,
                str(err["loc"][0]) if err["loc"] else "row",
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
    wrong = [RowProblem(line, field, reason) for field, reason in _checks(order)]
    return wrong or order


def read_history(text: str, fmt: HistoryFormat, tz: dt.tzinfo) -> list[PastOrder]:
    """Every order of a history file, checked; all or nothing.

    Parameters
    ----------
    text
        The file's content.
    fmt
        ``csv`` or ``jsonl`` (:func:`history_format`).
    tz
        The deployment's timezone: times without an offset are read in it.

    Returns
    -------
    list of PastOrder
        One per order id, in file order (a line repeating an earlier line
        exactly is dropped).

    Raises
    ------
    HistoryInvalid
        Listing every bad row (``line N, field F: reason``), including an
        order id given twice with different values, and an empty file.
    """
    rows = _csv_rows(text) if fmt == "csv" else _jsonl_rows(text)
    problems: list[RowProblem] = []
    bad_lines: set[int] = set()
    seen: dict[str, tuple[int, PastOrder]] = {}
    for line, raw in rows:
        got = raw if isinstance(raw, RowProblem) else _row_problems(line, raw, tz)
        if isinstance(got, PastOrder):
            first = seen.setdefault(got.order_id, (line, got))
            if first[1] == got:
                continue
            got = [
                RowProblem(
                    line,
                    "order_id",
                    f"{got.order_id!r} is on line {first[0]} too, with other values",
                )
            ]
        found = got if isinstance(got, list) else [got]
        problems += found
        bad_lines.add(line)
    if problems:
        raise HistoryInvalid(problems, len(bad_lines))
    if not seen:
        raise HistoryInvalid([RowProblem(1, "row", "no orders in the file")], 1)
    return [order for _, order in seen.values()]


# --- daily counts ------------------------------------------------------------


class DailySeries(FrozenModel):
    """One series' count per day from ``first`` on, every day (0 included)."""

    name: str
    first: dt.date
    counts: tuple[int, ...]

    @property
    def last(self) -> dt.date:
        """The series' last day."""
        return self.first + dt.timedelta(days=len(self.counts) - 1)


class DepotStops(FrozenModel):
    """A stored depot and stops it delivered to (a sample), for sizing its fleet."""

    depot: Depot
    stops: tuple[tuple[float, float], ...] = Field(max_length=MAX_STOPS)


class OwnCalendar(FrozenModel):
    """The operation's calendar: its own entries (holidays, closures, events,
    promotions; national or scoped to a zone or depot), merged with or
    replacing the public holidays of the deployment's country (its
    ``locale``'s country and subdivision)."""

    entries: tuple[CalendarEntry, ...] = ()
    public_holidays: PublicHolidays = "merge"
    locale: Locale = DEFAULT_LOCALE


class ZoneDepot(FrozenModel):
    """How many of a zone's orders a depot delivered."""

    zone: str
    depot: str
    orders: int = Field(ge=0)


class DemandHistory(FrozenModel):
    """The stored operation's daily counts, as a forecast learns from them.

    ``zones``: orders per zone by the day they were placed; ``depots``:
    deliveries per depot by the day they were delivered (the first
    :data:`WARM_UP_DAYS` left out). ``sites`` are the stored depots with
    stops they delivered to; ``unsized`` says why the fleet cannot be sized
    at all (None: it can, for the depots in ``sites``). ``calendar`` is the
    operation's own calendar and its country's public holidays. ``intake``:
    orders per depot by the day they were placed, and ``zone_depots``: the
    zones' orders each depot delivered (the last eight weeks): what the
    first open day after a closure carries.
    """

    zones: tuple[DailySeries, ...] = Field(min_length=1)
    depots: tuple[DailySeries, ...] = ()
    intake: tuple[DailySeries, ...] = ()
    zone_depots: tuple[ZoneDepot, ...] = ()
    sites: tuple[DepotStops, ...] = ()
    unsized: str | None = None
    calendar: OwnCalendar = OwnCalendar()

    @property
    def first(self) -> dt.date:
        """The first day an order was placed."""
        return min(s.first for s in self.zones)

    @property
    def last(self) -> dt.date:
        """The last day an order was placed."""
        return max(s.last for s in self.zones)

    def zone_names(self) -> list[str]:
        """The zones, sorted."""
        return sorted(s.name for s in self.zones)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``unique_id, ds, y`` of the zones and of the depots."""
        return _long(self.zones), _long(self.depots)

    def intake_frame(self) -> pd.DataFrame:
        """``unique_id, ds, y``: orders per depot by the day placed."""
        return _long(self.intake)

    def shares(self) -> pd.DataFrame:
        """``zone, depot, share``: the share of each zone's orders each depot
        delivered."""
        frame = pd.DataFrame(
            [(r.zone, r.depot, r.orders) for r in self.zone_depots],
            columns=["zone", "depot", "n"],
        )
        frame["share"] = frame["n"] / frame.groupby("zone")["n"].transform("sum")
        return frame[["zone", "depot", "share"]]


def _long(series: Sequence[DailySeries]) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "unique_id": s.name,
                "ds": pd.date_range(s.first, periods=len(s.counts), freq="D"),
                "y": np.asarray(s.counts, dtype=np.float64),
            }
        )
        for s in series
    ]
    if not parts:
        return pd.DataFrame({"unique_id": [], "ds": [], "y": []})
    return pd.concat(parts, ignore_index=True)


def _series(keys: pd.Series, days: pd.Series, last: dt.date) -> list[DailySeries]:
    """Counts per key and day, dense from each key's first day to ``last``."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "day": days.to_numpy()})
    out = []
    for key, group in frame.groupby("key", sort=True):
        counts = group["day"].value_counts()
        first = min(counts.index)
        span = pd.date_range(first, last, freq="D").date
        out.append(
            DailySeries(
                name=str(key),
                first=first,
                counts=tuple(int(counts.get(d, 0)) for d in span),
            )
        )
    return out


def _local_days(times: pd.Series, tz: dt.tzinfo) -> pd.Series:
    """The local calendar day of each aware time."""
    stamps = pd.to_datetime(times, utc=True).dt.tz_convert(tz)
    return stamps.dt.date


def demand_history(
    rows: pd.DataFrame,
    tz: dt.tzinfo,
    depots: Sequence[Depot],
    *,
    seed: int = 0,
    calendar: OwnCalendar | None = None,
) -> DemandHistory:
    """The daily counts of stored orders, and the depots to size fleets at.

    Parameters
    ----------
    rows
        One row per order: ``created_at``, ``delivered_at`` (aware times or
        NaT), ``zone``, ``depot``, ``lat``, ``lon`` (None/NaN when unknown).
    tz
        The deployment's timezone: a day is a local calendar day.
    depots
        The service's depots (their locations); none means the fleet is
        not sized, and the result says so.
    seed
        Seed of the stop sample per depot.
    calendar
        The operation's calendar (default: the default country's public
        holidays only).
    """
    if rows.empty:
        raise ValueError("no stored orders to count")
    created = _local_days(rows["created_at"], tz)
    last = max(created)
    zones = _series(rows["zone"].fillna(NO_ZONE), created, last)
    done = rows[rows["delivered_at"].notna()]
    delivered = _local_days(done["delivered_at"], tz)
    keep = (delivered >= min(created) + dt.timedelta(days=WARM_UP_DAYS)) & (
        delivered <= last
    )
    by_depot = _series(done["depot"].fillna(NO_DEPOT)[keep], delivered[keep], last)
    placed = created[rows["depot"].notna()]
    intake = _series(rows["depot"].dropna(), placed, last)
    recent = placed >= last - dt.timedelta(weeks=8)
    pairs = (
        rows.loc[placed.index[recent]]
        .assign(zone=lambda r: r["zone"].fillna(NO_ZONE))
        .groupby(["zone", "depot"])
        .size()
    )
    zone_depots = tuple(
        ZoneDepot(zone=str(z), depot=str(d), orders=int(n))
        for (z, d), n in pairs.items()
    )
    sites = _sites(done, depots, seed)
    unsized = None if depots else "no depots are stored in the service (PUT /v1/depots)"
    return DemandHistory(
        zones=tuple(zones),
        depots=tuple(by_depot),
        intake=tuple(intake),
        zone_depots=zone_depots,
        sites=sites,
        unsized=unsized,
        calendar=calendar or OwnCalendar(),
    )


def _sites(
    done: pd.DataFrame, depots: Sequence[Depot], seed: int
) -> tuple[DepotStops, ...]:
    """Each stored depot with up to :data:`MAX_STOPS` stops it delivered to."""
    rng = np.random.default_rng(seed)
    located = done[done["lat"].notna() & done["lon"].notna()]
    out = []
    for depot in depots:
        mine = located[located["depot"] == depot.id]
        if len(mine) > MAX_STOPS:
            mine = mine.iloc[np.sort(rng.choice(len(mine), MAX_STOPS, replace=False))]
        stops = tuple(
            (float(a), float(b)) for a, b in zip(mine["lat"], mine["lon"], strict=True)
        )
        out.append(DepotStops(depot=depot, stops=stops))
    return tuple(out)
