"""Simulated cold-chain readings: seeded, inside the limits, one warm-up."""

from __future__ import annotations

import pytest

from routing.model import Handling
from scenarios.sensors import Warmup, random_warmup, readings
from tracking.events import SensorKind
from tracking.sensors import breach, limits_of

COLD = limits_of(Handling(requirement="cold_chain"))
assert COLD is not None


def test_same_seed_same_readings_and_inside_without_warmup() -> None:
    """A seed fixes the readings; a day's drift stays inside 0-4 °C."""
    a = readings("v1", 8 * 3600, 18 * 3600, seed=3)
    assert a == readings("v1", 8 * 3600, 18 * 3600, seed=3)
    assert a != readings("v1", 8 * 3600, 18 * 3600, seed=4)
    assert len(a) == 10 * 3600 // 120 + 1
    assert [r.at for r in a] == sorted(r.at for r in a)
    assert all(breach(COLD, SensorKind.TEMPERATURE, r.value) is None for r in a)


def test_warmup_breaks_the_limit_only_during_it() -> None:
    """Readings outside the cold-chain limit all fall inside the warm-up."""
    warmup = random_warmup(8 * 3600, 18 * 3600, seed=5)
    assert warmup == random_warmup(8 * 3600, 18 * 3600, seed=5)
    got = readings("v1", 8 * 3600, 18 * 3600, seed=1, excursion=warmup)
    outside = [r.at for r in got if breach(COLD, SensorKind.TEMPERATURE, r.value)]
    assert outside
    assert all(warmup.at <= at <= warmup.at + warmup.duration for at in outside)
    peak = max(r.value for r in got)
    assert 2.0 + warmup.rise - 1.0 < peak < 2.0 + warmup.rise + 1.0


def test_bad_arguments_are_named() -> None:
    """A warm-up that does not fit, a zero interval."""
    with pytest.raises(ValueError, match="duration"):
        random_warmup(0, 1000, seed=0, duration=1800)
    with pytest.raises(ValueError, match="interval"):
        readings("v1", 0, 100, seed=0, interval=0)
    with pytest.raises(ValueError, match="rise"):
        Warmup(at=0, duration=60, rise=-1)
