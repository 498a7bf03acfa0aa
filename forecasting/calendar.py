"""Calendars of any country: public holidays, events, closures, promotions.

Four kinds of calendar entry are kept apart (:class:`EntryKind`):

``holiday``
    A public holiday: from the ``holidays`` package for the calendar's
    ``country`` (and ``subdivision``), plus or minus the user's entries.
``event``
    Days on which demand moves although the depots work normally (a sale, a
    gift day, a local festival, the run-up to a holiday).
``closure``
    Days on which depots do not deliver. A closure says nothing about
    demand; an ``event`` on the same days does.
``promotion``
    A campaign, with an ``intensity`` (1.0: a typical one of its name).

An entry (:class:`CalendarEntry`) spans ``start`` .. ``end`` (inclusive) and
applies to the whole country (empty ``scope``) or to one zone or region id.
:class:`RetailCalendar` merges the user's entries with the country's public
holidays (``public_holidays="merge"``) or keeps the user's entries alone
(``"replace"``: no public holiday at all). :mod:`forecasting.exog` turns a
calendar into feature columns and :mod:`forecasting.calendar_io` reads
calendar files.

Korean retail events
--------------------
For Korea (``country="KR"`` with the public holidays merged, or
``default_events=True``) the calendar also derives the events and closures
of the Korean retail year:

* **Seollal / Chuseok block**: the maximal run of consecutive days, each a
  public holiday or a Saturday/Sunday, that contains the festival's main day
  (``"Korean New Year"`` / ``"Chuseok"`` in the ``holidays`` package). For
  example Chuseok 2025 (6 October) gives 3-9 October: National Foundation Day
  on Friday the 3rd, the weekend, the three Chuseok days, the substitute
  holiday and Hangul Day. The block is an event (``seollal_holidays``) and a
  closure (``seollal_closure``).
* **Gift run-up**: the ``run_up_days`` (default 14) days just before a block.
* **Korea Sale Festa**: 1-15 November (the 2020 and 2021 editions ran on
  these dates; later editions moved around inside November). Change it with
  ``sale_festa=(first_day, last_day)``.
* **Black Friday**: the day after the fourth Thursday of November.
* **Gift days**: Valentine's, White Day, Black Day, Pepero Day, Christmas Eve
  and Christmas.
* **Courier day off**: 14 August (the parcel couriers' agreed rest day since
  2020), a closure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any, Literal

import holidays
import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from routing.base import FrozenModel
from routing.bounds import MAX_ID_LENGTH, Day, check_id, check_text, not_a_bool

__all__ = [
    "DEFAULT_COUNTRY",
    "DEFAULT_EVENTS",
    "FESTIVALS",
    "MAX_ENTRY_DAYS",
    "CalendarEntry",
    "EntryKind",
    "Festival",
    "HolidayCalendar",
    "Promotion",
    "PromotionType",
    "PublicHolidays",
    "RetailCalendar",
    "default_promotions",
    "festival_days",
    "holiday_names",
]

#: Country of a calendar unless told otherwise (ISO 3166 code).
DEFAULT_COUNTRY = "KR"
#: Longest entry (days): a longer closure or campaign is a mistake or two
#: entries.
MAX_ENTRY_DAYS = 366

Festival = Literal["seollal", "chuseok"]
FESTIVALS: tuple[Festival, ...] = ("seollal", "chuseok")
#: ``merge``: the user's entries join the country's public holidays;
#: ``replace``: only the user's entries, no public holiday.
PublicHolidays = Literal["merge", "replace"]

# Names of the festival's main day in the holidays package (English, Korean).
_FESTIVAL_NAMES: Mapping[Festival, frozenset[str]] = MappingProxyType(
    {
        "seollal": frozenset({"Korean New Year", "Seollal", "설날"}),
        "chuseok": frozenset({"Chuseok", "추석"}),
    }
)

#: Names of the demand events :class:`RetailCalendar` derives for Korea, in
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


class EntryKind(StrEnum):
    """What a calendar entry means for the business."""

    HOLIDAY = "holiday"
    EVENT = "event"
    CLOSURE = "closure"
    PROMOTION = "promotion"


def _scope(value: str) -> str:
    """An empty scope is national; otherwise it is a zone or region id."""
    return check_id(value) if value else value


def _entry_defaults(data: Any) -> Any:
    """Blank optional fields (a CSV cell, a NULL column) take their defaults."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    if out.get("end") in (None, "") and "start" in out:
        out["end"] = out["start"]
    if out.get("scope") is None:
        out["scope"] = ""
    if out.get("intensity") in (None, ""):
        out["intensity"] = 1.0
    return out


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(check_text),
]
Scope = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_ID_LENGTH),
    AfterValidator(_scope),
]
Intensity = Annotated[
    float,
    Field(ge=0.0, le=1_000.0, allow_inf_nan=False),
    BeforeValidator(not_a_bool),
]


