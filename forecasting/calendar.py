"""The Korean retail calendar: public holidays, demand events, promotions.

Three kinds of calendar day are kept apart (:class:`EntryKind`):

``holiday``
    A public holiday, from the ``holidays`` package (country ``KR``) plus or
    minus the user's overrides (:class:`HolidayCalendar`).
``event``
    A day on which demand moves although the depots work normally: gift days
    (Valentine's, White Day, Pepero Day...), sales (Black Friday, Korea Sale
    Festa), the gift-parcel run-up before Seollal and Chuseok and the trough of
    the holiday blocks themselves.
``closure``
    A day on which depots do not deliver: the Seollal and Chuseok blocks and
    the couriers' day off (14 August). A closure says nothing about demand;
    the matching ``event`` entry does.

:class:`RetailCalendar` combines the three, :class:`Promotion` describes a
marketing campaign, and :func:`calendar_features` turns a date range into one
row of exogenous features per day (the ``X_df`` of a forecaster, keyed by
``ds``).

Rules used for the derived events
---------------------------------
* **Seollal / Chuseok block**: the maximal run of consecutive days, each a
  public holiday or a Saturday/Sunday, that contains the festival's main day
  (``"Korean New Year"`` / ``"Chuseok"`` in the ``holidays`` package). For
  example Chuseok 2025 (6 October) gives 3-9 October: National Foundation Day
  on Friday the 3rd, the weekend, the three Chuseok days, the substitute
  holiday and Hangul Day.
* **Gift run-up**: the ``run_up_days`` (default 14) days just before a block.
* **Korea Sale Festa**: 1-15 November (the 2020 and 2021 editions ran on
  these dates; later editions moved around inside November). Change it with
  ``sale_festa=(first_day, last_day)``.
* **Black Friday**: the day after the fourth Thursday of November.
* **Courier day off**: 14 August (the parcel couriers' agreed rest day since
  2020).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TextIO, TypeVar

import holidays
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from routing.base import FrozenModel

__all__ = [
    "DEFAULT_EVENTS",
    "DS_DTYPE",
    "FESTIVALS",
    "CalendarEntry",
    "EntryKind",
    "Festival",
    "HolidayCalendar",
    "Promotion",
    "PromotionType",
    "RetailCalendar",
    "calendar_features",
    "default_promotions",
    "event_column",
    "festival_days",
    "load_calendar_file",
    "load_promotion_file",
    "promotion_column",
]

#: dtype of every ``ds`` column produced here.
DS_DTYPE = "datetime64[ns]"

Festival = Literal["seollal", "chuseok"]
FESTIVALS: tuple[Festival, ...] = ("seollal", "chuseok")

# Names of the festival's main day in the holidays package (English, Korean).
_FESTIVAL_NAMES: Mapping[Festival, frozenset[str]] = MappingProxyType(
    {
        "seollal": frozenset({"Korean New Year", "Seollal", "설날"}),
        "chuseok": frozenset({"Chuseok", "추석"}),
    }
)

#: Names of the demand events :class:`RetailCalendar` derives by default, in
#: column order.
DEFAULT_EVENTS: tuple[str, ...] = (
    "valentines_day",
    "white_day",
    "black_day",
    "pepero_day",
    "korea_sale_festa",
    "black_friday",
    "christmas_eve",
    "christmas",
    "seollal_run_up",
    "seollal_holidays",
    "chuseok_run_up",
    "chuseok_holidays",
)

_DEFAULT_CLOSURES = ("seollal_closure", "chuseok_closure", "courier_day_off")


class EntryKind(StrEnum):
    """What a calendar entry means for the business."""

    HOLIDAY = "holiday"
    EVENT = "event"
    CLOSURE = "closure"


@dataclass(frozen=True, slots=True, order=True)
class CalendarEntry:
    """One named day of one kind.

    Parameters
    ----------
    day
        The date.
    name
        A short name; events become feature columns named
        :func:`event_column` ``(name)``.
    kind
        ``holiday``, ``event`` or ``closure``.
    """

    day: date
    name: str
    kind: EntryKind


# --------------------------------------------------------------------------
# public holidays


@cache
def _package_holidays(years: tuple[int, ...]) -> Mapping[date, str]:
    """Korean public holidays from the ``holidays`` package, English names."""
    table = holidays.country_holidays("KR", years=years, language="en_US")
    return MappingProxyType(dict(sorted(table.items())))


def festival_days(festival: Festival, years: Iterable[int]) -> tuple[date, ...]:
    """Main day of Seollal or Chuseok in each year, from the holidays package.

    Parameters
    ----------
    festival
        ``"seollal"`` (Korean New Year) or ``"chuseok"``.
    years
        Calendar years.

    Returns
    -------
    tuple of date
        One date per year, sorted.

    Raises
    ------
    ValueError
        If ``festival`` is unknown or a year has no such holiday.
    """
    if festival not in _FESTIVAL_NAMES:
        raise ValueError(f"unknown festival {festival!r}: use seollal or chuseok")
    wanted = _FESTIVAL_NAMES[festival]
    ys = tuple(sorted(set(years)))
    table = _package_holidays(ys)
    found = {
        d.year: d
        for d, name in table.items()
        if any(part.strip() in wanted for part in name.split(";"))
    }
    missing = [y for y in ys if y not in found]
    if missing:
        raise ValueError(f"no {festival} found for year(s) {missing}")
    return tuple(found[y] for y in ys)


class HolidayCalendar:
    """Korean public holidays with user overrides.

    Parameters
    ----------
    years
        Calendar years to cover.
    extra
        Days to add, or to rename when already a holiday; applied after
        ``remove``, so a day in both ends up with the ``extra`` name.
    remove
        Days that are public holidays in the package but should not count
        (for example an election day that the business ignores).

    Raises
    ------
    ValueError
        If ``years`` is empty, or ``remove`` names a day that is not a public
        holiday in the covered years.

    Examples
    --------
    >>> from datetime import date
    >>> cal = HolidayCalendar([2024], extra={date(2024, 5, 1): "Labour Day"})
    >>> cal.name(date(2024, 2, 10))
    'Korean New Year'
    >>> date(2024, 5, 1) in cal
    True
    """

    def __init__(
        self,
        years: Iterable[int],
        extra: Mapping[date, str] | None = None,
        remove: Collection[date] | None = None,
    ) -> None:
        self._years = tuple(sorted(set(years)))
        if not self._years:
            raise ValueError("years is empty: give at least one year")
        days = dict(_package_holidays(self._years))
        for day in sorted(remove or ()):
            if day not in days:
                raise ValueError(
                    f"cannot remove {day.isoformat()}: not a public holiday"
                )
            del days[day]
        for day, name in (extra or {}).items():
            if not name.strip():
                raise ValueError(f"extra holiday {day.isoformat()} has an empty name")
            days[day] = name.strip()
        self._days: Mapping[date, str] = MappingProxyType(dict(sorted(days.items())))

    @property
    def years(self) -> tuple[int, ...]:
        """The covered years, sorted."""
        return self._years

    @property
    def days(self) -> Mapping[date, str]:
        """Read-only ``{date: name}`` of every holiday, sorted by date."""
        return self._days

    def __contains__(self, day: object) -> bool:
        return day in self._days

    def __iter__(self) -> Iterator[date]:
        return iter(self._days)

    def __len__(self) -> int:
        return len(self._days)

    def name(self, day: date) -> str | None:
        """Name of the holiday on ``day``, or None on a working day."""
        return self._days.get(day)

    def festival(self, festival: Festival, year: int) -> date:
        """Main day of Seollal or Chuseok in ``year`` (see :func:`festival_days`)."""
        return festival_days(festival, [year])[0]

    def festival_block(self, festival: Festival, year: int) -> tuple[date, date]:
        """First and last day of the Seollal or Chuseok block in ``year``.

        The block is the maximal run of consecutive days, each a holiday of
        this calendar or a weekend day, that contains the festival's main day.
        """
        main = self.festival(festival, year)
        first = last = main
        while self._off(first - timedelta(days=1)):
            first -= timedelta(days=1)
        while self._off(last + timedelta(days=1)):
            last += timedelta(days=1)
        return first, last

    def _off(self, day: date) -> bool:
        return day.weekday() >= 5 or day in self._days


# --------------------------------------------------------------------------
# demand events and closures


def _fourth_thursday_of_november(year: int) -> date:
    first = date(year, 11, 1)
    offset = (3 - first.weekday()) % 7  # Thursday is weekday 3
    return first + timedelta(days=offset + 21)


def _span(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class RetailCalendar:
    """Public holidays, demand events and depot closures for some years.

    Parameters
    ----------
    years
        Calendar years to cover.
    entries
        User entries (for example from :func:`load_calendar_file`).
        ``holiday`` entries are added to the public holidays (and rename an
        existing one); ``event`` and ``closure`` entries are added to the
        derived ones. Entries outside ``years`` are ignored.
    remove_holidays
        Public holidays to drop (see :class:`HolidayCalendar`).
    run_up_days
        Length of the gift-parcel run-up before the Seollal and Chuseok
        blocks.
    sale_festa
        First and last day of November of the Korea Sale Festa window.
    default_events
        Derive the events and closures listed in the module docstring; with
        False only the public holidays and ``entries`` remain.

    Examples
    --------
    >>> from datetime import date
    >>> cal = RetailCalendar([2024])
    >>> [e.name for e in cal.on(date(2024, 11, 11))]
    ['korea_sale_festa', 'pepero_day']
    >>> cal.is_closed(date(2024, 2, 10))
    True
    """

    def __init__(
        self,
        years: Iterable[int],
        *,
        entries: Iterable[CalendarEntry] = (),
        remove_holidays: Collection[date] = (),
        run_up_days: int = 14,
        sale_festa: tuple[int, int] = (1, 15),
        default_events: bool = True,
    ) -> None:
        ys = tuple(sorted(set(years)))
        if run_up_days < 0:
            raise ValueError(f"run_up_days must be >= 0, got {run_up_days}")
        first_day, last_day = sale_festa
        if not 1 <= first_day <= last_day <= 30:
            raise ValueError(
                f"sale_festa must be (first, last) days of November, got {sale_festa}"
            )
        user = [e for e in entries if e.day.year in ys]
        extra = {e.day: e.name for e in user if e.kind is EntryKind.HOLIDAY}
        self.holidays = HolidayCalendar(ys, extra=extra, remove=remove_holidays)
        self.run_up_days = run_up_days
        self.sale_festa = sale_festa

        found: set[CalendarEntry] = {
            CalendarEntry(d, n, EntryKind.HOLIDAY)
            for d, n in self.holidays.days.items()
        }
        if default_events:
            found |= set(self._derived(ys))
        found |= {e for e in user if e.kind is not EntryKind.HOLIDAY}
        self._entries = tuple(sorted(found))

        by_day: dict[date, list[CalendarEntry]] = {}
        for entry in self._entries:
            by_day.setdefault(entry.day, []).append(entry)
        self._by_day = {d: tuple(es) for d, es in by_day.items()}
        names = {e.name for e in self._entries if e.kind is EntryKind.EVENT}
        defaults = [n for n in DEFAULT_EVENTS if n in names]
        self._event_names = (*defaults, *sorted(names - set(defaults)))

    def _derived(self, years: tuple[int, ...]) -> Iterator[CalendarEntry]:
        event, closure = EntryKind.EVENT, EntryKind.CLOSURE
        for y in years:
            yield CalendarEntry(date(y, 2, 14), "valentines_day", event)
            yield CalendarEntry(date(y, 3, 14), "white_day", event)
            yield CalendarEntry(date(y, 4, 14), "black_day", event)
            yield CalendarEntry(date(y, 11, 11), "pepero_day", event)
            yield CalendarEntry(date(y, 12, 24), "christmas_eve", event)
            yield CalendarEntry(date(y, 12, 25), "christmas", event)
            yield CalendarEntry(date(y, 8, 14), "courier_day_off", closure)
            friday = _fourth_thursday_of_november(y) + timedelta(days=1)
            yield CalendarEntry(friday, "black_friday", event)
            first, last = self.sale_festa
            for day in _span(date(y, 11, first), date(y, 11, last)):
                yield CalendarEntry(day, "korea_sale_festa", event)
            for festival in FESTIVALS:
                start, end = self.holidays.festival_block(festival, y)
                run_up = start - timedelta(days=self.run_up_days)
                for day in _span(run_up, start - timedelta(days=1)):
                    yield CalendarEntry(day, f"{festival}_run_up", event)
                for day in _span(start, end):
                    yield CalendarEntry(day, f"{festival}_holidays", event)
                    yield CalendarEntry(day, f"{festival}_closure", closure)

    @property
    def years(self) -> tuple[int, ...]:
        """The covered years, sorted."""
        return self.holidays.years

    @property
    def entries(self) -> tuple[CalendarEntry, ...]:
        """Every entry (holidays, events, closures), sorted by date."""
        return self._entries

    @property
    def event_names(self) -> tuple[str, ...]:
        """Event names: the defaults in :data:`DEFAULT_EVENTS` order, then users'."""
        return self._event_names

    def on(self, day: date) -> tuple[CalendarEntry, ...]:
        """Entries on ``day``, sorted by kind then name."""
        return tuple(sorted(self._by_day.get(day, ()), key=lambda e: (e.kind, e.name)))

    def dates(self, name: str, kind: EntryKind | None = None) -> tuple[date, ...]:
        """Sorted dates of the entries called ``name`` (of ``kind``, if given)."""
        return tuple(
            sorted(
                {
                    e.day
                    for e in self._entries
                    if e.name == name and (kind is None or e.kind is kind)
                }
            )
        )

    def is_closed(self, day: date) -> bool:
        """Whether depots are closed on ``day``."""
        return any(e.kind is EntryKind.CLOSURE for e in self._by_day.get(day, ()))

    @property
    def closures(self) -> frozenset[date]:
        """Every day on which depots are closed."""
        return frozenset(e.day for e in self._entries if e.kind is EntryKind.CLOSURE)


