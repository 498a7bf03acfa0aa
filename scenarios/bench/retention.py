"""Does the experience effect come out right from observable data alone?

For each seed the embedded city is built and
:func:`tracking.retention.experience_effect` is fitted to its order history
three ways, and an oracle fit is set beside them:

* **observable** (the estimator users get): orders and delivery outcomes
  only; whether a quiet customer has left is modelled (a cure model);
* **ignoring leaving** (the former estimator): every silent last spell
  counted as at risk to the end of the data;
* **with hidden churn dates**: the generator's churn dates, which no shop
  can observe, drop the last spells of customers who left. They are used
  here only for this comparison column, never by the first two fits;
* **known rates** (:func:`known_rate_effect`): the hidden churn dates plus
  every customer's true base rate and the true calendar ``D(t)``, so only
  the experience coefficients are left to estimate. No estimator can know
  more; when its interval misses the truth, the miss is in the seed's draws,
  not in the estimator.

Each coefficient is set beside the generator's truth
(:func:`true_coefficients`, from :class:`~scenarios.city.GroundTruth`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from routing.bench.machine import machine
from scenarios.city import DEFAULT_CUSTOMERS, GroundTruth, build_city
from tracking.retention import (
    COVARIATES,
    ExperienceEffect,
    experience_effect,
    spells,
)

__all__ = [
    "EFFECTS",
    "FITS",
    "FIT_LABELS",
    "known_rate_effect",
    "run_retention_bench",
    "summary_rows",
    "true_coefficients",
]

#: The effects the benchmark reports, the issue's two first.
EFFECTS: tuple[str, ...] = (
    "log1p_late",
    "failed_attempts",
    "log1p_late_x_notice",
    "log1p_early",
)

#: The fits, in the order they are reported.
FITS: tuple[str, ...] = (
    "observable",
    "ignoring_leaving",
    "with_churn_dates",
    "known_rates",
)


def true_coefficients(truth: GroundTruth) -> dict[str, float]:
    """The generator's experience effects in :data:`COVARIATES` terms.

    The generator multiplies the daily order chance by ``1 / gap`` where
    ``log gap = lateness_coef * log1p(late) * (1 - notice_softening * notice)
    - earliness_coef * log1p(early) + failed * log1p(failed_attempt_effect)``;
    the estimator's coefficients are the log of that multiplier.
    """
    return {
        "log1p_late": -truth.lateness_coef,
        "log1p_late_x_notice": truth.lateness_coef * truth.notice_softening,
        "log1p_early": truth.earliness_coef,
        "failed_attempts": -math.log1p(truth.failed_attempt_effect),
    }


def known_rate_effect(
    history: pd.DataFrame,
    rates: pd.Series,
    daily_multiplier: pd.Series,
    churned: pd.Series,
) -> ExperienceEffect:
    """The experience effect given what only the generator knows.

    A Poisson regression of each spell's outcome (an order or not) on the
    experience with the log of ``rate x sum of D(t) over the days at risk``
    as offset, plus a free constant (so the fit does not depend on the
    scale of ``rates`` or ``daily_multiplier``); robust standard errors
    clustered by customer. The generator's daily order chance is exactly
    ``rate x D(t) x exp(x beta)``, so this is the best any estimator can do
    with the seed's draws: used by the benchmark to tell a miss of the
    estimator from a miss of the data.

    Parameters
    ----------
    history
        Order history.
    rates
        Customer id -> base daily order chance (the city's ``base_rate``).
    daily_multiplier
        Date -> ``D(t)`` (the city's ``demand``), covering every day at risk.
    churned
        Customer id -> date the customer left (their last spell is dropped).

    Raises
    ------
    ValueError
        If a customer has no rate or a day at risk no multiplier.
    """
    s = spells(history, churned=churned)
    by_id = pd.Series(rates.to_numpy(dtype=np.float64), index=rates.index.astype(str))
    rate = by_id.reindex(list(s.ids)).to_numpy()
    if np.isnan(rate).any():
        missing = [s.ids[k] for k in np.flatnonzero(np.isnan(rate))[:3]]
        raise ValueError(f"rates: no base rate for customers {missing}")
    dates = s.origin + np.arange(s.n_days).astype("timedelta64[D]")
    calendar = daily_multiplier.copy()
    calendar.index = pd.to_datetime(calendar.index).to_numpy().astype("datetime64[D]")
    d = calendar.reindex(dates).to_numpy(dtype=np.float64)
    if np.isnan(d).any():
        raise ValueError("daily_multiplier: does not cover every day at risk")
    cum = np.concatenate([[0.0], np.cumsum(d)])
    exposure = (cum[s.stop + 1] - cum[s.start]) * rate[s.customer]
    active = [k for k in range(s.x.shape[1]) if np.ptp(s.x[:, k]) > 0]
    x = np.column_stack([np.ones(len(s.customer)), s.x[:, active]])
    y = s.event.astype(np.float64)
    coef = np.zeros(x.shape[1])
    coef[0] = math.log(y.sum() / exposure.sum())
    iterations, step = 0, np.ones(x.shape[1])
    while iterations < 50 and np.max(np.abs(step)) >= 1e-10:
        # Newton on a concave likelihood from the constant-only start
        mu = exposure * np.exp(x @ coef)
        step = np.linalg.solve((x * mu[:, None]).T @ x, x.T @ (y - mu))
        coef = coef + step
        iterations += 1
    mu = exposure * np.exp(x @ coef)
    resid = y - mu
    scores = np.column_stack(
        [np.bincount(s.customer, weights=resid * x[:, j]) for j in range(x.shape[1])]
    )
    bread = np.linalg.inv((x * mu[:, None]).T @ x)
    cov = bread @ (scores.T @ scores) @ bread
    return ExperienceEffect(
        names=tuple(COVARIATES[k] for k in active),
        coef=coef[1:],
        se=np.sqrt(np.diag(cov))[1:],
        n_spells=len(s.customer),
        n_events=int(s.event.sum()),
        n_customers=len(s.ids),
        day_effects=False,
        iterations=iterations,
    )


def _fit_row(effect: ExperienceEffect, name: str, truth: float) -> dict[str, Any]:
    estimate, low, high = effect[name]
    return {
        "estimate": estimate,
        "low": low,
        "high": high,
        "covers": bool(low <= truth <= high),
    }


def run_retention_bench(
    seeds: Sequence[int] = (1, 2, 3),
    customers: int = DEFAULT_CUSTOMERS,
    *,
    on_seed: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the four ways on each seed's city and compare with the truth.

    Returns
    -------
    dict
        ``machine``, ``date``, ``customers``, ``seeds``, ``rows`` (one per
        seed and effect: ``seed``, ``effect``, ``truth`` and per fit of
        :data:`FITS` its ``estimate``, ``low``, ``high`` and ``covers``),
        ``runs`` (per seed: ``orders``, ``customers_seen``, ``iterations``,
        ``seconds`` of the observable fit), ``all_cover`` (the observable
        fit's intervals hold the truth for every seed and effect),
        ``misses`` (per seed and effect whose observable interval misses:
        ``seed``, ``effect`` and ``known_rates_miss``, whether the oracle
        fit misses too, so the miss is in the draws) and ``seconds``.
    """
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        city = build_city(seed=seed, n_customers=customers)
        history = city.history
        clock = time.perf_counter()
        observable = experience_effect(history)
        seconds = time.perf_counter() - clock
        ignoring = experience_effect(history, cure=False)
        churned = city.customers.set_index("customer_id")["churned"].dropna()
        hidden = experience_effect(history, churned=churned)
        known = known_rate_effect(
            history,
            city.customers.set_index("customer_id")["base_rate"],
            city.features.set_index("ds")["demand"],
            churned,
        )
        truth = true_coefficients(city.truth)
        fits = dict(zip(FITS, (observable, ignoring, hidden, known), strict=True))
        for name in EFFECTS:
            if name not in observable.names:
                continue
            row: dict[str, Any] = {"seed": seed, "effect": name, "truth": truth[name]}
            for fit, effect in fits.items():
                row[fit] = _fit_row(effect, name, truth[name])
            rows.append(row)
        runs.append(
            {
                "seed": seed,
                "orders": len(history),
                "customers_seen": observable.n_customers,
                "iterations": observable.iterations,
                "seconds": round(seconds, 1),
            }
        )
        if on_seed is not None:
            on_seed(
                f"seed {seed}: {len(history):,} orders, observable fit "
                f"{seconds:.0f} s ({observable.iterations} iterations)"
            )
    return {
        "machine": machine(("numpy", "pandas")),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "customers": customers,
        "seeds": list(seeds),
        "covariates": list(COVARIATES),
        "rows": rows,
        "runs": runs,
        "all_cover": all(row["observable"]["covers"] for row in rows),
        "misses": [
            {
                "seed": row["seed"],
                "effect": row["effect"],
                "known_rates_miss": not row["known_rates"]["covers"],
            }
            for row in rows
            if not row["observable"]["covers"]
        ],
        "seconds": round(time.perf_counter() - began, 1),
    }


#: How :func:`summary_rows` names the fits.
FIT_LABELS: dict[str, str] = {
    "observable": "observable",
    "ignoring_leaving": "ignoring leaving",
    "with_churn_dates": "hidden churn dates",
    "known_rates": "known rates (oracle)",
}


def summary_rows(result: dict[str, Any]) -> list[list[str]]:
    """Table rows: effect, seed, fit, estimate, lower, upper, truth, covers."""
    out: list[list[str]] = []
    for row in result["rows"]:
        for fit in FITS:
            part = row[fit]
            out.append(
                [
                    row["effect"],
                    str(row["seed"]),
                    FIT_LABELS[fit],
                    f"{part['estimate']:+.4f}",
                    f"{part['low']:+.4f}",
                    f"{part['high']:+.4f}",
                    f"{row['truth']:+.4f}",
                    "yes" if part["covers"] else "NO",
                ]
            )
    return out
