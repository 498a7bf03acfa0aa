"""One payload model (what a job is submitted with) and result model per kind.

The stored JSON is the model's ``model_dump(mode="json", by_alias=True)``;
the worker validates it back into the same model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import Changes, ExecutionState
from routing.solver import SolveParams
from scenarios.run import DemandForecast, ForecastSpec
from scenarios.spec import Scenario
from scenarios.sweep import Comparison

__all__ = [
    "Comparison",
    "DemandForecast",
    "ForecastSpec",
    "PlanPayload",
    "PlanResult",
    "ReoptimisePayload",
    "ReoptimiseResult",
    "ScenarioPayload",
]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _PlanPayloadBase(_Payload):
    problem: Problem = Field(description="what to solve")
    params: SolveParams = Field(default_factory=SolveParams)
    day: dt.date = Field(description="the delivery date the plan is for")
    depot_id: str | None = Field(
        default=None, description="the depot it plans; None: several"
    )

    @field_validator("params", mode="before")
    @classmethod
    def _default_params(cls, value: Any) -> Any:
        return {} if value is None else value


class PlanPayload(_PlanPayloadBase):
    """A ``plan`` job: solve ``problem`` (of ``day`` at ``depot_id``)."""


class PlanResult(_Payload):
    """What a ``plan`` job returns."""

    plan: Plan


class ReoptimisePayload(_PlanPayloadBase):
    """A ``reoptimize`` job: the parent plan's problem and its execution state."""

    state: ExecutionState
    parent_id: str = Field(description="the plan being re-optimised")


class ReoptimiseResult(_Payload):
    """What a ``reoptimize`` job returns: the rest of the day, planned."""

    problem: Problem
    plan: Plan
    changes: Changes
    source: str = Field(description="kept, repair or search")


class ScenarioPayload(_Payload):
    """A ``scenario`` job: scenarios to compare, each replicated."""

    scenarios: tuple[Scenario, ...]
    replications: int | None = None
