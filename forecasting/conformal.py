"""Conformal prediction intervals from rolling-origin forecast errors.

A model with ``prediction_intervals=ConformalIntervals(h=28, n_windows=4)``
gets its intervals from its own out-of-sample errors: the
:class:`~forecasting.core.Forecaster` refits it at ``n_windows`` earlier
cutoffs, ``h`` days apart, and forecasts the ``h`` days after each, so that
the calibration windows tile the ``n_windows * h`` days just before the
cutoff and never reach past it. The conformity score of an open day is

* ``method="log"`` (default): ``log1p(y) - log1p(yhat)``; the interval is
  multiplicative, ``expm1(log1p(yhat) + q)``, which suits counts whose
  errors grow with their level;
* ``method="absolute"``: ``y - yhat``; the interval is ``yhat + q``.

Scores are pooled over series, windows and horizon steps. With
``symmetric=True`` (the default) the interval is the forecast plus or minus
the ``level`` % quantile of the absolute scores; with ``symmetric=False``
its ends are the ``(1 - level/100)/2`` and ``1 - (1 - level/100)/2``
quantiles of the signed scores, so a model that was biased in the
calibration windows gets an asymmetric interval. Symmetric intervals hold
their coverage better when the bias changes between the calibration windows
and the forecast (a December after an autumn). Quantiles use the
finite-sample rank of split conformal prediction, ``ceil((n + 1) p)``.
Lower bounds are clipped at 0.

With ``by_month=True`` the width follows the season: the windows span a
year, the most recent ``recent_windows`` of them set the level as above,
and a day's width is scaled by how much wider its calendar month's scores
were than all the windows' (the same quantile of the same month a year
back over that of the whole year), so a December is wider than an autumn by
as much as the last December was; a month with fewer than
:data:`MIN_MONTH_SCORES` scores keeps the factor 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ConformalIntervals",
    "check_levels",
    "conformal_bounds",
    "conformity_scores",
    "interval_columns",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Method = Literal["log", "absolute"]
MonthScale = Literal["model", "naive"]


@dataclass(frozen=True, slots=True)
class ConformalIntervals:
    """How to calibrate a model's intervals.

    Parameters
    ----------
    h
        Length of each calibration window (days); the forecast horizon may
        not exceed it.
    n_windows
        Calibration windows of ``h`` days before the cutoff (at least 2; 4 or
        more gives stable quantiles).
    method
        ``"log"`` (multiplicative, the default for counts) or
        ``"absolute"``.
    refit
        Refit the model at every window's cutoff (True), or fit it once at
        the earliest and move it forward (``Model.forward``) to the later
        windows (False: one fit instead of ``n_windows``; the errors of an
        older model make the intervals slightly conservative).
    symmetric
        Intervals symmetric around the forecast (on the score's scale) from
        the absolute scores, or ends from the signed scores' quantiles.
    by_month
        Scale each day's width by its calendar month's errors a year back
        (needs ``n_windows * h >= 365``).
    recent_windows
        With ``by_month``: the most recent windows that set the level
        (default: half of ``n_windows`` with ``month_scale="model"``, all of
        them with ``"naive"``).
    month_scale
        With ``by_month``: whose errors a year back give each month's factor.
        ``"model"``: the model's own over the year of windows (a month's
        errors over all the windows'). ``"naive"``: the weekly seasonal
        naive's (``y[t - 7]``) over the year before the cutoff, a month's
        errors a year back over the naive's errors on the days of the
        level's windows. The naive needs no fit, so every year's errors
        come from the same forecaster; the model's own errors a year back
        come from a model with a year less history, whose December (no
        year-ago values yet) is worse than its mature December will be.
        With ``"naive"`` the model is scored only on its ``n_windows``.
    """

    h: int = 28
    n_windows: int = 4
    method: Method = "log"
    refit: bool = True
    symmetric: bool = True
    by_month: bool = False
    recent_windows: int | None = None
    month_scale: MonthScale = "model"

    def __post_init__(self) -> None:
        if self.h < 1:
            raise ValueError(f"h must be >= 1, got {self.h}")
        if self.n_windows < 2:
            raise ValueError(f"n_windows must be >= 2, got {self.n_windows}")
        if self.method not in ("log", "absolute"):
            raise ValueError(f"method must be 'log' or 'absolute', got {self.method!r}")
        if self.recent_windows is not None and not (
            1 <= self.recent_windows <= self.n_windows
        ):
            raise ValueError(
                f"recent_windows must be within 1..n_windows ({self.n_windows}), "
                f"got {self.recent_windows}"
            )
        if self.month_scale not in ("model", "naive"):
            raise ValueError(
                f"month_scale must be 'model' or 'naive', got {self.month_scale!r}"
            )
        if (
            self.by_month
            and self.month_scale == "model"
            and self.n_windows * self.h < 365
        ):
            raise ValueError(
                "by_month with month_scale='model' needs a year of calibration "
                f"windows: n_windows * h = {self.n_windows * self.h} days, 365 "
                "or more needed (month_scale='naive' needs no model windows "
                "beyond the recent ones)"
            )


#: Fewest scores a month needs to be calibrated on its own (``by_month``).
MIN_MONTH_SCORES = 100


def month_factor(pool: FloatArray, same: FloatArray, level: int) -> float:
    """How much wider ``same`` (one month's scores) is than ``pool`` (all):
    the ratio of their ``level`` % quantiles of absolute scores; 1.0 when
    the month has fewer than :data:`MIN_MONTH_SCORES`."""
    if len(same) < MIN_MONTH_SCORES or len(pool) == 0:
        return 1.0
    p = level / 100.0
    whole = _quantile(np.abs(pool), p, upper=True)
    if whole <= 0:
        return 1.0
    return _quantile(np.abs(same), p, upper=True) / whole


def check_levels(level: Sequence[int | float]) -> tuple[int, ...]:
    """Validate interval levels: integers strictly between 0 and 100, sorted."""
    out = []
    for value in level:
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"level {value!r} must be a whole percentage such as 80")
        if not 0 < value < 100:
            raise ValueError(f"level {value} must be between 0 and 100 (exclusive)")
        out.append(int(value))
    return tuple(sorted(set(out)))


def interval_columns(alias: str, level: Sequence[int]) -> list[str]:
    """``<alias>-lo-<level>`` and ``<alias>-hi-<level>`` for each level."""
    return [f"{alias}-{side}-{lv}" for lv in level for side in ("lo", "hi")]


def conformity_scores(
    y: FloatArray, yhat: FloatArray, mask: BoolArray, method: Method = "log"
) -> FloatArray:
    """Signed scores of the days where ``mask`` is true and ``y`` is known."""
    keep = mask & ~np.isnan(y) & ~np.isnan(yhat)
    actual = y[keep]
    fitted = np.maximum(yhat[keep], 0.0)
    if method == "log":
        scores: FloatArray = np.log1p(actual) - np.log1p(fitted)
    else:
        scores = actual - fitted
    return scores


def _quantile(scores: FloatArray, p: float, upper: bool) -> float:
    """Split-conformal quantile: the ``ceil((n + 1) p)``-th smallest score."""
    n = len(scores)
    ordered = np.sort(scores)
    if upper:
        rank = math.ceil((n + 1) * p)
        return float(ordered[min(rank, n) - 1])
    rank = math.floor((n + 1) * p)
    return float(ordered[max(rank, 1) - 1])


def conformal_bounds(
    yhat: FloatArray,
    scores: FloatArray,
    level: int,
    method: Method = "log",
    *,
    symmetric: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the ``level`` % interval around ``yhat``.

    Raises
    ------
    ValueError
        If there are no scores.
    """
    if len(scores) == 0:
        raise ValueError("no conformity scores: the calibration windows had no data")
    alpha = 1.0 - level / 100.0
    if symmetric:
        q_hi = _quantile(np.abs(scores), 1.0 - alpha, upper=True)
        q_lo = -q_hi
    else:
        q_lo = _quantile(scores, alpha / 2.0, upper=False)
        q_hi = _quantile(scores, 1.0 - alpha / 2.0, upper=True)
    base = np.maximum(yhat, 0.0)
    if method == "log":
        lo = np.expm1(np.log1p(base) + q_lo)
        hi = np.expm1(np.log1p(base) + q_hi)
    else:
        lo = base + q_lo
        hi = base + q_hi
    return np.maximum(lo, 0.0), np.maximum(hi, np.maximum(lo, 0.0))
