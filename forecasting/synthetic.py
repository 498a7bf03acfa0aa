"""Seeded synthetic panels shaped like store or zone order counts.

For tests, examples and docs: the product never needs real data to run.
Every series has its own level, a weekly pattern, a yearly wave, a trend,
a promotion flag that lifts demand, public holidays that lower it, and
closed days (every Sunday for some series, Christmas and New Year's Day for
all) on which ``y`` is 0. Counts are negative-binomial around the mean, so
the noise is known too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.frame import DS, ID, Y

__all__ = ["SyntheticTruth", "generate_panel"]


@dataclass(frozen=True, slots=True)
class SyntheticTruth:
    """The parameters a synthetic panel was drawn from."""

    levels: dict[str, float]
    weekly: tuple[float, ...]
    yearly_amplitude: float
    annual_growth: float
    promo_uplift: float
    holiday_multiplier: float
    dispersion: float
    mean: pd.DataFrame  # unique_id, ds, mean (before noise; 0 when closed)


_HOLIDAYS = ((1, 1), (3, 1), (5, 5), (6, 6), (8, 15), (10, 3), (10, 9), (12, 25))
_CLOSED = ((1, 1), (12, 25))
#: Day-of-week profile, yearly amplitude and annual growth of every series.
_WEEKLY = np.array([1.15, 1.05, 1.0, 1.0, 1.05, 0.95, 0.8])
_AMPLITUDE = 0.15
_GROWTH = 0.05


def generate_panel(
    n_series: int = 10,
    n_days: int = 730,
    *,
    start: date = date(2023, 1, 1),
    seed: int = 0,
    promo_uplift: float = 0.3,
    holiday_multiplier: float = 0.7,
    dispersion: float = 30.0,
    sunday_closed_share: float = 0.3,
) -> tuple[pd.DataFrame, SyntheticTruth]:
    """A long-format panel ``unique_id, ds, y, promo, holiday, closed``.

    Parameters
    ----------
    n_series, n_days
        Size of the panel (every series covers every day).
    start
        First day.
    seed
        Seed of every random draw.
    promo_uplift
        Promotion days have ``1 + promo_uplift`` times the demand.
    holiday_multiplier
        Public holidays (fixed dates) have this times the demand.
    dispersion
        Negative-binomial size: variance is ``mean + mean**2 / dispersion``.
    sunday_closed_share
        Share of the series closed every Sunday.

    Returns
    -------
    df, truth
        The panel and the parameters it came from.
    """
    if n_series < 1 or n_days < 1:
        raise ValueError("n_series and n_days must be >= 1")
    rng = np.random.default_rng(seed)
    cal = _Days.of(start, n_days)
    ids = [f"s{i:02d}" for i in range(n_series)]
    levels = np.exp(rng.uniform(np.log(20.0), np.log(400.0), n_series))
    phases = rng.uniform(-0.5, 0.5, n_series)
    sunday = rng.random(n_series) < sunday_closed_share
    frames = []
    means = []
    for k, uid in enumerate(ids):
        promo = _promotion_days(rng, n_days)
        closed = cal.always_closed | (sunday[k] & (cal.dow == 6))
        mean = cal.mean(
            levels[k], phases[k], promo, closed, promo_uplift, holiday_multiplier
        )
        p = dispersion / (dispersion + np.maximum(mean, 1e-9))
        y = np.where(closed, 0, rng.negative_binomial(dispersion, p))
        frames.append(_series_frame(uid, cal, y, promo, closed))
        means.append(pd.DataFrame({ID: uid, DS: cal.days, "mean": mean}))
    df = pd.concat(frames, ignore_index=True)
    df[DS] = df[DS].astype("datetime64[ns]")
    return df, _truth(ids, levels, means, promo_uplift, holiday_multiplier, dispersion)


def _truth(
    ids: list[str],
    levels: npt.NDArray[np.float64],
    means: list[pd.DataFrame],
    promo_uplift: float,
    holiday_multiplier: float,
    dispersion: float,
) -> SyntheticTruth:
    return SyntheticTruth(
        levels=dict(zip(ids, levels.tolist(), strict=True)),
        weekly=tuple(_WEEKLY.tolist()),
        yearly_amplitude=_AMPLITUDE,
        annual_growth=_GROWTH,
        promo_uplift=promo_uplift,
        holiday_multiplier=holiday_multiplier,
        dispersion=dispersion,
        mean=pd.concat(means, ignore_index=True),
    )


@dataclass(frozen=True, slots=True)
class _Days:
    """The panel's days and their calendar."""

    days: pd.DatetimeIndex
    dow: npt.NDArray[np.int64]
    doy: npt.NDArray[np.int64]
    years: npt.NDArray[np.float64]  # since the start
    holiday: npt.NDArray[np.bool_]
    always_closed: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, start: date, n_days: int) -> _Days:
        days = pd.date_range(start, periods=n_days, freq="D")
        md = list(zip(days.month, days.day, strict=True))
        return cls(
            days=days,
            dow=days.day_of_week.to_numpy(),
            doy=days.day_of_year.to_numpy(),
            years=(days - pd.Timestamp(start)).days.to_numpy() / 365.25,
            holiday=np.array([d in _HOLIDAYS for d in md]),
            always_closed=np.array([d in _CLOSED for d in md]),
        )

    def mean(
        self,
        level: float,
        phase: float,
        promo: npt.NDArray[np.float64],
        closed: npt.NDArray[np.bool_],
        promo_uplift: float,
        holiday_multiplier: float,
    ) -> npt.NDArray[np.float64]:
        """Expected demand of a series on each day (0 when closed)."""
        mean = (
            level
            * _WEEKLY[self.dow]
            * np.exp(_AMPLITUDE * np.cos(2 * np.pi * (self.doy / 365.25 + phase)))
            * (1.0 + _GROWTH) ** self.years
            * np.where(promo > 0, 1.0 + promo_uplift, 1.0)
            * np.where(self.holiday, holiday_multiplier, 1.0)
        )
        out: npt.NDArray[np.float64] = np.where(closed, 0.0, mean)
        return out


def _promotion_days(rng: np.random.Generator, n_days: int) -> npt.NDArray[np.float64]:
    """Promotions: runs of 3-7 days starting on about 5 % of days."""
    promo = np.zeros(n_days)
    t = int(rng.integers(0, 10))
    while t < n_days:
        length = int(rng.integers(3, 8))
        promo[t : t + length] = 1.0
        t += length + int(rng.integers(7, 30))
    return promo


def _series_frame(
    uid: str,
    cal: _Days,
    y: npt.NDArray[np.int64],
    promo: npt.NDArray[np.float64],
    closed: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            ID: uid,
            DS: cal.days,
            Y: y.astype(np.float64),
            "promo": promo,
            "holiday": cal.holiday.astype(np.float64),
            "closed": closed.astype(np.float64),
        }
    )
