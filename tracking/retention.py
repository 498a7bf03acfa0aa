"""Retention metrics, and the effect of delivery experience on repurchase.

Everything here reads an **order history**: one row per order with the
columns (extra columns are ignored)

=================  ======================================================
column             meaning
=================  ======================================================
``customer_id``    who ordered
``order_id``       unique id (ties in ``ds`` are broken by it)
``ds``             order date
``delivery_date``  delivery date (the next order can come from the day after)
``minutes_late``   minutes past the promised window (0 if on time)
``minutes_early``  minutes before it (0 if not early); optional
``failed_attempts``  failed delivery attempts before success (0, 1, ...)
``delay_notice``   a proactive delay notice was sent; optional
=================  ======================================================

(the synthetic city's ``history`` has exactly these). Definitions:

* **Experience cohort** of a delivery: ``failed_attempt`` if any attempt
  failed, else ``late_30_plus`` (30 minutes or more late), ``late_under_30``
  (1-29), else ``on_time``.
* **Repeat-purchase rate at N days**: the share of deliveries followed by
  another order of the same customer within N days of the delivery date,
  among deliveries with at least N days of history after them.
* **Monthly retention**: the share of customers ordering in a calendar
  month who order again in the next month.
* **LTV**: margin per order x orders per active month x expected active
  months, ``1 / (1 - r / (1 + d))`` for monthly retention ``r`` and
  discount ``d``.

Rates carry Wilson 95 % intervals.

**Experience effect** (:func:`experience_effect`): a discrete-time
proportional hazard of the next order, from observable data only. Each
delivery opens a spell from the day after delivery to the customer's next
order (an event) or to the end of the data (censored: only a customer's last
spell can be). While the customer is there, on each day at risk the chance
of ordering is ``r_c x D(t) x exp(x beta)``: ``r_c`` the customer's own rate
(a fixed effect, removed by conditioning on the customer's number of
orders), ``D(t)`` the calendar (a given daily multiplier, or day effects
estimated jointly), and ``x`` the delivery's experience:
``log1p(minutes_late)``, ``log1p(minutes_late) x delay_notice``,
``log1p(minutes_early)`` and ``failed_attempts``. ``-beta`` is then the log
of how much longer the customer waits before the next order, exactly the
parameterisation of the synthetic city's ground truth
(``docs/synthetic-city.md``).

Customers also leave, silently: after each delivery with a chance
``logistic(z gamma)`` on :data:`CHURN_COVARIATES` (lateness, recent late
deliveries, failed attempts). A last, censored spell is therefore at risk
only with the posterior chance that the customer did not leave (a cure, or
split-population, model fitted by EM); without that, customers who left
after a late delivery read as a much stronger lateness effect. The
likelihood is a Poisson one on customer-days, computed per spell
(covariates are constant within a spell); standard errors are robust,
clustered by customer, on the observed-data likelihood. ``docs/tracking.md``
explains the model and where it can fail.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from routing.locale import DEFAULT_LOCALE, Locale

__all__ = [
    "COHORTS",
    "COVARIATES",
    "ORDER_VALUE_HOURS",
    "ExperienceEffect",
    "LtvEstimate",
    "cohort_table",
    "customer_values",
    "experience_cohort",
    "experience_effect",
    "lifetime_value",
    "monthly_retention",
    "repeat_purchase_rates",
    "service_metrics",
    "spells",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The default basket of an order whose value is not known, in driver-hours
#: (``Locale.amount``: 35,000 KRW, 43.75 USD). A shop passes its own.
ORDER_VALUE_HOURS = 1.75


def basket_or_default(order_value: float | None, locale: Locale) -> float:
    """``order_value``, else :data:`ORDER_VALUE_HOURS` in ``locale``'s currency."""
    return locale.amount(ORDER_VALUE_HOURS) if order_value is None else order_value


#: Experience cohorts, best to worst.
COHORTS: tuple[str, ...] = (
    "on_time",
    "late_under_30",
    "late_30_plus",
    "failed_attempt",
)

#: Covariates of leaving after a delivery (the cure part), in order:
#: a constant, a late delivery, a late delivery that is the second or the
#: third-or-more late one among the customer's recent orders, and failed
#: attempts.
CHURN_COVARIATES: tuple[str, ...] = (
    "constant",
    "late",
    "late_2nd_recent",
    "late_3rd_recent",
    "failed_attempts",
)

#: Covariates of the experience effect, in order.
COVARIATES: tuple[str, ...] = (
    "log1p_late",
    "log1p_late_x_notice",
    "log1p_early",
    "failed_attempts",
)

_Z95 = 1.959963984540054
_NO_ORDERS = -30.0  # log day effect of a day without a single order
_CHURN_PRIOR_SD = 10.0  # sd of the weak normal prior on the churn coefficients


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, z: float = _Z95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of a binomial proportion (element-wise).

    Parameters
    ----------
    successes, trials
        Counts; ``trials`` of 0 give ``nan`` bounds.
    z
        Normal quantile (1.96 for 95 %).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return centre - half, centre + half


