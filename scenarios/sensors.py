"""Simulated van sensors: a cold-chain van's temperature, with an injected
excursion on a seeded schedule.

:func:`readings` gives the ``sensor`` events a refrigerated van's probe
would send between two times: the temperature drifts around a set point
(an AR(1) process: each reading keeps 90 % of the last one's distance to the
set point plus Gaussian noise) and, when an :class:`Warmup` is given, rises
linearly to ``setpoint + rise`` and falls back over ``duration`` seconds, as
when the cooling unit fails or the door is left open.
:func:`random_warmup` draws one such warm-up at a seeded time of the day.
The same seed gives the same readings.

The operator-day replay sends these events over HTTP or MQTT like the
other device events; the planner and the service never see the warm-up,
only the readings.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from routing.base import FrozenModel
from tracking.events import SensorKind, SensorReading

__all__ = ["Warmup", "random_warmup", "readings"]


class Warmup(FrozenModel):
    """A temperature excursion to inject: from ``at`` for ``duration``
    seconds, up to ``rise`` °C above the set point at its middle."""

    at: int
    duration: int = Field(gt=0)
    rise: float = Field(gt=0)


def random_warmup(
    start: int,
    end: int,
    seed: int,
    *,
    duration: int = 1800,
    rise: float = 6.0,
) -> Warmup:
    """A warm-up at a seeded time of ``[start, end - duration]``."""
    if end - start <= duration:
        raise ValueError(
            f"duration: {duration} s does not fit between {start} and {end}"
        )
    rng = np.random.default_rng(seed)
    return Warmup(
        at=int(rng.integers(start, end - duration)), duration=duration, rise=rise
    )


def readings(
    van: str,
    start: int,
    end: int,
    seed: int,
    *,
    excursion: Warmup | None = None,
    setpoint: float = 2.0,
    noise: float = 0.15,
    interval: int = 120,
    order_id: str | None = None,
) -> list[SensorReading]:
    """Temperature readings of ``van`` every ``interval`` s from ``start`` to
    ``end`` (seconds since local midnight).

    Parameters
    ----------
    van
        The van's id (the events' ``vehicle``).
    start, end
        The first reading's time and the last possible one.
    seed
        Seeds the noise.
    excursion
        A warm-up to inject, if any.
    setpoint, noise
        The cooling unit's set point (°C) and the noise's standard
        deviation per reading.
    interval
        Seconds between readings.
    order_id
        A parcel's probe instead of the van's.

    Returns
    -------
    list[SensorReading]
        In time order; ids ``{van}:temperature:{at}`` (with the order when
        given), so a resent reading is a duplicate.
    """
    if interval <= 0:
        raise ValueError(f"interval: must be positive, got {interval}")
    rng = np.random.default_rng(seed)
    out: list[SensorReading] = []
    deviation = 0.0
    for at in range(start, end + 1, interval):
        deviation = 0.9 * deviation + float(rng.normal(0.0, noise))
        value = setpoint + deviation
        if (
            excursion is not None
            and excursion.at <= at <= excursion.at + excursion.duration
        ):
            half = excursion.duration / 2
            into = at - excursion.at
            value += excursion.rise * (1 - abs(into - half) / half)
        suffix = "" if order_id is None else f":{order_id}"
        out.append(
            SensorReading(
                id=f"{van}:temperature:{at}{suffix}",
                at=at,
                vehicle=van,
                order_id=order_id,
                kind=SensorKind.TEMPERATURE,
                value=round(value, 2),
            )
        )
    return out
