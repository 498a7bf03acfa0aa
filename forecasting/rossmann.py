"""The Rossmann backtest: ``milepost bench forecast``.

The benchmark file (``../shared/datasets/rossmann_100stores``: daily sales
and customers of 100 Rossmann stores, 2013-01-01..2015-07-31) is a
benchmark fixture only: it is read from outside the repository and never
shipped. The protocol is fixed so that results compare with the anchors in
:data:`ANCHORS`:

* the 84 stores with all 942 days;
* cutoffs (last training day) 2014-11-30, 2015-05-08, 2015-06-05 and
  2015-07-03, each followed by a 28-day horizon (the first is the December
  window);
* closed days (``Open = 0``) are known ahead and forecast as 0;
* metrics over open and closed days together: WAPE ``sum |e| / sum y``,
  bias ``sum e / sum y``, MASE against the in-sample seasonal naive (7),
  and the share of actuals inside the 80 % interval on open days;
* targets ``Sales`` and ``Customers``; the time is the total fit + predict
  time of all windows (calibration fits included).

Beside the pooled figures every model run is scored on the hard days
(:data:`SLICES`, :func:`slice_masks`) and per window: WAPE, 80 % coverage
(open days) and the share of open days above the model's P80 and P90. The
intervals are conformal and symmetric on the log scale, so the 80 %
interval's upper end is the P90 and the P80 is the upper end of the 60 %
interval (:data:`P80_LEVEL`), both under the same symmetry.

Peers: the seasonal naive, a plain global LightGBM
(:class:`~forecasting.models.plain_gbm.PlainLightGBM`) and, where it
imports, Prophet (:class:`~forecasting.models.prophet_peer.ProphetPeer`) run
in the same backtest with the same conformal intervals; AutoARIMA (and
Prophet where it does not import) is quoted from :data:`ANCHORS`, with the
reason in :data:`QUOTED`.

Exogenous columns, all known ahead: ``closed``, ``promo``,
``school_holiday`` and one 0/1 column per state-holiday type
(``holiday_public``, ``holiday_easter``, ``holiday_christmas``). The stores'
``store.csv`` attributes are not used: the store id is a feature.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.conformal import ConformalIntervals
from forecasting.core import Forecaster
from forecasting.frame import DS, ID, Y
from forecasting.metrics import coverage, evaluate, wape
from forecasting.models import (
    GlobalGBM,
    LogLinear,
    Model,
    PlainLightGBM,
    SeasonalNaive,
)
from forecasting.models.prophet_peer import ProphetPeer, prophet_installed

__all__ = [
    "ANCHORS",
    "ANCHOR_SECONDS",
    "CALIBRATION",
    "CUTOFFS",
    "EXOG",
    "HORIZON",
    "LEVEL",
    "P80_LEVEL",
    "QUOTED",
    "SLICES",
    "TARGETS",
    "BacktestResult",
    "TargetResult",
    "benchmark_models",
    "default_data_dir",
    "load_rossmann",
    "run_backtest",
    "run_target",
    "slice_masks",
    "slice_metrics",
]

#: Last training day of each window; the first window is December 2014.
CUTOFFS: tuple[date, ...] = (
    date(2014, 11, 30),
    date(2015, 5, 8),
    date(2015, 6, 5),
    date(2015, 7, 3),
)
HORIZON = 28
LEVEL = 80
TARGETS: tuple[str, ...] = ("Customers", "Sales")
EXOG: tuple[str, ...] = (
    "closed",
    "promo",
    "school_holiday",
    "holiday_public",
    "holiday_easter",
    "holiday_christmas",
)

#: Results of other methods measured with the same protocol on this machine
#: (WAPE; 80 % coverage where known): Prophet with holidays and promotion
#: regressors, a LightGBM with conformal intervals, the seasonal naive.
ANCHORS: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "Customers": {
        "anchor: Prophet": {"wape": 0.094, "coverage_80": 0.76},
        "anchor: LightGBM": {"wape": 0.096, "coverage_80": 0.63},
        "anchor: seasonal naive": {"wape": 0.179},
    },
    "Sales": {
        "anchor: LightGBM": {"wape": 0.113, "coverage_80": 0.63},
        "anchor: Prophet": {"wape": 0.120, "coverage_80": 0.76},
        "anchor: seasonal naive": {"wape": 0.252},
    },
}
#: Whole-backtest seconds of the anchors (both targets, 4 windows).
ANCHOR_SECONDS: Mapping[str, float] = {
    "LightGBM": 11.0,
    "Prophet": 47.0,
    "AutoARIMA": 412.0,
}

#: Peers not re-run in the backtest, and why: their rows are quoted.
#: Why Prophet is not run here (None: it imports, and runs).
PROPHET_MISSING = prophet_installed()
QUOTED: Mapping[str, str] = {
    "Prophet": "quoted (earlier run; re-run here as Prophet)"
    if PROPHET_MISSING is None
    else f"quoted (not re-run here: Prophet does not import: {PROPHET_MISSING})",
    "AutoARIMA": (
        "quoted (not installable here: statsforecast 2.1.1 needs pandas<3, "
        "the project runs pandas 3)"
    ),
    "LightGBM": "quoted (earlier run; re-run here as LightGBM)",
    "seasonal naive": "quoted (earlier run; re-run here as SeasonalNaive)",
}

#: Central interval whose upper end is the P80 (the 80 % interval's is the P90).
P80_LEVEL = 60
#: Days after a closure block counted in ``after_closure``.
AFTER_CLOSURE_DAYS = 7
#: The hard-day slices: after closures and the days before Christmas / New Year.
SLICES: tuple[str, ...] = ("after_closure", "before_christmas", "before_new_year")
_DECEMBER = {"before_christmas": (15, 24), "before_new_year": (22, 31)}

_TRAIN = "train_stores_1_100.csv.gz"


def default_data_dir() -> Path:
    """``../shared/datasets/rossmann_100stores`` next to the repository."""
    return (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "datasets"
        / "rossmann_100stores"
    )


def load_rossmann(
    data_dir: Path | None = None, *, full_history: bool = True
) -> pd.DataFrame:
    """The benchmark rows in long format.

    Returns
    -------
    pandas.DataFrame
        ``unique_id`` (store number as text), ``ds``, ``Sales``,
        ``Customers`` and the :data:`EXOG` columns; with ``full_history``
        only the stores that have every day.

    Raises
    ------
    FileNotFoundError
        If the benchmark folder or its files are absent.
    """
    folder = data_dir or default_data_dir()
    train = folder / _TRAIN
    if not train.is_file():
        raise FileNotFoundError(
            f"{train} not found: pass --data-dir with the rossmann_100stores folder"
        )
    raw = pd.read_csv(train, dtype={"StateHoliday": str}, parse_dates=["Date"])
    if full_history:
        rows = raw.groupby("Store")["Date"].transform("size")
        raw = raw[rows == rows.max()]
    raw = raw.sort_values(["Store", "Date"]).reset_index(drop=True)
    holiday = raw["StateHoliday"].astype(str)
    df = pd.DataFrame(
        {
            ID: raw["Store"].astype(str),
            DS: raw["Date"].astype("datetime64[ns]"),
            "Sales": raw["Sales"].astype(np.float64),
            "Customers": raw["Customers"].astype(np.float64),
            "closed": (raw["Open"] == 0).astype(np.float64),
            "promo": raw["Promo"].astype(np.float64),
            "school_holiday": raw["SchoolHoliday"].astype(np.float64),
            "holiday_public": (holiday == "a").astype(np.float64),
            "holiday_easter": (holiday == "b").astype(np.float64),
            "holiday_christmas": (holiday == "c").astype(np.float64),
        }
    )
    return df


#: Conformal calibration of the backtest: 14 windows of 28 days (392 days)
#: before each cutoff, forecast by one fit at the earliest window's cutoff;
#: the last 4 (112 days) set the width, scaled per month by how much harder
#: that month was a year back for the weekly naive than the 112 days were
#: (``month_scale="naive"``, :class:`~forecasting.conformal.ConformalIntervals`).
#: Pooled windows alone cover December 0.58 and the summer 0.83-0.90.
CALIBRATION = ConformalIntervals(
    h=HORIZON,
    n_windows=14,
    refit=False,
    by_month=True,
    recent_windows=4,
    month_scale="naive",
)


def benchmark_models(seed: int = 0) -> tuple[list[Model], Model]:
    """The backtest line-up: seasonal naive, the global GBM, the plain
    LightGBM peer and Prophet where it imports, all with the same conformal
    intervals."""
    conformal = CALIBRATION
    models: list[Model] = [
        SeasonalNaive(7, prediction_intervals=conformal),
        GlobalGBM(horizon=HORIZON, seed=seed, prediction_intervals=conformal),
        PlainLightGBM(seed=seed, prediction_intervals=conformal),
    ]
    if PROPHET_MISSING is None:
        models.append(ProphetPeer(prediction_intervals=conformal))
    return models, LogLinear(prediction_intervals=conformal)


@dataclass(frozen=True)
class TargetResult:
    """Backtest metrics of one target."""

    target: str
    stores: int
    metrics: pd.DataFrame  # one row per model
    per_window: pd.DataFrame  # model x cutoff WAPE
    coverage_by_window: pd.DataFrame  # model x cutoff coverage of open days
    december_wape: dict[str, float]
    seconds: float
    cv: pd.DataFrame
    slices: pd.DataFrame  # model x slice: days, wape, coverage, share above

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON."""
        models: dict[str, Any] = {}
        for row in self.metrics.to_dict(orient="records"):
            alias = str(row.pop("model"))
            row["wape_december"] = self.december_wape[alias]
            row["coverage_by_cutoff"] = {
                str(k): float(v)
                for k, v in self.coverage_by_window.loc[alias].to_dict().items()
            }
            row["wape_by_cutoff"] = {
                str(k): float(v)
                for k, v in self.per_window.loc[alias].to_dict().items()
            }
            mine = self.slices[self.slices["model"] == alias]
            figures = {
                str(r.pop("slice")): {k: v for k, v in r.items() if k != "model"}
                for r in mine.to_dict(orient="records")
            }
            row["slices"] = {
                name: figures[name] for name in ("pooled", *SLICES) if name in figures
            }
            row["windows"] = {
                name: value
                for name, value in figures.items()
                if name not in row["slices"]
            }
            models[alias] = row
        return {
            "target": self.target,
            "stores": self.stores,
            "seconds": self.seconds,
            "models": models,
        }


