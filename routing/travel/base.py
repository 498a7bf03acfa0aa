"""The travel-model interface: locations in, integer matrices out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from routing.model import Location

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TravelMatrix:
    """Durations (s) and distances (m) between ``n`` points, row = origin."""

    durations: IntMatrix
    distances: IntMatrix

    def __post_init__(self) -> None:
        d, m = self.durations, self.distances
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ValueError(f"durations must be square, got shape {d.shape}")
        if m.shape != d.shape:
            raise ValueError(
                f"distances shape {m.shape} differs from durations {d.shape}"
            )
        if (d < 0).any() or (m < 0).any():
            raise ValueError("travel matrices must be non-negative")

    @property
    def size(self) -> int:
        return int(self.durations.shape[0])


class TravelModel(Protocol):
    """Anything that can price travel between locations.

    ``depart`` is the departure time (seconds since midnight) of the band the
    matrix is for; models without time-of-day effects ignore it.
    """

    @property
    def name(self) -> str: ...

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix: ...
