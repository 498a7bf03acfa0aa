"""Daily order history of the synthetic Seoul, with a known ground truth.

The generator is a day-by-day simulation over *customer slots* (households).
On each day every active customer whose previous parcel has arrived orders
with probability

.. math::

    p_{it} = \\min(p_{max},\\; r_i \\cdot D(t) \\cdot E_i)

where :math:`r_i` is the customer's base rate, :math:`D(t)` the demand
multiplier of the day (week, year, trend, holidays, events, promotions) and
:math:`E_i` the experience factor left by the customer's last delivery. Each
order's outcome (lateness against the promised window, failed attempts,
delay notice) is drawn from distributions that depend on how busy the
delivery day is; it sets the next :math:`E_i` and may make the customer leave
(churn). Churned slots are refilled by new customers. Each order has a basket
value drawn around its customer's mean basket, from random streams of their
own, so baskets change no other draw (:func:`order_baskets`). Every number is
in :class:`GroundTruth`; ``docs/synthetic-city.md`` explains the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.calendar import (
    Promotion,
    PromotionType,
    RetailCalendar,
    default_promotions,
)
from forecasting.exog import (
    CLOSURE_COLUMN,
    DS_DTYPE,
    HOLIDAY_COLUMN,
    calendar_features,
    on_event,
    promotion_column,
    to_column,
)
from routing.model import ServiceLevel
from scenarios.city.geography import (
    DEPOTS,
    DISTRICTS,
    STATIONS,
    coordinates,
    nearest,
    scatter_homes,
)

__all__ = [
    "BASKET_STREAM",
    "HISTORY_COLUMNS",
    "SERVICE_LEVELS",
    "GroundTruth",
    "History",
    "customer_baskets",
    "daily_counts",
    "order_baskets",
    "simulate_history",
    "time_to_next_order",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Service levels in the order of their integer codes inside the simulator.
SERVICE_LEVELS: tuple[ServiceLevel, ...] = (
    ServiceLevel.NEXT_DAY,
    ServiceLevel.SAME_DAY,
    ServiceLevel.SCHEDULED,
    ServiceLevel.NIGHT,
    ServiceLevel.PICKUP_STATION,
)
_NEXT_DAY, _SAME_DAY, _SCHEDULED, _NIGHT, _STATION = range(5)

#: Columns of the order history, in order.
HISTORY_COLUMNS: tuple[str, ...] = (
    "order_id",
    "customer_id",
    "district",
    "depot",
    "ds",
    "delivery_date",
    "service_level",
    "window_start",
    "window_end",
    "arrival",
    "minutes_late",
    "minutes_early",
    "failed_attempts",
    "delay_notice",
    "promotion",
    "value",
)

_HOUR = 3600
_SHIFT_START = 8 * _HOUR  # day vans leave at 08:00: nothing arrives earlier
_OPEN_WINDOW = (9 * _HOUR, 21 * _HOUR)  # "any time" next-day promise
_STATION_WINDOW = (9 * _HOUR, 18 * _HOUR)  # parcel in the locker by 18:00
_NIGHT_WINDOW = (0, 7 * _HOUR)  # dawn delivery, before 07:00
_LATE_HORIZON_DAYS = 21  # simulate deliveries this far past the last order day
#: Mixed into the seed of the basket streams: baskets are drawn apart from
#: the simulation, so adding them changed no order, outcome or customer.
BASKET_STREAM = 0xBA5CE7


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class GroundTruth:
    """Every number the history generator uses: what estimators should recover.

    The *demand multiplier* of a day is the product of the weekly factor, the
    yearly curve, the trend, ``public_holiday`` on public holidays, each
    active event's multiplier and ``1 + promotion_uplift[type] * intensity``
    per promotion type (:meth:`demand_multiplier`).

    A delivery multiplies the customer's daily order probability, until the
    next order, by :meth:`rate_multiplier`; equivalently, it multiplies the
    expected time to the next order by :meth:`gap_multiplier`::

        gap = exp(lateness_coef * log1p(minutes_late) * (1 - notice_softening * notice)
                  - earliness_coef * log1p(minutes_early))
              * (1 + failed_attempt_effect) ** failed_attempts

    After each delivery the customer leaves with probability
    :meth:`churn_probability`: ``churn_base`` when it was on time, else
    ``churn_after_late[k - 1]`` where ``k`` (capped at its length) counts the
    late deliveries among the customer's last ``churn_window_orders`` orders
    delivered within ``churn_window_days`` days, this one included.
    """

    # demand: D(t)
    weekly: tuple[float, ...] = (1.12, 1.06, 1.03, 1.00, 0.94, 0.86, 0.99)
    """Order-day factors Monday..Sunday (mean 1)."""
    yearly_fourier: tuple[tuple[float, float], ...] = ((0.06, -0.04), (-0.03, 0.0))
    """``(a_k, b_k)``: log yearly factor is ``sum a_k cos(k w) + b_k sin(k w)``,
    ``w = 2 pi (day of year - 1) / 365.25``."""
    annual_growth: float = 0.05
    """Demand grows by this fraction a year from ``trend_origin``."""
    trend_origin: date = date(2024, 1, 1)
    public_holiday: float = 0.80
    """Multiplier on every public holiday (stacks with events)."""
    events: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "valentines_day": 1.10,
                "white_day": 1.08,
                "black_day": 1.03,
                "pepero_day": 1.30,
                "korea_sale_festa": 1.12,
                "black_friday": 1.25,
                "christmas_eve": 1.10,
                "christmas": 0.90,
                "seollal_run_up": 1.35,
                "seollal_holidays": 0.45,
                "chuseok_run_up": 1.35,
                "chuseok_holidays": 0.45,
            }
        )
    )
    """Multiplier per calendar event name (events not listed: 1)."""
    promotion_uplift: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                PromotionType.SEASONAL.value: 0.25,
                PromotionType.SIGN_UP.value: 0.05,
                PromotionType.FIRST_PURCHASE.value: 0.08,
                PromotionType.REPURCHASE.value: 0.12,
                PromotionType.LIMITED_TIME.value: 0.35,
            }
        )
    )
    """Uplift per unit of intensity, per promotion type."""

    # customers
    base_rate_mean: float = 0.045
    """Mean daily order probability before multipliers."""
    base_rate_shape: float = 2.0
    """Gamma shape of the base rates across customers."""
    max_daily_probability: float = 0.9
    refill_rate: float = 0.03
    """Daily probability that an empty slot gets a new customer."""
    sign_up_refill_uplift: float = 1.5
    """Sign-up campaigns multiply ``refill_rate`` by ``1 + this * intensity``."""

    # outcomes
    service_level_shares: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                ServiceLevel.NEXT_DAY.value: 0.55,
                ServiceLevel.SAME_DAY.value: 0.12,
                ServiceLevel.SCHEDULED.value: 0.06,
                ServiceLevel.NIGHT.value: 0.17,
                ServiceLevel.PICKUP_STATION.value: 0.10,
            }
        )
    )
    late_probability: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                ServiceLevel.NEXT_DAY.value: 0.10,
                ServiceLevel.SAME_DAY.value: 0.14,
                ServiceLevel.SCHEDULED.value: 0.08,
                ServiceLevel.NIGHT.value: 0.06,
                ServiceLevel.PICKUP_STATION.value: 0.05,
            }
        )
    )
    """Probability of a late arrival on a day of normal load."""
    open_window_share: float = 0.2
    """Share of next-day orders promised 'any time 09-21' instead of 2 hours."""
    open_window_late_factor: float = 0.3
    """Late probability multiplier for an 'any time' promise."""
    load_exponent: float = 2.0
    """Late probability grows as ``load ** load_exponent``."""
    ops_noise_sigma: float = 0.2
    """Log-sd of a daily operations shock (traffic, weather) on load."""
    max_late_probability: float = 0.7
    late_median_minutes: float = 20.0
    """Median minutes late at normal load (scales with ``sqrt(load)``)."""
    late_sigma: float = 0.9
    """Log-sd of minutes late."""
    early_probability: float = 0.12
    """Chance that an on-time 2-hour-window delivery arrives early."""
    early_median_minutes: float = 10.0
    early_sigma: float = 0.6
    failed_attempt_probability: tuple[float, float] = (0.045, 0.008)
    """P(exactly 1), P(exactly 2) failed attempts of a home delivery."""
    delay_notice_probability: float = 0.75
    """Chance that a late delivery's customer got a proactive delay notice."""

    # experience -> time to next order (Harter et al. 2024; Amorim et al.
    # 2025; Paluzzi et al. 2024)
    lateness_coef: float = 0.10
    lateness_shape: Literal["log1p"] = "log1p"
    earliness_coef: float = 0.03
    failed_attempt_effect: float = 0.07
    notice_softening: float = 0.5

    # churn
    churn_window_orders: int = 5
    churn_window_days: int = 60
    churn_base: float = 0.002
    churn_after_late: tuple[float, ...] = (0.01, 0.10, 0.35)

    # baskets (won): they feed margins only, never the order or churn chances
    basket_median: float = 31_500.0
    """Median of the customers' mean baskets."""
    basket_sigma: float = 0.45
    """Log-sd of the mean basket across customers."""
    order_basket_sigma: float = 0.35
    """Log-sd of one order's basket around its customer's mean."""
    basket_step: float = 100.0
    """Baskets are whole multiples of this (won has no minor unit)."""

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError(f"weekly needs 7 factors, got {len(self.weekly)}")
        shares = [self.service_level_shares.get(s.value, 0.0) for s in SERVICE_LEVELS]
        if abs(sum(shares) - 1.0) > 1e-9 or min(shares) < 0:
            raise ValueError(f"service_level_shares must sum to 1, got {shares}")
        if not self.churn_after_late:
            raise ValueError("churn_after_late must not be empty")
        if self.basket_median <= 0 or self.basket_step <= 0:
            raise ValueError("basket_median and basket_step must be > 0")
        if self.basket_sigma < 0 or self.order_basket_sigma < 0:
            raise ValueError("basket_sigma and order_basket_sigma must be >= 0")

    # -- demand -------------------------------------------------------------

    def yearly(self, ds: npt.ArrayLike) -> FloatArray:
        """Yearly factor of each date (``datetime64`` values)."""
        days = np.asarray(ds, dtype="datetime64[D]")
        doy = (days - days.astype("datetime64[Y]")).astype(np.float64)
        w = 2.0 * np.pi * doy / 365.25
        log = np.zeros(days.shape, dtype=np.float64)
        for k, (a, b) in enumerate(self.yearly_fourier, start=1):
            log += a * np.cos(k * w) + b * np.sin(k * w)
        return np.exp(log)

    def trend(self, ds: npt.ArrayLike) -> FloatArray:
        """Trend factor of each date: ``(1 + annual_growth) ** years``."""
        days = np.asarray(ds, dtype="datetime64[D]")
        origin = np.datetime64(self.trend_origin.isoformat(), "D")
        years = (days - origin).astype(np.float64) / 365.25
        return np.power(1.0 + self.annual_growth, years)

    def demand_multiplier(self, features: pd.DataFrame) -> FloatArray:
        """Demand multiplier ``D(t)`` of each row of a calendar feature frame.

        Parameters
        ----------
        features
            Output of :func:`forecasting.exog.calendar_features`.
        """
        ds = features["ds"].to_numpy()
        dow = (ds.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
        m = np.asarray(self.weekly, dtype=np.float64)[dow]
        m = m * self.yearly(ds) * self.trend(ds)
        holiday = features[HOLIDAY_COLUMN].to_numpy()
        m = m * np.where(holiday, self.public_holiday, 1.0)
        for name, factor in self.events.items():
            if to_column(name) in features:
                m = m * np.where(on_event(features, name), factor, 1.0)
        for kind, uplift in self.promotion_uplift.items():
            column = promotion_column(kind)
            if column in features:
                intensity = features[column].to_numpy(dtype=np.float64)
                m = m * (1.0 + uplift * intensity)
        return m

    # -- experience ---------------------------------------------------------

    def gap_multiplier(
        self,
        minutes_late: npt.ArrayLike,
        minutes_early: npt.ArrayLike = 0,
        failed_attempts: npt.ArrayLike = 0,
        delay_notice: npt.ArrayLike = False,
    ) -> FloatArray:
        """Multiplier of the expected time to the next order after a delivery."""
        late = np.log1p(np.asarray(minutes_late, dtype=np.float64))
        early = np.log1p(np.asarray(minutes_early, dtype=np.float64))
        notice = np.asarray(delay_notice, dtype=np.float64)
        failed = np.asarray(failed_attempts, dtype=np.float64)
        log_gap = (
            self.lateness_coef * late * (1.0 - self.notice_softening * notice)
            - self.earliness_coef * early
            + failed * np.log1p(self.failed_attempt_effect)
        )
        gap: FloatArray = np.exp(log_gap)
        return gap

    def rate_multiplier(
        self,
        minutes_late: npt.ArrayLike,
        minutes_early: npt.ArrayLike = 0,
        failed_attempts: npt.ArrayLike = 0,
        delay_notice: npt.ArrayLike = False,
    ) -> FloatArray:
        """Experience factor ``E``: multiplier of the daily order probability.

        The reciprocal of :meth:`gap_multiplier`; in a proportional-hazards
        model of the time to the next order, its log is the linear predictor.
        """
        rate: FloatArray = 1.0 / self.gap_multiplier(
            minutes_late, minutes_early, failed_attempts, delay_notice
        )
        return rate

    def churn_probability(
        self, late: npt.ArrayLike, late_count: npt.ArrayLike
    ) -> FloatArray:
        """Chance of leaving after a delivery.

        Parameters
        ----------
        late
            Whether this delivery was late.
        late_count
            Late deliveries in the rolling window, this one included.
        """
        table = np.asarray(self.churn_after_late, dtype=np.float64)
        k = np.clip(np.asarray(late_count, dtype=np.int64), 1, len(table))
        p: FloatArray = np.where(
            np.asarray(late, dtype=bool), table[k - 1], self.churn_base
        )
        return p


@dataclass(frozen=True, eq=False)
class History:
    """What :func:`simulate_history` returns.

    Attributes
    ----------
    orders
        One row per order placed from ``start`` to ``end``
        (:data:`HISTORY_COLUMNS`).
    customers
        One row per customer that ever existed: ``customer_id, district, lat,
        lon``, the nearest ``depot`` and ``station``, ``base_rate`` (latent:
        an estimator should not use it), ``since`` (the day the customer
        joined; the first simulated day, before ``start``, for the initial
        customers) and ``churned`` (delivery date of the last order of a
        customer who left, else ``NaT``) and ``basket`` (latent: the
        customer's mean basket, won; :func:`customer_baskets`).
    features
        :func:`~forecasting.exog.calendar_features` over the simulated
        days plus ``demand`` (the true ``D(t)``) and ``load`` (expected
        deliveries relative to a normal day, operations shock included).
    """

    orders: pd.DataFrame
    customers: pd.DataFrame
    features: pd.DataFrame


def _next_open(closed: BoolArray) -> IntArray:
    """Index of the first open day at or after each day (clipped to the end)."""
    n = len(closed)
    out = np.empty(n, dtype=np.int64)
    following = n - 1
    for t in range(n - 1, -1, -1):
        if not closed[t]:
            following = t
        out[t] = following
    return out


def _expected_load(
    demand: FloatArray,
    next_open: IntArray,
    n_order_days: int,
    shares: FloatArray,
) -> FloatArray:
    """Expected deliveries per day relative to the median open day."""
    n = len(demand)
    volume = np.zeros(n)
    t = np.arange(n_order_days)
    leads = {
        _NEXT_DAY: (1,),
        _SAME_DAY: (0,),
        _SCHEDULED: (2, 3, 4, 5),
        _NIGHT: (1,),
        _STATION: (1,),
    }
    for level, options in leads.items():
        for lead in options:
            weight = shares[level] / len(options)
            day = next_open[np.minimum(t + lead, n - 1)]
            np.add.at(volume, day, weight * demand[:n_order_days])
    reference = float(np.median(volume[:n_order_days][volume[:n_order_days] > 0]))
    return volume / reference


def simulate_history(
    n_customers: int,
    start: date,
    end: date,
    *,
    seed: int = 0,
    truth: GroundTruth | None = None,
    calendar: RetailCalendar | None = None,
    promotions: Sequence[Promotion] | None = None,
    burn_in_days: int = 60,
) -> History:
    """Simulate the daily orders of ``n_customers`` customer slots.

    Parameters
    ----------
    n_customers
        Number of customer slots (households); a churned customer's slot is
        refilled by a new customer.
    start, end
        Inclusive range of order dates kept in the history.
    seed
        Seed of the simulation.
    truth
        The model's parameters (default :class:`GroundTruth`).
    calendar
        Calendar (default: a :class:`~forecasting.calendar.RetailCalendar`
        covering the simulated days).
    promotions
        Campaigns (default:
        :func:`~forecasting.calendar.default_promotions` with ``seed``).
    burn_in_days
        Days simulated before ``start`` and dropped, so that experience,
        churn and refills start in a steady state.

    Returns
    -------
    History
        Orders, customers and daily features.
    """
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}")
    truth = truth or GroundTruth()
    sim_start = start - timedelta(days=burn_in_days)
    features = _simulated_features(sim_start, end, seed, calendar, promotions)
    rng = np.random.default_rng(seed)
    sim = _Simulation(
        truth=truth,
        features=features,
        n_order_days=(end - sim_start).days + 1,
        burn_in=burn_in_days,
        n_slots=n_customers,
        rng=rng,
    )
    sim.run()
    return _with_baskets(sim.result(), seed, truth)


