"""Calendar features: known-future columns of a calendar, per day and per series.

:func:`calendar_features` turns a :class:`~forecasting.calendar.RetailCalendar`
(and a promotion plan) into one row per day, the ``X_df`` of a forecaster
keyed by ``ds``; :func:`series_calendar_features` gives one row per series
and day, so that an entry scoped to a zone or region, or another country
subdivision's holidays, reach only their series. :class:`SeriesCalendar`
hands both to a :class:`~forecasting.core.Forecaster`, which then adds the
columns itself.

Every column is numeric and prefixed ``cal_``, so none can collide with a
model's own features (``dow``, ``lag_7``...; the forecaster refuses an
exogenous column that does):

``cal_holiday``
    1 on a public or user holiday.
``cal_closure``
    1 on a closure day (depots closed).
``cal_to_<name>``, ``cal_after_<name>``
    Days until the next and since the last day of each named event and
    holiday, 0 on its days, capped at ``cap`` (14 by default: "14 or
    more"). ``cal_to_<name> == 0`` is the event's flag.
``cal_promo_<name>``
    Summed intensity of the promotions of each name on the day.

``<name>`` is :func:`slug` of the entry's name, so ``"Store Anniversary!"``
gives ``cal_to_store_anniversary``; names with the same slug share columns.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.calendar import (
    CalendarEntry,
    EntryKind,
    Promotion,
    PromotionType,
    RetailCalendar,
)
from forecasting.frame import AFTER_PREFIX, CALENDAR_PREFIX, TO_PREFIX

__all__ = [
    "AFTER_PREFIX",
    "CLOSURE_COLUMN",
    "DEFAULT_CAP",
    "DS_DTYPE",
    "HOLIDAY_COLUMN",
    "PREFIX",
    "TO_PREFIX",
    "SeriesCalendar",
    "after_column",
    "calendar_features",
    "on_event",
    "promotion_column",
    "series_calendar_features",
    "slug",
    "to_column",
]

#: dtype of every ``ds`` column produced here.
DS_DTYPE = "datetime64[ns]"
#: Prefix of every calendar column.
PREFIX = CALENDAR_PREFIX
HOLIDAY_COLUMN = "cal_holiday"
CLOSURE_COLUMN = "cal_closure"
PROMO_PREFIX = "cal_promo_"
#: Cap of the days-to / days-after columns.
DEFAULT_CAP = 14

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def slug(name: str) -> str:
    """A lowercase ASCII column slug of a name.

    Accents are dropped (``"Fête"`` gives ``fete``); a name with letters
    outside the Latin alphabet keeps what it has in ASCII plus a short hash
    of the whole name, so that two such names do not share a column.

    Examples
    --------
    >>> slug("Store Anniversary!"), slug("Fête de la musique")
    ('store_anniversary', 'fete_de_la_musique')
    >>> slug("설날") == slug("설날 ") != slug("추석")
    True
    """
    clean = name.strip().lower()
    decomposed = unicodedata.normalize("NFKD", clean)
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    base = re.sub(r"[^0-9a-z]+", "_", ascii_text).strip("_")
    lost = any(
        ch.isalnum() and not ch.isascii() and not unicodedata.combining(ch)
        for ch in decomposed
    )
    if lost or not base:
        digest = hashlib.blake2s(clean.encode(), digest_size=3).hexdigest()
        base = f"{base}_{digest}" if base else f"x{digest}"
    return base


def to_column(name: str) -> str:
    """Column of the days until the next day of ``name`` (0 on it)."""
    return f"{TO_PREFIX}{slug(name)}"


def after_column(name: str) -> str:
    """Column of the days since the last day of ``name`` (0 on it)."""
    return f"{AFTER_PREFIX}{slug(name)}"


def promotion_column(name: PromotionType | str) -> str:
    """Column holding the summed intensity of the promotions called ``name``."""
    value = name.value if isinstance(name, PromotionType) else name
    return f"{PROMO_PREFIX}{slug(value)}"


def on_event(features: pd.DataFrame, name: str) -> npt.NDArray[np.bool_]:
    """Whether each row of a calendar feature frame is one of ``name``'s days.

    Raises
    ------
    KeyError
        If the frame has no column for ``name``.
    """
    column = to_column(name)
    if column not in features:
        raise KeyError(f"no calendar column {column!r} for {name!r}")
    flags: npt.NDArray[np.bool_] = features[column].to_numpy() == 0
    return flags


@dataclass(frozen=True)
class _Columns:
    """The named columns of a feature frame: countdown names, promotion names."""

    countdown: tuple[str, ...]
    promotions: tuple[str, ...]

    @classmethod
    def of(
        cls,
        calendar: RetailCalendar,
        promotions: Sequence[CalendarEntry],
        scopes: Collection[str],
    ) -> _Columns:
        """Columns of every name that applies in ``scopes``, over all years.

        Taken over the whole calendar, not a date range, so that the
        history and the future of one series get the same columns.
        """
        names = [
            *calendar.names(EntryKind.EVENT, scopes),
            *calendar.names(EntryKind.HOLIDAY, scopes),
        ]
        promos = set(calendar.names(EntryKind.PROMOTION, scopes))
        promos |= {p.name for p in promotions if p.applies_to(scopes)}
        typed = [t.value for t in PromotionType if t.value in promos]
        return cls(
            countdown=tuple(dict.fromkeys(names)),
            promotions=(*typed, *sorted(promos - set(typed))),
        )


def calendar_features(
    start: date,
    end: date,
    calendar: RetailCalendar | None = None,
    promotions: Sequence[Promotion | CalendarEntry] = (),
    *,
    scopes: Collection[str] = (),
    cap: int = DEFAULT_CAP,
) -> pd.DataFrame:
    """One row of calendar features per day from ``start`` to ``end``.

    Parameters
    ----------
    start, end
        Inclusive date range.
    calendar
        The calendar to use; by default a :class:`RetailCalendar` (Korea)
        for the years of the range.
    promotions
        Campaigns besides the calendar's own promotion entries
        (:class:`Promotion` goes by its type's name); overlapping campaigns
        of one name add their intensities.
    scopes
        Zone and region ids whose scoped entries apply as well as the
        national ones.
    cap
        Cap of the days-to / days-after columns.

    Returns
    -------
    pandas.DataFrame
        ``ds`` (``datetime64[ns]``), ``cal_holiday`` and ``cal_closure``
        (bool), ``cal_to_<name>`` and ``cal_after_<name>`` (int16) per
        event then holiday name, ``cal_promo_<name>`` (float) per
        promotion name (see the module docstring).

    Raises
    ------
    ValueError
        If ``end`` is before ``start``, ``cap`` is below 1 or the calendar
        does not cover the range.
    """
    calendar = _covering(start, end, calendar)
    if cap < 1:
        raise ValueError(f"cap must be >= 1, got {cap}")
    promos = [p.entry() if isinstance(p, Promotion) else p for p in promotions]
    columns = _Columns.of(calendar, promos, scopes)
    return _frame(start, end, calendar, promos, tuple(scopes), columns, cap)


def _frame(
    start: date,
    end: date,
    calendar: RetailCalendar,
    promotions: Sequence[CalendarEntry],
    scopes: tuple[str, ...],
    columns: _Columns,
    cap: int,
) -> pd.DataFrame:
    """The feature frame of ``columns`` over the range (see calendar_features)."""
    first = start.toordinal()
    n = end.toordinal() - first + 1
    ds = np.arange(
        np.datetime64(start.isoformat(), "D"),
        np.datetime64(end.isoformat(), "D") + 1,
    )
    out: dict[str, npt.ArrayLike] = {"ds": ds.astype(DS_DTYPE)}
    for column, kind in (
        (HOLIDAY_COLUMN, EntryKind.HOLIDAY),
        (CLOSURE_COLUMN, EntryKind.CLOSURE),
    ):
        flag = np.zeros(n, dtype=bool)
        flag[_positions(calendar.dates(None, kind, scopes), first, n)] = True
        out[column] = flag
    days = np.arange(first, first + n, dtype=np.int64)
    for name in columns.countdown:
        occurs = _day_numbers(
            [
                *calendar.dates(name, EntryKind.EVENT, scopes),
                *calendar.dates(name, EntryKind.HOLIDAY, scopes),
            ]
        )
        to, after = _countdowns(np.unique(occurs), days, cap)
        out[to_column(name)] = np.minimum(to, out.get(to_column(name), cap))
        out[after_column(name)] = np.minimum(after, out.get(after_column(name), cap))
    entries = [
        e for e in (*calendar.entries, *promotions) if e.kind is EntryKind.PROMOTION
    ]
    for name in columns.promotions:
        mine = [e for e in entries if e.name == name and e.applies_to(scopes)]
        column = promotion_column(name)
        out[column] = _intensity(mine, first, n) + np.asarray(out.get(column, 0.0))
    return pd.DataFrame(out)


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


def _day_numbers(days: Iterable[date]) -> IntArray:
    return np.array([d.toordinal() for d in days], dtype=np.int64)


def _positions(days: Iterable[date], first: int, n: int) -> IntArray:
    """Row numbers of ``days`` among the ``n`` days from ordinal ``first``."""
    idx = _day_numbers(days) - first
    return idx[(idx >= 0) & (idx < n)]


def _countdowns(
    occurs: IntArray, days: IntArray, cap: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """Days until the next and since the last of ``occurs`` (sorted), capped."""
    far = np.int64(cap)
    if len(occurs) == 0:
        full = np.full(len(days), cap, dtype=np.int16)
        return full, full.copy()
    nxt = np.searchsorted(occurs, days, side="left")
    ahead = occurs[np.minimum(nxt, len(occurs) - 1)] - days
    to = np.where((nxt < len(occurs)) & (ahead >= 0), ahead, far)
    prv = np.searchsorted(occurs, days, side="right") - 1
    behind = days - occurs[np.maximum(prv, 0)]
    after = np.where(prv >= 0, behind, far)
    return (
        np.minimum(to, far).astype(np.int16),
        np.minimum(after, far).astype(np.int16),
    )


def _intensity(entries: Sequence[CalendarEntry], first: int, n: int) -> FloatArray:
    """Summed intensity of ``entries`` on each of the ``n`` days from ``first``."""
    delta = np.zeros(n + 1, dtype=np.float64)
    for e in entries:
        lo = max(e.start.toordinal() - first, 0)
        hi = min(e.end.toordinal() - first, n - 1)
        if lo > hi:
            continue
        delta[lo] += e.intensity
        delta[hi + 1] -= e.intensity
    intensity = np.cumsum(delta[:n])
    out: FloatArray = np.where(np.abs(intensity) < 1e-12, 0.0, intensity)
    return out


# --------------------------------------------------------------------------
# per series

Calendars = RetailCalendar | Mapping[str, RetailCalendar]


def _series_scopes(
    series: Mapping[str, Collection[str]] | Collection[str],
) -> dict[str, frozenset[str]]:
    """Each series' scopes: its own id and the regions given for it."""
    if isinstance(series, Mapping):
        return {str(k): frozenset({str(k), *map(str, v)}) for k, v in series.items()}
    if isinstance(series, str):
        raise TypeError("series must be a collection of ids, not one string")
    return {str(k): frozenset({str(k)}) for k in series}


def _calendar_of(calendar: Calendars, uid: str) -> RetailCalendar:
    if isinstance(calendar, RetailCalendar):
        return calendar
    if uid not in calendar:
        raise ValueError(f"series {uid!r} has no calendar in the mapping")
    return calendar[uid]


def _neutral(column: str, values: pd.Series, cap: int) -> pd.Series:
    """``values`` with the gaps of a column a series' calendar lacks filled.

    The neutral value: ``cap`` days to or after, no promotion, no flag.
    """
    if column.startswith((TO_PREFIX, AFTER_PREFIX)):
        return values.fillna(cap).astype(np.int16)
    if column.startswith(PROMO_PREFIX):
        return values.fillna(0.0).astype(np.float64)
    return values.fillna(False).astype(bool)


def series_calendar_features(
    series: Mapping[str, Collection[str]] | Collection[str],
    start: date,
    end: date,
    calendar: Calendars | None = None,
    promotions: Sequence[Promotion | CalendarEntry] = (),
    *,
    cap: int = DEFAULT_CAP,
) -> pd.DataFrame:
    """Calendar features per series and day: scoped entries reach their series.

    Parameters
    ----------
    series
        Series ids, or a mapping of each id to the region ids it lies in.
        An entry applies to a series when it is national, or scoped to the
        series' own id or one of its regions.
    start, end
        Inclusive date range (every series gets every day).
    calendar
        One calendar for all, or a calendar per series id (for example
        per country subdivision). Default: Korea's for the range's years.
    promotions
        As in :func:`calendar_features`.
    cap
        Cap of the days-to / days-after columns.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds`` then the union of the series' calendar columns,
        sorted by ``unique_id, ds``. A column a series' calendar lacks holds
        its neutral value (no holiday, ``cap`` days, no promotion).

    Raises
    ------
    ValueError
        As :func:`calendar_features`, or if a series has no calendar.
    """
    scopes = _series_scopes(series)
    if calendar is None:
        calendar = RetailCalendar(range(start.year, end.year + 1))
    groups: dict[tuple[int, frozenset[str]], list[str]] = {}
    calendars: dict[int, RetailCalendar] = {}
    for uid in sorted(scopes):
        cal = _calendar_of(calendar, uid)
        calendars.setdefault(id(cal), cal)
        # Only scopes the calendar names matter: series alike share a frame.
        groups.setdefault((id(cal), scopes[uid] & cal.scopes), []).append(uid)
    frames: list[pd.DataFrame] = []
    for (key, scope), ids in groups.items():
        frame = calendar_features(
            start, end, calendars[key], promotions, scopes=scope, cap=cap
        )
        frames.extend(frame.assign(unique_id=uid) for uid in ids)
    columns = list(
        dict.fromkeys(
            c for f in frames for c in f.columns if c not in ("unique_id", "ds")
        )
    )
    out: pd.DataFrame = pd.concat(
        [f.reindex(columns=["unique_id", "ds", *columns]) for f in frames],
        ignore_index=True,
    )
    for column in columns:
        if out[column].isna().any():
            out[column] = _neutral(column, out[column], cap)
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class SeriesCalendar:
    """A calendar a :class:`~forecasting.core.Forecaster` turns into columns itself.

    Parameters
    ----------
    calendar
        One calendar for all series, or one per series id. It must cover
        the history and the forecast horizon.
    regions
        Region ids of each series (see :func:`series_calendar_features`);
        series not listed have only their own id as scope.
    promotions
        A promotion plan besides the calendar's promotion entries.
    cap
        Cap of the days-to / days-after columns.

    Examples
    --------
    >>> from datetime import date
    >>> cal = RetailCalendar([2024], country="DE", subdivision="BY")
    >>> frame = SeriesCalendar(cal).features(["s1"], date(2024, 1, 5), date(2024, 1, 6))
    >>> frame[["cal_holiday", "cal_to_epiphany"]].to_numpy().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """

    calendar: Calendars
    regions: Mapping[str, Collection[str]] = field(default_factory=dict)
    promotions: Sequence[Promotion | CalendarEntry] = ()
    cap: int = DEFAULT_CAP

    def features(self, ids: Iterable[str], start: date, end: date) -> pd.DataFrame:
        """Columns of the series ``ids`` from ``start`` to ``end`` (numeric)."""
        series = {uid: tuple(self.regions.get(uid, ())) for uid in ids}
        frame = series_calendar_features(
            series, start, end, self.calendar, self.promotions, cap=self.cap
        )
        numeric = {c: np.float64 for c in frame.columns if c not in ("unique_id", "ds")}
        return frame.astype(numeric)
