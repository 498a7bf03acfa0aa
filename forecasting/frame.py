"""The long-format data contract and its validation.

A history frame has one row per series and day:

``unique_id``
    The series (a zone, a depot, a store), as a string.
``ds``
    The day (``datetime64``; any time of day must be midnight).
``y``
    The count to forecast: finite and ``>= 0``.
any other column
    A known-future exogenous value (promotion flag or intensity, closure,
    event flag...): numeric or boolean, never missing.

The future frame ``X_df`` has ``unique_id``, ``ds`` and the same exogenous
columns for the ``h`` days after the history's last day, for every series.

Calendar columns (:mod:`forecasting.exog`) are prefixed ``cal_``; the
countdowns among them (``cal_to_*``, ``cal_after_*``: days to and since a
named day, 0 on it) are told apart by :data:`COUNTDOWN_PREFIXES`, since the
models treat them differently from amounts and flags.

Every check raises :class:`FrameError`, a :class:`ValueError` whose
``column`` attribute names the offending column and whose message says what
is wrong and where (series, first bad date, row count).

:func:`to_panel` turns a validated frame into a :class:`Panel`, the dense
numpy form that models work on (models never touch pandas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "AFTER_PREFIX",
    "CALENDAR_PREFIX",
    "COUNTDOWN_PREFIXES",
    "DS",
    "ID",
    "TO_PREFIX",
    "FrameError",
    "Panel",
    "Y",
    "exog_columns",
    "future_panel",
    "to_panel",
    "validate_df",
    "validate_future",
]

ID = "unique_id"
DS = "ds"
Y = "y"
#: Prefix of every calendar column.
CALENDAR_PREFIX = "cal_"
#: Prefixes of the calendar's days-to and days-after columns.
TO_PREFIX = "cal_to_"
AFTER_PREFIX = "cal_after_"
COUNTDOWN_PREFIXES = (TO_PREFIX, AFTER_PREFIX)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DayArray = npt.NDArray[np.datetime64]

_DAY = np.timedelta64(1, "D")


class FrameError(ValueError):
    """A frame breaks the data contract.

    Attributes
    ----------
    column
        The column at fault (``None`` when the problem is the frame itself).
    """

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


def _label(frame: str, column: str | None) -> str:
    return f"{frame}: column '{column}'" if column else frame


def _fail(frame: str, column: str | None, problem: str) -> FrameError:
    return FrameError(f"{_label(frame, column)}: {problem}", column)


def _day(value: object) -> str:
    return str(np.datetime64(pd.Timestamp(str(value)), "D"))


def exog_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """The exogenous columns of a history frame: all but ``unique_id, ds, y``."""
    return tuple(str(c) for c in df.columns if c not in (ID, DS, Y))


def _check_columns(df: pd.DataFrame, frame: str, required: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise FrameError(f"{frame}: expected a pandas DataFrame, got {type(df)}")
    names = [str(c) for c in df.columns]
    for column in required:
        if column not in names:
            raise _fail(frame, column, "is missing")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise _fail(frame, duplicated[0], "appears twice")


def _days(df: pd.DataFrame, frame: str) -> pd.Series:
    """``ds`` as ``datetime64[ns]`` at midnight."""
    raw = df[DS]
    try:
        ds = pd.to_datetime(raw)
    except (ValueError, TypeError) as exc:
        raise _fail(frame, DS, f"is not a date column ({exc})") from None
    if getattr(ds.dt, "tz", None) is not None:
        ds = ds.dt.tz_localize(None)
    if ds.isna().any():
        row = int(np.flatnonzero(ds.isna().to_numpy())[0])
        raise _fail(frame, DS, f"is missing on row {row}")
    if (ds != ds.dt.normalize()).any():
        row = int(np.flatnonzero((ds != ds.dt.normalize()).to_numpy())[0])
        raise _fail(
            frame, DS, f"has a time of day on row {row} ({ds.iloc[row]}): daily data"
        )
    return ds.astype("datetime64[ns]")


def _ids(df: pd.DataFrame, frame: str) -> pd.Series:
    ids = df[ID]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise _fail(frame, ID, f"is missing on row {row}")
    return ids.astype(str)


def _numeric(df: pd.DataFrame, frame: str, column: str) -> FloatArray:
    values = df[column]
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(values):
        raise _fail(frame, column, f"must be numeric or boolean, not {values.dtype}")
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "missing" if np.isnan(array[row]) else "not finite"
        raise _fail(frame, column, f"is {what} on row {row} ({bad.sum()} such rows)")
    return array


def _no_duplicates(ids: pd.Series, ds: pd.Series, frame: str) -> None:
    dup = pd.DataFrame({ID: ids.to_numpy(), DS: ds.to_numpy()}).duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise _fail(
            frame,
            DS,
            f"series '{ids.iloc[row]}' has {_day(ds.iloc[row])} more than once "
            f"({int(dup.sum())} duplicate rows)",
        )


def validate_df(df: pd.DataFrame, *, frame: str = "df") -> pd.DataFrame:
    """Check a history frame and return a clean, sorted copy.

    Parameters
    ----------
    df
        ``unique_id, ds, y`` plus exogenous columns.
    frame
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``unique_id, ds``; ``unique_id`` as ``str``, ``ds`` as
        ``datetime64[ns]``, ``y`` and the exogenous columns as ``float64``.

    Raises
    ------
    FrameError
        On a missing column, an empty frame, a bad date, a duplicate
        ``(unique_id, ds)``, a missing day inside a series, a negative,
        missing or infinite ``y``, or a non-numeric or missing exogenous
        value.
    """
    _check_columns(df, frame, (ID, DS, Y))
    if len(df) == 0:
        raise FrameError(f"{frame}: has no rows")
    ids = _ids(df, frame)
    ds = _days(df, frame)
    y = _numeric(df, frame, Y)
    if (y < 0).any():
        row = int(np.flatnonzero(y < 0)[0])
        raise _fail(
            frame,
            Y,
            f"has a negative count {y[row]:g} for series '{ids.iloc[row]}' on "
            f"{_day(ds.iloc[row])} ({int((y < 0).sum())} negative rows)",
        )
    _no_duplicates(ids, ds, frame)
    out = pd.DataFrame({ID: ids.to_numpy(), DS: ds.to_numpy(), Y: y})
    for column in exog_columns(df):
        out[column] = _numeric(df, frame, column)
    out = out.sort_values([ID, DS], kind="stable").reset_index(drop=True)
    _no_gaps(out, frame)
    return out


def _no_gaps(df: pd.DataFrame, frame: str) -> None:
    """Every series has every day between its first and last."""
    days = df[DS].to_numpy().astype("datetime64[D]")
    ids = df[ID].to_numpy()
    same = ids[1:] == ids[:-1]
    step = (days[1:] - days[:-1]).astype(np.int64)
    gap = same & (step != 1)
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        first_missing = days[i] + _DAY
        n_missing = int((step[gap] - 1).sum())
        raise _fail(
            frame,
            DS,
            f"series '{ids[i]}' has missing dates: {first_missing} is absent "
            f"({n_missing} missing days in all); give every day, with y = 0 on "
            "days without orders",
        )


def validate_future(
    X_df: pd.DataFrame | None,
    df: pd.DataFrame,
    h: int,
    *,
    frame: str = "X_df",
) -> pd.DataFrame | None:
    """Check the future exogenous frame against a validated history.

    Parameters
    ----------
    X_df
        ``unique_id, ds`` and every exogenous column of ``df``, for the
        ``h`` days after ``df``'s last day, for every series.
    df
        The validated history (:func:`validate_df`).
    h
        Horizon in days.

    Returns
    -------
    pandas.DataFrame or None
        Sorted by ``unique_id, ds``, only the horizon's rows, exogenous
        columns as ``float64``; None when ``df`` has no exogenous columns.

    Raises
    ------
    FrameError
        If ``X_df`` is needed but absent, lacks a column, has duplicates or
        bad values, or does not cover the horizon of some series.
    """
    exog = exog_columns(df)
    if not exog:
        return None
    if X_df is None:
        raise FrameError(
            f"{frame}: is required: the history has exogenous columns "
            f"{', '.join(exog)}, give their values for the next {h} days",
            None,
        )
    _check_columns(X_df, frame, (ID, DS, *exog))
    ids = _ids(X_df, frame)
    ds = _days(X_df, frame)
    _no_duplicates(ids, ds, frame)
    out = pd.DataFrame({ID: ids.to_numpy(), DS: ds.to_numpy()})
    for column in exog:
        out[column] = _numeric(X_df, frame, column)
    last = df.groupby(ID, sort=True)[DS].max()
    _check_horizon_covered(out, last, h, frame)
    horizon = pd.DataFrame(
        {
            ID: np.repeat(last.index.to_numpy(), h),
            DS: np.concatenate([_horizon_days(end, h).to_numpy() for end in last]),
        }
    ).astype({DS: "datetime64[ns]"})
    return horizon.merge(out, on=[ID, DS], how="left")


def _horizon_days(end: pd.Timestamp, h: int) -> pd.DatetimeIndex:
    """The ``h`` days after ``end``."""
    return pd.date_range(end + pd.Timedelta(days=1), periods=h, freq="D")


def _check_horizon_covered(
    out: pd.DataFrame, last: pd.Series, h: int, frame: str
) -> None:
    """Every series of ``last`` (its last day) has rows for its ``h`` next days."""
    for uid, end in last.items():
        have = pd.DatetimeIndex(out.loc[out[ID] == uid, DS])
        missing = _horizon_days(end, h).difference(have)
        if len(missing):
            raise _fail(
                frame,
                DS,
                f"does not cover the horizon of series '{uid}': {len(missing)} of "
                f"the {h} days after {_day(end)} are absent, first "
                f"{_day(missing[0])}",
            )


@dataclass(frozen=True, eq=False)
class Panel:
    """Many daily series on one calendar, as dense arrays.

    Attributes
    ----------
    ids
        Series ids, sorted.
    ds
        The days, consecutive (``datetime64[D]``, shape ``(T,)``).
    y
        Targets, shape ``(n, T)``; ``NaN`` before a series starts.
    X
        Exogenous values, shape ``(n, T, k)`` (``k`` may be 0).
    exog
        Names of the ``k`` exogenous columns.
    closed_col
        The exogenous column flagging closed days (forecast as 0), if any.
    """

    ids: tuple[str, ...]
    ds: DayArray
    y: FloatArray
    X: FloatArray
    exog: tuple[str, ...]
    closed_col: str | None = None

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def n_days(self) -> int:
        return len(self.ds)

    @property
    def last_day(self) -> np.datetime64:
        day: np.datetime64 = self.ds[-1]
        return day

    @property
    def start(self) -> npt.NDArray[np.int64]:
        """Index of each series' first day."""
        observed = ~np.isnan(self.y)
        first: npt.NDArray[np.int64] = np.where(
            observed.any(axis=1), observed.argmax(axis=1), self.n_days
        ).astype(np.int64)
        return first

    @property
    def history_days(self) -> npt.NDArray[np.int64]:
        """Days of history per series."""
        return self.n_days - self.start

    def closed(self, X: FloatArray | None = None) -> BoolArray:
        """Closed-day flags of ``X`` (default: the history's), shape ``(n, days)``."""
        source = self.X if X is None else X
        if self.closed_col is None:
            return np.zeros(source.shape[:2], dtype=bool)
        j = self.exog.index(self.closed_col)
        flags: BoolArray = source[:, :, j] > 0.5
        return flags

    def head(self, days: int) -> Panel:
        """The first ``days`` days (series not started by then keep all-NaN rows)."""
        return Panel(
            ids=self.ids,
            ds=self.ds[:days],
            y=self.y[:, :days],
            X=self.X[:, :days],
            exog=self.exog,
            closed_col=self.closed_col,
        )

    def select(self, rows: npt.NDArray[np.intp] | Sequence[int]) -> Panel:
        """The series at ``rows``."""
        idx = np.asarray(rows, dtype=np.intp)
        return Panel(
            ids=tuple(self.ids[i] for i in idx),
            ds=self.ds,
            y=self.y[idx],
            X=self.X[idx],
            exog=self.exog,
            closed_col=self.closed_col,
        )