# --------------------------------------------------------------------------
# promotions


class PromotionType(StrEnum):
    """The marketing campaign types the business runs."""

    SEASONAL = "seasonal"
    SIGN_UP = "sign_up"
    FIRST_PURCHASE = "first_purchase"
    REPURCHASE = "repurchase"
    LIMITED_TIME = "limited_time"


class Promotion(FrozenModel):
    """A campaign running from ``start`` to ``end`` (both inclusive).

    ``intensity`` scales the campaign's effect: 1.0 is a typical campaign of
    its type, 0 switches it off, 2.0 is twice as strong.
    """

    start: date
    end: date
    type: PromotionType
    intensity: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    name: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Promotion:
        if self.end < self.start:
            raise PydanticCustomError(
                "promotion",
                "end ({end}) is before start ({start})",
                {"end": self.end.isoformat(), "start": self.start.isoformat()},
            )
        return self

    def active(self, day: date) -> bool:
        """Whether the promotion runs on ``day``."""
        return self.start <= day <= self.end


# (month, first day, length in days, name) of the yearly seasonal sales.
_SEASONAL_SALES = (
    (1, 2, 7, "new year sale"),
    (3, 2, 10, "spring sale"),
    (7, 8, 10, "summer sale"),
    (12, 8, 10, "year-end sale"),
)
_SIGN_UP_MONTHS = (2, 5, 8, 10)
_FIRST_PURCHASE_MONTHS = (4, 9)
_REPURCHASE_MONTHS = (2, 4, 6, 8, 10, 12)
_FLASH_SALES_PER_MONTH = 2


