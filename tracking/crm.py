"""Metrics a CRM team uses: customers by the experience of their first delivery.

Reads the **order history** of :mod:`tracking.retention` (one row per order:
``customer_id``, ``order_id``, ``ds``, ``delivery_date``, ``minutes_late``,
``failed_attempts``), plus two optional columns:

=================  ======================================================
column             meaning
=================  ======================================================
``zone``           where the order went (:func:`select` filters on it; the
                   synthetic city's history calls it ``district``)
``promotion``      the order was placed under a limited-time promotion:
                   a bool, or a promotion name with ``"none"`` (or empty)
                   for no promotion (the synthetic city's history has this
                   categorical column; the service's order history has the
                   stored orders' promotion). Without the column no order
                   counts as promoted, and tables say so
                   (``promotion_recorded``).
``value``          the order's basket (money); missing (NaN) for orders
                   whose value is not known, which LTV prices at the
                   default basket
=================  ======================================================

Definitions:

* A customer's **first delivery** is their first order in the (filtered)
  history; its **experience** is :func:`tracking.retention.experience_cohort`
  (``on_time``, ``late_under_30`` 1-29 min, ``late_30_plus`` 30 min or
  more, ``failed_attempt`` any failed attempt, whatever the lateness).
  With a date range, "first" means first inside that range.
* **Right-censoring**: a rate or a value over N days counts only customers
  (or orders) whose delivery is at least N days before the end of the data;
  the others are counted apart as ``censored``, never as "did not return".
* **Repeat rate at N days**: share of customers whose second order comes
  within N days of the first delivery (Wilson 95 % intervals).
* **LTV over a horizon**: mean margin of the orders a customer places in
  the ``horizon_days`` after their first delivery (``value`` column x
  ``margin`` if the history has it, else a fixed basket x margin). One value
  per customer, so the normal 95 % interval is clustered by customer.
* **Retention curve**: Kaplan-Meier estimate of the share of customers
  with no second order yet, t days after the first delivery (censored at
  the end of the data), with Greenwood 95 % intervals on the log(-log)
  scale (they stay inside [0, 1]).
* **Hazard ratio**: second orders per customer-day at risk (a constant
  hazard from the first delivery) of a cohort over that of ``on_time``,
  with a 95 % interval on the log scale; below 1: slower to come back.
* **Acquisition cohorts**: every order is at a **stage**, ``first_purchase``
  (the customer's first order: their sign-up) or ``repurchase``; it was or
  was not under a **promotion**, of a **promotion kind** (its name, e.g.
  ``first_purchase`` or ``limited_time``; ``none`` if not promoted); its
  customer signed up in a **sign-up month**. :func:`acquisition_table`
  cuts the N-day next-order rate by any of these and the order's
  experience, e.g. "first purchase under a promotion x experience ->
  second order", or the same per kind of promotion.
* **Ratings** (CSAT 1-5, NPS 0-10, one per order): mean CSAT and the NPS
  score (% promoters 9-10 minus % detractors 0-6) per experience cohort of
  the rated order, with normal 95 % intervals clustered by customer.
* **Does a low rating predict the next order beyond lateness?**
  (:func:`rating_effect`): a linear probability model of "another order
  within 60 days" on minutes late, failed attempt and a low rating
  (CSAT <= 2), over rated orders with 60 days of follow-up, with
  cluster-robust (CR1, by customer) standard errors. It refuses, with a
  reason, below 30 such orders or when no or every rating is low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from routing.base import FrozenModel
from routing.locale import DEFAULT_LOCALE, Locale
from tracking.retention import (
    COHORTS,
    basket_or_default,
    experience_cohort,
    wilson_interval,
)

__all__ = [
    "ACQUISITION_KEYS",
    "CrmMetrics",
    "RatingEffect",
    "acquisition_table",
    "crm_metrics",
    "first_deliveries",
    "hazard_ratios",
    "ltv_by_experience",
    "promoted",
    "promotion_kinds",
    "rating_effect",
    "ratings_by_experience",
    "repeat_by_experience",
    "retention_curves",
    "select",
]

FloatArray = npt.NDArray[np.float64]

#: What :func:`acquisition_table` can cut by.
ACQUISITION_KEYS: tuple[str, ...] = (
    "stage",
    "promotion",
    "promotion_kind",
    "signup",
    "experience",
)

_Z95 = 1.959963984540054
#: Fewest rated orders :func:`rating_effect` fits a model on.
MIN_RATED = 30


def _day(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()  # type: ignore[arg-type]


def _end(history: pd.DataFrame, end: object | None) -> pd.Timestamp:
    """Last day of the data: ``end`` or the latest order or delivery date."""
    if end is not None:
        return _day(end)
    latest = max(
        pd.to_datetime(history["ds"]).max(),
        pd.to_datetime(history["delivery_date"]).max(),
    )
    return _day(latest)


def promoted(history: pd.DataFrame, column: str = "promotion") -> pd.Series:
    """Whether each order was placed under a promotion (False without the column).

    A bool column is taken as is; text or categories count as promoted
    unless ``"none"``, empty or missing.
    """
    if column not in history:
        return pd.Series(False, index=history.index, name="promotion")
    values = history[column]
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool).rename("promotion")
    text = values.astype("string").str.strip().str.lower()
    return (
        (text.notna() & ~text.isin(["", "none", "false", "0"]))
        .astype(bool)
        .rename("promotion")
    )


def promotion_kinds(history: pd.DataFrame, column: str = "promotion") -> pd.Series:
    """The promotion each order was placed under: its name, or ``"none"``.

    Names are lower-cased and stripped; a bool column gives ``"promotion"``
    for promoted orders (the kind is not known); without the column every
    order is ``"none"``.
    """
    flag = promoted(history, column)
    if column not in history or pd.api.types.is_bool_dtype(history[column]):
        kind = pd.Series("promotion", index=history.index)
    else:
        kind = history[column].astype("string").str.strip().str.lower()
    return kind.where(flag, "none").astype(str).rename("promotion_kind")


def select(
    history: pd.DataFrame,
    *,
    zone: str | None = None,
    start: object | None = None,
    until: object | None = None,
    zone_column: str = "zone",
) -> pd.DataFrame:
    """Orders of one zone and of order dates ``start..until`` (inclusive).

    Raises
    ------
    ValueError
        If a zone is asked for and the history has no ``zone_column``, or
        ``start`` is after ``until``.
    """
    out = history
    if zone is not None:
        if zone_column not in history:
            raise ValueError(f"zone: the history has no {zone_column!r} column")
        out = out[out[zone_column].astype(str) == zone]
    ds = pd.to_datetime(out["ds"])
    if start is not None and until is not None and _day(start) > _day(until):
        raise ValueError("start: after until")
    if start is not None:
        out = out[(ds >= _day(start)).to_numpy()]
        ds = pd.to_datetime(out["ds"])
    if until is not None:
        out = out[(ds <= _day(until)).to_numpy()]
    return out


def _ordered(history: pd.DataFrame) -> pd.DataFrame:
    """Sorted by customer and order date; rank, next order date and experience."""
    frame = history.sort_values(["customer_id", "ds", "order_id"]).copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["delivery_date"] = pd.to_datetime(frame["delivery_date"])
    grouped = frame.groupby("customer_id", sort=False)
    frame["rank"] = grouped.cumcount()
    frame["next_ds"] = grouped["ds"].shift(-1)
    frame["experience"] = experience_cohort(frame).astype(str)
    frame["promoted"] = promoted(frame).to_numpy()
    frame["promotion_kind"] = promotion_kinds(frame).to_numpy()
    first = grouped["ds"].transform("min")
    frame["signup"] = first.dt.to_period("M").astype(str)
    return frame


def first_deliveries(
    history: pd.DataFrame, *, end: object | None = None
) -> pd.DataFrame:
    """One row per customer: their first delivery and what followed.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``order_id``, ``ds``, ``delivery_date``,
        ``experience``, ``promoted``, ``signup`` (month), ``next_ds`` (the
        second order, NaT if none), ``gap_days`` (delivery to second order),
        ``follow_up_days`` (delivery to the end of the data).
    """
    frame = _ordered(history)
    first = frame[frame["rank"] == 0].copy()
    last = _end(history, end)
    first["gap_days"] = (first["next_ds"] - first["delivery_date"]).dt.days
    first["follow_up_days"] = (last - first["delivery_date"]).dt.days
    return first.reset_index(drop=True)[
        [
            "customer_id",
            "order_id",
            "ds",
            "delivery_date",
            "experience",
            "promoted",
            "signup",
            "next_ds",
            "gap_days",
            "follow_up_days",
        ]
    ]


def repeat_by_experience(
    history: pd.DataFrame,
    days: Sequence[int] = (30, 60, 90),
    *,
    end: object | None = None,
) -> pd.DataFrame:
    """Second-order rate within N days of the first delivery, per experience.

    Only customers whose first delivery is at least N days before the end
    of the data count (``customers``); the rest are ``censored``.

    Returns
    -------
    pandas.DataFrame
        One row per experience cohort (best to worst) and N:
        ``experience``, ``days``, ``customers``, ``repeats``, ``censored``,
        ``rate``, ``low``, ``high``.
    """
    first = first_deliveries(history, end=end)
    rows: list[dict[str, object]] = []
    for cohort in COHORTS:
        part = first[first["experience"] == cohort]
        for n in days:
            observed = part["follow_up_days"] >= n
            repeated = observed & part["gap_days"].le(n)
            k, m = int(repeated.sum()), int(observed.sum())
            low, high = wilson_interval(k, m)
            rows.append(
                {
                    "experience": cohort,
                    "days": int(n),
                    "customers": m,
                    "repeats": k,
                    "censored": len(part) - m,
                    "rate": k / m if m else math.nan,
                    "low": float(low),
                    "high": float(high),
                }
            )
    return pd.DataFrame(rows)


def _order_values(frame: pd.DataFrame, order_value: float, margin: float) -> FloatArray:
    """Each order's margin: its ``value`` (``order_value`` where missing) x margin."""
    if "value" in frame:
        values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(
            dtype=np.float64
        )
        return np.where(np.isnan(values), order_value, values) * margin
    return np.full(len(frame), order_value * margin)