def _column(history: pd.DataFrame, name: str, default: float = 0.0) -> FloatArray:
    if name in history:
        return history[name].to_numpy(dtype=np.float64)
    return np.full(len(history), default)


def experience_cohort(history: pd.DataFrame) -> pd.Series:
    """Experience cohort of every delivery (see the module docstring)."""
    late = _column(history, "minutes_late")
    failed = _column(history, "failed_attempts")
    cohort = np.select(
        [failed > 0, late >= 30, late > 0],
        ["failed_attempt", "late_30_plus", "late_under_30"],
        default="on_time",
    )
    return pd.Series(
        pd.Categorical(cohort, categories=list(COHORTS)),
        index=history.index,
        name="experience",
    )


def _ordered(history: pd.DataFrame) -> pd.DataFrame:
    """History sorted by customer and order date with the next order's date."""
    frame = history.sort_values(["customer_id", "ds", "order_id"])
    nxt = frame.groupby("customer_id", observed=True)["ds"].shift(-1)
    return frame.assign(next_ds=nxt)


def _days(values: pd.Series) -> IntArray:
    """Dates as integer days since 1970-01-01 (NaT as a large negative)."""
    stamps = pd.to_datetime(values)
    out = stamps.to_numpy().astype("datetime64[D]").astype(np.int64)
    out[stamps.isna().to_numpy()] = np.iinfo(np.int64).min // 2
    return out


def repeat_purchase_rates(
    history: pd.DataFrame,
    days: Sequence[int] = (30, 60, 90),
    *,
    by: str | pd.Series | None = None,
    end: object | None = None,
) -> pd.DataFrame:
    """Repeat-purchase rate within N days of delivery, with Wilson intervals.

    Parameters
    ----------
    history
        Order history.
    days
        The Ns.
    by
        Optional grouping: a column name, ``"experience"`` for
        :func:`experience_cohort`, or a Series aligned with ``history``.
    end
        Last day of the data (default: the latest order date).

    Returns
    -------
    pandas.DataFrame
        One row per group and N: ``days``, ``deliveries`` (with N days of
        follow-up), ``repeats``, ``rate``, ``low``, ``high``.
    """
    frame = _ordered(history)
    last = _days(pd.Series([end if end is not None else frame["ds"].max()]))[0]
    delivered = _days(frame["delivery_date"])
    gap = _days(frame["next_ds"]) - delivered
    has_next = frame["next_ds"].notna().to_numpy()
    key = _group_key(frame, by)
    rows = []
    for n in days:
        eligible = delivered + n <= last
        repeated = has_next & (gap <= n)
        part = pd.DataFrame(
            {"key": key.to_numpy(), "eligible": eligible, "repeat": repeated & eligible}
        )
        counts = part.groupby("key", observed=False)[["eligible", "repeat"]].sum()
        rows += _repeat_rows(counts, n)
    return pd.DataFrame(rows)


def _group_key(frame: pd.DataFrame, by: str | pd.Series | None) -> pd.Series:
    """The group of each order for :func:`repeat_purchase_rates`."""
    if by is None:
        return pd.Series("all", index=frame.index)
    if isinstance(by, str) and by == "experience":
        return experience_cohort(frame)
    if isinstance(by, str):
        return frame[by]
    return by.reindex(frame.index)


def _repeat_rows(counts: pd.DataFrame, n: int) -> list[dict[str, object]]:
    """One row per group of ``counts`` (``eligible``, ``repeat``) for N = ``n``."""
    low, high = wilson_interval(counts["repeat"], counts["eligible"])
    rows: list[dict[str, object]] = []
    for k, (name, row) in enumerate(counts.iterrows()):
        trials = int(row["eligible"])
        rows.append(
            {
                "group": name,
                "days": n,
                "deliveries": trials,
                "repeats": int(row["repeat"]),
                "rate": row["repeat"] / trials if trials else float("nan"),
                "low": float(low[k]),
                "high": float(high[k]),
            }
        )
    return rows