def to_panel(df: pd.DataFrame, *, closed_col: str | None = None) -> Panel:
    """A :class:`Panel` from a validated history frame.

    Raises
    ------
    FrameError
        If the series do not all end on the same day, or ``closed_col`` is
        not an exogenous column.
    """
    exog = exog_columns(df)
    if closed_col is not None and closed_col not in exog:
        raise FrameError(
            f"df: column '{closed_col}' is missing (named as the closed-day column)",
            closed_col,
        )
    ends = df.groupby(ID, sort=True)[DS].max()
    if ends.nunique() > 1:
        late, early = ends.max(), ends.min()
        uid = str(ends.index[int(np.argmin(ends.to_numpy()))])
        raise FrameError(
            f"df: column '{DS}': series '{uid}' ends on {_day(early)} but others "
            f"on {_day(late)}; all series must end on the same day",
            DS,
        )
    ids = tuple(str(i) for i in ends.index)
    first = df[DS].min().to_datetime64().astype("datetime64[D]")
    last = ends.max().to_datetime64().astype("datetime64[D]")
    days = np.arange(first, last + _DAY)
    row = pd.Index(ids).get_indexer(pd.Index(df[ID]))
    col = (df[DS].to_numpy().astype("datetime64[D]") - first).astype(np.int64)
    y = np.full((len(ids), len(days)), np.nan)
    y[row, col] = df[Y].to_numpy(dtype=np.float64)
    X = np.zeros((len(ids), len(days), len(exog)))
    for j, column in enumerate(exog):
        X[row, col, j] = df[column].to_numpy(dtype=np.float64)
    return Panel(ids=ids, ds=days, y=y, X=X, exog=exog, closed_col=closed_col)


def future_panel(X_df: pd.DataFrame | None, panel: Panel, h: int) -> FloatArray:
    """The future exogenous values of a validated ``X_df``: shape ``(n, h, k)``."""
    k = len(panel.exog)
    if X_df is None or k == 0:
        return np.zeros((panel.n_series, h, k))
    first = panel.last_day + _DAY
    row = pd.Index(panel.ids).get_indexer(pd.Index(X_df[ID]))
    col = (X_df[DS].to_numpy().astype("datetime64[D]") - first).astype(np.int64)
    keep = (row >= 0) & (col >= 0) & (col < h)
    X = np.zeros((panel.n_series, h, k))
    for j, column in enumerate(panel.exog):
        X[row[keep], col[keep], j] = X_df[column].to_numpy(dtype=np.float64)[keep]
    return X