def _year_plan(year: int, seed: int) -> list[Promotion]:
    rng = np.random.default_rng([seed, year])

    def make(
        kind: PromotionType, month: int, day: int, days: int, lo: float, hi: float
    ) -> Promotion:
        start = date(year, month, day)
        return Promotion(
            start=start,
            end=start + timedelta(days=days - 1),
            type=kind,
            intensity=round(float(rng.uniform(lo, hi)), 2),
            name=f"{kind.value} {start.isoformat()}",
        )

    plan = []
    for month, day, days, name in _SEASONAL_SALES:
        promo = make(
            PromotionType.SEASONAL, month, day + int(rng.integers(0, 4)), days, 0.8, 1.2
        )
        plan.append(promo.model_copy(update={"name": name}))
    for month in _SIGN_UP_MONTHS:
        day = 1 + int(rng.integers(0, 10))
        plan.append(make(PromotionType.SIGN_UP, month, day, 14, 0.6, 1.0))
    for month in _FIRST_PURCHASE_MONTHS:
        day = 10 + int(rng.integers(0, 8))
        plan.append(make(PromotionType.FIRST_PURCHASE, month, day, 10, 0.6, 1.0))
    for month in _REPURCHASE_MONTHS:
        day = 15 + int(rng.integers(0, 8))
        plan.append(make(PromotionType.REPURCHASE, month, day, 5, 0.5, 1.0))
    for month in range(1, 13):
        flash = rng.choice(28, size=_FLASH_SALES_PER_MONTH, replace=False) + 1
        for day in sorted(int(d) for d in flash):
            plan.append(make(PromotionType.LIMITED_TIME, month, day, 1, 0.8, 1.5))
    return plan