def customer_baskets(n: int, seed: int, truth: GroundTruth) -> FloatArray:
    """Mean basket (won) of customers ``0..n-1`` of a history drawn with ``seed``.

    Log-normal across customers (median ``truth.basket_median``, log-sd
    ``truth.basket_sigma``), from a stream of its own.
    """
    z = np.random.default_rng([seed, BASKET_STREAM, 0]).standard_normal(n)
    means: FloatArray = truth.basket_median * np.exp(truth.basket_sigma * z)
    return means


def order_baskets(
    means: npt.ArrayLike, rng: np.random.Generator, truth: GroundTruth
) -> FloatArray:
    """One basket (won) per order around its customer's mean basket ``means``.

    Log-normal with log-sd ``truth.order_basket_sigma`` and mean ``means``,
    rounded to ``truth.basket_step`` and at least one step.
    """
    m = np.asarray(means, dtype=np.float64)
    s = truth.order_basket_sigma
    draw = m * np.exp(s * rng.standard_normal(len(m)) - 0.5 * s * s)
    step = truth.basket_step
    baskets: FloatArray = np.maximum(np.round(draw / step), 1.0) * step
    return baskets


def _with_baskets(history: History, seed: int, truth: GroundTruth) -> History:
    """``history`` with each customer's mean ``basket`` and each order's ``value``.

    Both come from streams of their own (not the simulation's generator), so
    every other column is what it was without them.
    """
    customers = history.customers.assign(
        basket=customer_baskets(len(history.customers), seed, truth)
    )
    codes = history.orders["customer_id"].cat.codes.to_numpy()
    rng = np.random.default_rng([seed, BASKET_STREAM, 1])
    value = order_baskets(customers["basket"].to_numpy()[codes], rng, truth)
    return History(
        orders=history.orders.assign(value=value),
        customers=customers,
        features=history.features,
    )


