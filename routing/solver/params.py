"""Solver parameters and the extension points engines call back into."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from routing.solver.data import ProblemData

Engine = Literal["ortools", "pyvrp", "auto"]
Objective = Literal["cost", "distance"]

#: Money is priced in hundredths of a won inside engines (integers only).
COST_SCALE = 100


class SolveParams(BaseModel):
    """How to solve.

    ``objective="distance"`` ignores vehicle costs and minimises metres (the
    benchmark convention); ``"cost"`` uses fixed, per-km and per-hour costs,
    lateness costs and drop penalties. A problem whose vehicles carry no costs
    at all is solved for distance either way.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Engine = "ortools"
    time_limit: float = Field(default=10.0, gt=0.0, description="seconds")
    seed: int = 0
    objective: Objective = "cost"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"

    @classmethod
    def from_file(cls, path: str | Path) -> SolveParams:
        """Read parameters from a TOML file (keys as the fields above)."""
        with Path(path).open("rb") as fh:
            return cls.model_validate(tomllib.load(fh))


class ProgressCallback(Protocol):
    """Called when an engine finds a better solution."""

    def __call__(self, engine: str, seconds: float, objective: float) -> None: ...


def uses_costs(data: ProblemData, params: SolveParams) -> bool:
    """Whether the objective is money (vehicle costs) or plain distance."""
    if params.objective == "distance":
        return False
    return any(
        v.costs.fixed or v.costs.per_km or v.costs.per_hour
        for v in data.problem.vehicles
    )
