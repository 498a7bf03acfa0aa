"""Forecast accuracy: WAPE, bias, MASE and interval coverage.

All functions take plain arrays; :func:`evaluate` applies them to the output
of :meth:`~forecasting.core.Forecaster.cross_validation`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.frame import DS, ID, Y

__all__ = ["bias", "coverage", "evaluate", "mase", "seasonal_scale", "wape"]

FloatArray = npt.NDArray[np.float64]


def _arrays(y: npt.ArrayLike, yhat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(y, dtype=np.float64)
    b = np.asarray(yhat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"y has shape {a.shape} but yhat {b.shape}")
    return a, b


def wape(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Weighted absolute percentage error: ``sum |y - yhat| / sum y``."""
    a, b = _arrays(y, yhat)
    total = a.sum()
    if total <= 0:
        raise ValueError("WAPE is undefined when the actuals sum to 0")
    return float(np.abs(a - b).sum() / total)


def bias(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Relative bias ``sum (yhat - y) / sum y``: positive means over-forecast."""
    a, b = _arrays(y, yhat)
    total = a.sum()
    if total <= 0:
        raise ValueError("bias is undefined when the actuals sum to 0")
    return float((b - a).sum() / total)


def seasonal_scale(history: npt.ArrayLike, season_length: int = 7) -> float:
    """Mean absolute seasonal difference of a history (MASE denominator)."""
    y = np.asarray(history, dtype=np.float64)
    y = y[~np.isnan(y)]
    if len(y) <= season_length:
        raise ValueError(f"need more than {season_length} days of history")
    return float(np.mean(np.abs(y[season_length:] - y[:-season_length])))


def mase(
    y: npt.ArrayLike,
    yhat: npt.ArrayLike,
    history: npt.ArrayLike,
    season_length: int = 7,
) -> float:
    """Mean absolute scaled error against the in-sample seasonal naive."""
    a, b = _arrays(y, yhat)
    scale = seasonal_scale(history, season_length)
    if scale == 0:
        raise ValueError("MASE is undefined: the history has no seasonal variation")
    return float(np.mean(np.abs(a - b)) / scale)


def coverage(
    y: npt.ArrayLike,
    lo: npt.ArrayLike,
    hi: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
) -> float:
    """Share of ``y`` inside ``[lo, hi]`` (where ``mask``, if given, is true)."""
    a = np.asarray(y, dtype=np.float64)
    low = np.asarray(lo, dtype=np.float64)
    high = np.asarray(hi, dtype=np.float64)
    keep = np.ones(a.shape, dtype=bool) if mask is None else np.asarray(mask, bool)
    if not keep.any():
        raise ValueError("coverage of an empty selection")
    inside = (a >= low) & (a <= high)
    return float(inside[keep].mean())


def _window_scales(
    cv: pd.DataFrame, history: pd.DataFrame, season_length: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """The (series, cutoff) window of each ``cv`` row and each window's MASE scale.

    A window's scale uses only its series' history up to the cutoff.
    """
    ordered = history.sort_values([ID, DS])
    series = ordered[ID].astype(str).to_numpy()
    days = ordered[DS].to_numpy()
    values = ordered[Y].to_numpy(dtype=np.float64)
    window = cv[ID].astype(str) + "|" + cv["cutoff"].astype(str)
    codes, labels = pd.factorize(window)
    firsts = np.unique(codes, return_index=True)[1]
    scale = np.empty(len(labels))
    for k, row_index in enumerate(firsts):
        uid = str(cv[ID].iloc[row_index])
        cutoff = cv["cutoff"].to_numpy()[row_index]
        mine = (series == uid) & (days <= cutoff)
        scale[k] = seasonal_scale(values[mine], season_length)
    return codes, scale


def evaluate(
    cv: pd.DataFrame,
    history: pd.DataFrame,
    models: Sequence[str],
    *,
    level: int | None = None,
    interval_mask: npt.ArrayLike | None = None,
    season_length: int = 7,
) -> pd.DataFrame:
    """Metrics of every model over a cross-validation frame.

    Parameters
    ----------
    cv
        ``unique_id, ds, cutoff, y`` and the model columns.
    history
        The full history ``unique_id, ds, y``; each series' MASE scale uses
        only its rows up to the window's cutoff.
    models
        Model aliases to score.
    level
        Interval level whose coverage to report.
    interval_mask
        Rows of ``cv`` counted in the coverage (e.g. open days); all if None.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``wape, bias, mase`` and ``coverage_<level>``.
        MASE is the mean over series and windows.
    """
    y = cv[Y].to_numpy(dtype=np.float64)
    codes, scale = _window_scales(cv, history, season_length)
    rows = []
    for alias in models:
        yhat = cv[alias].to_numpy(dtype=np.float64)
        row: dict[str, float | str] = {
            "model": alias,
            "wape": wape(y, yhat),
            "bias": bias(y, yhat),
        }
        mae = np.bincount(codes, np.abs(y - yhat)) / np.bincount(codes)
        row["mase"] = float(np.mean(mae / scale))
        if level is not None:
            row[f"coverage_{level}"] = coverage(
                y,
                cv[f"{alias}-lo-{level}"],
                cv[f"{alias}-hi-{level}"],
                interval_mask,
            )
        rows.append(row)
    return pd.DataFrame(rows)
