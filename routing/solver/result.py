"""What every engine hands back to :func:`routing.solver.solve`."""

from __future__ import annotations

from dataclasses import dataclass

from routing.solver.timeline import Visit


@dataclass(frozen=True)
class EngineResult:
    """Visit sequences per vehicle and the ids of orders the search dropped."""

    sequences: list[list[Visit]]
    dropped: list[str]
    objective: float
    warm_started: bool = False