class CalendarEntry(FrozenModel):
    """One named stretch of days of one kind, nationally or in one scope.

    Parameters
    ----------
    start, end
        First and last day, inclusive (``end`` defaults to ``start``).
    name
        What it is; entries of one name share feature columns
        (:func:`forecasting.exog.calendar_features`).
    kind
        ``holiday``, ``event``, ``closure`` or ``promotion``.
    scope
        Empty: the whole country; else the zone or region id it applies to.
    intensity
        Strength of a promotion (1.0: typical; campaigns of one name on
        the same day add up). Other kinds keep the default 1.0.

    Examples
    --------
    >>> entry = CalendarEntry.from_row(
    ...     {"start": "2024-05-01", "name": "Store fair", "kind": "event"}
    ... )
    >>> entry.to_row()["end"], entry.scope, entry.days
    (datetime.date(2024, 5, 1), '', 1)
    """

    start: Day
    end: Day
    name: Name
    kind: EntryKind
    scope: Scope = ""
    intensity: Intensity = 1.0

    _defaults = model_validator(mode="before")(_entry_defaults)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarEntry:
        if self.end < self.start:
            raise PydanticCustomError(
                "calendar_entry",
                "end ({end}) is before start ({start})",
                {"end": self.end.isoformat(), "start": self.start.isoformat()},
            )
        if self.days > MAX_ENTRY_DAYS:
            raise PydanticCustomError(
                "calendar_entry",
                "spans {days} days; at most {most}: split it",
                {"days": self.days, "most": MAX_ENTRY_DAYS},
            )
        if self.kind is not EntryKind.PROMOTION and self.intensity != 1.0:
            raise PydanticCustomError(
                "calendar_entry",
                "intensity applies to promotions only, not to a {kind}",
                {"kind": self.kind.value},
            )
        return self

    @property
    def days(self) -> int:
        """Number of days the entry spans."""
        return (self.end - self.start).days + 1

    def each_day(self) -> Iterator[date]:
        """Every day from ``start`` to ``end``."""
        return _span(self.start, self.end)

    def covers(self, day: date) -> bool:
        """Whether ``day`` is one of the entry's days."""
        return self.start <= day <= self.end

    def applies_to(self, scopes: Collection[str]) -> bool:
        """National entries apply everywhere; scoped ones where listed."""
        return not self.scope or self.scope in scopes

    def to_row(self) -> dict[str, Any]:
        """The fields as a flat row (dates, text, a float) for a table."""
        return self.model_dump()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CalendarEntry:
        """An entry from a row: dates or ``YYYY-MM-DD`` text; blanks default.

        Raises
        ------
        pydantic.ValidationError
            Naming the field and the reason.
        """
        return cls.model_validate(dict(row))


def _sort_key(entry: CalendarEntry) -> tuple[date, date, str, str, str, float]:
    return (
        entry.start,
        entry.end,
        entry.kind.value,
        entry.name,
        entry.scope,
        entry.intensity,
    )