@dataclass(frozen=True)
class BacktestResult:
    """Every target's result plus the run's context."""

    targets: dict[str, TargetResult]
    seconds: float
    machine: str
    when: str

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON."""
        return {
            "protocol": {
                "stores": "every store with full history (84 in the benchmark file)",
                "cutoffs": [c.isoformat() for c in CUTOFFS],
                "horizon": HORIZON,
                "level": LEVEL,
            },
            "machine": self.machine,
            "when": self.when,
            "seconds": self.seconds,
            "targets": {k: v.as_dict() for k, v in self.targets.items()},
            "anchors": {
                k: {m: dict(v) for m, v in a.items()} for k, a in ANCHORS.items()
            },
            "peers": {
                "run": sorted(
                    {m for t in self.targets.values() for m in t.metrics["model"]}
                ),
                "quoted": dict(QUOTED),
            },
            "slices": {
                "pooled": "every day of every window",
                "after_closure": (
                    f"the {AFTER_CLOSURE_DAYS} days after each block of closed days "
                    "holding a day the store usually opens (the weekly closed day "
                    "alone does not count)"
                ),
                "before_christmas": "Dec 15-24",
                "before_new_year": "Dec 22-31 (the windows reach Dec 28)",
                "windows": "by cutoff",
                "above_p80": (
                    f"share of open days above the upper end of the {P80_LEVEL} % "
                    "interval (the P80; nominal 0.20)"
                ),
                "above_p90": (
                    f"share of open days above the upper end of the {LEVEL} % "
                    "interval (the P90; nominal 0.10)"
                ),
            },
        }


def _by_window(
    cv: pd.DataFrame,
    aliases: Sequence[str],
    level: int,
    open_days: npt.NDArray[np.bool_],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """WAPE and interval coverage (open days) per model and window."""
    label = cv["cutoff"].dt.strftime("%Y-%m-%d")
    per_window = pd.DataFrame(
        {
            alias: {str(day): wape(g[Y], g[alias]) for day, g in cv.groupby(label)}
            for alias in aliases
        }
    ).T
    coverage_by_window = pd.DataFrame(
        {
            alias: {
                str(day): coverage(
                    g[Y],
                    g[f"{alias}-lo-{level}"],
                    g[f"{alias}-hi-{level}"],
                    open_days[g.index],
                )
                for day, g in cv.groupby(label)
            }
            for alias in aliases
        }
    ).T
    return per_window, coverage_by_window


def after_closure(
    data: pd.DataFrame, days: int = AFTER_CLOSURE_DAYS
) -> npt.NDArray[np.bool_]:
    """Rows of ``data`` (``unique_id, ds, closed``) in the days after a closure.

    A closure is a block of consecutive closed days of one store holding at
    least one day on a weekday the store usually opens (open on more than
    half of those weekdays): most stores close every Sunday, and counting
    that alone would make every day "after a closure". The ``days`` days
    after each such block's last day are marked.
    """
    marked = np.zeros(len(data), dtype=bool)
    ds = data[DS].to_numpy().astype("datetime64[D]")
    closed_all = data["closed"].to_numpy() > 0.5
    for group in data.groupby(ID, sort=False).indices.values():
        rows = np.asarray(group, dtype=np.intp)
        rows = rows[np.argsort(ds[rows], kind="stable")]
        day = ds[rows]
        closed = closed_all[rows]
        weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        share = np.bincount(weekday, closed, minlength=7) / np.maximum(
            np.bincount(weekday, minlength=7), 1
        )
        unusual = closed & (share[weekday] <= 0.5)
        starts = closed & ~np.r_[False, closed[:-1]]
        block = np.cumsum(starts) * closed  # 0 on open days
        hard = np.bincount(block, unusual.astype(np.float64)) > 0
        hard[0] = False
        ends = closed & ~np.r_[closed[1:], False] & hard[block]
        for end in day[ends]:
            gap = (day - end).astype(np.int64)
            marked[rows[(gap >= 1) & (gap <= days)]] = True
    return marked


def slice_masks(
    cv: pd.DataFrame, data: pd.DataFrame
) -> dict[str, npt.NDArray[np.bool_]]:
    """Rows of ``cv`` in each slice: pooled, :data:`SLICES` and each window.

    ``data`` holds every day of the stores (``unique_id, ds, closed``), so a
    closure just before a window's cutoff still marks the window's first days.
    """
    masks = {"pooled": np.ones(len(cv), dtype=bool)}
    marks = data[[ID, DS]].assign(_after=after_closure(data))
    keys = cv[[ID, DS]].merge(marks, on=[ID, DS], how="left")
    masks["after_closure"] = keys["_after"].fillna(False).to_numpy(dtype=bool)
    month = cv[DS].dt.month.to_numpy()
    day = cv[DS].dt.day.to_numpy()
    for name, (first, last) in _DECEMBER.items():
        masks[name] = (month == 12) & (day >= first) & (day <= last)
    label = cv["cutoff"].dt.strftime("%Y-%m-%d").to_numpy()
    for cutoff in sorted(set(label)):
        masks[str(cutoff)] = label == cutoff
    return masks


def slice_metrics(
    cv: pd.DataFrame,
    aliases: Sequence[str],
    masks: Mapping[str, npt.NDArray[np.bool_]],
    open_days: npt.NDArray[np.bool_],
    level: int = LEVEL,
    p80_level: int = P80_LEVEL,
) -> pd.DataFrame:
    """WAPE, coverage and share above the P80 / P90 per model and slice.

    WAPE is over every day of the slice (closed days included, as the pooled
    figure); coverage and the shares above are over its open days. A slice
    without days (or without sales) gets NaN, not an error.
    """
    y = cv[Y].to_numpy(dtype=np.float64)
    rows = []
    for alias in aliases:
        yhat = cv[alias].to_numpy(dtype=np.float64)
        lo = cv[f"{alias}-lo-{level}"].to_numpy(dtype=np.float64)
        hi = cv[f"{alias}-hi-{level}"].to_numpy(dtype=np.float64)
        p80 = cv[f"{alias}-hi-{p80_level}"].to_numpy(dtype=np.float64)
        for name, mask in masks.items():
            chosen = mask & open_days
            has_days = bool(chosen.any())
            rows.append(
                {
                    "model": alias,
                    "slice": name,
                    "days": int(mask.sum()),
                    "open_days": int(chosen.sum()),
                    "wape": wape(y[mask], yhat[mask])
                    if y[mask].sum() > 0
                    else float("nan"),
                    f"coverage_{level}": coverage(y, lo, hi, chosen)
                    if has_days
                    else float("nan"),
                    "above_p80": float(np.mean(y[chosen] > p80[chosen]))
                    if has_days
                    else float("nan"),
                    "above_p90": float(np.mean(y[chosen] > hi[chosen]))
                    if has_days
                    else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def run_target(
    data: pd.DataFrame,
    target: str,
    *,
    models: Sequence[Model] | None = None,
    fallback: Model | None = None,
    cutoffs: Sequence[date] = CUTOFFS,
    horizon: int = HORIZON,
    level: int = LEVEL,
) -> TargetResult:
    """Cross-validate the models on one target with the benchmark protocol."""
    if target not in data.columns:
        raise ValueError(f"unknown target {target!r}: choose from {', '.join(TARGETS)}")
    if models is None:
        models, fallback = benchmark_models()
    frame = data[[ID, DS, target, *EXOG]].rename(columns={target: Y})
    forecaster = Forecaster(models, fallback_model=fallback, closed_col="closed")
    t0 = time.perf_counter()
    # The P80 level rides along: the intervals of one level do not depend on
    # the others, so the pooled figures stay those of ``level`` alone.
    cv = forecaster.cross_validation(
        frame, horizon, cutoffs=cutoffs, level=[P80_LEVEL, level]
    )
    seconds = time.perf_counter() - t0
    keys = cv[[ID, DS]].merge(frame[[ID, DS, "closed"]], on=[ID, DS], how="left")
    open_days = keys["closed"].to_numpy() < 0.5
    aliases = [m.alias for m in models]
    metrics = evaluate(
        cv, frame[[ID, DS, Y]], aliases, level=level, interval_mask=open_days
    )
    per_window, coverage_by_window = _by_window(cv, aliases, level, open_days)
    december = cv["ds"].dt.month == 12
    dec_wape = {
        alias: wape(cv.loc[december, Y], cv.loc[december, alias])
        if december.any()
        else float("nan")
        for alias in aliases
    }
    masks = slice_masks(cv, frame)
    slices = slice_metrics(cv, aliases, masks, open_days, level)
    return TargetResult(
        target=target,
        stores=int(frame[ID].nunique()),
        metrics=metrics,
        per_window=per_window,
        coverage_by_window=coverage_by_window,
        december_wape=dec_wape,
        seconds=seconds,
        cv=cv,
        slices=slices,
    )


def run_backtest(
    data_dir: Path | None = None,
    targets: Sequence[str] = TARGETS,
    *,
    seed: int = 0,
) -> BacktestResult:
    """The full benchmark: every target, every cutoff.

    The December WAPE is over the days of December inside the windows (the
    first window, 2014-12-01..2014-12-28).
    """
    data = load_rossmann(data_dir)
    results = {}
    t0 = time.perf_counter()
    for target in targets:
        models, fallback = benchmark_models(seed)
        results[target] = run_target(data, target, models=models, fallback=fallback)
    seconds = time.perf_counter() - t0
    machine = (
        f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    )
    when = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return BacktestResult(targets=results, seconds=seconds, machine=machine, when=when)


def _cores() -> int:
    import os

    return (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