@dataclass(frozen=True, slots=True)
class _Promise:
    """Promised windows of a day's orders (seconds) and their kind."""

    start: IntArray
    end: IntArray
    two_hour: BoolArray
    open: BoolArray


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How a day's orders went."""

    late: BoolArray
    minutes_late: IntArray
    minutes_early: IntArray
    arrival: IntArray
    failed: IntArray
    notice: BoolArray


def _simulated_features(
    sim_start: date,
    end: date,
    seed: int,
    calendar: RetailCalendar | None,
    promotions: Sequence[Promotion] | None,
) -> pd.DataFrame:
    """Calendar features of the simulated days plus the late-delivery horizon."""
    horizon = end + timedelta(days=_LATE_HORIZON_DAYS)
    if calendar is None:
        calendar = RetailCalendar(range(sim_start.year, horizon.year + 1))
    if promotions is None:
        promotions = default_promotions(sim_start, end, seed=seed)
    features = calendar_features(sim_start, horizon, calendar, promotions)
    # Every campaign type has its column, zero when the plan has none of it.
    missing = {
        promotion_column(kind): 0.0
        for kind in PromotionType
        if promotion_column(kind) not in features
    }
    return features.assign(**missing)


class _Simulation:
    """State of one history simulation (vectors over customer slots)."""

    def __init__(
        self,
        *,
        truth: GroundTruth,
        features: pd.DataFrame,
        n_order_days: int,
        burn_in: int,
        n_slots: int,
        rng: np.random.Generator,
    ) -> None:
        self.truth = truth
        self.rng = rng
        self.n_days = n_order_days
        self.burn_in = burn_in
        self._init_days(features)
        self._init_customers(n_slots)
        self._init_slots(n_slots)
        self._arrive(np.arange(n_slots), 0)
        self.out: dict[str, list[npt.NDArray[np.generic]]] = {
            k: []
            for k in (
                "t",
                "customer",
                "level",
                "dday",
                "ws",
                "we",
                "arrival",
                "late",
                "early",
                "failed",
                "notice",
            )
        }

    def _init_days(self, features: pd.DataFrame) -> None:
        """Per-day vectors: demand, next open day, expected load with its shock."""
        truth, rng, n_order_days = self.truth, self.rng, self.n_days
        self.ds = features["ds"].to_numpy().astype("datetime64[D]")
        self.demand = truth.demand_multiplier(features)
        closed = features[CLOSURE_COLUMN].to_numpy().astype(bool)
        self.next_open = _next_open(closed)
        self.shares = np.array(
            [truth.service_level_shares.get(s.value, 0.0) for s in SERVICE_LEVELS]
        )
        self.base_late = np.array(
            [truth.late_probability.get(s.value, 0.0) for s in SERVICE_LEVELS]
        )
        shock = np.exp(
            rng.normal(0.0, truth.ops_noise_sigma, len(self.ds))
            - truth.ops_noise_sigma**2 / 2
        )
        self.load = (
            _expected_load(self.demand, self.next_open, n_order_days, self.shares)
            * shock
        )
        self.sign_up = features[promotion_column(PromotionType.SIGN_UP)].to_numpy()
        self.promotion = _dominant_promotion(features, truth)
        self.features = features.assign(demand=self.demand, load=self.load)

    def _init_customers(self, n_slots: int) -> None:
        """Each slot's district and base rate; the customer lists start empty."""
        truth, rng = self.truth, self.rng
        district_p = np.array([d.population for d in DISTRICTS], dtype=np.float64)
        self.slot_district = rng.choice(
            len(DISTRICTS), size=n_slots, p=district_p / district_p.sum()
        )
        self.slot_rate = rng.gamma(
            truth.base_rate_shape, truth.base_rate_mean / truth.base_rate_shape, n_slots
        )
        self.cust_district: list[npt.NDArray[np.intp]] = []
        self.cust_lat: list[FloatArray] = []
        self.cust_lon: list[FloatArray] = []
        self.cust_rate: list[FloatArray] = []
        self.cust_since: list[IntArray] = []
        self.n_cust = 0
        self.churned: dict[int, int] = {}

    def _init_slots(self, n_slots: int) -> None:
        """Slot state: who lives there, their order factor and recent orders."""
        self.customer = np.full(n_slots, -1, dtype=np.int64)
        self.factor = np.ones(n_slots)
        self.eligible_from = np.zeros(n_slots, dtype=np.int64)
        self.active = np.zeros(n_slots, dtype=bool)
        self.vacant_from = np.zeros(n_slots, dtype=np.int64)
        w = self.truth.churn_window_orders
        self.ring_day = np.full((n_slots, w), -(10**6), dtype=np.int64)
        self.ring_late = np.zeros((n_slots, w), dtype=bool)
        self.ring_pos = np.zeros(n_slots, dtype=np.int64)

    def _arrive(self, slots: IntArray, t: int) -> None:
        """New customers move into ``slots`` on day ``t``.

        A new customer takes over the slot's base rate (a household with the
        same needs), so the mix of base rates does not drift as heavy buyers,
        who see more late deliveries, churn more often.
        """
        k = len(slots)
        if k == 0:
            return
        rng = self.rng
        district = self.slot_district[slots]
        lat, lon = scatter_homes(rng, district)
        rate = self.slot_rate[slots]
        ids = np.arange(self.n_cust, self.n_cust + k)
        self.n_cust += k
        self.cust_district.append(district)
        self.cust_lat.append(lat)
        self.cust_lon.append(lon)
        self.cust_rate.append(rate)
        self.cust_since.append(np.full(k, t, dtype=np.int64))
        self.customer[slots] = ids
        self.factor[slots] = 1.0
        self.eligible_from[slots] = t
        self.active[slots] = True
        self.ring_day[slots] = -(10**6)
        self.ring_late[slots] = False
        self.ring_pos[slots] = 0

    def run(self) -> None:
        for t in range(self.n_days):
            self._refill(t)
            self._order(t)

    def _refill(self, t: int) -> None:
        vacant = np.flatnonzero(~self.active & (self.vacant_from <= t))
        if len(vacant) == 0:
            return
        truth = self.truth
        q = truth.refill_rate * (1.0 + truth.sign_up_refill_uplift * self.sign_up[t])
        self._arrive(vacant[self.rng.random(len(vacant)) < q], t)

    def _order(self, t: int) -> None:
        rng, truth = self.rng, self.truth
        ready = np.flatnonzero(self.active & (self.eligible_from <= t))
        p = np.minimum(
            self.slot_rate[ready] * self.demand[t] * self.factor[ready],
            truth.max_daily_probability,
        )
        slots = ready[rng.random(len(ready)) < p]
        k = len(slots)
        if k == 0:
            return
        level = rng.choice(len(SERVICE_LEVELS), size=k, p=self.shares)
        lead = np.select(
            [level == _SAME_DAY, level == _SCHEDULED],
            [0, rng.integers(2, 6, k)],
            default=1,
        )
        dday = self.next_open[np.minimum(t + lead, len(self.ds) - 1)]
        window = self._promise(level)
        outcome = self._outcome(level, dday, window)
        self._experience(slots, dday, outcome)
        if t < self.burn_in:
            return
        out = self.out
        out["t"].append(np.full(k, t, dtype=np.int64))
        out["customer"].append(self.customer[slots])
        out["level"].append(level)
        out["dday"].append(dday)
        out["ws"].append(window.start)
        out["we"].append(window.end)
        out["arrival"].append(outcome.arrival)
        out["late"].append(outcome.minutes_late)
        out["early"].append(outcome.minutes_early)
        out["failed"].append(outcome.failed)
        out["notice"].append(outcome.notice)

    def _promise(self, level: IntArray) -> _Promise:
        """The window promised to each order of the day, by service level."""
        rng, truth, k = self.rng, self.truth, len(level)
        ws = np.zeros(k, dtype=np.int64)
        we = np.zeros(k, dtype=np.int64)
        two_hour = np.zeros(k, dtype=bool)
        home = (level == _NEXT_DAY) | (level == _SCHEDULED)
        open_window = home & (level == _NEXT_DAY)
        open_window &= rng.random(k) < truth.open_window_share
        slot_start = rng.integers(9, 20, k) * _HOUR
        evening_start = rng.integers(14, 20, k) * _HOUR
        for mask, lo, hi, two in (
            (home & ~open_window, slot_start, slot_start + 2 * _HOUR, True),
            (open_window, *_OPEN_WINDOW, False),
            (level == _SAME_DAY, evening_start, evening_start + 2 * _HOUR, True),
            (level == _NIGHT, *_NIGHT_WINDOW, False),
            (level == _STATION, *_STATION_WINDOW, False),
        ):
            ws = np.where(mask, lo, ws)
            we = np.where(mask, hi, we)
            two_hour |= mask & two
        return _Promise(ws, we, two_hour, open_window)

    def _outcome(self, level: IntArray, dday: IntArray, window: _Promise) -> _Outcome:
        """Lateness, earliness, arrival, failed attempts and delay notices."""
        rng, truth, k = self.rng, self.truth, len(level)
        ws, we, two_hour = window.start, window.end, window.two_hour
        load = self.load[dday]
        p_late = self.base_late[level] * load**truth.load_exponent
        p_late = np.where(window.open, p_late * truth.open_window_late_factor, p_late)
        late = rng.random(k) < np.minimum(p_late, truth.max_late_probability)
        late_draw = rng.lognormal(
            np.log(truth.late_median_minutes) + 0.5 * np.log(load), truth.late_sigma
        )
        minutes_late = np.where(late, np.ceil(late_draw), 0).astype(np.int64)
        max_early = (ws - _SHIFT_START) // 60
        early = ~late & two_hour & (max_early > 0)
        early &= rng.random(k) < truth.early_probability
        early_draw = np.ceil(
            rng.lognormal(np.log(truth.early_median_minutes), truth.early_sigma, k)
        )
        minutes_early = np.where(early, np.minimum(early_draw, max_early), 0).astype(
            np.int64
        )
        inside = ws + np.floor(rng.random(k) * (we - ws + 1)).astype(np.int64)
        arrival = np.where(
            late,
            we + 60 * minutes_late,
            np.where(early, ws - 60 * minutes_early, inside),
        )
        p1, p2 = truth.failed_attempt_probability
        u = rng.random(k)
        failed = ((u < p1 + p2).astype(np.int64) + (u < p2)) * (level != _STATION)
        notice = late & (rng.random(k) < truth.delay_notice_probability)
        return _Outcome(late, minutes_late, minutes_early, arrival, failed, notice)

    def _experience(self, slots: IntArray, dday: IntArray, outcome: _Outcome) -> None:
        """Each customer's next order rate, recent lateness and possible churn."""
        rng, truth, k = self.rng, self.truth, len(slots)
        late = outcome.late
        self.factor[slots] = truth.rate_multiplier(
            outcome.minutes_late, outcome.minutes_early, outcome.failed, outcome.notice
        )
        self.eligible_from[slots] = dday + 1
        pos = self.ring_pos[slots]
        self.ring_day[slots, pos] = dday
        self.ring_late[slots, pos] = late
        self.ring_pos[slots] = (pos + 1) % truth.churn_window_orders
        recent = self.ring_day[slots] > (dday - truth.churn_window_days)[:, None]
        late_count = (recent & self.ring_late[slots]).sum(axis=1)
        p_churn = truth.churn_probability(late, late_count)
        leaving = slots[rng.random(k) < p_churn]
        for customer, day in zip(
            self.customer[leaving].tolist(),
            self.eligible_from[leaving].tolist(),
            strict=True,
        ):
            self.churned[customer] = day - 1
        self.active[leaving] = False
        self.vacant_from[leaving] = self.eligible_from[leaving]

    def result(self) -> History:
        """Assemble the order, customer and feature frames."""
        district = np.concatenate(self.cust_district)
        lat = np.concatenate(self.cust_lat)
        lon = np.concatenate(self.cust_lon)
        home_depot = nearest(lat, lon, DEPOTS)
        home_station = nearest(lat, lon, STATIONS)
        customers = self._customers(district, lat, lon, home_depot, home_station)

        cols = {k: np.concatenate(v) for k, v in self.out.items()}
        n = len(cols["t"])
        cust = cols["customer"]
        level = cols["level"]
        station_depot = nearest(*coordinates(STATIONS), DEPOTS)
        depot = np.where(
            level == _STATION, station_depot[home_station[cust]], home_depot[cust]
        )
        orders = pd.DataFrame(
            {
                "order_id": _ids("O", np.arange(n), 8),
                "customer_id": _categorical(
                    cust, customers["customer_id"].astype(str).tolist()
                ),
                "district": _categorical(district[cust], [d.name for d in DISTRICTS]),
                "depot": _categorical(depot, [d.id for d in DEPOTS]),
                "ds": self.ds[cols["t"]].astype(DS_DTYPE),
                "delivery_date": self.ds[cols["dday"]].astype(DS_DTYPE),
                "service_level": _categorical(level, [s.value for s in SERVICE_LEVELS]),
                "window_start": cols["ws"].astype(np.int32),
                "window_end": cols["we"].astype(np.int32),
                "arrival": cols["arrival"].astype(np.int32),
                "minutes_late": cols["late"].astype(np.int32),
                "minutes_early": cols["early"].astype(np.int32),
                "failed_attempts": cols["failed"].astype(np.int8),
                "delay_notice": cols["notice"].astype(bool),
                "promotion": _categorical(
                    self.promotion[cols["t"]],
                    ["none", *(p.value for p in PromotionType)],
                ),
            }
        )
        features = self.features.iloc[self.burn_in : self.n_days]
        return History(
            orders=orders,
            customers=customers,
            features=features.reset_index(drop=True),
        )

    def _customers(
        self,
        district: npt.NDArray[np.intp],
        lat: FloatArray,
        lon: FloatArray,
        depot: npt.NDArray[np.intp],
        station: npt.NDArray[np.intp],
    ) -> pd.DataFrame:
        n = len(district)
        churned = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        if self.churned:
            idx = np.fromiter(self.churned.keys(), dtype=np.int64)
            day = np.fromiter(self.churned.values(), dtype=np.int64)
            churned[idx] = self.ds[day]
        return pd.DataFrame(
            {
                "customer_id": _ids("C", np.arange(n), 7),
                "district": _categorical(district, [d.name for d in DISTRICTS]),
                "lat": lat,
                "lon": lon,
                "depot": _categorical(depot, [d.id for d in DEPOTS]),
                "station": _categorical(station, [s.id for s in STATIONS]),
                "base_rate": np.concatenate(self.cust_rate),
                "since": self.ds[np.concatenate(self.cust_since)].astype(DS_DTYPE),
                "churned": churned.astype(DS_DTYPE),
            }
        )


