"""Learning the ETA correction: factors, residual tables, calibration."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from routing.model import Problem
from routing.plan import Plan
from scenarios.execution import DayExecution, ExecutionSettings, execute_day
from tests.tracking.conftest import TRAVEL
from tracking.correction import Correction
from tracking.learn import (
    TAILS,
    EtaRecord,
    LegRecord,
    ServiceRecord,
    eta_records,
    fit_factors,
    fit_residuals,
    observed_halts,
    observed_legs,
    observed_services,
)


def _legs(seed: int, n: int = 4_000, incidents: float = 0.0) -> list[LegRecord]:
    """Legs with +20 % at 18:00 and log-normal noise (sigma 0.25)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        hour = int(rng.integers(9, 21))
        model = float(rng.uniform(200, 900))
        actual = model * math.exp(rng.normal(0, 0.25)) * (1.2 if hour == 18 else 1.0)
        if rng.random() < incidents:
            actual += 1_800
        out.append(
            LegRecord(zone=f"z{rng.integers(3)}", hour=hour, model=model, actual=actual)
        )
    return out


def test_factors_find_the_unannounced_peak() -> None:
    """The leg factor at 18:00 is about 1.2 times the others; cv about 0.25."""
    c = fit_factors(_legs(0), [])
    mean_noise = math.exp(0.25**2 / 2)
    at_18 = c.leg_factor("z0", 18 * 3600 + 60)
    at_12 = c.leg_factor("z0", 12 * 3600)
    assert at_18 == pytest.approx(1.2 * mean_noise, rel=0.05)
    assert at_12 == pytest.approx(mean_noise, rel=0.05)
    assert c.leg_cv == pytest.approx(0.25, abs=0.03)


def test_incidents_do_not_move_the_factors() -> None:
    """A few legs with a half-hour stop barely change the factors (medians)."""
    clean = fit_factors(_legs(1), [])
    dirty = fit_factors(_legs(1, incidents=0.02), [])
    for hour in (10, 14, 18):
        t = hour * 3600
        assert dirty.leg_factor("z1", t) == pytest.approx(
            clean.leg_factor("z1", t), rel=0.05
        )


def test_service_factor_is_the_mean_ratio() -> None:
    """The service factor is the average of real over planned service time."""
    rng = np.random.default_rng(2)
    services = [
        ServiceRecord("z", 180.0, 180.0 * math.exp(rng.normal(0, 0.4)))
        for _ in range(5_000)
    ]
    c = fit_factors([], services)
    assert c.service_factor == pytest.approx(math.exp(0.4**2 / 2), rel=0.03)


def test_observations_from_an_executed_day(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """Every driven leg and every served stop becomes one observation."""
    problem, plan = line_day
    legs = observed_legs(plan, noisy_run.events, TRAVEL)
    services = observed_services(plan, noisy_run.events, problem=problem)
    assert len(legs) == len(plan.routes[0].steps) - 1  # depot, 6 stops, depot
    assert len(services) == len(noisy_run.stops)
    real = {s.order_id: s.departure - s.service_start for s in noisy_run.stops}
    assert sorted(s.actual for s in services) == sorted(real.values())


def _records(seed: int, days: int = 6) -> list[EtaRecord]:
    """Residuals whose spread grows with the horizon (10 % of it, + 1 min)."""
    rng = np.random.default_rng(seed)
    out = []
    for d in range(days):
        for k in range(600):
            horizon = int(rng.integers(0, 240 * 60))
            made = 36_000 + int(rng.integers(0, 20_000))
            err = rng.normal(0, 60 + 0.1 * horizon)
            out.append(
                EtaRecord(
                    order_id=f"o{k}",
                    vehicle="v",
                    zone="z",
                    hour=((made + horizon) // 3600) % 24,
                    made_at=made,
                    predicted=made + horizon,
                    actual=made + horizon + round(err),
                    day=f"d{d}",
                )
            )
    return out


def test_residual_tables_are_ordered_and_widen_with_horizon() -> None:
    """P10 <= P50 <= P90 everywhere and the gaps only grow with the horizon."""
    c = fit_residuals(Correction(), _records(0))
    assert c.quantiles is not None
    q = c.quantiles
    assert np.all(q[0] <= q[1]) and np.all(q[1] <= q[2])
    assert np.all(np.diff(q[1] - q[0], axis=0) >= -1e-9)
    assert np.all(np.diff(q[2] - q[1], axis=0) >= -1e-9)
    assert c.tail in TAILS
    short = c.residual_quantiles(5 * 60, "z", 40_000)
    long = c.residual_quantiles(150 * 60, "z", 40_000)
    assert long[2] - long[0] > 3 * (short[2] - short[0])


def test_window_is_calibrated_on_left_out_days() -> None:
    """The chosen window holds about 80 % of a new day's arrivals."""
    c = fit_residuals(Correction(), _records(1))
    fresh = _records(2, days=1)
    held = [
        lo <= r.residual <= hi
        for r in fresh
        for lo, _, hi in [c.residual_quantiles(r.horizon, r.zone, r.predicted)]
    ]
    assert np.mean(held) == pytest.approx(0.8, abs=0.04)


def test_unknown_zone_falls_back_to_the_hour() -> None:
    """A zone never seen in training uses the hour-level values."""
    c = fit_factors(_legs(3), [])
    assert c.leg_factor("nowhere", 18 * 3600) == pytest.approx(
        math.exp(c.leg_log_factor[18, -1])
    )


def test_correction_round_trips_through_json() -> None:
    """A fitted correction survives to_dict -> JSON -> from_dict."""
    c = fit_residuals(fit_factors(_legs(4), []), _records(4, days=3))
    back = Correction.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back.zones == c.zones and back.tail == c.tail
    assert back.service_factor == c.service_factor
    np.testing.assert_allclose(back.leg_log_factor, c.leg_log_factor, atol=1e-6)
    assert back.quantiles is not None and c.quantiles is not None
    np.testing.assert_allclose(back.quantiles, c.quantiles, atol=0.01)


def test_replay_records_only_future_arrivals(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """Replayed predictions are made before the real arrival they are paired with."""
    problem, plan = line_day
    records = eta_records(
        plan, noisy_run.events, TRAVEL, Correction(), every=300, problem=problem
    )
    assert records
    assert all(r.actual > r.made_at for r in records)
    arrivals = {s.order_id: s.arrival for s in noisy_run.stops}
    assert all(r.actual == arrivals[r.order_id] for r in records)


def test_standstills_are_learned_from_pings(line_day: tuple[Problem, Plan]) -> None:
    """A van stopped on the road shows up as a standstill of about its length."""
    problem, plan = line_day
    stuck = ExecutionSettings(
        incident_share=1.0, incident_minutes=(30.0, 30.0), ping_interval=60
    )
    run = execute_day(problem, plan, TRAVEL, settings=stuck, seed=2)
    halts = observed_halts(plan, run.events)
    assert len(halts) == 1
    assert halts[0] == pytest.approx(30 * 60, abs=120)


def test_halt_remaining_uses_past_standstills() -> None:
    """The rest of a standstill is the mean excess of longer past ones."""
    c = Correction(halts=(900.0, 1_800.0, 2_700.0))
    assert c.halt_remaining(600.0) == pytest.approx(1_800.0 - 600.0)
    assert c.halt_remaining(2_000.0) == pytest.approx(700.0)
    assert Correction().halt_remaining(300.0) == 300.0  # nothing learned: as long again