def _span(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --------------------------------------------------------------------------
# public holidays


def _place(country: str, subdivision: str | None) -> tuple[str, str | None]:
    """The country and subdivision codes, checked against the holidays package."""
    code = country.strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ValueError(
            f"country {country!r} is not known to the holidays package: give an "
            "ISO 3166 code such as KR, DE or US"
        )
    if subdivision is None or not subdivision.strip():
        return code, None
    sub = subdivision.strip()
    known = {s.upper(): s for s in supported[code]}
    if sub.upper() not in known:
        raise ValueError(
            f"subdivision {subdivision!r} is not one of {code}'s: "
            f"{', '.join(sorted(supported[code])) or 'it has none'}"
        )
    return code, known[sub.upper()]


@cache
def _package_holidays(
    country: str, subdivision: str | None, years: tuple[int, ...]
) -> Mapping[date, str]:
    """Public holidays from the ``holidays`` package, English names if it has them."""
    table = holidays.country_holidays(
        country, subdiv=subdivision, years=years, language="en_US"
    )
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
    table = _package_holidays("KR", None, ys)
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
    """A country's public holidays with user overrides.

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
    country
        ISO 3166 code of a country the ``holidays`` package knows.
    subdivision
        A state, province or region code of that country (its regional
        holidays are added), or None.
    public
        False: no public holiday at all, only ``extra``.

    Raises
    ------
    ValueError
        If ``years`` is empty, the country or subdivision is unknown, or
        ``remove`` names a day that is not a public holiday in the covered
        years.

    Examples
    --------
    >>> from datetime import date
    >>> cal = HolidayCalendar([2024], extra={date(2024, 5, 1): "Labour Day"})
    >>> cal.name(date(2024, 2, 10))
    'Korean New Year'
    >>> date(2024, 5, 1) in cal
    True
    >>> HolidayCalendar([2024], country="DE", subdivision="BY").name(date(2024, 1, 6))
    'Epiphany'
    """

    def __init__(
        self,
        years: Iterable[int],
        extra: Mapping[date, str] | None = None,
        remove: Collection[date] | None = None,
        *,
        country: str = DEFAULT_COUNTRY,
        subdivision: str | None = None,
        public: bool = True,
    ) -> None:
        self._years = tuple(sorted(set(years)))
        if not self._years:
            raise ValueError("years is empty: give at least one year")
        self.country, self.subdivision = _place(country, subdivision)
        days: dict[date, str] = {}
        if public:
            days.update(_package_holidays(self.country, self.subdivision, self._years))
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

        Raises
        ------
        ValueError
            If the calendar is not Korea's.
        """
        if self.country != "KR":
            raise ValueError(
                "Seollal and Chuseok blocks need Korea's holidays, "
                f"not {self.country}'s"
            )
        main = self.festival(festival, year)
        first = last = main
        while self._off(first - timedelta(days=1)):
            first -= timedelta(days=1)
        while self._off(last + timedelta(days=1)):
            last += timedelta(days=1)
        return first, last

    def _off(self, day: date) -> bool:
        return day.weekday() >= 5 or day in self._days


def holiday_names(name: str) -> tuple[str, ...]:
    """The holidays a package name lists (two on one day are ``"a; b"``)."""
    return tuple(part.strip() for part in name.split(";") if part.strip())


# --------------------------------------------------------------------------
# the retail calendar


def _fourth_thursday_of_november(year: int) -> date:
    first = date(year, 11, 1)
    offset = (3 - first.weekday()) % 7  # Thursday is weekday 3
    return first + timedelta(days=offset + 21)


def _overlaps(entry: CalendarEntry, years: Collection[int]) -> bool:
    return any(y in years for y in range(entry.start.year, entry.end.year + 1))


class RetailCalendar:
    """Public holidays, demand events, closures and promotions for some years.

    Parameters
    ----------
    years
        Calendar years to cover.
    country, subdivision
        Whose public holidays (see :class:`HolidayCalendar`).
    public_holidays
        ``"merge"``: the user's ``entries`` join the public holidays (a
        national user holiday on a public one renames it); ``"replace"``:
        no public holiday, only the user's entries.
    entries
        User entries (for example from
        :func:`forecasting.calendar_io.load_calendar_file`), national or
        scoped. Entries entirely outside ``years`` are ignored.
    remove_holidays
        Public holidays to drop (see :class:`HolidayCalendar`).
    run_up_days
        Length of the gift-parcel run-up before the Seollal and Chuseok
        blocks.
    sale_festa
        First and last day of November of the Korea Sale Festa window.
    default_events
        Derive the Korean retail events and closures listed in the module
        docstring. None (the default): only for Korea with its public
        holidays merged.

    Examples
    --------
    >>> from datetime import date
    >>> cal = RetailCalendar([2024])
    >>> [e.name for e in cal.on(date(2024, 11, 11))]
    ['korea_sale_festa', 'pepero_day']
    >>> cal.is_closed(date(2024, 2, 10))
    True
    >>> RetailCalendar([2024], country="DE").default_events
    False
    """

    def __init__(
        self,
        years: Iterable[int],
        *,
        country: str = DEFAULT_COUNTRY,
        subdivision: str | None = None,
        public_holidays: PublicHolidays = "merge",
        entries: Iterable[CalendarEntry] = (),
        remove_holidays: Collection[date] = (),
        run_up_days: int = 14,
        sale_festa: tuple[int, int] = (1, 15),
        default_events: bool | None = None,
    ) -> None:
        ys = tuple(sorted(set(years)))
        _check_options(public_holidays, run_up_days, sale_festa)
        user = [e for e in entries if _overlaps(e, ys)]
        extra = {
            day: e.name
            for e in user
            if e.kind is EntryKind.HOLIDAY and not e.scope
            for day in e.each_day()
        }
        self.holidays = HolidayCalendar(
            ys,
            extra=extra,
            remove=remove_holidays,
            country=country,
            subdivision=subdivision,
            public=public_holidays == "merge",
        )
        self.public_holidays: PublicHolidays = public_holidays
        self.run_up_days = run_up_days
        self.sale_festa = sale_festa
        if default_events is None:
            default_events = self.country == "KR" and public_holidays == "merge"
        self.default_events = default_events

        found = [
            CalendarEntry(start=d, end=d, name=n, kind=EntryKind.HOLIDAY)
            for d, n in self.holidays.days.items()
        ]
        if default_events:
            found += self._derived(ys)
        found += [e for e in user if e.kind is not EntryKind.HOLIDAY or e.scope]
        self._entries = tuple(sorted(found, key=_sort_key))
        by_day: dict[date, list[CalendarEntry]] = {}
        for entry in self._entries:
            for day in entry.each_day():
                by_day.setdefault(day, []).append(entry)
        self._by_day = {d: tuple(es) for d, es in by_day.items()}

    def _derived(self, years: tuple[int, ...]) -> list[CalendarEntry]:
        """The Korean retail events and closures of ``years``."""
        event, closure = EntryKind.EVENT, EntryKind.CLOSURE

        def entry(name: str, kind: EntryKind, start: date, end: date) -> CalendarEntry:
            return CalendarEntry(start=start, end=end, name=name, kind=kind)

        korean = self.holidays
        if korean.country != "KR" or self.public_holidays != "merge":
            korean = HolidayCalendar(years, country="KR")
        out: list[CalendarEntry] = []
        for y in years:
            for month, name in (
                (2, "valentines_day"),
                (3, "white_day"),
                (4, "black_day"),
            ):
                out.append(entry(name, event, date(y, month, 14), date(y, month, 14)))
            for day, name in (
                (date(y, 11, 11), "pepero_day"),
                (date(y, 12, 24), "christmas_eve"),
                (date(y, 12, 25), "christmas"),
                (_fourth_thursday_of_november(y) + timedelta(days=1), "black_friday"),
            ):
                out.append(entry(name, event, day, day))
            out.append(
                entry("courier_day_off", closure, date(y, 8, 14), date(y, 8, 14))
            )
            first, last = self.sale_festa
            out.append(
                entry("korea_sale_festa", event, date(y, 11, first), date(y, 11, last))
            )
            for festival in FESTIVALS:
                start, end = korean.festival_block(festival, y)
                if self.run_up_days:
                    run_up = start - timedelta(days=self.run_up_days)
                    out.append(
                        entry(
                            f"{festival}_run_up",
                            event,
                            run_up,
                            start - timedelta(days=1),
                        )
                    )
                out.append(entry(f"{festival}_holidays", event, start, end))
                out.append(entry(f"{festival}_closure", closure, start, end))
        return out

    @property
    def years(self) -> tuple[int, ...]:
        """The covered years, sorted."""
        return self.holidays.years

    @property
    def country(self) -> str:
        """ISO 3166 code of the country whose public holidays are used."""
        return self.holidays.country

    @property
    def subdivision(self) -> str | None:
        """Its subdivision, if any."""
        return self.holidays.subdivision

    @property
    def entries(self) -> tuple[CalendarEntry, ...]:
        """Every entry (holidays, events, closures, promotions), by start day."""
        return self._entries

    @property
    def scopes(self) -> frozenset[str]:
        """The zone and region ids that scoped entries name."""
        return frozenset(e.scope for e in self._entries if e.scope)

    @property
    def event_names(self) -> tuple[str, ...]:
        """Event names: the defaults in :data:`DEFAULT_EVENTS` order, then users'."""
        return self.names(EntryKind.EVENT, None)

    def names(
        self, kind: EntryKind, scopes: Collection[str] | None = ()
    ) -> tuple[str, ...]:
        """Names of the entries of ``kind`` that apply in ``scopes``.

        ``scopes=()`` gives the national entries only, ``None`` every
        entry. Holidays falling on one day (``"a; b"``) give both names.
        Derived Korean events come first in :data:`DEFAULT_EVENTS` order,
        then the others sorted.
        """
        found: set[str] = set()
        for e in self._entries:
            if e.kind is kind and (scopes is None or e.applies_to(scopes)):
                found.update(_names_of(e))
        defaults = [n for n in DEFAULT_EVENTS if n in found]
        return (*defaults, *sorted(found - set(defaults)))

    def on(self, day: date, scopes: Collection[str] = ()) -> tuple[CalendarEntry, ...]:
        """Entries on ``day`` (national, and of ``scopes``), by kind then name."""
        return tuple(
            sorted(
                (e for e in self._by_day.get(day, ()) if e.applies_to(scopes)),
                key=lambda e: (e.kind.value, e.name, e.scope),
            )
        )

    def dates(
        self,
        name: str | None,
        kind: EntryKind | None = None,
        scopes: Collection[str] = (),
    ) -> tuple[date, ...]:
        """Sorted days of the entries called ``name`` (any name if None) of ``kind``.

        A holiday matches any of its names (``"a; b"`` matches ``a``).
        """
        return tuple(
            sorted(
                {
                    day
                    for e in self._entries
                    if (kind is None or e.kind is kind)
                    and (name is None or name in _names_of(e))
                    and e.applies_to(scopes)
                    for day in e.each_day()
                }
            )
        )

    def is_closed(self, day: date, scopes: Collection[str] = ()) -> bool:
        """Whether depots (national, or in ``scopes``) are closed on ``day``."""
        return any(e.kind is EntryKind.CLOSURE for e in self.on(day, scopes))

    @property
    def closures(self) -> frozenset[date]:
        """Every day on which depots are closed nationally."""
        return frozenset(self.dates(None, EntryKind.CLOSURE))


def _check_options(
    public_holidays: str, run_up_days: int, sale_festa: tuple[int, int]
) -> None:
    if public_holidays not in ("merge", "replace"):
        raise ValueError(
            f"public_holidays must be 'merge' or 'replace', got {public_holidays!r}"
        )
    if run_up_days < 0:
        raise ValueError(f"run_up_days must be >= 0, got {run_up_days}")
    first_day, last_day = sale_festa
    if not 1 <= first_day <= last_day <= 30:
        raise ValueError(
            f"sale_festa must be (first, last) days of November, got {sale_festa}"
        )


def _names_of(entry: CalendarEntry) -> tuple[str, ...]:
    """An entry's names: a holiday's package name may list two."""
    if entry.kind is EntryKind.HOLIDAY:
        return holiday_names(entry.name)
    return (entry.name,)


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

    def entry(self) -> CalendarEntry:
        """The campaign as a calendar entry named after its type."""
        return CalendarEntry(
            start=self.start,
            end=self.end,
            name=self.type.value,
            kind=EntryKind.PROMOTION,
            intensity=self.intensity,
        )


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
