"""The benchmark's oracle fit: the experience effect given the true rates.

:func:`scenarios.bench.retention.known_rate_effect` tells a miss of the
estimator from a miss of the seed's draws, so it must itself be right.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.bench.retention import known_rate_effect, true_coefficients
from scenarios.city import City, build_city
from tracking.retention import COVARIATES, ExperienceEffect, experience_effect


@functools.cache
def _city() -> City:
    return build_city(seed=1, n_customers=2_000)


def _inputs(city: City) -> tuple[pd.Series, pd.Series, pd.Series]:
    customers = city.customers.set_index("customer_id")
    return (
        customers["base_rate"],
        city.features.set_index("ds")["demand"],
        customers["churned"].dropna(),
    )


@functools.cache
def _known() -> ExperienceEffect:
    city = _city()
    return known_rate_effect(city.history, *_inputs(city))


def test_known_rates_recover_the_truth_more_tightly() -> None:
    """Every effect's interval holds the truth, and is narrower than the
    interval of the estimator that has to learn the rates and calendar."""
    city = _city()
    known = _known()
    truth = true_coefficients(city.truth)
    assert known.names == COVARIATES
    for name in COVARIATES:
        est, low, high = known[name]
        assert low <= truth[name] <= high, (name, est, low, high)
    observable = experience_effect(city.history)
    assert np.all(known.se < observable.se)
    assert not known.day_effects
    assert known.n_events == observable.n_events


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    rate_scale=st.floats(0.1, 10.0),
    day_scale=st.floats(0.1, 10.0),
)
def test_known_rate_fit_does_not_depend_on_the_scale(
    rate_scale: float, day_scale: float
) -> None:
    """The free constant absorbs any common scale of rates and calendar."""
    city = _city()
    rates, demand, churned = _inputs(city)
    scaled = known_rate_effect(
        city.history, rates * rate_scale, demand * day_scale, churned
    )
    np.testing.assert_allclose(scaled.coef, _known().coef, atol=1e-8)
    np.testing.assert_allclose(scaled.se, _known().se, rtol=1e-6)


def test_known_rate_fit_names_what_is_missing() -> None:
    """A customer without a rate, or a day at risk without a multiplier."""
    city = _city()
    rates, demand, churned = _inputs(city)
    with pytest.raises(ValueError, match="rates: no base rate"):
        known_rate_effect(city.history, rates.iloc[10:], demand, churned)
    with pytest.raises(ValueError, match="daily_multiplier"):
        known_rate_effect(city.history, rates, demand.iloc[30:], churned)
