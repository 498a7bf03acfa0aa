"""One payload model (what a job is submitted with) and result model per kind.

The stored JSON is the model's ``model_dump(mode="json", by_alias=True)``;
the worker validates it back into the same model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import Changes, ExecutionState
from routing.solver import SolveParams
from routing.travel.spec import TravelSpec
from scenarios.run import DemandForecast, ForecastSpec
from scenarios.spec import Scenario
from scenarios.sweep import Comparison
from tracking.feedback import LatenessPricing

__all__ = [
    "Comparison",
    "DemandForecast",
    "ForecastSpec",
    "PlanPayload",
    "PlanPricing",
    "PlanResult",
    "ReoptimisePayload",
    "ReoptimiseResult",
    "RetentionCoefficient",
    "RetentionFitPayload",
    "RetentionFitResult",
    "ScenarioPayload",
]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanPricing(_Payload):
    """How a plan's orders were priced: ``learned`` from the retention fit
    ``fit`` (a job id), or ``uniform`` (the problem's own prices), and why."""

    source: Literal["learned", "uniform"]
    fit: str | None = Field(default=None, description="the retention fit used")
    reason: str | None = Field(default=None, description="why uniform")


class _PlanPayloadBase(_Payload):
    problem: Problem = Field(description="what to solve")
    params: SolveParams = Field(default_factory=SolveParams)
    day: dt.date = Field(description="the delivery date the plan is for")
    depot_id: str | None = Field(
        default=None, description="the depot it plans; None: several"
    )
    pricing: PlanPricing | None = Field(
        default=None, description="how the problem's orders were priced"
    )

    @field_validator("params", mode="before")
    @classmethod
    def _default_params(cls, value: Any) -> Any:
        return {} if value is None else value


class PlanPayload(_PlanPayloadBase):
    """A ``plan`` job: solve ``problem`` (of ``day`` at ``depot_id``)."""

    travel: TravelSpec | None = Field(
        default=None,
        description="the travel model to plan on (the deployment's roads); "
        "None: straight lines",
    )


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


class RetentionFitPayload(_Payload):
    """A ``retention_fit`` job: the observable order history of ``start..end``.

    One entry per attempted delivery of a known customer, column by column
    (the tracked days' outcomes, :func:`api.services.metrics.history_frame`):
    the order date is the delivery date.
    """

    start: dt.date = Field(description="first tracked day of the history")
    end: dt.date = Field(description="last tracked day of the history")
    order_id: tuple[str, ...]
    customer_id: tuple[str, ...]
    day: tuple[dt.date, ...]
    minutes_late: tuple[float, ...]
    failed_attempts: tuple[int, ...]
    value: tuple[float | None, ...] | None = Field(
        default=None,
        description="each order's basket (the locale's currency; null: not "
        "known); null when no order of the history is a stored order",
    )
    locale: Locale = Field(
        default=DEFAULT_LOCALE,
        description="the deployment's locale: its currency sizes the default "
        "basket and the pricing's default amounts",
    )

    @model_validator(mode="after")
    def _columns_agree(self) -> RetentionFitPayload:
        n = len(self.order_id)
        for name in ("customer_id", "day", "minutes_late", "failed_attempts"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has not one entry per order_id")
        if self.value is not None and len(self.value) != n:
            raise ValueError("value has not one entry per order_id")
        return self


class RetentionCoefficient(_Payload):
    """One fitted coefficient of the experience effect, with its 95 % interval.

    ``part`` ``hazard``: log hazard ratio of the next order per unit of the
    covariate; ``churn``: logit of leaving after a delivery.
    """

    part: str = Field(description="hazard or churn")
    name: str
    coef: float
    se: float
    low: float
    high: float


class RetentionFitResult(_Payload):
    """What a ``retention_fit`` job returns: the learned pricing and its fit."""

    start: dt.date
    end: dt.date
    pricing: LatenessPricing
    coefficients: tuple[RetentionCoefficient, ...]
    n_spells: int
    n_events: int
    n_customers: int
    n_orders: int
    customer_values: dict[str, float] = Field(
        description="each customer's expected future margin (money) over a year"
    )