def default_promotions(start: date, end: date, seed: int = 0) -> tuple[Promotion, ...]:
    """A deterministic promotion plan covering ``start`` .. ``end``.

    Every year gets four seasonal sales (early January, March, July and
    December; 7-10 days), four 14-day sign-up campaigns, two 10-day
    first-purchase campaigns, six 5-day repurchase coupons and two one-day
    limited-time flash sales a month. Start days and intensities are drawn
    from a generator seeded with ``(seed, year)``, so a year's plan does not
    depend on the range asked for. Campaigns are clipped to the range.

    Parameters
    ----------
    start, end
        Inclusive date range.
    seed
        Seed of the plan.

    Returns
    -------
    tuple of Promotion
        Sorted by start date, then type.
    """
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    plan: list[Promotion] = []
    for year in range(start.year, end.year + 1):
        for promo in _year_plan(year, seed):
            if promo.end < start or promo.start > end:
                continue
            plan.append(
                promo.model_copy(
                    update={
                        "start": max(promo.start, start),
                        "end": min(promo.end, end),
                    }
                )
            )
    return tuple(sorted(plan, key=lambda p: (p.start, p.type.value, p.end)))


# --------------------------------------------------------------------------
# features


def event_column(name: str) -> str:
    """Feature column of an event: ``event_`` plus a lowercase slug of ``name``."""
    slug = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return f"event_{slug or 'unnamed'}"


