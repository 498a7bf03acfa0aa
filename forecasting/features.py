"""Features of the global model, computed only from data up to the cutoff.

The global model is *direct by horizon*: one model for every horizon ``h`` in
``1..horizon``, with ``h`` itself a feature. A feature row describes a target
day ``t`` seen from an *anchor* day ``a = t - h``, the last day whose target
is known:

* **level** (the scale): mean ``log1p(y)`` over the open days of the
  ``windows[0]`` days ending at ``a``; the model learns
  ``log1p(y[t]) - level``, so one model serves series of any size. Longer
  windows give the trend (``level_91``, ``level_364`` minus the level) and
  ``volatility`` the recent spread.
* **lags** ``lag_7 .. lag_28``: ``log1p(y[t - L]) - level``, missing when
  ``L < h`` (not known at the anchor); ``dow_mean_4w`` / ``dow_mean_13w``:
  the mean of the same weekday over 4 / 13 weeks, ending at the most recent
  such day at or before the anchor (lag ``7 * ceil(h / 7)``).
* **seasonal lag** ``lag_364`` (same weekday a year ago) and ``year_ago``
  (mean of ``t - 371, t - 364, t - 357``), both relative to the level a year
  before the anchor.
* **calendar** of ``t``: day of week, day of month, days to the month's end,
  month, ISO week, day of year.
* **exogenous** columns at ``t``, the day before and the day after; for
  0/1 columns (promotion flags, closures, events, holidays) also the days
  since the last and until the next 1 (capped at ``event_cap``). Countdown
  columns (``cal_to_*``, ``cal_after_*``, :mod:`forecasting.exog`) enter
  only at ``t``: their neighbours are the same count plus or minus one.
* ``series``: the series index, a categorical feature.

Known-future values are used only up to ``a + horizon`` (capped at the last
day given): a feature that would need a later day is missing, in training
and in prediction alike, so the two see the same information. Target values
after the anchor are never read: a training row of day ``t`` and anchor
``a`` reads ``y`` only at ``a`` or before, and the prediction rows have their
anchor at the cutoff.

Why direct and not recursive: a recursive model feeds its own 1-day-ahead
forecasts back as lags for 28 steps, so errors compound and promotion or
closure days inside the horizon contaminate the lags of the days after them;
it also needs 28 sequential predict calls. Drawing one horizon per training
row keeps the training set the size of the history, and the recent lags are
still used where they are known (``lag_7`` for ``h <= 7``...). Every future
promotion, closure and event value of the horizon enters as a feature.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.frame import COUNTDOWN_PREFIXES, FrameError, Panel

__all__ = ["CALENDAR", "FeatureBuilder", "FeatureSpec", "check_exog"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BIG = 10**9


#: Calendar features of the target day.
CALENDAR: tuple[str, ...] = ("dow", "dom", "to_month_end", "month", "woy", "doy")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which features to build.

    Parameters
    ----------
    horizon
        Longest horizon the model serves (days).
    lags
        Target lags; each is missing on rows whose ``h`` exceeds it.
    seasonal_lag
        The yearly lag (364 keeps the weekday); None switches it off.
    windows
        Rolling-level windows (days); the first is the scaling level.
    dow_weeks
        Weeks of the same-weekday means.
    event_cap
        Cap of the days-since / days-until features.
    level_exclude
        Exogenous columns (promotions) whose active days are left out of the
        scaling level, so that a month full of campaigns does not raise the
        baseline; ``level_all`` (all open days, minus the level) is then a
        feature. Falls back to all open days when fewer than 7 remain.
    calendar
        Calendar features to use (a subset of :data:`CALENDAR`).
    value_only
        Prefixes of exogenous columns that enter only as their value on the
        target day (the calendar's countdowns).
    """

    horizon: int = 28
    lags: tuple[int, ...] = (7, 14, 21, 28)
    seasonal_lag: int | None = 364
    windows: tuple[int, ...] = (28, 91, 364)
    dow_weeks: tuple[int, ...] = (4, 13)
    event_cap: int = 30
    level_exclude: tuple[str, ...] = ()
    calendar: tuple[str, ...] = CALENDAR
    value_only: tuple[str, ...] = COUNTDOWN_PREFIXES

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if not self.windows or min(self.windows) < 1:
            raise ValueError("windows must be positive day counts")
        if any(lag < 1 for lag in self.lags) or any(w < 1 for w in self.dow_weeks):
            raise ValueError("lags and dow_weeks must be positive")
        unknown = set(self.calendar) - set(CALENDAR)
        if unknown:
            raise ValueError(f"unknown calendar features {sorted(unknown)}")
        if self.seasonal_lag is not None and self.seasonal_lag < self.horizon + 7:
            raise ValueError("seasonal_lag must be at least the horizon + 7 days")


