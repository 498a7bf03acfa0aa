"""Travel from matrices the user supplies (VROOM/Google style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.model import Location
from routing.travel.base import TravelMatrix


@dataclass(frozen=True)
class MatrixTravel:
    """Looks travel up by each location's ``index`` into a full matrix."""

    full: TravelMatrix
    name: str = "matrix"
    band_starts: tuple[int, ...] = (0,)

    @classmethod
    def from_lists(
        cls, durations: Sequence[Sequence[int]], distances: Sequence[Sequence[int]]
    ) -> MatrixTravel:
        """Build from nested lists, checking shape and sign."""
        return cls(
            TravelMatrix(
                durations=np.asarray(durations, dtype=np.int64),
                distances=np.asarray(distances, dtype=np.int64),
            )
        )

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix:
        """Sub-matrix for ``points`` (``depart`` is ignored)."""
        del depart
        idx = []
        for p in points:
            if p.index is None:
                raise ValueError("matrix travel needs an index on every location")
            if p.index >= self.full.size:
                raise ValueError(
                    f"location index {p.index} is outside the "
                    f"{self.full.size}x{self.full.size} matrix"
                )
            idx.append(p.index)
        sel = np.asarray(idx, dtype=np.int64)
        return TravelMatrix(
            durations=self.full.durations[np.ix_(sel, sel)],
            distances=self.full.distances[np.ix_(sel, sel)],
        )
