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
from forecasting.models import GlobalGBM, LogLinear, Model, SeasonalNaive

__all__ = [
    "ANCHORS",
    "ANCHOR_SECONDS",
    "CALIBRATION",
    "CUTOFFS",
    "EXOG",
    "HORIZON",
    "LEVEL",
    "TARGETS",
    "BacktestResult",
    "TargetResult",
    "benchmark_models",
    "default_data_dir",
    "load_rossmann",
    "run_backtest",
    "run_target",
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


#: Conformal calibration of the backtest: 8 windows of 28 days (224 days)
#: before each cutoff, forecast by one fit at the earliest window's cutoff.
CALIBRATION = ConformalIntervals(h=HORIZON, n_windows=8, refit=False)


def benchmark_models(seed: int = 0) -> tuple[list[Model], Model]:
    """The backtest line-up: seasonal naive and the global GBM, both conformal."""
    conformal = CALIBRATION
    models: list[Model] = [
        SeasonalNaive(7, prediction_intervals=conformal),
        GlobalGBM(horizon=HORIZON, seed=seed, prediction_intervals=conformal),
    ]
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
    cv = forecaster.cross_validation(frame, horizon, cutoffs=cutoffs, level=[level])
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
    return TargetResult(
        target=target,
        stores=int(frame[ID].nunique()),
        metrics=metrics,
        per_window=per_window,
        coverage_by_window=coverage_by_window,
        december_wape=dec_wape,
        seconds=seconds,
        cv=cv,
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
