"""Sizing backtest: how often a fleet booked on a forecast quantile falls short.

A planner books each depot's vans for a day on a quantile of the forecast
(``milepost forecast --plan-quantile``: P80 by default). This module replays
that over the last year of a depot delivery history and counts, for each
quantile, the open depot-days the booked fleet would have been short (orders
left over) against the van-days it stood idle, so the planner can pick the
quantile whose trade suits them.

Forecasts
---------
Rolling origins: :meth:`forecasting.Forecaster.cross_validation` with one
cutoff every ``step`` days (28) and a ``step``-day horizon, the windows
covering the last ``span // step * step`` days of the history (364 of the
default 365); an origin inside a closure moves back to the day before it,
as a planner books the day after a closure before it starts. Each cutoff
refits the models on the rows up to it (the same models and backlog carry as
:mod:`scenarios.forecast_report`: the first open day after a closure carries
the block's backlog), so every forecast sees only the history before its
window. The actuals are the history itself.

Vans from orders: a measured orders-per-van rate per depot
-------------------------------------------------------------
Booked vans for a day are the vans for its quantile forecast, needed vans the
vans for its actual deliveries, through the same mapping
(:class:`VanRates`): ``ceil(orders / rate)``, and a booked fleet of ``v``
vans serves ``floor(v * rate)`` orders. The rate of a depot is measured once
with the routing engine (:func:`measure_rates`: :func:`~scenarios.capacity.
plan_depot_ladder` at the depot's median and 90th-percentile open day of the
history before the backtest, day and night vans pooled), not read off the
full ladder of :mod:`scenarios.capacity` for every day: the ladder of one
depot over the demands a year of forecasts spans (up to 4x a usual day on
catch-up days) took 156 s per depot with 1 s per solve here, and above about
300 orders the 1 s search fell back to insertion plans, whose van counts
jump (16 + 6 vans for 700 orders against 6 + 1 for 274): the backtest would
measure the fallback, not the quantile. A rate measured on ordinary days is
the same yardstick for booked and needed vans, so the comparison stays fair.

Catch-up days
-------------
The first open day after a block of closed days (the closure column) is a
catch-up day: it delivers the block's backlog, and is where a fleet is most
often short. The summary reports them apart from ordinary days.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from forecasting.core import MODEL_SUFFIX, Forecaster
from forecasting.exog import CLOSURE_COLUMN
from forecasting.rossmann import slice_masks, slice_metrics
from scenarios.capacity import CapacityParams, Source, plan_depot_ladder
from scenarios.forecast_report import MAIN, _forecaster, plan_column

#: The orders a window's closures carry: given the history before it, its
#: first day and its length (None: no closure in reach).
OrdersAt = Callable[[pd.DataFrame, date, int], "pd.DataFrame | None"]

__all__ = [
    "DAY_COLUMNS",
    "HARD_QUANTILES",
    "QUANTILES",
    "SUMMARY_COLUMNS",
    "VanRates",
    "backtest_forecasts",
    "catch_up_days",
    "check_quantiles",
    "measure_rates",
    "score_sizing",
    "summarise",
]

#: The quantiles a planner usually chooses from.
QUANTILES = (50, 80, 90)
#: Quantiles :func:`hard_days` reads: the 80 % interval (P10..P90), the P80
#: and the point forecast.
HARD_QUANTILES = (10, 50, 80, 90)
#: Days of history the backtest covers by default.
SPAN = 365
#: Days between forecast origins, and the horizon of each.
STEP = 28
#: Days of history before the first window: two calibration windows of
#: :data:`STEP` days and the fallback model's 14 days (the global model
#: needs a year; before that the fallback forecasts, and says so).
MIN_TRAINING = 2 * STEP + 14


def check_quantiles(quantiles: Sequence[int]) -> tuple[int, ...]:
    """Distinct quantiles within 1..99, sorted; ValueError naming the bad one."""
    out = sorted({int(q) for q in quantiles})
    if not out:
        raise ValueError("give at least one quantile")
    for q in out:
        if not 1 <= q <= 99:
            raise ValueError(f"quantile must be within 1..99, got {q}")
    return tuple(out)


@dataclass(frozen=True)
class VanRates:
    """Orders one van delivers in a day, per depot: the orders -> vans mapping.

    The same mapping books the fleet on a forecast and measures the fleet the
    actual deliveries needed.
    """

    per_van: Mapping[str, float]

    def __post_init__(self) -> None:
        for depot, rate in self.per_van.items():
            if not rate > 0:
                raise ValueError(f"depot {depot}: orders per van must be > 0")

    def _rate(self, depot: str) -> float:
        if depot not in self.per_van:
            raise ValueError(f"depot {depot!r} has no orders-per-van rate")
        return float(self.per_van[depot])

    def vans(self, depot: str, orders: float) -> int:
        """Vans for ``orders`` (0 for no orders)."""
        if orders <= 0:
            return 0
        # The tolerance keeps a forecast of exactly n vans' orders at n vans.
        return math.ceil(orders / self._rate(depot) - 1e-9)

    def capacity(self, depot: str, vans: int) -> int:
        """Orders ``vans`` vans deliver."""
        return math.floor(vans * self._rate(depot) + 1e-9)


def catch_up_days(history: pd.DataFrame, closed_col: str = CLOSURE_COLUMN) -> pd.Series:
    """Per row of ``history``: the first open day after closed days of its series.

    ``history`` needs ``unique_id``, ``ds`` and ``closed_col`` (0/1); a day
    is a catch-up day when it is open and the day before, in its series,
    is closed.
    """
    frame = history[["unique_id", "ds", closed_col]].sort_values(["unique_id", "ds"])
    closed = frame[closed_col].to_numpy(dtype=np.float64) > 0
    before = frame.groupby("unique_id", sort=False)[closed_col].shift(1)
    previous_day = frame.groupby("unique_id", sort=False)["ds"].shift(1)
    consecutive = (frame["ds"] - previous_day) == pd.Timedelta(days=1)
    flag = ~closed & (before.fillna(0).to_numpy() > 0) & consecutive.to_numpy()
    return pd.Series(flag, index=frame.index).reindex(history.index)


def _cutoffs(history: pd.DataFrame, span: int, step: int) -> list[pd.Timestamp]:
    """The forecast origins, one every ``step`` days from ``span`` days before
    the last day, each moved back to the last day before a closure it falls in.

    A planner books the day after a closure before the closure starts: a
    forecast from inside the block would not see the block (only blocks
    inside the horizon are carried) and would miss the backlog. A moved
    origin's window overlaps the one before; :func:`backtest_forecasts`
    keeps each day's forecast from its latest origin.
    """
    if step < 1 or span < step:
        raise ValueError(f"span ({span}) must be at least step ({step}) >= 1 days")
    last = pd.Timestamp(history["ds"].max())
    closed = set(history.loc[history[CLOSURE_COLUMN] > 0, "ds"])
    first = pd.Timestamp(history["ds"].min())
    days = (last - first).days + 1
    if span > days - MIN_TRAINING:
        raise ValueError(
            f"span of {span} days leaves too little history to learn from: the "
            f"history has {days} days and the forecasts need {MIN_TRAINING} "
            "before the first window"
        )
    day = pd.Timedelta(days=1)
    out: list[pd.Timestamp] = []
    nominal = last - step * (span // step) * day
    while nominal < last:
        cutoff = nominal
        while cutoff in closed and cutoff > first:
            cutoff -= day
        out.append(cutoff)
        nominal = cutoff + step * day
    return out


def backtest_forecasts(
    history: pd.DataFrame,
    quantiles: Sequence[int] = QUANTILES,
    *,
    span: int = SPAN,
    step: int = STEP,
    seed: int = 0,
    alias: str = MAIN,
    orders_at: OrdersAt | None = None,
) -> pd.DataFrame:
    """Each quantile's forecast of every depot-day of the span, from rolling origins.

    Parameters
    ----------
    history
        ``unique_id`` (depot), ``ds``, ``y`` (deliveries) and exogenous
        columns including :data:`~forecasting.exog.CLOSURE_COLUMN`
        (:func:`scenarios.forecast_report.depot_history`).
    quantiles
        Forecast quantiles (50 is the point forecast; 80 the top of the 60 %
        interval, :func:`scenarios.forecast_report.plan_column`).
    span, step
        The backtest covers the last ``span // step`` windows of ``step``
        days; a cutoff every ``step`` days, each forecasting ``step`` days.
    seed
        Model seed.
    alias
        The model whose quantiles are read: the global model (what
        ``milepost forecast`` sizes on), or ``SeasonalNaive``, the baseline
        fitted alongside it.
    orders_at
        The orders a window's closures carry, given the history before it,
        its first day and its length (e.g. the city's:
        :func:`scenarios.forecast_report.city_carried`): a window with a
        closed day is forecast again with them, as ``milepost forecast``
        does (without: the first open day's own forecast times the share).

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, cutoff, y, closed, catch_up``, ``model`` (the
        model that forecast the row: the global model, or the fallback for
        an origin with less than its year of history) and a ``P<q>`` column
        per quantile.

    Raises
    ------
    ValueError
        When the history is too short for the span, or a quantile is out of
        range.
    """
    quantiles = check_quantiles(quantiles)
    if CLOSURE_COLUMN not in history.columns:
        raise ValueError(f"history: no {CLOSURE_COLUMN!r} column (closed days)")
    cutoffs = _cutoffs(history, span, step)
    before = history[history["ds"] <= cutoffs[0]]["ds"].nunique()
    columns = {q: plan_column(q, alias) for q in quantiles}
    levels = sorted({lv for _, lv in columns.values() if lv is not None})
    last = pd.Timestamp(history["ds"].max())
    # The last window may be shorter (it ends on the last day): one
    # cross-validation per horizon.
    horizons: dict[int, list[pd.Timestamp]] = {}
    for cutoff in cutoffs:
        horizons.setdefault(min(step, (last - cutoff).days), []).append(cutoff)
    forecaster = _forecaster(step, seed, CLOSURE_COLUMN, before)
    cv = pd.concat(
        [
            forecaster.cross_validation(history, h, cutoffs=points, level=levels)
            for h, points in horizons.items()
        ],
        ignore_index=True,
    )
    if orders_at is not None:
        cv = _with_orders(cv, history, horizons, orders_at, forecaster, levels)
    # Overlapping windows (an origin moved before a closure): the latest
    # origin's forecast of each day.
    cv = cv.sort_values(["cutoff", "unique_id", "ds"]).drop_duplicates(
        ["unique_id", "ds"], keep="last"
    )
    cv = cv.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    flags = history[["unique_id", "ds", CLOSURE_COLUMN]].assign(
        catch_up=catch_up_days(history)
    )
    out = cv[["unique_id", "ds", "cutoff", "y"]].merge(
        flags, on=["unique_id", "ds"], how="left"
    )
    out = out.rename(columns={CLOSURE_COLUMN: "closed"})
    # Which model forecast each row: the fallback's rows are named, not hidden.
    out["model"] = cv[f"{alias}{MODEL_SUFFIX}"].to_numpy()
    out["closed"] = out["closed"].fillna(0) > 0
    out["catch_up"] = out["catch_up"].fillna(False).astype(bool)
    for q, (column, _) in columns.items():
        out[f"P{q}"] = cv[column].to_numpy(dtype=np.float64)
    return out


def _with_orders(
    cv: pd.DataFrame,
    history: pd.DataFrame,
    horizons: Mapping[int, list[pd.Timestamp]],
    orders_at: OrdersAt,
    forecaster: Forecaster,
    levels: Sequence[int],
) -> pd.DataFrame:
    """``cv`` with each window holding a closed day forecast again, its first
    open day carrying the orders ``orders_at`` gives (the same refit at the
    window's cutoff)."""
    closed = history.loc[history[CLOSURE_COLUMN] > 0.5, "ds"]
    redone = []
    for h, points in horizons.items():
        for cutoff in points:
            end = cutoff + pd.Timedelta(days=h)
            if not ((closed >= cutoff) & (closed <= end)).any():
                continue
            past = history[history["ds"] <= cutoff].reset_index(drop=True)
            inside = (history["ds"] > cutoff) & (history["ds"] <= end)
            window = history[inside].reset_index(drop=True)
            orders = orders_at(past, (cutoff + pd.Timedelta(days=1)).date(), h)
            if orders is None:
                continue
            out = forecaster.forecast(
                past, h, window.drop(columns="y"), level=levels, orders=orders
            )
            out.insert(2, "cutoff", cutoff)
            out.insert(
                3,
                "y",
                window.set_index(["unique_id", "ds"])["y"]
                .reindex(pd.MultiIndex.from_frame(out[["unique_id", "ds"]]))
                .to_numpy(),
            )
            redone.append(out)
            cv = cv[cv["cutoff"] != cutoff]
    if not redone:
        return cv
    return pd.concat([cv, *redone], ignore_index=True)


#: The columns of :func:`score_sizing`'s frame.
DAY_COLUMNS = (
    "quantile",
    "depot",
    "ds",
    "catch_up",
    "actual",
    "forecast",
    "booked",
    "needed",
    "short",
    "left_over",
    "idle",
)


def score_sizing(
    forecasts: pd.DataFrame, rates: VanRates, quantiles: Sequence[int] = QUANTILES
) -> pd.DataFrame:
    """Booked against needed vans on every open depot-day, per quantile.

    Parameters
    ----------
    forecasts
        ``unique_id, ds, y, closed, catch_up`` and ``P<q>`` per quantile
        (:func:`backtest_forecasts`). Closed days are left out: nothing is
        booked and nothing delivered.
    rates
        The orders -> vans mapping, the same for booked and needed vans.
    quantiles
        The quantiles to score; a higher quantile's forecast below a lower
        one's on any day is an error (its fleet would not be comparable).

    Returns
    -------
    pandas.DataFrame
        One row per quantile and open depot-day (:data:`DAY_COLUMNS`):
        ``booked`` vans for the quantile's forecast, ``needed`` vans for the
        actual, ``short`` (booked < needed), ``left_over`` (actual minus
        what the booked fleet delivers, on short days; else 0) and ``idle``
        (booked - needed vans when more were booked; else 0).
    """
    quantiles = check_quantiles(quantiles)
    open_days = forecasts[~forecasts["closed"].astype(bool)]
    for low, high in itertools.pairwise(quantiles):
        below = open_days[f"P{high}"] < open_days[f"P{low}"] - 1e-9
        if below.any():
            day = open_days[below].iloc[0]
            raise ValueError(
                f"{day['unique_id']} on {pd.Timestamp(day['ds']).date()}: the "
                f"P{high} forecast is below the P{low} one"
            )
    rows = []
    depots = open_days["unique_id"].astype(str).to_numpy()
    actuals = open_days["y"].to_numpy(dtype=np.float64)
    if np.isnan(actuals).any():
        raise ValueError("forecasts: an open day has no actual deliveries (y)")
    needed = [rates.vans(d, a) for d, a in zip(depots, actuals, strict=True)]
    for q in quantiles:
        values = open_days[f"P{q}"].to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError(f"forecasts: an open day has no P{q} forecast")
        for depot, ds, catch, actual, value, need in zip(
            depots,
            open_days["ds"],
            open_days["catch_up"].astype(bool),
            actuals,
            values,
            needed,
            strict=True,
        ):
            booked = rates.vans(depot, value)
            short = booked < need
            left = actual - rates.capacity(depot, booked) if short else 0.0
            rows.append(
                (q, depot, ds, bool(catch), actual, value, booked, need, short,
                 float(left), max(booked - need, 0))
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(DAY_COLUMNS))


#: The columns of :func:`summarise`'s frame.
SUMMARY_COLUMNS = (
    "scope",
    "quantile",
    "depot_days",
    "short_days",
    "short_share",
    "left_over",
    "idle_van_days",
    "booked_vans",
    "needed_vans",
)


def summarise(days: pd.DataFrame) -> pd.DataFrame:
    """Per quantile: every open depot-day, ordinary and catch-up days, each depot.

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`; ``scope`` is ``all``, ``ordinary``,
        ``catch-up`` or a depot id; ``booked_vans`` and ``needed_vans`` are
        means per depot-day, ``left_over`` and ``idle_van_days`` sums.
    """
    catch_up = days["catch_up"].astype(bool)
    scopes = [
        ("all", pd.Series(True, index=days.index)),
        ("ordinary", ~catch_up),
        ("catch-up", catch_up),
    ]
    for depot in sorted(days["depot"].astype(str).unique().tolist()):
        scopes.append((depot, days["depot"] == depot))
    rows = []
    for name, pick in scopes:
        part = days[pick]
        for q, group in part.groupby("quantile", sort=True):
            n = len(group)
            short = int(group["short"].sum())
            rows.append(
                (
                    name,
                    int(str(q)),
                    n,
                    short,
                    short / n if n else float("nan"),
                    float(group["left_over"].sum()),
                    int(group["idle"].sum()),
                    float(group["booked"].mean()),
                    float(group["needed"].mean()),
                )
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def measure_rates(
    city: Source,
    history: pd.DataFrame,
    *,
    before: date,
    time_limit: float = 1.0,
    seed: int = 0,
    on_depot: Callable[[str, float], None] = lambda _depot, _rate: None,
) -> VanRates:
    """Orders per van of each depot, measured once with the routing engine.

    The levels are the depot's median and 90th-percentile open day of the
    history before ``before`` (observed deliveries only); each is planned
    by :func:`scenarios.capacity.plan_depot_ladder` (orders drawn from the
    city's customers or the stored stops, every order served) and the rate
    is their orders over their vans, day and night vans pooled.

    Parameters
    ----------
    city
        A :class:`~scenarios.city.City` or :class:`~scenarios.capacity.OrderSite`.
    history
        ``unique_id, ds, y`` and the closure column.
    before
        First day of the backtest: the levels come from the days before it.
    time_limit
        Seconds of route search per solve.
    seed
        Order draw and solver seed.
    on_depot
        Progress callback ``(depot, orders per van)``.

    Raises
    ------
    ValueError
        When a depot has no open day with deliveries before ``before``.
    scenarios.capacity.LevelUnplanned
        When a level gets no plan (never read as "no vans").
    """
    params = CapacityParams(time_limit=time_limit, seed=seed)
    past = history[history["ds"] < pd.Timestamp(before)]
    open_past = past[(past[CLOSURE_COLUMN] <= 0) & (past["y"] > 0)]
    rates: dict[str, float] = {}
    for depot in sorted(history["unique_id"].astype(str).unique().tolist()):
        values = open_past.loc[open_past["unique_id"] == depot, "y"]
        if values.empty:
            raise ValueError(
                f"depot {depot}: no open day with deliveries before {before}"
            )
        levels = sorted({math.ceil(float(values.quantile(p))) for p in (0.5, 0.9)})
        ladder = plan_depot_ladder(city, depot, levels, day=before, params=params)
        vans = sum(p.vans + p.night_vans for p in ladder.plans)
        rates[depot] = sum(p.orders for p in ladder.plans) / vans
        on_depot(depot, rates[depot])
    return VanRates(rates)


def hard_days(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The forecasts' accuracy on the hard days, per depot and for all.

    ``forecasts``: :func:`backtest_forecasts` with :data:`HARD_QUANTILES`.
    The slices and figures of the Rossmann benchmark
    (:func:`forecasting.rossmann.slice_metrics`): ``pooled``, each window
    (by cutoff), ``after_closure`` (the 7 days after a block of closed
    days), ``before_christmas`` (Dec 15-24) and ``before_new_year`` (Dec
    22-31); WAPE of the point forecast over every day, and over open days
    the 80 % coverage (P10..P90) and the shares above the P80 and the P90.

    Returns
    -------
    pandas.DataFrame
        ``depot`` (a depot or ``all``), ``slice``, ``days``, ``open_days``,
        ``wape``, ``coverage_80``, ``above_p80``, ``above_p90``.
    """
    missing = [f"P{q}" for q in HARD_QUANTILES if f"P{q}" not in forecasts]
    if missing:
        raise ValueError(f"forecasts: no {', '.join(missing)} column")
    name = "forecast"
    cv = forecasts.rename(
        columns={
            "P50": name,
            "P10": f"{name}-lo-80",
            "P90": f"{name}-hi-80",
            "P80": f"{name}-hi-60",
        }
    ).reset_index(drop=True)
    days = cv[["unique_id", "ds"]].assign(closed=cv["closed"].astype(float))
    parts = []
    for depot, rows in [("all", cv), *cv.groupby("unique_id", sort=True)]:
        rows = rows.reset_index(drop=True)
        mine = days[days["unique_id"].isin(rows["unique_id"].unique())]
        masks = slice_masks(rows, mine)
        figures = slice_metrics(
            rows, [name], masks, ~rows["closed"].to_numpy(dtype=bool), 80, 60
        )
        parts.append(figures.drop(columns="model").assign(depot=str(depot)))
    out = pd.concat(parts, ignore_index=True)
    return out[["depot", *[c for c in out.columns if c != "depot"]]]