def _shift(a: FloatArray, k: int) -> FloatArray:
    """``out[:, t] = a[:, t - k]`` (NaN where out of range) along axis 1."""
    out = np.full_like(a, np.nan)
    if k >= a.shape[1] or -k >= a.shape[1]:
        return out
    if k > 0:
        out[:, k:] = a[:, :-k]
    elif k < 0:
        out[:, :k] = a[:, -k:]
    else:
        out[:] = a
    return out


def _rolling_mean(values: FloatArray, window: int, min_count: int) -> FloatArray:
    """Mean of the non-NaN values in ``(t - window, t]``; NaN below ``min_count``."""
    ok = ~np.isnan(values)
    total = np.cumsum(np.where(ok, values, 0.0), axis=1)
    count = np.cumsum(ok, axis=1)
    total = np.concatenate([np.zeros((values.shape[0], 1)), total], axis=1)
    count = np.concatenate(
        [np.zeros((values.shape[0], 1), dtype=count.dtype), count], 1
    )
    end = np.arange(1, values.shape[1] + 1)
    begin = np.maximum(end - window, 0)
    s = total[:, end] - total[:, begin]
    c = count[:, end] - count[:, begin]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = np.where(c >= min_count, s / np.maximum(c, 1), np.nan)
    return mean


def _rolling_std(values: FloatArray, window: int, min_count: int) -> FloatArray:
    mean = _rolling_mean(values, window, min_count)
    mean_sq = _rolling_mean(values**2, window, min_count)
    std: FloatArray = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    return std