def _ids(
    prefix: str, numbers: IntArray, width: int
) -> pd.api.extensions.ExtensionArray:
    """String ids such as ``C0000042``."""
    text = np.strings.zfill(numbers.astype(str), width)
    return pd.array(np.strings.add(prefix, text), dtype="str")


def _categorical(
    codes: npt.ArrayLike, categories: Sequence[str]
) -> pd.Categorical[str]:
    """A categorical column from integer codes into ``categories``."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories))
    )


def _dominant_promotion(features: pd.DataFrame, truth: GroundTruth) -> IntArray:
    """Code of the promotion type with the largest uplift each day (0 = none)."""
    effects = np.column_stack(
        [
            features[promotion_column(kind)].to_numpy(dtype=np.float64)
            * truth.promotion_uplift.get(kind.value, 0.0)
            for kind in PromotionType
        ]
    )
    code: IntArray = np.where(effects.max(axis=1) > 0, effects.argmax(axis=1) + 1, 0)
    return code


def daily_counts(orders: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Orders per day in the long format ``unique_id, ds, y``.

    Parameters
    ----------
    orders
        An order history (:attr:`History.orders`).
    by
        Column to split by (``"district"`` or ``"depot"``); by default one
        series called ``"seoul"``.

    Returns
    -------
    pandas.DataFrame
        Every day between the first and last order date appears for every
        series (``y = 0`` on days without orders).
    """
    days = pd.date_range(orders["ds"].min(), orders["ds"].max(), freq="D")
    if by is None:
        y = orders.groupby("ds").size().reindex(days, fill_value=0)
        return pd.DataFrame(
            {"unique_id": "seoul", "ds": days.astype(DS_DTYPE), "y": y.to_numpy()}
        )
    key = orders[by].astype(str).rename(by)
    ids = sorted(key.unique())
    counts = orders.groupby([key, orders["ds"]]).size()
    full = pd.MultiIndex.from_product([ids, days], names=[by, "ds"])
    y = counts.reindex(full, fill_value=0)
    return pd.DataFrame(
        {
            "unique_id": full.get_level_values(0).astype(str),
            "ds": full.get_level_values(1).astype(DS_DTYPE),
            "y": y.to_numpy(),
        }
    )


def time_to_next_order(orders: pd.DataFrame) -> pd.Series:
    """Days from each order's delivery to the same customer's next order.

    ``NaN`` when the customer placed no later order in the history (churned
    or censored by its end). Aligned with ``orders``' index.
    """
    ordered = orders.sort_values(["customer_id", "ds", "order_id"])
    next_ds = ordered.groupby("customer_id", observed=True)["ds"].shift(-1)
    gap = (next_ds - ordered["delivery_date"]).dt.days
    return gap.reindex(orders.index).rename("days_to_next_order")