def monthly_retention(history: pd.DataFrame) -> pd.DataFrame:
    """Share of each month's customers who order again the next month.

    Returns
    -------
    pandas.DataFrame
        ``month``, ``customers``, ``retained``, ``rate``, ``low``, ``high``
        (the last month, without a next one, is left out).
    """
    month = pd.to_datetime(history["ds"]).dt.to_period("M")
    active = (
        pd.DataFrame(
            {"customer_id": history["customer_id"].astype(str), "month": month}
        )
        .drop_duplicates()
        .reset_index(drop=True)
    )
    months = sorted(active["month"].unique())
    by_month = {m: set(g["customer_id"]) for m, g in active.groupby("month")}
    rows = []
    for m, nxt in itertools.pairwise(months):
        here = by_month[m]
        kept = len(here & by_month[nxt])
        low, high = wilson_interval(kept, len(here))
        rows.append(
            {
                "month": str(m),
                "customers": len(here),
                "retained": kept,
                "rate": kept / len(here),
                "low": float(low),
                "high": float(high),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class LtvEstimate:
    """Customer lifetime value (money) and what it is made of."""

    value: float
    order_margin: float
    orders_per_month: float
    monthly_retention: float
    expected_months: float


def lifetime_value(
    history: pd.DataFrame,
    *,
    order_value: float | None = None,
    margin: float = 0.25,
    monthly_discount: float = 0.01,
    locale: Locale = DEFAULT_LOCALE,
) -> LtvEstimate:
    """Average customer lifetime value from orders and monthly retention.

    ``LTV = basket x margin x orders per active month x 1 / (1 - r / (1 +
    d))`` where ``r`` is the mean monthly retention and the basket is the
    mean ``value`` of the orders that have one when the history has a
    ``value`` column, else ``order_value``.

    Parameters
    ----------
    history
        Order history; an optional ``value`` column (NaN: not known).
    order_value
        Average basket when no order has a value (default: 1.75 driver-hours
        in ``locale``'s currency).
    margin
        Contribution margin on it.
    monthly_discount
        Discount rate per month.
    locale
        The currency of the amounts.
    """
    order_value = basket_or_default(order_value, locale)
    month = pd.to_datetime(history["ds"]).dt.to_period("M")
    per = history.groupby([history["customer_id"].astype(str), month]).size()
    frequency = float(per.mean())
    table = monthly_retention(history)
    r = float((table["retained"].sum() / table["customers"].sum()) if len(table) else 0)
    months = 1.0 / (1.0 - r / (1.0 + monthly_discount))
    basket = order_value
    if "value" in history:
        values = pd.to_numeric(history["value"], errors="coerce")
        basket = float(values.mean()) if values.notna().any() else order_value
    per_order = basket * margin
    return LtvEstimate(
        value=per_order * frequency * months,
        order_margin=per_order,
        orders_per_month=frequency,
        monthly_retention=r,
        expected_months=months,
    )


def customer_values(
    history: pd.DataFrame,
    *,
    order_value: float | None = None,
    margin: float = 0.25,
    horizon_days: float = 365.0,
    prior_orders: float = 2.0,
    locale: Locale = DEFAULT_LOCALE,
) -> pd.Series:
    """Expected margin of each customer over ``horizon_days``, in
    ``locale``'s currency.

    Each customer's daily order rate is their orders over the days since
    their first order, shrunk towards the average rate as a gamma-Poisson
    posterior with ``prior_orders`` pseudo-orders; value = rate x horizon x
    basket x margin. The basket is ``order_value`` (default: 1.75
    driver-hours in ``locale``'s currency), or, when the history has a
    ``value`` column (NaN: not known), the customer's own mean
    basket shrunk the same way towards the mean of all known values:
    ``prior_orders`` pseudo-orders at that mean (a customer with no known
    value gets the mean).

    Returns
    -------
    pandas.Series
        Indexed by ``customer_id``.
    """
    ds = pd.to_datetime(history["ds"])
    end = ds.max()
    customer = history["customer_id"].astype(str)
    grouped = ds.groupby(customer)
    n = grouped.size().astype(np.float64)
    exposure = ((end - grouped.min()).dt.days + 1).astype(np.float64)
    mean_rate = float(n.sum() / exposure.sum())
    prior_days = prior_orders / mean_rate
    rate = (n + prior_orders) / (exposure + prior_days)
    basket: pd.Series | float = basket_or_default(order_value, locale)
    values = pd.to_numeric(history.get("value", pd.Series()), errors="coerce")
    if values.notna().any():
        mean = float(values.mean())
        by = values.astype(np.float64).groupby(customer)
        total = by.sum().reindex(rate.index, fill_value=0.0)
        known = by.count().reindex(rate.index, fill_value=0).astype(np.float64)
        basket = (total + prior_orders * mean) / (known + prior_orders)
    return (rate * horizon_days * basket * margin).rename("value")


def cohort_table(
    history: pd.DataFrame,
    days: Sequence[int] = (30, 60, 90),
    *,
    end: object | None = None,
) -> pd.DataFrame:
    """Repeat-purchase rates by experience cohort, with 95 % intervals.

    Returns
    -------
    pandas.DataFrame
        One row per cohort: ``deliveries`` and, per N, ``repeat_<N>``,
        ``repeat_<N>_low``, ``repeat_<N>_high``.
    """
    long = repeat_purchase_rates(history, days, by="experience", end=end)
    out = pd.DataFrame(index=pd.Index(list(COHORTS), name="experience"))
    counts = history.groupby(experience_cohort(history), observed=False).size()
    out["deliveries"] = counts.reindex(out.index).fillna(0).astype(int)
    for n in days:
        part = long[long["days"] == n].set_index("group")
        out[f"repeat_{n}"] = part["rate"].reindex(out.index)
        out[f"repeat_{n}_low"] = part["low"].reindex(out.index)
        out[f"repeat_{n}_high"] = part["high"].reindex(out.index)
    return out.reset_index()


def service_metrics(history: pd.DataFrame, by: str = "ds") -> pd.DataFrame:
    """On-time and failed-attempt rates per group, with Wilson intervals.

    Parameters
    ----------
    history
        Order history.
    by
        Grouping column, e.g. ``"delivery_date"``, ``"district"``,
        ``"depot"``.
    """
    late = _column(history, "minutes_late") > 0
    failed = _column(history, "failed_attempts") > 0
    frame = pd.DataFrame(
        {"key": history[by].to_numpy(), "late": late, "failed": failed}
    )
    g = frame.groupby("key", observed=True)
    n = g.size()
    on_time = n - g["late"].sum()
    fails = g["failed"].sum()
    lo1, hi1 = wilson_interval(on_time, n)
    lo2, hi2 = wilson_interval(fails, n)
    return pd.DataFrame(
        {
            by: n.index,
            "orders": n.to_numpy(),
            "on_time_rate": (on_time / n).to_numpy(),
            "on_time_low": lo1,
            "on_time_high": hi1,
            "failed_attempt_rate": (fails / n).to_numpy(),
            "failed_attempt_low": lo2,
            "failed_attempt_high": hi2,
        }
    )


# -- the experience effect ---------------------------------------------------


@dataclass(frozen=True)
class Spells:
    """Spells from each delivery to the next order (see :func:`spells`).

    Attributes
    ----------
    customer
        Customer code per spell (0..n_customers-1).
    start, stop
        First and last day at risk (day numbers from ``origin``), inclusive.
    event
        The spell ended with an order on ``stop`` (else censored).
    x
        Covariates (:data:`COVARIATES`), one row per spell.
    origin
        Day number 0 as a date.
    n_days
        Days from ``origin`` to the end of the data.
    z
        Covariates of leaving at the spell's delivery
        (:data:`CHURN_COVARIATES`), one row per spell.
    ids
        Customer id of each code (``ids[customer]`` is the spell's customer).
    """

    customer: IntArray
    start: IntArray
    stop: IntArray
    event: npt.NDArray[np.bool_]
    x: FloatArray
    origin: np.datetime64
    n_days: int = field(default=0)
    z: FloatArray = field(default_factory=lambda: np.zeros((0, len(CHURN_COVARIATES))))
    ids: tuple[str, ...] = ()


def spells(
    history: pd.DataFrame,
    *,
    churned: Mapping[str, object] | pd.Series | None = None,
    end: object | None = None,
    recent_orders: int = 5,
    recent_days: int = 60,
) -> Spells:
    """Build the at-risk spells of the experience-effect model.

    Parameters
    ----------
    history
        Order history.
    churned
        Customer id -> date the customer left (the delivery date of their
        last order); that last spell is not at risk and is dropped. Without
        it, every last spell is censored at ``end``.
    end
        Last day of the data (default: the latest order date); not before
        any order (ValueError).
    recent_orders, recent_days
        The customer's *recent experience* (a churn covariate) counts the
        late deliveries among their last ``recent_orders`` orders delivered
        within ``recent_days`` days, this one included.

    Returns
    -------
    Spells
    """
    frame = _ordered(history)
    origin_day = int(_days(frame["ds"]).min())
    last = int(_days(pd.Series([end if end is not None else frame["ds"].max()]))[0])
    latest = int(_days(frame["ds"]).max())
    if latest > last:
        raise ValueError(
            f"end {np.datetime64(last, 'D')} is before the history's last order "
            f"({np.datetime64(latest, 'D')})"
        )
    start = _days(frame["delivery_date"]) + 1 - origin_day
    has_next = frame["next_ds"].notna().to_numpy()
    stop = np.where(has_next, _days(frame["next_ds"]) - origin_day, last - origin_day)
    keep = start <= stop
    if churned is not None:
        gone = pd.Series(churned)
        gone.index = gone.index.astype(str)
        left = frame["customer_id"].astype(str).map(gone)
        left_day = _days(left) - origin_day
        keep &= ~(~has_next & left.notna().to_numpy() & (left_day <= stop))
    late = np.log1p(_column(frame, "minutes_late"))
    notice = _column(frame, "delay_notice")
    early = np.log1p(_column(frame, "minutes_early"))
    failed = _column(frame, "failed_attempts")
    x = np.column_stack([late, late * notice, early, failed])
    z = _churn_design(frame, recent_orders, recent_days)
    codes, uniques = pd.factorize(frame["customer_id"].astype(str))
    codes = codes.astype(np.int64)
    return Spells(
        customer=codes[keep],
        start=start[keep].astype(np.int64),
        stop=stop[keep].astype(np.int64),
        event=has_next[keep],
        x=x[keep],
        origin=np.datetime64(origin_day, "D"),
        n_days=last - origin_day + 1,
        z=z[keep],
        ids=tuple(str(u) for u in uniques),
    )


def _churn_design(
    frame: pd.DataFrame, recent_orders: int, recent_days: int
) -> FloatArray:
    """Churn covariates (:data:`CHURN_COVARIATES`) of each order of ``frame``.

    ``frame`` is sorted by customer and order date (:func:`_ordered`).
    """
    late = _column(frame, "minutes_late") > 0
    failed = _column(frame, "failed_attempts")
    delivered = _days(frame["delivery_date"])
    customer = pd.factorize(frame["customer_id"].astype(str))[0]
    count = late.astype(np.int64)
    for back in range(1, max(recent_orders, 1)):
        same = np.zeros(len(frame), dtype=bool)
        same[back:] = customer[back:] == customer[:-back]
        before = np.zeros(len(frame), dtype=bool)
        before[back:] = late[:-back] & (
            delivered[:-back] > delivered[back:] - recent_days
        )
        count += same & before
    return np.column_stack(
        [
            np.ones(len(frame)),
            late,
            late & (count >= 2),
            late & (count >= 3),
            failed,
        ]
    ).astype(np.float64)


@dataclass(frozen=True)
class ExperienceEffect:
    """Estimated log hazard ratios of the next order, with 95 % intervals.

    ``coef[k]`` is the change in the log daily chance of ordering per unit of
    :data:`COVARIATES` ``[k]``; ``-coef`` is the log multiplier of the time
    to the next order. ``se`` are robust standard errors clustered by
    customer.
    """

    names: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    n_spells: int
    n_events: int
    n_customers: int
    day_effects: bool
    iterations: int
    churn_names: tuple[str, ...] = ()
    churn_coef: FloatArray = field(default_factory=lambda: np.zeros(0))
    churn_se: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def low(self) -> FloatArray:
        """Lower 95 % bounds."""
        return self.coef - _Z95 * self.se

    @property
    def high(self) -> FloatArray:
        """Upper 95 % bounds."""
        return self.coef + _Z95 * self.se

    def __getitem__(self, name: str) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of one coefficient."""
        k = self.names.index(name)
        return float(self.coef[k]), float(self.low[k]), float(self.high[k])

    def gap_multiplier(
        self, minutes_late: float, *, notice: bool = False, failed: int = 0
    ) -> float:
        """Estimated multiplier of the time to the next order after a delivery."""
        late = math.log1p(minutes_late)
        values = {
            "log1p_late": late,
            "log1p_late_x_notice": late * notice,
            "log1p_early": 0.0,
            "failed_attempts": float(failed),
        }
        x = np.array([values[name] for name in self.names])
        return float(math.exp(-float(x @ self.coef)))

    def table(self) -> pd.DataFrame:
        """One row per covariate: estimate, se, 95 % interval."""
        return pd.DataFrame(
            {
                "covariate": list(self.names),
                "coef": self.coef,
                "se": self.se,
                "low": self.low,
                "high": self.high,
            }
        )


def _exposure(s: Spells, log_day: FloatArray) -> FloatArray:
    """Sum over each spell's days of ``exp(log_day)``."""
    cum = np.concatenate([[0.0], np.cumsum(np.exp(log_day))])
    out: FloatArray = cum[s.stop + 1] - cum[s.start]
    return out


def _newton(
    s: Spells, exposure: FloatArray, beta: FloatArray, n_customers: int
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Newton steps on the customer-conditional likelihood (exposure fixed).

    Returns beta, the Hessian, per-customer scores and the log-likelihood.
    """
    x, y, c = s.x, s.event.astype(np.float64), s.customer
    n_c = np.bincount(c, weights=y, minlength=n_customers)
    k = x.shape[1]

    def parts(b: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        w = exposure * np.exp(x @ b)
        total = np.bincount(c, weights=w, minlength=n_customers)
        wx = np.column_stack(
            [
                np.bincount(c, weights=w * x[:, j], minlength=n_customers)
                for j in range(k)
            ]
        )
        use = n_c > 0
        ll = float(y @ (x @ b) - np.sum(n_c[use] * np.log(total[use])))
        share = np.where(total > 0, n_c / np.where(total > 0, total, 1.0), 0.0)
        resid = y - share[c] * w
        scores = np.column_stack(
            [
                np.bincount(c, weights=resid * x[:, j], minlength=n_customers)
                for j in range(k)
            ]
        )
        mean = wx / np.where(total > 0, total, 1.0)[:, None]
        hess = np.zeros((k, k))
        for a in range(k):
            for b2 in range(a, k):
                wxx = np.bincount(
                    c, weights=w * x[:, a] * x[:, b2], minlength=n_customers
                )
                val = -np.sum(
                    n_c[use] * (wxx[use] / total[use] - mean[use, a] * mean[use, b2])
                )
                hess[a, b2] = hess[b2, a] = val
        grad: FloatArray = scores.sum(axis=0).astype(np.float64)
        return ll, grad, hess, scores.astype(np.float64)

    ll, grad, hess, scores = parts(beta)
    for _ in range(50):
        step = np.linalg.solve(hess, -grad)
        t = 1.0
        while True:
            trial = beta + t * step
            ll_t, g_t, h_t, sc_t = parts(trial)
            if ll_t >= ll - 1e-10 or t < 1e-4:
                break
            t /= 2.0
        done = abs(ll_t - ll) < 1e-9 * (1.0 + abs(ll))
        beta, ll, grad, hess, scores = trial, ll_t, g_t, h_t, sc_t
        if done or np.max(np.abs(t * step)) < 1e-9:
            break
    return beta, hess, scores, ll


def _known_log_day(
    s: Spells, days: npt.NDArray[np.int64], daily_multiplier: pd.Series
) -> FloatArray:
    """Log of the known daily multiplier on each day at risk."""
    dates = s.origin + days.astype("timedelta64[D]")
    series = daily_multiplier.copy()
    series.index = pd.to_datetime(series.index).to_numpy().astype("datetime64[D]")
    d = series.reindex(dates).to_numpy(dtype=np.float64)
    if np.isnan(d).any():
        raise ValueError("daily_multiplier does not cover every day at risk")
    out: FloatArray = np.log(d)
    return out


def _day_effects(
    s: Spells,
    beta: FloatArray,
    exposure: FloatArray,
    n_customers: int,
    events_per_day: FloatArray,
    at_risk_weight: FloatArray | None = None,
) -> FloatArray:
    """Log day effects given ``beta`` and the customers' own rates.

    ``exposure`` is already multiplied by ``at_risk_weight`` (the chance
    that the customer is still at risk in the spell; 1 if not given).
    """
    w = np.exp(s.x @ beta)
    n_c = np.bincount(s.customer, weights=s.event.astype(float), minlength=n_customers)
    total = np.bincount(s.customer, weights=exposure * w, minlength=n_customers)
    alpha = np.where(total > 0, n_c / np.where(total > 0, total, 1.0), 0.0)
    rate = alpha[s.customer] * w
    if at_risk_weight is not None:
        rate = rate * at_risk_weight
    at_risk = np.zeros(s.n_days + 1)
    np.add.at(at_risk, s.start, rate)
    np.add.at(at_risk, s.stop + 1, -rate)
    risk = np.cumsum(at_risk)[: s.n_days]
    ok = (risk > 0) & (events_per_day > 0)
    ratio = np.where(ok, events_per_day, 1.0) / np.where(ok, risk, 1.0)
    new_log_day = np.where(ok, np.log(ratio), 0.0)
    new_log_day[ok] -= new_log_day[ok].mean()
    # a day on which nobody ordered (a closure) holds no risk at all
    new_log_day[(risk > 0) & (events_per_day == 0)] = _NO_ORDERS
    return new_log_day


def _varying_covariates(x: FloatArray) -> list[int]:
    """Columns of ``x`` that vary; those that never do are left out.

    (For example no delay notices recorded.)
    """
    active = [k for k in range(x.shape[1]) if np.ptp(x[:, k]) > 0]
    if not active:
        raise ValueError("no experience covariate varies in the history")
    return active


def _sandwich_se(hess: FloatArray, scores: FloatArray) -> FloatArray:
    """Robust (sandwich) standard errors, clustered by customer."""
    bread = np.linalg.inv(-hess)
    meat = scores.T @ scores
    cov = bread @ meat @ bread
    out: FloatArray = np.sqrt(np.diag(cov))
    return out


def _alternate(
    s: Spells,
    log_day: FloatArray,
    n_customers: int,
    max_iterations: int,
    *,
    day_effects: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Alternate Newton steps on the coefficients with the day effects.

    Returns the coefficients, the Hessian and scores of the last step and
    the number of iterations.
    """
    beta = np.zeros(s.x.shape[1])
    events_per_day = np.bincount(s.stop[s.event], minlength=s.n_days).astype(float)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        exposure = _exposure(s, log_day)
        new_beta, hess, scores, _ = _newton(s, exposure, beta, n_customers)
        change = float(np.max(np.abs(new_beta - beta)))
        beta = new_beta
        if not day_effects:
            break
        new_log_day = _day_effects(s, beta, exposure, n_customers, events_per_day)
        day_change = float(np.max(np.abs(new_log_day - log_day)))
        log_day = new_log_day
        if iterations > 1 and change < 1e-6 and day_change < 1e-6:
            break
    return beta, hess, scores, iterations


# -- leaving: the cure part ---------------------------------------------------


def _expit(v: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * v))
    return out


def _at_risk(
    s: Spells,
    base: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
    n_customers: int,
    stay: FloatArray,
    rounds: int,
) -> tuple[FloatArray, FloatArray]:
    """Chance that each spell is at risk, and each customer's own rate.

    A spell that ended with an order was at risk. A customer's last,
    censored spell was at risk with the posterior chance that they did not
    leave at its delivery: ``(1 - pi) S / (pi + (1 - pi) S)`` with ``pi``
    the chance of leaving and ``S`` the chance of no order in the spell at
    the customer's rate. The rate is the customer's orders over their
    expected days at risk, so the two are solved together (``rounds``
    fixed-point steps from ``stay``).
    """
    lam = base * np.exp(s.x @ beta)
    censored = ~s.event
    pi = _expit(s.z[censored] @ gamma)
    c = s.customer
    n_c = np.bincount(c, weights=s.event.astype(np.float64), minlength=n_customers)
    stay = stay.copy()
    alpha = np.zeros(n_customers)
    for _ in range(rounds):
        total = np.bincount(c, weights=lam * stay, minlength=n_customers)
        alpha = np.where(total > 0, n_c / np.where(total > 0, total, 1.0), 0.0)
        surv = np.exp(-alpha[c[censored]] * lam[censored])
        stay[censored] = (1.0 - pi) * surv / (pi + (1.0 - pi) * surv)
    return stay, alpha


def _churn_newton(z: FloatArray, target: FloatArray, gamma: FloatArray) -> FloatArray:
    """Logistic regression of (fractional) leaving on ``z``, from ``gamma``.

    Newton steps with step halving (leaving is rare: a full step from far
    away can overshoot). A weak normal prior (:data:`_CHURN_PRIOR_SD`) keeps
    the coefficients finite when nobody seems to leave.
    """
    prior = 1.0 / _CHURN_PRIOR_SD**2

    def loglik(g: FloatArray) -> float:
        v = z @ g
        return float(target @ v - np.sum(np.logaddexp(0.0, v)) - 0.5 * prior * g @ g)

    ridge = prior * np.eye(z.shape[1])
    ll = loglik(gamma)
    for _ in range(50):
        p = _expit(z @ gamma)
        grad = z.T @ (target - p) - prior * gamma
        info = (z * (p * (1.0 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(info, grad)
        t = 1.0
        while True:
            trial = gamma + t * step
            ll_t = loglik(trial)
            if ll_t >= ll - 1e-12 or t < 1e-6:
                break
            t /= 2.0
        gamma, ll = trial, ll_t
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return gamma


def _cure_scores(
    s: Spells,
    base: FloatArray,
    theta: FloatArray,
    n_customers: int,
    stay: FloatArray,
) -> FloatArray:
    """Per-customer scores of the observed-data likelihood in ``(beta, gamma)``.

    The customers' rates are profiled out (solved again at ``theta``).
    """
    k = s.x.shape[1]
    beta, gamma = theta[:k], theta[k:]
    stay, alpha = _at_risk(s, base, beta, gamma, n_customers, stay, rounds=30)
    c = s.customer
    resid = s.event - alpha[c] * stay * base * np.exp(s.x @ beta)
    gone = np.where(s.event, 0.0, 1.0 - stay) - _expit(s.z @ gamma)
    columns = [
        np.bincount(c, weights=resid * s.x[:, j], minlength=n_customers)
        for j in range(k)
    ] + [
        np.bincount(c, weights=gone * s.z[:, j], minlength=n_customers)
        for j in range(s.z.shape[1])
    ]
    return np.column_stack(columns)


def _cure_covariance(
    s: Spells,
    base: FloatArray,
    theta: FloatArray,
    n_customers: int,
    stay: FloatArray,
) -> FloatArray:
    """Sandwich covariance of ``(beta, gamma)``, clustered by customer.

    The bread is the derivative of the total observed-data score (central
    differences), the meat the sum of the customers' score products.
    """
    scores = _cure_scores(s, base, theta, n_customers, stay)
    k = s.x.shape[1]
    jac = np.zeros((len(theta), len(theta)))
    jac[k:, k:] = -np.eye(len(theta) - k) / _CHURN_PRIOR_SD**2  # the prior
    for j in range(len(theta)):
        h = 1e-5 * max(1.0, abs(float(theta[j])))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        jac[:, j] += (
            _cure_scores(s, base, up, n_customers, stay).sum(axis=0)
            - _cure_scores(s, base, down, n_customers, stay).sum(axis=0)
        ) / (2.0 * h)
    jac = 0.5 * (jac + jac.T)
    bread = np.linalg.pinv(-jac)
    cov: FloatArray = bread @ (scores.T @ scores) @ bread
    return cov


@dataclass(frozen=True)
class _CureFit:
    beta: FloatArray
    gamma: FloatArray
    cov: FloatArray
    stay: FloatArray
    iterations: int


def _fit_cure(
    s: Spells,
    log_day: FloatArray,
    n_customers: int,
    max_iterations: int,
    *,
    day_effects: bool,
) -> _CureFit:
    """EM over whether each customer's last, censored spell is at risk.

    E-step: :func:`_at_risk`. M-step: the customer-conditional Poisson
    hazard with the last spell's days weighted by that chance, the day
    effects likewise, and the logistic model of leaving.
    """
    beta = np.zeros(s.x.shape[1])
    gamma = np.zeros(s.z.shape[1])
    gamma[0] = -5.0
    stay = np.ones(len(s.customer))
    events_per_day = np.bincount(s.stop[s.event], minlength=s.n_days).astype(float)
    base = _exposure(s, log_day)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        stay, _ = _at_risk(s, base, beta, gamma, n_customers, stay, rounds=3)
        target = np.where(s.event, 0.0, 1.0 - stay)
        new_gamma = _churn_newton(s.z, target, gamma)
        new_beta, _, _, _ = _newton(s, base * stay, beta, n_customers)
        change = max(
            float(np.max(np.abs(new_beta - beta))),
            float(np.max(np.abs(new_gamma - gamma))),
        )
        beta, gamma = new_beta, new_gamma
        if day_effects:
            new_log_day = _day_effects(
                s, beta, base * stay, n_customers, events_per_day, stay
            )
            change = max(change, float(np.max(np.abs(new_log_day - log_day))))
            log_day = new_log_day
            base = _exposure(s, log_day)
        if iterations > 1 and change < 1e-6:
            break
    theta = np.concatenate([beta, gamma])
    cov = _cure_covariance(s, base, theta, n_customers, stay)
    return _CureFit(beta, gamma, cov, stay, iterations)


def experience_effect(
    history: pd.DataFrame,
    *,
    daily_multiplier: pd.Series | None = None,
    churned: Mapping[str, object] | pd.Series | None = None,
    end: object | None = None,
    max_iterations: int = 200,
    cure: bool = True,
) -> ExperienceEffect:
    """Estimate how delivery experience changes the chance of the next order.

    Only observable data are needed: whether a customer who has gone quiet
    left at their last delivery is not known, so each customer's last,
    censored spell is at risk only with the posterior chance that they did
    not leave (a cure model, module docstring and ``docs/tracking.md``).

    Parameters
    ----------
    history
        Order history (module docstring).
    daily_multiplier
        Known calendar multiplier ``D(t)`` indexed by date; without it the
        day effects are estimated jointly (alternating with the
        coefficients; the customer effects are conditioned out).
    churned
        Customer id -> date the customer left (see :func:`spells`), if it is
        known (a simulation's hidden truth; a shop does not know it). Those
        last spells are dropped and nothing else is modelled about leaving.
    end
        Last day of the data.
    max_iterations
        Alternations between day effects, coefficients and (the cure model)
        the chances of leaving.
    cure
        Model leaving (the default). ``False`` treats every silent last spell
        as at risk to the end of the data: biased towards a stronger effect
        when bad experiences make customers leave; kept for comparison.

    Returns
    -------
    ExperienceEffect
        Covariates that never vary in the history are left out of it.

    Raises
    ------
    ValueError
        If no spell is at risk or no covariate varies.
    """
    s = spells(history, churned=churned, end=end)
    if not len(s.customer):
        raise ValueError("no spell at risk: the history is empty or too short")
    active = _varying_covariates(s.x)
    s = replace(s, x=s.x[:, active])
    n_customers = int(s.customer.max()) + 1
    known = daily_multiplier is not None
    if daily_multiplier is not None:
        log_day = _known_log_day(s, np.arange(s.n_days), daily_multiplier)
    else:
        log_day = np.zeros(s.n_days)
    names = tuple(COVARIATES[k] for k in active)
    common = {
        "names": names,
        "n_spells": len(s.customer),
        "n_events": int(s.event.sum()),
        "n_customers": n_customers,
        "day_effects": not known,
    }
    if churned is not None or not cure or s.event.all():
        beta, hess, scores, iterations = _alternate(
            s,
            log_day,
            n_customers,
            1 if known else max_iterations,
            day_effects=not known,
        )
        return ExperienceEffect(
            coef=beta,
            se=_sandwich_se(hess, scores),
            iterations=iterations,
            **common,  # type: ignore[arg-type]
        )
    churn_active = [0] + [j for j in range(1, s.z.shape[1]) if np.ptp(s.z[:, j]) > 0]
    s = replace(s, z=s.z[:, churn_active])
    fit = _fit_cure(
        s, log_day, n_customers, max(max_iterations, 1), day_effects=not known
    )
    se = np.sqrt(np.diag(fit.cov))
    k = len(active)
    return ExperienceEffect(
        coef=fit.beta,
        se=se[:k],
        iterations=fit.iterations,
        churn_names=tuple(CHURN_COVARIATES[j] for j in churn_active),
        churn_coef=fit.gamma,
        churn_se=se[k:],
        **common,  # type: ignore[arg-type]
    )
