"""The learned ETA correction: travel and service factors, residual quantiles.

A :class:`Correction` holds what :mod:`tracking.learn` fits from past days
and :mod:`tracking.eta` applies:

* ``leg factors``: a multiplier on the travel model's leg time per departure
  hour and zone of the destination (traffic the travel model does not know);
* ``service factor``: a multiplier on the planned service times;
* ``residual quantiles``: the 10th, 50th and 90th percentile of *actual
  arrival minus re-timed ETA* per horizon bucket (minutes from the prediction
  to the predicted arrival), hour of the predicted arrival and zone. The
  median shifts the point; the outer two make the P10-P90 window, which is
  narrower at short horizons.

Zones are stored by index; a zone not seen in training falls back to the
hour-level values (the last column).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.units import DAY, HOUR, MINUTE

__all__ = ["DEFAULT_HORIZON_EDGES", "Correction"]

FloatArray = npt.NDArray[np.float64]

#: Horizon buckets (minutes); the last bucket is open-ended.
DEFAULT_HORIZON_EDGES: tuple[float, ...] = (
    0.0,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
    75.0,
    90.0,
    120.0,
    150.0,
    180.0,
    240.0,
    360.0,
    math.inf,
)

#: z-score of the 90th percentile of a normal distribution.
Z90 = 1.2815515655446004


def default_spread(horizon_minutes: float) -> float:
    """Standard deviation (s) assumed before anything is learned."""
    return 120.0 + 0.12 * horizon_minutes * MINUTE


def bucket_mid(edges: tuple[float, ...], k: int) -> float:
    """A representative horizon (minutes) of bucket ``k``."""
    lo, hi = edges[k], edges[k + 1]
    return lo + 60.0 if math.isinf(hi) else (lo + hi) / 2.0


@dataclass(frozen=True, eq=False)
class Correction:
    """Learned corrections for live ETAs (see the module docstring).

    Attributes
    ----------
    zones
        Zone names; column ``i`` of the tables is ``zones[i]``, the last
        column is "any zone".
    leg_log_factor
        ``(24, len(zones) + 1)``: log multiplier of leg time by departure
        hour and destination zone.
    service_factor
        Multiplier of planned service time.
    leg_cv, service_cv
        Coefficients of variation of a leg's and a service's time; they
        carry the uncertainty along the route, so that the expected start at
        a stop that may or may not wait for its window is right.
    horizon_edges
        Bucket edges in minutes.
    quantiles
        ``(3, buckets, 24, len(zones) + 1)`` residual quantiles in seconds
        (P10, P50, P90), already shrunk and with spreads non-decreasing in
        the horizon.
    n_legs, n_records
        How much it was fitted on.
    tail
        Share of residuals outside each side of the window in the records it
        was calibrated on (0.1 for a plain P10-P90).
    halts
        Lengths (s) of past standstills on the road (incidents), for the
        expected rest of a standstill in progress.
    """

    zones: tuple[str, ...] = ()
    leg_log_factor: FloatArray = field(default_factory=lambda: np.zeros((24, 1)))
    service_factor: float = 1.0
    leg_cv: float = 0.25
    service_cv: float = 0.4
    horizon_edges: tuple[float, ...] = DEFAULT_HORIZON_EDGES
    quantiles: FloatArray | None = None
    n_legs: int = 0
    n_records: int = 0
    tail: float = 0.1
    halts: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        z = len(self.zones) + 1
        if self.leg_log_factor.shape != (24, z):
            raise ValueError(
                f"leg_log_factor must have shape (24, {z}), "
                f"got {self.leg_log_factor.shape}"
            )
        b = len(self.horizon_edges) - 1
        if self.quantiles is not None and self.quantiles.shape != (3, b, 24, z):
            raise ValueError(
                f"quantiles must have shape (3, {b}, 24, {z}), "
                f"got {self.quantiles.shape}"
            )
        index = {name: i for i, name in enumerate(self.zones)}
        object.__setattr__(self, "_zone_index", index)

    def zone_index(self, zone: str) -> int:
        """Column of ``zone`` in the tables (the last one if unknown)."""
        index: dict[str, int] = self.__dict__["_zone_index"]
        return index.get(zone, len(self.zones))

    def leg_factor(self, zone: str, depart: int) -> float:
        """Multiplier of a leg leaving at ``depart`` towards ``zone``."""
        hour = (depart % DAY) // HOUR
        return math.exp(float(self.leg_log_factor[hour, self.zone_index(zone)]))

    def halt_remaining(self, stopped: float) -> float:
        """Expected further seconds of a standstill that has lasted ``stopped``.

        The mean excess of past standstills longer than ``stopped``; without
        any, as long again as so far.
        """
        longer = [h for h in self.halts if h > stopped]
        if not longer:
            return float(stopped)
        return sum(longer) / len(longer) - stopped

    def bucket(self, horizon: float) -> int:
        """Horizon bucket of a prediction ``horizon`` seconds ahead."""
        minutes = max(0.0, horizon / MINUTE)
        k = bisect.bisect_right(self.horizon_edges, minutes) - 1
        return min(max(k, 0), len(self.horizon_edges) - 2)

    def residual_quantiles(
        self, horizon: float, zone: str, arrival: int
    ) -> tuple[float, float, float]:
        """``(P10, P50, P90)`` of actual minus predicted arrival, seconds.

        Parameters
        ----------
        horizon
            Seconds from the prediction to the predicted arrival.
        zone
            Zone of the stop.
        arrival
            Predicted arrival (its hour selects the row).
        """
        k = self.bucket(horizon)
        if self.quantiles is None:
            sd = default_spread(bucket_mid(self.horizon_edges, k))
            return (-Z90 * sd, 0.0, Z90 * sd)
        hour = (arrival % DAY) // HOUR
        q = self.quantiles[:, k, hour, self.zone_index(zone)]
        return (float(q[0]), float(q[1]), float(q[2]))

    def with_residuals(
        self, quantiles: FloatArray, n_records: int, tail: float = 0.1
    ) -> Correction:
        """A copy with residual quantile tables."""
        return Correction(
            zones=self.zones,
            leg_log_factor=self.leg_log_factor,
            service_factor=self.service_factor,
            leg_cv=self.leg_cv,
            service_cv=self.service_cv,
            horizon_edges=self.horizon_edges,
            quantiles=quantiles,
            n_legs=self.n_legs,
            n_records=n_records,
            tail=tail,
            halts=self.halts,
        )

    def without_residuals(self) -> Correction:
        """A copy that keeps the factors and drops the residual tables."""
        return Correction(
            zones=self.zones,
            leg_log_factor=self.leg_log_factor,
            service_factor=self.service_factor,
            leg_cv=self.leg_cv,
            service_cv=self.service_cv,
            horizon_edges=self.horizon_edges,
            n_legs=self.n_legs,
            halts=self.halts,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (``inf`` edges as ``None``)."""
        return {
            "zones": list(self.zones),
            "leg_log_factor": self.leg_log_factor.round(6).tolist(),
            "service_factor": self.service_factor,
            "leg_cv": self.leg_cv,
            "service_cv": self.service_cv,
            "horizon_edges": [None if math.isinf(e) else e for e in self.horizon_edges],
            "quantiles": None
            if self.quantiles is None
            else self.quantiles.round(2).tolist(),
            "n_legs": self.n_legs,
            "n_records": self.n_records,
            "tail": self.tail,
            "halts": list(self.halts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Correction:
        """Inverse of :meth:`to_dict`."""
        q = data.get("quantiles")
        return cls(
            zones=tuple(data["zones"]),
            leg_log_factor=np.asarray(data["leg_log_factor"], dtype=np.float64),
            service_factor=float(data["service_factor"]),
            leg_cv=float(data.get("leg_cv", 0.25)),
            service_cv=float(data.get("service_cv", 0.4)),
            horizon_edges=tuple(
                math.inf if e is None else float(e) for e in data["horizon_edges"]
            ),
            quantiles=None if q is None else np.asarray(q, dtype=np.float64),
            n_legs=int(data.get("n_legs", 0)),
            n_records=int(data.get("n_records", 0)),
            tail=float(data.get("tail", 0.1)),
            halts=tuple(float(h) for h in data.get("halts", ())),
        )
