"""``milepost forecast``: the next weeks of orders per zone, and the fleet they need.

On the embedded city (:func:`~scenarios.city.build_city`):

1. **Zones.** Orders per district and day (``daily_counts(history,
   by="district")``) with the city's calendar and promotion plan as
   known-future columns are forecast ``days`` ahead with the global model
   (seasonal naive alongside for skill), with a ``level`` % interval.
2. **Depots.** Deliveries per depot and delivery day (closed days are 0) are
   forecast the same way; the ``plan_quantile`` of each depot-day is the
   demand the fleet is sized for (P80 by default: enough vans on four days
   out of five).
3. **Fleet.** :func:`~scenarios.capacity.plan_capacity` turns each depot-day
   demand into vans and driver-hours with the routing engine.

It writes ``forecast_zones.csv``, ``forecast_depots.csv``, ``fleet.csv`` and
``forecast.png`` (history, forecast and interval per zone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecasting import Fallback, Forecaster, RetailCalendar, default_models
from forecasting.exog import CLOSURE_COLUMN, SeriesCalendar, calendar_features
from scenarios.capacity import CapacityParams, plan_capacity
from scenarios.city import City, build_city, daily_counts

if TYPE_CHECKING:
    from scenarios.history import OwnCalendar

__all__ = [
    "ForecastReport",
    "city_exog",
    "depot_history",
    "plan_column",
    "run_forecast_report",
    "stored_exog",
    "write_csv",
    "zone_history",
]

MAIN = "GlobalGBM"
BASELINE = "SeasonalNaive"
#: Longest horizon of the report (``scenarios.run.MAX_HORIZON``).
MAX_DAYS = 90


def city_exog(city: City, start: date, end: date) -> pd.DataFrame:
    """Known-future columns of the city per day: holidays, closures, events, promotions.

    Returns
    -------
    pandas.DataFrame
        ``ds`` plus the city calendar's numeric ``cal_*`` columns
        (:func:`forecasting.exog.calendar_features`): ``cal_holiday``,
        ``cal_closure``, days to and after each event and holiday, and the
        ``cal_promo_*`` intensities.
    """
    features = calendar_features(start, end, city.calendar, city.promotions)
    out = features.astype({c: np.float64 for c in features.columns if c != "ds"})
    return out


def stored_exog(
    ids: Sequence[str], start: date, end: date, own: OwnCalendar | None = None
) -> pd.DataFrame:
    """Known-future columns of a stored operation per series and day.

    The public holidays of the operation's country (and the Korean retail
    events when it is Korea's, merged), with its own entries: closures,
    events and promotions, national or scoped to one series (a zone or a
    depot), each reaching only its series.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds`` and numeric ``cal_*`` columns.
    """
    own = own or OwnCalendar()
    calendar = RetailCalendar(
        range(start.year, end.year + 1),
        country=own.locale.country,
        subdivision=own.locale.subdivision,
        public_holidays=own.public_holidays,
        entries=own.entries,
    )
    return SeriesCalendar(calendar).features(ids, start, end)


def _with_exog(counts: pd.DataFrame, exog: pd.DataFrame) -> pd.DataFrame:
    return counts.merge(exog, on="ds", how="left").sort_values(["unique_id", "ds"])


def zone_history(city: City) -> pd.DataFrame:
    """Orders per district and order day, with the city's exogenous columns."""
    counts = daily_counts(city.history, by="district")
    return _with_exog(counts, city_exog(city, city.start, city.end))


def depot_history(city: City, *, warm_up: int = 7) -> pd.DataFrame:
    """Deliveries per depot and delivery day up to the history's end.

    Deliveries on closed days are 0; the first ``warm_up`` days are dropped
    (their deliveries include orders from before the history).
    """
    orders = city.history
    delivered = orders.assign(ds=orders["delivery_date"])
    delivered = delivered[delivered["ds"] <= pd.Timestamp(city.end)]
    counts = daily_counts(delivered, by="depot")
    counts = counts[counts["ds"] >= pd.Timestamp(city.start + timedelta(days=warm_up))]
    return _with_exog(counts, city_exog(city, city.start, city.end))


