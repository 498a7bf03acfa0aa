"""Routing: the delivery-day model, travel, engines, plans and checks."""

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