def promotion_column(kind: PromotionType | str) -> str:
    """Feature column holding the intensity of one promotion type."""
    return f"promo_{PromotionType(kind).value}"


def _day_numbers(days: Iterable[date]) -> npt.NDArray[np.int64]:
    return np.array([d.toordinal() for d in days], dtype=np.int64)


def calendar_features(
    start: date,
    end: date,
    calendar: RetailCalendar | None = None,
    promotions: Sequence[Promotion] = (),
) -> pd.DataFrame:
    """One row of calendar features per day from ``start`` to ``end``.

    Parameters
    ----------
    start, end
        Inclusive date range.
    calendar
        The calendar to use; by default a :class:`RetailCalendar` for the
        years of the range.
    promotions
        Campaigns; overlapping campaigns of one type add their intensities.

    Returns
    -------
    pandas.DataFrame
        Columns, in order: ``ds`` (``datetime64[ns]``), ``dow`` (0 = Monday),
        ``is_weekend``, ``holiday`` (bool), ``holiday_name`` (``""`` on working
        days), ``closure`` (bool), one bool ``event_<name>`` per event of the
        calendar (:func:`event_column`), ``days_to_seollal`` and
        ``days_to_chuseok`` (days until the next main festival day, 0 on it),
        and one float ``promo_<type>`` per :class:`PromotionType`.

    Raises
    ------
    ValueError
        If ``end`` is before ``start`` or the calendar does not cover the
        range.
    """
    calendar = _covering(start, end, calendar)
    first = start.toordinal()
    n = end.toordinal() - first + 1
    ds = np.arange(
        np.datetime64(start.isoformat(), "D"),
        np.datetime64(end.isoformat(), "D") + 1,
    )
    dow = (ds.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    holiday_name = _holiday_names(calendar, first, n)
    closure = np.zeros(n, dtype=bool)
    closure[_positions(calendar.closures, first, n)] = True
    columns: dict[str, npt.ArrayLike] = {
        "ds": ds.astype(DS_DTYPE),
        "dow": dow.astype(np.int8),
        "is_weekend": dow >= 5,
        "holiday": holiday_name != "",
        "holiday_name": holiday_name.astype(str),
        "closure": closure,
    }
    columns.update(_event_flags(calendar, first, n))
    columns.update(_festival_countdowns(start, end))
    columns.update(_promotion_intensities(promotions, start, end))
    return pd.DataFrame(columns)


def _covering(
    start: date, end: date, calendar: RetailCalendar | None
) -> RetailCalendar:
    """``calendar`` (default: one for the range's years), checked to cover it."""
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    years = range(start.year, end.year + 1)
    if calendar is None:
        calendar = RetailCalendar(years)
    uncovered = sorted(set(years) - set(calendar.years))
    if uncovered:
        raise ValueError(
            f"the calendar covers {list(calendar.years)} but the range "
            f"{start.isoformat()}..{end.isoformat()} needs {uncovered}"
        )
    return calendar


def _positions(days: Iterable[date], first: int, n: int) -> npt.NDArray[np.int64]:
    """Row numbers of ``days`` among the ``n`` days from ordinal ``first``."""
    idx = _day_numbers(days) - first
    return idx[(idx >= 0) & (idx < n)]


def _holiday_names(
    calendar: RetailCalendar, first: int, n: int
) -> npt.NDArray[np.object_]:
    """The holiday's name on each day (``""`` on working days)."""
    holiday_name = np.full(n, "", dtype=object)
    hol_days = list(calendar.holidays.days)
    hol_idx = _day_numbers(hol_days) - first
    keep = (hol_idx >= 0) & (hol_idx < n)
    holiday_name[hol_idx[keep]] = np.array(
        [calendar.holidays.days[d] for d in hol_days], dtype=object
    )[keep]
    return holiday_name


def _event_flags(
    calendar: RetailCalendar, first: int, n: int
) -> dict[str, npt.NDArray[np.bool_]]:
    """One flag column per event of the calendar (:func:`event_column`)."""
    columns: dict[str, npt.NDArray[np.bool_]] = {}
    for name in calendar.event_names:
        flag = np.zeros(n, dtype=bool)
        flag[_positions(calendar.dates(name, EntryKind.EVENT), first, n)] = True
        column = event_column(name)
        columns[column] = flag | np.asarray(columns.get(column, flag), dtype=bool)
    return columns


def _festival_countdowns(start: date, end: date) -> dict[str, npt.NDArray[np.int16]]:
    """Days until the next main day of each festival (0 on it)."""
    first = start.toordinal()
    day_numbers = np.arange(first, end.toordinal() + 1, dtype=np.int64)
    columns: dict[str, npt.NDArray[np.int16]] = {}
    for festival in FESTIVALS:
        mains = _day_numbers(festival_days(festival, range(start.year, end.year + 2)))
        nxt = mains[np.searchsorted(mains, day_numbers, side="left")]
        columns[f"days_to_{festival}"] = (nxt - day_numbers).astype(np.int16)
    return columns


def _promotion_intensities(
    promotions: Sequence[Promotion], start: date, end: date
) -> dict[str, npt.NDArray[np.float64]]:
    """Summed intensity of each promotion type's campaigns on each day."""
    first = start.toordinal()
    n = end.toordinal() - first + 1
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for kind in PromotionType:
        delta = np.zeros(n + 1, dtype=np.float64)
        for promo in promotions:
            if promo.type is not kind or promo.end < start or promo.start > end:
                continue
            lo = max(promo.start.toordinal() - first, 0)
            hi = min(promo.end.toordinal() - first, n - 1)
            delta[lo] += promo.intensity
            delta[hi + 1] -= promo.intensity
        intensity = np.cumsum(delta[:n])
        columns[promotion_column(kind)] = np.where(
            np.abs(intensity) < 1e-12, 0.0, intensity
        )
    return columns


# --------------------------------------------------------------------------
# user files

Source = str | os.PathLike[str] | TextIO

_T = TypeVar("_T")


def _rows(
    source: Source, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """Read a CSV into ``(line number, row)`` pairs after checking its header."""
    if isinstance(source, str | os.PathLike):
        label = os.fspath(source)
        text = Path(source).read_text(encoding="utf-8-sig")
    else:
        label = getattr(source, "name", "<stream>")
        text = source.read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ValueError(f"{label}: the file is empty: expected a header row")
    columns = [h.strip().lower() for h in header]
    for column in required:
        if column not in columns:
            raise ValueError(f"{label}: missing required column '{column}'")
    for column in columns:
        if column not in required and column not in optional:
            raise ValueError(
                f"{label}: unexpected column '{column}' "
                f"(expected {', '.join([*required, *optional])})"
            )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ValueError(f"{label}: column '{duplicated[0]}' appears twice")
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            raise ValueError(
                f"{label}: line {line}: has {len(values)} fields, "
                f"the header has {len(columns)}"
            )
        rows.append(
            (line, {c: v.strip() for c, v in zip(columns, values, strict=True)})
        )
    return label, rows


def _field(
    label: str,
    line: int,
    column: str,
    raw: str,
    parse: Callable[[str], _T],
    expected: str,
) -> _T:
    where = f"{label}: line {line}, column '{column}'"
    if raw == "":
        raise ValueError(f"{where}: is empty")
    try:
        return parse(raw)
    except ValueError:
        raise ValueError(f"{where}: {raw!r} is not {expected}") from None


def _parse_kind(raw: str) -> EntryKind:
    return EntryKind(raw.lower())


def _parse_promotion_type(raw: str) -> PromotionType:
    return PromotionType(raw.lower())


def _parse_intensity(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return value


def _parse_name(raw: str) -> str:
    return raw


def load_calendar_file(source: Source) -> tuple[CalendarEntry, ...]:
    """Read a user calendar: a CSV with columns ``date,name,type``.

    ``date`` is ISO (``YYYY-MM-DD``); ``type`` is ``holiday``, ``event`` or
    ``closure``. Blank lines are skipped. Pass the result as
    ``RetailCalendar(years, entries=...)``.

    Parameters
    ----------
    source
        A path or an open text stream.

    Returns
    -------
    tuple of CalendarEntry
        Sorted by date.

    Raises
    ------
    ValueError
        On a missing or unknown column, or a bad value; the message names the
        file, the line (the header is line 1), the column and the reason.
    """
    label, rows = _rows(source, ("date", "name", "type"))
    kinds = ", ".join(k.value for k in EntryKind)
    seen: dict[tuple[date, str], int] = {}
    entries = []
    for line, row in rows:
        day = _field(
            label, line, "date", row["date"], date.fromisoformat, "a date (YYYY-MM-DD)"
        )
        name = _field(label, line, "name", row["name"], _parse_name, "a name")
        kind = _field(label, line, "type", row["type"], _parse_kind, f"one of {kinds}")
        key = (day, name)
        if key in seen:
            raise ValueError(
                f"{label}: line {line}, columns 'date' and 'name': "
                f"duplicate of line {seen[key]}"
            )
        seen[key] = line
        entries.append(CalendarEntry(day, name, kind))
    return tuple(sorted(entries))


def load_promotion_file(source: Source) -> tuple[Promotion, ...]:
    """Read a promotion plan: a CSV with columns ``start,end,type,intensity``.

    An optional ``name`` column is kept. Dates are ISO (``YYYY-MM-DD``) and
    both ends are inclusive; ``type`` is a :class:`PromotionType` value and
    ``intensity`` a finite number ``>= 0``.

    Parameters
    ----------
    source
        A path or an open text stream.

    Returns
    -------
    tuple of Promotion
        In file order.

    Raises
    ------
    ValueError
        On a missing or unknown column, or a bad value; the message names the
        file, the line (the header is line 1), the column and the reason.
    """
    label, rows = _rows(source, ("start", "end", "type", "intensity"), ("name",))
    return tuple(_promotion(label, line, row) for line, row in rows)


def _promotion(label: str, line: int, row: Mapping[str, str]) -> Promotion:
    """One line of a promotion file (see :func:`load_promotion_file`)."""
    start = _field(
        label, line, "start", row["start"], date.fromisoformat, "a date (YYYY-MM-DD)"
    )
    end = _field(
        label, line, "end", row["end"], date.fromisoformat, "a date (YYYY-MM-DD)"
    )
    if end < start:
        raise ValueError(
            f"{label}: line {line}, column 'end': {end.isoformat()} is before "
            f"start {start.isoformat()}"
        )
    types = ", ".join(t.value for t in PromotionType)
    kind = _field(
        label, line, "type", row["type"], _parse_promotion_type, f"one of {types}"
    )
    intensity = _field(
        label,
        line,
        "intensity",
        row["intensity"],
        _parse_intensity,
        "a finite number >= 0",
    )
    return Promotion(
        start=start,
        end=end,
        type=kind,
        intensity=intensity,
        name=row.get("name", ""),
    )