def depot_intake(city: City) -> pd.DataFrame:
    """Orders per depot by the day they were placed (closed days included),
    with the city's exogenous columns: what a closure's first open day
    delivers."""
    counts = daily_counts(city.history, by="depot")
    return _with_exog(counts, city_exog(city, city.start, city.end))


def zone_depot_shares(
    orders: pd.DataFrame, zone: str = "district", depot: str = "depot"
) -> pd.DataFrame:
    """``zone, depot, share``: the share of each zone's ``orders`` each
    depot delivered (one row per order, ``zone`` and ``depot`` columns)."""
    pairs = orders.groupby([orders[zone].astype(str), orders[depot].astype(str)]).size()
    frame = pairs.rename("n").reset_index()
    frame.columns = ["zone", "depot", "n"]
    frame["share"] = frame["n"] / frame.groupby("zone")["n"].transform("sum")
    return frame[["zone", "depot", "share"]]


def carried_orders(
    deliveries: pd.DataFrame,
    future: pd.DataFrame,
    intake: pd.DataFrame,
    zone_orders: pd.DataFrame,
    shares: pd.DataFrame,
) -> pd.DataFrame | None:
    """The orders a depot forecast's closure blocks carry (``unique_id, ds,
    y``), or None when no closed day is in reach (none in ``future``, nor at
    the history's end).

    ``deliveries`` and ``future``: the depot forecast's history and future
    frames (with :data:`CLOSURE_COLUMN`); ``intake``: orders per depot by
    the day placed, up to the history's end; ``zone_orders``: the zones'
    order forecast (``unique_id, ds, y``) for the days after, mapped to the
    depots by ``shares`` (:func:`zone_depot_shares`). The zones' forecast,
    not one of the depots' own intake: pooled over many zones, the models
    learn how much less people order on a holiday.
    """
    last = deliveries["ds"].max()
    closed_now = deliveries.loc[deliveries["ds"] == last, CLOSURE_COLUMN].gt(0.5)
    if not (future[CLOSURE_COLUMN].gt(0.5).any() or closed_now.any()):
        return None
    ids = deliveries["unique_id"].unique()
    seen = intake[intake["unique_id"].isin(ids) & (intake["ds"] <= last)]
    mapped = zone_orders[zone_orders["ds"] > last].merge(
        shares, left_on="unique_id", right_on="zone"
    )
    mapped["y"] = mapped["y"] * mapped["share"]
    ahead = mapped.groupby(["depot", "ds"], as_index=False)["y"].sum()
    ahead = ahead.rename(columns={"depot": "unique_id"})
    ahead = ahead[ahead["unique_id"].isin(ids)]
    keep = ["unique_id", "ds", "y"]
    both: pd.DataFrame = pd.concat([seen[keep], ahead[keep]], ignore_index=True)
    return both


def plan_column(plan_quantile: int, alias: str = MAIN) -> tuple[str, int | None]:
    """The output column holding a quantile, and the interval level it needs.

    The ``q`` quantile (``q > 50``) is the upper end of the ``2q - 100`` %
    central interval; ``q < 50`` the lower end of ``100 - 2q``; 50 is the
    point forecast.
    """
    if not 1 <= plan_quantile <= 99:
        raise ValueError(f"plan quantile must be within 1..99, got {plan_quantile}")
    if plan_quantile == 50:
        return alias, None
    if plan_quantile > 50:
        lv = 2 * plan_quantile - 100
        return f"{alias}-hi-{lv}", lv
    lv = 100 - 2 * plan_quantile
    return f"{alias}-lo-{lv}", lv


def _forecaster(
    days: int, seed: int, closed_col: str | None, history_days: int
) -> Forecaster:
    models, fallback = default_models(days, seed=seed, history_days=history_days)
    # Depot deliveries: the first open day after a closure delivers its backlog.
    return Forecaster(
        models,
        fallback_model=fallback,
        closed_col=closed_col,
        carry_backlog=closed_col is not None,
    )


def _cut(frame: pd.DataFrame, start: date) -> pd.DataFrame:
    """The rows before ``start``: what a forecast from ``start`` may learn from."""
    return frame[frame["ds"] < pd.Timestamp(start)].reset_index(drop=True)


