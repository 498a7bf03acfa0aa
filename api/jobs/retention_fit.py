"""The ``retention_fit`` job: learn the deployment's lateness pricing.

From the observable order history of the tracked days (its payload),
:func:`tracking.retention.experience_effect` fits the effect of delivery
experience on the next order and on leaving;
:meth:`tracking.feedback.LatenessPricing.from_effect` turns it into pricing
coefficients, and :func:`tracking.retention.customer_values` gives each
customer's expected future margin. A history too short to fit fails the job
with the reason (:class:`RetentionFitError`): there is no fallback pricing.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from api.jobs.handlers import Progress
from api.jobs.payloads import (
    RetentionCoefficient,
    RetentionFitPayload,
    RetentionFitResult,
)
from tracking.feedback import LatenessPricing
from tracking.retention import (
    ExperienceEffect,
    customer_values,
    experience_effect,
    spells,
)

__all__ = [
    "MIN_SPELLS",
    "ORDER_MARGIN",
    "RetentionFitError",
    "fit_effect",
    "fit_retention",
]

#: Fewest spells (a delivery and the time to the customer's next order) a
#: fit needs before its coefficients price anything.
MIN_SPELLS = 200
#: The margin on a basket customer values are priced at; an order without a
#: recorded value has the locale's default basket
#: (:data:`tracking.retention.ORDER_VALUE_HOURS`, as the metrics do).
ORDER_MARGIN = 0.25


class RetentionFitError(ValueError):
    """The history cannot be fitted; the message says why."""


def history_of(payload: RetentionFitPayload) -> pd.DataFrame:
    """The order history :mod:`tracking.retention` reads, from the payload."""
    days = pd.to_datetime(pd.Series(payload.day, dtype="datetime64[ns]"))
    history = pd.DataFrame(
        {
            "customer_id": list(payload.customer_id),
            "order_id": list(payload.order_id),
            "ds": days,
            "delivery_date": days,
            "minutes_late": list(payload.minutes_late),
            "failed_attempts": list(payload.failed_attempts),
        }
    )
    if payload.value is not None:
        # Customer values use each customer's own baskets (NaN: not known).
        history["value"] = [math.nan if v is None else v for v in payload.value]
    return history


def _coefficients(effect: ExperienceEffect) -> tuple[RetentionCoefficient, ...]:
    z = 1.959963984540054
    out = [
        RetentionCoefficient(
            part=part,
            name=name,
            coef=float(c),
            se=float(se),
            low=float(c) - z * float(se),
            high=float(c) + z * float(se),
        )
        for part, names, coef, ses in (
            ("hazard", effect.names, effect.coef, effect.se),
            ("churn", effect.churn_names, effect.churn_coef, effect.churn_se),
        )
        for name, c, se in zip(names, coef, ses, strict=True)
    ]
    for c in out:
        if not all(math.isfinite(v) for v in (c.coef, c.se)):
            raise RetentionFitError(
                f"the fit did not converge: {c.part} coefficient {c.name} is "
                f"{c.coef} (se {c.se})"
            )
    return tuple(out)


def fit_effect(
    history: pd.DataFrame, end: dt.date, window: str
) -> tuple[ExperienceEffect, tuple[RetentionCoefficient, ...]]:
    """The experience effect of an observable history whose data end on
    ``end``, and its coefficients with 95 % intervals, checked as every fit
    of the service is (the job's and the retention metrics' range).

    Raises
    ------
    RetentionFitError
        No delivery, fewer than :data:`MIN_SPELLS` spells, the estimator
        refusing the history or not converging; the message names ``window``.
    """
    if history.empty:
        raise RetentionFitError(
            f"no attempted delivery of a known customer was tracked in {window}"
        )
    failures = (ValueError, ArithmeticError, np.linalg.LinAlgError)
    try:
        effect = experience_effect(history, end=end)
    except failures as exc:
        # A short history often breaks the estimator first: say it is short.
        try:
            n_spells = len(spells(history, end=end).customer)
        except failures:
            n_spells = MIN_SPELLS
        if n_spells < MIN_SPELLS:
            raise RetentionFitError(_too_little(window, n_spells)) from exc
        raise RetentionFitError(
            f"the history of {window} cannot be fitted: {exc}"
        ) from exc
    if effect.n_spells < MIN_SPELLS:
        raise RetentionFitError(_too_little(window, effect.n_spells))
    return effect, _coefficients(effect)


def _too_little(window: str, n_spells: int) -> str:
    return (
        f"too little history in {window}: {n_spells} spells "
        f"(a delivery followed by the customer's next order or the end), "
        f"at least {MIN_SPELLS} needed"
    )


def fit_retention(
    payload: RetentionFitPayload, progress: Progress
) -> RetentionFitResult:
    """Fit the experience effect on the history and derive the pricing.

    Raises
    ------
    RetentionFitError
        Fewer than :data:`MIN_SPELLS` spells, or the estimator cannot fit.
    """
    history = history_of(payload)
    progress(0.1, f"fitting the experience effect on {len(history)} deliveries")
    effect, coefficients = fit_effect(
        history, payload.end, f"{payload.start}..{payload.end}"
    )
    progress(0.8, "pricing and customer values")
    values = customer_values(history, margin=ORDER_MARGIN, locale=payload.locale)
    return RetentionFitResult(
        start=payload.start,
        end=payload.end,
        pricing=LatenessPricing.from_effect(effect, locale=payload.locale),
        coefficients=coefficients,
        n_spells=effect.n_spells,
        n_events=effect.n_events,
        n_customers=effect.n_customers,
        n_orders=len(history),
        customer_values={str(k): round(float(v), 2) for k, v in values.items()},
    )
