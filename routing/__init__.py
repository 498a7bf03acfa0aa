"""Routing: the delivery-day model, travel, engines, plans and checks.

Names are imported on first use: ``import routing.model`` does not load
the engines, the travel models or the readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing.lazy import lazy_names

if TYPE_CHECKING:
    from routing.io import InputError, read_problem
    from routing.model import (
        Break,
        Costs,
        Depot,
        Job,
        Location,
        Matrices,
        Order,
        PickupStation,
        Problem,
        ServiceLevel,
        Shipment,
        ShipmentStep,
        TimeWindow,
        Vehicle,
    )
    from routing.plan import Plan, Reason, Route, Step, StepType, Summary, Unassigned
    from routing.solver import CheckResult, SolveParams, check, solve

__all__ = [
    "Break",
    "CheckResult",
    "Costs",
    "Depot",
    "InputError",
    "Job",
    "Location",
    "Matrices",
    "Order",
    "PickupStation",
    "Plan",
    "Problem",
    "Reason",
    "Route",
    "ServiceLevel",
    "Shipment",
    "ShipmentStep",
    "SolveParams",
    "Step",
    "StepType",
    "Summary",
    "TimeWindow",
    "Unassigned",
    "Vehicle",
    "check",
    "read_problem",
    "solve",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "InputError": "routing.io",
        "read_problem": "routing.io",
        "Break": "routing.model",
        "Costs": "routing.model",
        "Depot": "routing.model",
        "Job": "routing.model",
        "Location": "routing.model",
        "Matrices": "routing.model",
        "Order": "routing.model",
        "PickupStation": "routing.model",
        "Problem": "routing.model",
        "ServiceLevel": "routing.model",
        "Shipment": "routing.model",
        "ShipmentStep": "routing.model",
        "TimeWindow": "routing.model",
        "Vehicle": "routing.model",
        "Plan": "routing.plan",
        "Reason": "routing.plan",
        "Route": "routing.plan",
        "Step": "routing.plan",
        "StepType": "routing.plan",
        "Summary": "routing.plan",
        "Unassigned": "routing.plan",
        "CheckResult": "routing.solver",
        "SolveParams": "routing.solver",
        "check": "routing.solver",
        "solve": "routing.solver",
    },
)