def _future(city: City, ids: list[str], start: date, days: int) -> pd.DataFrame:
    exog = city_exog(city, start, start + timedelta(days=days - 1))
    keys = pd.DataFrame({"unique_id": np.repeat(ids, days)})
    keys["ds"] = np.tile(exog["ds"].to_numpy(), len(ids))
    return keys.merge(exog, on="ds", how="left")


@dataclass(frozen=True)
class ForecastReport:
    """What ``milepost forecast`` computed and wrote."""

    start: date
    days: int
    level: int
    plan_quantile: int
    zones: pd.DataFrame  # unique_id, ds, model columns
    depots: pd.DataFrame
    fleet: pd.DataFrame
    files: dict[str, Path]
    #: What was left out, and why (series too short, depots not sized).
    notes: tuple[str, ...] = ()
    #: Zones and depots a fallback model forecast, with the reason.
    fallbacks: tuple[Fallback, ...] = ()


def run_forecast_report(
    out_dir: Path,
    *,
    days: int = 28,
    level: int = 80,
    plan_quantile: int = 80,
    seed: int = 0,
    n_customers: int = 8_000,
    time_limit: float = 1.0,
    city: City | None = None,
    chart: bool = True,
    start: date | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
) -> ForecastReport:
    """Forecast the city's zones and depots, size the fleet, write the files.

    Parameters
    ----------
    out_dir
        Folder for the CSV files and the chart (created).
    days
        Horizon (1..90).
    level
        Interval level shown per zone.
    plan_quantile
        Demand quantile the fleet is sized for (80: P80).
    seed
        City, model and order-sampling seed.
    n_customers
        Customer slots of the city (ignored when ``city`` is given).
    time_limit
        Seconds of route search per fleet solve.
    city
        A ready city (default: ``build_city(seed, n_customers=...)``).
    chart
        Write ``forecast.png``.
    start
        First forecast day (default: the day after the city's history); the
        models learn from the days before it.
    on_stage
        Progress messages.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be within 1..{MAX_DAYS}, got {days}")
    column, levels = _columns(level, plan_quantile)
    if city is None:
        on_stage(f"building the embedded Seoul city ({n_customers:,} customer slots)")
        city = build_city(seed=seed, n_customers=n_customers)
    start = start or city.end + timedelta(days=1)
    out_dir.mkdir(parents=True, exist_ok=True)

    on_stage(f"forecasting orders per zone for {days} days from {start.isoformat()}")
    zones_df = _cut(zone_history(city), start)
    zones, fallbacks = _forecast(city, zones_df, start, days, seed, None, levels)

    on_stage("forecasting deliveries per depot")
    depots_df = _cut(depot_history(city), start)
    orders = city_orders(city, depots_df, start, days, zones)
    depots, more = _forecast(
        city, depots_df, start, days, seed, CLOSURE_COLUMN, levels, orders=orders
    )

    on_stage(
        f"sizing the fleet for the P{plan_quantile} demand with the routing engine"
    )
    demand = depots[["unique_id", "ds", column]].rename(columns={column: "orders"})
    fleet = plan_capacity(
        city,
        demand,
        params=CapacityParams(time_limit=time_limit, seed=seed),
        on_depot=lambda depot, n: on_stage(f"  {depot}: {n} demand levels"),
    )
    files = write_csv(out_dir, {"zones": zones, "depots": depots, "fleet": fleet})
    if chart:
        files["chart"] = out_dir / "forecast.png"
        write_chart(files["chart"], zones_df, zones, level)
    return ForecastReport(
        start=start,
        days=days,
        level=level,
        plan_quantile=plan_quantile,
        zones=zones,
        depots=depots,
        fleet=fleet,
        files=files,
        fallbacks=fallbacks + more,
    )


def _columns(level: int, plan_quantile: int) -> tuple[str, list[int]]:
    """The column the fleet is sized on, and the interval levels to forecast."""
    column, plan_level = plan_column(plan_quantile)
    return column, sorted({level} | ({plan_level} if plan_level else set()))


def _forecast(
    city: City,
    history: pd.DataFrame,
    start: date,
    days: int,
    seed: int,
    closure: str | None,
    levels: list[int],
    *,
    orders: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, tuple[Fallback, ...]]:
    """Forecast every series of ``history`` for ``days`` days from ``start``;
    depot deliveries whose closures carry ``orders`` (:func:`city_orders`).

    Also returns the series a fallback model forecast, with the reason.
    """
    ids = sorted(history["unique_id"].unique().tolist())
    n_days = history["ds"].nunique()
    future = _future(city, ids, start, days)
    forecaster = _forecaster(days, seed, closure, n_days)
    out = forecaster.forecast(history, days, future, level=levels, orders=orders)
    return out, forecaster.fallbacks_


def city_carried(
    city: City, deliveries: pd.DataFrame, start: date, days: int, seed: int = 0
) -> pd.DataFrame | None:
    """:func:`city_orders` with the zones forecast from ``start`` here (a
    backtest's window: only the orders before ``start`` are seen)."""
    zones, _ = _forecast(
        city, _cut(zone_history(city), start), start, days, seed, None, []
    )
    return city_orders(city, deliveries, start, days, zones)


def city_orders(
    city: City,
    deliveries: pd.DataFrame,
    start: date,
    days: int,
    zones: pd.DataFrame,
    alias: str = MAIN,
) -> pd.DataFrame | None:
    """The orders the city's depots take, for the closures of a depot
    forecast from ``start`` (:func:`carried_orders`): observed, then the
    zones' forecast ``zones`` (column ``alias``) mapped to the depots by
    the last eight weeks' orders."""
    ids = sorted(deliveries["unique_id"].unique().tolist())
    recent = city.history[
        (city.history["ds"] < pd.Timestamp(start))
        & (city.history["ds"] >= pd.Timestamp(start - timedelta(weeks=8)))
    ]
    return carried_orders(
        deliveries,
        _future(city, ids, start, days),
        _cut(depot_intake(city), start),
        zones.rename(columns={alias: "y"}),
        zone_depot_shares(recent),
    )


#: File name of each frame :func:`run_forecast_report` writes.
_CSV_FILES = {
    "zones": "forecast_zones.csv",
    "depots": "forecast_depots.csv",
    "fleet": "fleet.csv",
}


def write_csv(out_dir: Path, frames: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write each frame to its file of the report (:data:`_CSV_FILES`)."""
    files = {name: out_dir / _CSV_FILES[name] for name in frames}
    for name, frame in frames.items():
        frame.to_csv(files[name], index=False, float_format="%.2f")
    return files


def write_chart(
    path: Path,
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    level: int,
    *,
    history_days: int = 84,
    alias: str = MAIN,
) -> None:
    """Small multiples per zone: recent history, the forecast and its interval."""
    from matplotlib.figure import Figure

    ids = sorted(forecast["unique_id"].unique().tolist())
    cols = 5
    rows = -(-len(ids) // cols)
    fig = Figure(figsize=(3.2 * cols, 2.0 * rows + 0.6))
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    first = forecast["ds"].min()
    since = first - pd.Timedelta(days=history_days)
    span = pd.date_range(since, forecast["ds"].max(), freq="D")
    ticks = span[span.day == 1]
    for ax, uid in zip(axes.flat, ids, strict=False):
        past = history[(history["unique_id"] == uid) & (history["ds"] >= since)]
        ahead = forecast[forecast["unique_id"] == uid]
        ax.plot(past["ds"], past["y"], color="0.35", lw=0.8)
        ax.fill_between(
            ahead["ds"],
            ahead[f"{alias}-lo-{level}"],
            ahead[f"{alias}-hi-{level}"],
            color="tab:blue",
            alpha=0.25,
            lw=0,
        )
        ax.plot(ahead["ds"], ahead[alias], color="tab:blue", lw=1.2)
        ax.axvline(first, color="0.6", lw=0.6, ls="--")
        ax.set_title(uid, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_xticks(list(ticks), [f"{t:%b}" for t in ticks])
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Orders per zone: history, forecast and {level} % interval", fontsize=10
    )
    fig.subplots_adjust(
        left=0.04, right=0.99, bottom=0.05, top=0.92, wspace=0.25, hspace=0.45
    )
    fig.savefig(path, dpi=100)