def ltv_by_experience(
    history: pd.DataFrame,
    *,
    horizon_days: int = 90,
    order_value: float | None = None,
    margin: float = 0.25,
    end: object | None = None,
    locale: Locale = DEFAULT_LOCALE,
) -> pd.DataFrame:
    """Mean future margin per customer over a horizon, by first experience.

    A customer's value is the margin of the orders they place in the
    ``horizon_days`` after their first delivery (the first order itself
    excluded: it is already won). Customers observed for less than the
    horizon are left out (``censored``).

    Parameters
    ----------
    history
        Order history (a ``value`` column, money, is used if present).
    horizon_days
        The horizon.
    order_value
        Basket of orders without a ``value`` (default: 1.75 driver-hours in
        ``locale``'s currency).
    margin
        Contribution margin on the basket.
    end
        Last day of the data (default: the latest date in it).
    locale
        The currency of the amounts.

    Returns
    -------
    pandas.DataFrame
        One row per experience cohort: ``experience``, ``customers``,
        ``censored``, ``orders`` (mean future orders per customer),
        ``value``, ``low``, ``high`` (money; normal 95 % interval, one value
        per customer).
    """
    if horizon_days < 1:
        raise ValueError("horizon_days: must be at least 1")
    frame = _ordered(history)
    last = _end(history, end)
    firsts = frame[frame["rank"] == 0].set_index("customer_id")
    frame["value"] = _order_values(
        frame, basket_or_default(order_value, locale), margin
    )
    start = frame["customer_id"].map(firsts["delivery_date"])
    within = (frame["rank"] > 0) & ((frame["ds"] - start).dt.days <= horizon_days)
    future = frame[within].groupby("customer_id")
    value = future["value"].sum().reindex(firsts.index, fill_value=0.0)
    count = future.size().reindex(firsts.index, fill_value=0)
    observed = (last - firsts["delivery_date"]).dt.days >= horizon_days
    rows: list[dict[str, object]] = []
    for cohort in COHORTS:
        mine = firsts["experience"] == cohort
        use = (mine & observed).to_numpy()
        v = value.to_numpy(dtype=np.float64)[use]
        n = len(v)
        mean = float(v.mean()) if n else math.nan
        se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        rows.append(
            {
                "experience": cohort,
                "customers": n,
                "censored": int(mine.sum()) - n,
                "orders": float(count.to_numpy()[use].mean()) if n else math.nan,
                "value": mean,
                "low": max(0.0, mean - _Z95 * se) if n > 1 else math.nan,
                "high": mean + _Z95 * se if n > 1 else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _kaplan_meier(
    time: npt.NDArray[np.int64], event: npt.NDArray[np.bool_]
) -> list[dict[str, float]]:
    """Kaplan-Meier steps with log(-log) Greenwood 95 % intervals."""
    rows: list[dict[str, float]] = []
    survival, greenwood = 1.0, 0.0
    at_risk = len(time)
    for t in np.unique(time):
        here = time == t
        d = int(event[here].sum())
        if d:
            survival *= 1.0 - d / at_risk
            greenwood += d / (at_risk * (at_risk - d)) if at_risk > d else math.inf
            low, high = _loglog(survival, greenwood)
            rows.append(
                {
                    "day": int(t),
                    "at_risk": at_risk,
                    "events": d,
                    "survival": survival,
                    "low": low,
                    "high": high,
                }
            )
        at_risk -= int(here.sum())
    return rows


def _loglog(survival: float, greenwood: float) -> tuple[float, float]:
    """95 % interval of a survival probability on the log(-log) scale."""
    if survival <= 0.0 or survival >= 1.0 or not math.isfinite(greenwood):
        return (0.0, survival) if survival <= 0.0 else (survival, 1.0)
    log_s = math.log(survival)
    half = _Z95 * math.sqrt(greenwood) / abs(log_s)
    return survival ** math.exp(half), survival ** math.exp(-half)


def retention_curves(
    history: pd.DataFrame, *, end: object | None = None
) -> pd.DataFrame:
    """Kaplan-Meier curves of the time to the second order, per experience.

    Time runs in days from the first delivery; customers without a second
    order are censored at the end of the data.

    Returns
    -------
    pandas.DataFrame
        ``experience``, ``day``, ``at_risk``, ``events``, ``survival``
        (share without a second order yet), ``low``, ``high``; each cohort
        starts with a row at day 0 of survival 1 (unless orders came that
        very day), then one row per day with a second order.
    """
    first = first_deliveries(history, end=end)
    rows: list[dict[str, object]] = []
    for cohort in COHORTS:
        part = first[first["experience"] == cohort]
        if part.empty:
            continue
        event = part["next_ds"].notna().to_numpy()
        time = np.where(event, part["gap_days"].fillna(0), part["follow_up_days"])
        time = np.maximum(time.astype(np.int64), 0)
        steps = _kaplan_meier(time, event)
        if not steps or steps[0]["day"] > 0:
            start = {"day": 0, "at_risk": len(part), "events": 0}
            rows.append(
                {
                    "experience": cohort,
                    **start,
                    "survival": 1.0,
                    "low": 1.0,
                    "high": 1.0,
                }
            )
        rows += [{"experience": cohort, **step} for step in steps]
    columns = ["experience", "day", "at_risk", "events", "survival", "low", "high"]
    return pd.DataFrame(rows, columns=columns)


def hazard_ratios(history: pd.DataFrame, *, end: object | None = None) -> pd.DataFrame:
    """Second-order hazard of each experience cohort against ``on_time``.

    A constant-hazard (exponential) model of the time from the first
    delivery to the second order: per cohort, second orders over
    customer-days at risk (customers without a second order count their
    days to the end of the data; each customer's days plus half a day, so
    that a second order the same day still has exposure). The ratio to the
    ``on_time`` cohort has a 95 % interval from ``se(log HR) = sqrt(1/d +
    1/d_on_time)``. A ratio
    below 1 means customers come back more slowly (closer to churning).

    Returns
    -------
    pandas.DataFrame
        One row per cohort: ``experience``, ``customers``, ``events``,
        ``days_at_risk``, ``rate`` (second orders per 30 customer-days),
        ``hazard_ratio``, ``low``, ``high`` (NaN without events on either
        side; 1 with no interval for ``on_time`` itself).
    """
    first = first_deliveries(history, end=end)
    event = first["next_ds"].notna()
    days = np.where(event, first["gap_days"].fillna(0), first["follow_up_days"])
    first = first.assign(event=event, at_risk=np.maximum(days, 0) + 0.5)
    stats: dict[str, tuple[int, int, float]] = {}
    for cohort in COHORTS:
        part = first[first["experience"] == cohort]
        stats[cohort] = (
            len(part),
            int(part["event"].sum()),
            float(part["at_risk"].sum()),
        )
    _, d0, t0 = stats["on_time"]
    rows: list[dict[str, object]] = []
    for cohort, (n, d, t) in stats.items():
        rate = 30.0 * d / t if t > 0 else math.nan
        ratio = low = high = math.nan
        if d > 0 and d0 > 0:
            ratio = (d / t) / (d0 / t0)
            if cohort == "on_time":
                low = high = math.nan
            else:
                half = _Z95 * math.sqrt(1.0 / d + 1.0 / d0)
                low, high = ratio * math.exp(-half), ratio * math.exp(half)
        rows.append(
            {
                "experience": cohort,
                "customers": n,
                "events": d,
                "days_at_risk": t,
                "rate": rate,
                "hazard_ratio": ratio,
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows)


def acquisition_table(
    history: pd.DataFrame,
    days: Sequence[int] = (30, 60, 90),
    *,
    by: Sequence[str] = ("stage", "promotion", "experience"),
    end: object | None = None,
) -> pd.DataFrame:
    """Next-order rate within N days of a delivery, by acquisition cohort.

    Every order is a delivery with a possible next order of the same
    customer; only deliveries at least N days before the end of the data
    count (``deliveries``; the others are ``censored``).

    Parameters
    ----------
    history
        Order history.
    days
        The Ns.
    by
        Any of :data:`ACQUISITION_KEYS`: ``stage`` (``first_purchase`` or
        ``repurchase``), ``promotion`` (bool), ``promotion_kind`` (the
        promotion's name, ``none`` if not promoted), ``signup`` (month of
        the customer's first order), ``experience`` (of this delivery).
    end
        Last day of the data.

    Returns
    -------
    pandas.DataFrame
        One row per observed combination of ``by`` and N: the ``by``
        columns, ``days``, ``deliveries``, ``repeats``, ``censored``,
        ``rate``, ``low``, ``high``; and ``promotion_recorded`` (whether
        the history has a promotion column at all).
    """
    unknown = [k for k in by if k not in ACQUISITION_KEYS]
    if unknown:
        raise ValueError(f"by: unknown cohort key {unknown[0]!r}")
    frame = _ordered(history)
    last = _end(history, end)
    frame["stage"] = np.where(frame["rank"] == 0, "first_purchase", "repurchase")
    frame["promotion"] = frame["promoted"]
    gap = (frame["next_ds"] - frame["delivery_date"]).dt.days
    follow = (last - frame["delivery_date"]).dt.days
    keys = list(by)
    rows: list[dict[str, object]] = []
    for n in days:
        part = frame.assign(
            observed=follow >= n, repeat=(follow >= n) & gap.le(n).to_numpy()
        )
        grouped = part.groupby(keys, sort=True, observed=True) if keys else None
        groups = list(grouped) if grouped is not None else [((), part)]
        for name, g in groups:
            values = name if isinstance(name, tuple) else (name,)
            m, k = int(g["observed"].sum()), int(g["repeat"].sum())
            low, high = wilson_interval(k, m)
            row: dict[str, object] = dict(zip(keys, values, strict=True))
            row.update(
                {
                    "days": int(n),
                    "deliveries": m,
                    "repeats": k,
                    "censored": len(g) - m,
                    "rate": k / m if m else math.nan,
                    "low": float(low),
                    "high": float(high),
                }
            )
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            *keys,
            "days",
            "deliveries",
            "repeats",
            "censored",
            "rate",
            "low",
            "high",
        ],
    )
    out["promotion_recorded"] = "promotion" in history
    return out


def _clustered_mean(
    values: FloatArray, clusters: npt.NDArray[np.object_]
) -> tuple[float, float]:
    """Mean and its standard error clustered by ``clusters`` (CR1)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    sums = pd.Series(values - mean).groupby(clusters).sum().to_numpy()
    g = len(sums)
    if g < 2:
        return mean, math.nan
    var = float((sums**2).sum()) / (n * n) * g / (g - 1)
    return mean, math.sqrt(var)


def _rated(history: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Rated orders of the history, with their experience and next order."""
    frame = _ordered(history)
    rated = ratings[["order_id", "csat", "nps"]].copy()
    rated["order_id"] = rated["order_id"].astype(str)
    frame["order_id"] = frame["order_id"].astype(str)
    return frame.merge(rated, on="order_id", how="inner")


def _bound(value: float, low: float, high: float) -> float:
    """``value`` clipped to ``[low, high]``; NaN (no interval) stays NaN."""
    return value if math.isnan(value) else min(high, max(low, value))


def ratings_by_experience(history: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Mean CSAT and NPS score by experience cohort of the rated order.

    Parameters
    ----------
    history
        Order history.
    ratings
        ``order_id``, ``csat`` (1-5), ``nps`` (0-10 or missing); ratings of
        orders outside the history are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per experience cohort: ``experience``, ``rated``,
        ``csat``, ``csat_low``, ``csat_high``, ``nps_answers``,
        ``promoters``, ``detractors``, ``nps``, ``nps_low``, ``nps_high``
        (the NPS score in points, -100..100). Intervals: normal 95 %,
        clustered by customer; missing (NaN) with fewer than two customers.
    """
    rated = _rated(history, ratings)
    rows: list[dict[str, object]] = []
    for cohort in COHORTS:
        part = rated[rated["experience"] == cohort]
        csat = part["csat"].to_numpy(dtype=np.float64)
        clusters = part["customer_id"].to_numpy(dtype=object)
        mean, se = _clustered_mean(csat, clusters)
        answered = part[part["nps"].notna()]
        nps = answered["nps"].to_numpy(dtype=np.float64)
        points = 100.0 * ((nps >= 9).astype(float) - (nps <= 6).astype(float))
        score, nps_se = _clustered_mean(
            points, answered["customer_id"].to_numpy(dtype=object)
        )
        rows.append(
            {
                "experience": cohort,
                "rated": len(part),
                "csat": mean,
                "csat_low": _bound(mean - _Z95 * se, 1.0, 5.0),
                "csat_high": _bound(mean + _Z95 * se, 1.0, 5.0),
                "nps_answers": len(answered),
                "promoters": int((nps >= 9).sum()),
                "detractors": int((nps <= 6).sum()),
                "nps": score,
                "nps_low": _bound(score - _Z95 * nps_se, -100.0, 100.0),
                "nps_high": _bound(score + _Z95 * nps_se, -100.0, 100.0),
            }
        )
    return pd.DataFrame(rows)


class RatingEffect(FrozenModel):
    """Does a low rating predict the next order beyond lateness?

    ``coef`` is the change in the probability of another order within
    ``days`` after a low rating (CSAT <= ``low_csat``), holding minutes late
    and a failed attempt fixed; ``low``/``high`` its 95 % interval
    (cluster-robust by customer). When ``reason`` is set the model was not
    fitted and the numbers are None.
    """

    days: int
    n: int
    n_customers: int
    n_low: int
    coef: float | None
    low: float | None
    high: float | None
    reason: str | None
    covariates: tuple[str, ...] = ()


def rating_effect(
    history: pd.DataFrame,
    ratings: pd.DataFrame,
    *,
    days: int = 60,
    low_csat: int = 2,
    min_rated: int = MIN_RATED,
    end: object | None = None,
) -> RatingEffect:
    """Linear probability model of the next order on lateness and a low rating.

    ``P(next order within days) = a + b1 minutes_late + b2 failed + c low``
    over rated orders with ``days`` of follow-up; ``c`` is reported.
    Covariates that never vary in the sample are left out (``covariates``
    lists those fitted).

    Returns
    -------
    RatingEffect
        With a ``reason`` instead of numbers when fewer than ``min_rated``
        rated orders have the follow-up, or when no (or every) rating is
        low.
    """
    rated = _rated(history, ratings)
    last = _end(history, end)
    follow = (last - rated["delivery_date"]).dt.days
    rated = rated[(follow >= days).to_numpy()]
    n = len(rated)
    n_customers = int(rated["customer_id"].nunique())
    low_flag = (rated["csat"].to_numpy(dtype=np.float64) <= low_csat).astype(float)
    n_low = int(low_flag.sum())

    def refuse(reason: str) -> RatingEffect:
        return RatingEffect(
            days=days,
            n=n,
            n_customers=n_customers,
            n_low=n_low,
            coef=None,
            low=None,
            high=None,
            reason=reason,
        )

    if n < min_rated:
        return refuse(
            f"too few rated orders with {days} days of follow-up: "
            f"{n} (at least {min_rated} needed)"
        )
    if n_low in (0, n):
        which = "no" if n_low == 0 else "every"
        return refuse(f"{which} rated order has a low rating (CSAT <= {low_csat})")
    gap = (rated["next_ds"] - rated["delivery_date"]).dt.days
    y = gap.le(days).to_numpy(dtype=np.float64)
    columns = {
        "minutes_late": rated["minutes_late"].to_numpy(dtype=np.float64),
        "failed": (rated["failed_attempts"].to_numpy(dtype=np.float64) > 0).astype(
            float
        ),
    }
    names = [k for k, v in columns.items() if np.ptp(v) > 0]
    x = np.column_stack([np.ones(n), *(columns[k] for k in names), low_flag])
    clusters = rated["customer_id"].to_numpy(dtype=object)
    coef, se = _ols_clustered(x, y, clusters)
    if coef is None or se is None or not math.isfinite(se[-1]):
        return refuse("the model cannot be fitted: covariates are collinear")
    c, s = float(coef[-1]), float(se[-1])
    return RatingEffect(
        days=days,
        n=n,
        n_customers=n_customers,
        n_low=n_low,
        coef=c,
        low=c - _Z95 * s,
        high=c + _Z95 * s,
        reason=None,
        covariates=(*names, "low_rating"),
    )


def _ols_clustered(
    x: FloatArray, y: FloatArray, clusters: npt.NDArray[np.object_]
) -> tuple[FloatArray | None, FloatArray | None]:
    """OLS coefficients and CR1 cluster-robust standard errors."""
    n, k = x.shape
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < k:
        return None, None
    bread = np.linalg.inv(xtx)
    coef: FloatArray = bread @ x.T @ y
    resid = y - x @ coef
    scores = pd.DataFrame(x * resid[:, None]).groupby(clusters).sum().to_numpy()
    g = len(scores)
    if g < 2 or n <= k:
        return coef, None
    factor = g / (g - 1) * (n - 1) / (n - k)
    cov = factor * bread @ (scores.T @ scores) @ bread
    se: FloatArray = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return coef, se


@dataclass(frozen=True)
class CrmMetrics:
    """Everything :func:`crm_metrics` computes, as frames."""

    customers: int
    orders: int
    repeat: pd.DataFrame
    ltv: pd.DataFrame
    curves: pd.DataFrame
    hazard: pd.DataFrame
    acquisition: pd.DataFrame
    ratings: pd.DataFrame
    rating_effect: RatingEffect
    horizon_days: int


def crm_metrics(
    history: pd.DataFrame,
    ratings: pd.DataFrame | None = None,
    *,
    days: Sequence[int] = (30, 60, 90),
    horizon_days: int = 90,
    order_value: float | None = None,
    margin: float = 0.25,
    end: object | None = None,
    locale: Locale = DEFAULT_LOCALE,
) -> CrmMetrics:
    """All the CRM metrics of a (filtered, non-empty) history.

    See the module docstring; ``ratings`` may be None (no ratings). Money
    is in ``locale``'s currency, which sizes a default ``order_value``.
    """
    if ratings is None:
        ratings = pd.DataFrame({"order_id": [], "csat": [], "nps": []})
    return CrmMetrics(
        customers=int(history["customer_id"].nunique()),
        orders=len(history),
        repeat=repeat_by_experience(history, days, end=end),
        ltv=ltv_by_experience(
            history,
            horizon_days=horizon_days,
            order_value=order_value,
            margin=margin,
            end=end,
            locale=locale,
        ),
        curves=retention_curves(history, end=end),
        hazard=hazard_ratios(history, end=end),
        acquisition=acquisition_table(
            history,
            days,
            by=("stage", "promotion", "promotion_kind", "experience"),
            end=end,
        ),
        ratings=ratings_by_experience(history, ratings),
        rating_effect=rating_effect(history, ratings, end=end),
        horizon_days=horizon_days,
    )