def _weekday_mean(values: FloatArray, weeks: int) -> FloatArray:
    """Mean of the non-NaN values at ``t, t - 7, ..., t - 7 (weeks - 1)``."""
    total = np.zeros_like(values)
    count = np.zeros_like(values)
    for w in range(weeks):
        shifted = _shift(values, 7 * w)
        ok = ~np.isnan(shifted)
        total += np.where(ok, shifted, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean


def _last_index(flag: npt.NDArray[np.bool_]) -> IntArray:
    """Index of the last true value at or before each day (``-_BIG`` if none)."""
    idx = np.where(flag, np.arange(flag.shape[1]), -_BIG)
    out: IntArray = np.maximum.accumulate(idx, axis=1)
    return out


def _next_index(flag: npt.NDArray[np.bool_]) -> IntArray:
    """Index of the next true value at or after each day (``_BIG`` if none)."""
    idx = np.where(flag, np.arange(flag.shape[1]), _BIG)
    out: IntArray = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    return out


def _base_level(
    spec: FeatureSpec,
    panel: Panel,
    X: FloatArray,
    log_y: FloatArray,
    levels: list[FloatArray],
) -> tuple[FloatArray, FloatArray | None]:
    """The scaling level, and the level of all days when some are excluded.

    The level is the first window's mean, over the days without the
    ``level_exclude`` columns if any, falling back to the longer windows.
    """
    base = levels[0].copy()
    level_all: FloatArray | None = None
    if spec.level_exclude:
        unknown = sorted(set(spec.level_exclude) - set(panel.exog))
        if unknown:
            raise ValueError(f"level_exclude names unknown columns {unknown}")
        cols = [panel.exog.index(c) for c in spec.level_exclude]
        busy = (X[:, :, cols] != 0).any(axis=2)
        plain = _rolling_mean(np.where(busy, np.nan, log_y), spec.windows[0], 7)
        base = np.where(np.isnan(plain), base, plain)
        level_all = levels[0]
    for extra in levels[1:]:
        base = np.where(np.isnan(base), extra, base)
    return base, level_all


def _year_ago(log_y: FloatArray) -> FloatArray:
    """Mean of the day and its weekly neighbours (the seasonal lag's value)."""
    trio = np.stack([_shift(log_y, d) for d in (-7, 0, 7)], axis=2)
    ok = ~np.isnan(trio)
    count = ok.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(
            count > 0,
            np.where(ok, trio, 0.0).sum(axis=2) / np.maximum(count, 1),
            np.nan,
        )
    return out


def _calendar_columns(
    days: npt.NDArray[np.datetime64], wanted: Collection[str]
) -> dict[str, FloatArray]:
    """The ``wanted`` calendar features of each day."""
    index = pd.DatetimeIndex(days)
    calendar = {
        "dow": ((days.astype(np.int64) + 3) % 7).astype(np.float64),
        "dom": index.day.to_numpy(dtype=np.float64),
        "to_month_end": (index.days_in_month - index.day).to_numpy(dtype=np.float64),
        "month": index.month.to_numpy(dtype=np.float64),
        "woy": index.isocalendar().week.to_numpy(dtype=np.float64),
        "doy": index.day_of_year.to_numpy(dtype=np.float64),
    }
    return {k: v for k, v in calendar.items() if k in wanted}


def _own_names(spec: FeatureSpec, level_all: bool) -> list[str]:
    """Names of the features that are not exogenous columns."""
    names = ["series", "h", *spec.calendar, "level"]
    names += [f"level_{w}" for w in spec.windows[1:]]
    if level_all:
        names.append("level_all")
    names += ["volatility"]
    names += [f"lag_{lag}" for lag in spec.lags]
    names += [f"dow_mean_{w}w" for w in spec.dow_weeks]
    if spec.seasonal_lag is not None:
        names += [f"lag_{spec.seasonal_lag}", "year_ago"]
    return names


def _exog_names(spec: FeatureSpec, name: str, closed: bool, binary: bool) -> list[str]:
    """Names of the features made of one exogenous column."""
    names = [] if closed else [name]
    if name.startswith(spec.value_only):
        return names
    names += [f"{name}_prev", f"{name}_next"]
    if binary:
        names += [f"{name}_since", f"{name}_until"]
    return names


def check_exog(spec: FeatureSpec, exog: Sequence[str]) -> None:
    """Refuse exogenous columns whose features would take another feature's name.

    An exogenous ``dow`` would be a second feature called ``dow``, and
    ``promo`` with ``promo_prev`` would make two ``promo_prev``: the model
    could not be fitted. Every column is checked as if it were 0/1 (the
    most features it can make).

    Raises
    ------
    FrameError
        Naming the column, the feature it collides with and the fix.
    """
    own = set(_own_names(spec, level_all=True))
    made: dict[str, str] = {}
    for name in exog:
        if name in own:
            raise FrameError(
                f"df: column '{name}': collides with the model's own feature "
                f"'{name}'; rename the column (calendar columns from "
                "forecasting.exog are prefixed cal_)",
                name,
            )
        for feature in _exog_names(spec, name, closed=False, binary=True):
            if feature in own or feature in made:
                whose = (
                    "the model's own feature"
                    if feature in own
                    else f"a feature of column '{made[feature]}'"
                )
                raise FrameError(
                    f"df: column '{name}': its feature '{feature}' collides with "
                    f"{whose}; rename the column",
                    name,
                )
            made[feature] = name


def _binary_flags(
    spec: FeatureSpec, panel: Panel, X: FloatArray
) -> dict[str, tuple[IntArray, IntArray]]:
    """Last and next flagged day of each exogenous column that is 0/1 in history."""
    binary: dict[str, tuple[IntArray, IntArray]] = {}
    for j, name in enumerate(panel.exog):
        if name.startswith(spec.value_only):
            continue
        column = panel.X[:, :, j]
        if column.size and np.isin(column, (0.0, 1.0)).all():
            flag = X[:, :, j] > 0.5
            binary[name] = (_last_index(flag), _next_index(flag))
    return binary


class FeatureBuilder:
    """Feature rows of one panel (plus, for prediction, its future exogenous values).

    Parameters
    ----------
    spec
        The features to build.
    panel
        History up to the cutoff (its last day).
    X_future
        Exogenous values of the days after the cutoff, ``(n, h, k)``.
    """

    def __init__(
        self, spec: FeatureSpec, panel: Panel, X_future: FloatArray | None = None
    ) -> None:
        self.spec = spec
        self.cutoff = panel.n_days - 1
        n, k = panel.n_series, len(panel.exog)
        future = np.zeros((n, 0, k)) if X_future is None else X_future
        X = np.concatenate([panel.X, future], axis=1)
        self.last_known = X.shape[1] - 1
        steps = np.arange(X.shape[1]).astype("timedelta64[D]")
        days = panel.ds[0] + steps
        closed = panel.closed(X)
        log_y = np.full((n, X.shape[1]), np.nan)
        log_y[:, : panel.n_days] = np.log1p(panel.y)
        log_y[closed] = np.nan
        self.log_y = log_y

        self.levels = [_rolling_mean(log_y, w, min(7, w)) for w in spec.windows]
        self.base, self.level_all = _base_level(spec, panel, X, log_y, self.levels)
        self.volatility = _rolling_std(log_y, spec.windows[0], min(7, spec.windows[0]))
        self.dow_means = {w: _weekday_mean(log_y, w) for w in spec.dow_weeks}
        if spec.seasonal_lag is not None:
            self.year_ago = _year_ago(log_y)
        self.calendar = _calendar_columns(days, spec.calendar)
        self.exog = panel.exog
        self.closed_col = panel.closed_col
        self.X = X
        self.binary = _binary_flags(spec, panel, X)
        check_exog(spec, self.exog)
        self.names = self._names()

    def _names(self) -> list[str]:
        names = _own_names(self.spec, self.level_all is not None)
        for name in self.exog:
            names += _exog_names(
                self.spec, name, name == self.closed_col, name in self.binary
            )
        return names

    def rows(
        self, i: npt.NDArray[np.intp], t: IntArray, a: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Features of target days ``t`` of series ``i`` seen from anchors ``a``.

        Returns
        -------
        features, level
            The ``(m, p)`` feature matrix (columns :attr:`names`) and the
            scaling level of each row (``NaN`` when the series has no open
            day in reach of its anchor).
        """
        spec = self.spec
        h = t - a
        if (h < 1).any() or (h > spec.horizon).any():
            raise ValueError(f"horizons must be within 1..{spec.horizon}")
        if (a > self.cutoff).any():
            raise ValueError("an anchor lies after the cutoff")
        base = self.base[i, a]
        cols: list[FloatArray] = [i.astype(np.float64), h.astype(np.float64)]
        cols += [c[t] for c in self.calendar.values()]
        cols.append(base)
        cols += [lv[i, a] - base for lv in self.levels[1:]]
        if self.level_all is not None:
            cols.append(self.level_all[i, a] - base)
        cols.append(self.volatility[i, a])
        log_y = self.log_y
        for lag in spec.lags:
            back = t - lag
            value = log_y[i, np.maximum(back, 0)] - base
            cols.append(np.where((lag >= h) & (back >= 0), value, np.nan))
        weekday_back = t - 7 * np.ceil(h / 7).astype(np.int64)
        ok_back = weekday_back >= 0
        for w in spec.dow_weeks:
            value = self.dow_means[w][i, np.maximum(weekday_back, 0)] - base
            cols.append(np.where(ok_back, value, np.nan))
        if spec.seasonal_lag is not None:
            s = spec.seasonal_lag
            ok = (a - s) >= 0
            then = np.where(ok, self.base[i, np.maximum(a - s, 0)], np.nan)
            cols.append(np.where(ok, log_y[i, np.maximum(t - s, 0)], np.nan) - then)
            cols.append(
                np.where(ok, self.year_ago[i, np.maximum(t - s, 0)], np.nan) - then
            )
        cols += self._exog_columns(i, t, a)
        return np.column_stack(cols), base

    def _exog_columns(
        self, i: npt.NDArray[np.intp], t: IntArray, a: IntArray
    ) -> list[FloatArray]:
        """Each exogenous column on, before and after the target day.

        Binary columns also give the days since the last and until the next
        flagged day (capped; unknown beyond the horizon of the anchor).
        """
        cap = self.spec.event_cap
        cols: list[FloatArray] = []
        known = np.minimum(a + self.spec.horizon, self.last_known)
        nxt = np.minimum(t + 1, self.last_known)
        for j, name in enumerate(self.exog):
            values = self.X[:, :, j]
            if name != self.closed_col:
                cols.append(values[i, t])
            if name.startswith(self.spec.value_only):
                continue
            cols.append(np.where(t >= 1, values[i, np.maximum(t - 1, 0)], np.nan))
            cols.append(np.where(t + 1 <= known, values[i, nxt], np.nan))
            if name in self.binary:
                last, following = self.binary[name]
                cols.append(np.minimum(t - last[i, t], cap + 1).astype(np.float64))
                gap = following[i, t] - t
                reach = known - t
                until = np.where(
                    gap <= np.minimum(cap, reach),
                    gap,
                    np.where(reach >= cap, cap + 1, np.nan),
                )
                cols.append(until.astype(np.float64))
        return cols
