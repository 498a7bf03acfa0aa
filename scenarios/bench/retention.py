"""Does the experience effect come out right from observable data alone?

For each seed the embedded city is built and
:func:`tracking.retention.experience_effect` is fitted to its order history
three ways:

* **observable** (the estimator users get): orders and delivery outcomes
  only; whether a quiet customer has left is modelled (a cure model);
* **ignoring leaving** (the former estimator): every silent last spell
  counted as at risk to the end of the data;
* **with hidden churn dates**: the generator's churn dates, which no shop
  can observe, drop the last spells of customers who left. They are used
  here only for this comparison column, never by the other two fits.

Each coefficient is set beside the generator's truth
(:func:`true_coefficients`, from :class:`~scenarios.city.GroundTruth`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from routing.bench.machine import machine
from scenarios.city import DEFAULT_CUSTOMERS, GroundTruth, build_city
from tracking.retention import COVARIATES, ExperienceEffect, experience_effect

__all__ = [
    "EFFECTS",
    "FITS",
    "FIT_LABELS",
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

#: The three fits, in the order they are reported.
FITS: tuple[str, ...] = ("observable", "ignoring_leaving", "with_churn_dates")


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
    """Fit the three ways on each seed's city and compare with the truth.

    Returns
    -------
    dict
        ``machine``, ``date``, ``customers``, ``seeds``, ``rows`` (one per
        seed and effect: ``seed``, ``effect``, ``truth`` and per fit of
        :data:`FITS` its ``estimate``, ``low``, ``high`` and ``covers``),
        ``runs`` (per seed: ``orders``, ``customers_seen``, ``iterations``,
        ``seconds`` of the observable fit), ``all_cover`` (the observable
        fit's intervals hold the truth for every seed and effect) and
        ``seconds``.
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
        truth = true_coefficients(city.truth)
        fits = dict(zip(FITS, (observable, ignoring, hidden), strict=True))
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
        "seconds": round(time.perf_counter() - began, 1),
    }


#: How :func:`summary_rows` names the fits.
FIT_LABELS: dict[str, str] = {
    "observable": "observable",
    "ignoring_leaving": "ignoring leaving",
    "with_churn_dates": "hidden churn dates",
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
