"""Tracking: order lifecycle, events, live ETAs, outcomes, retention, feedback.

A pure library on top of :mod:`routing`: storage is injected
(:class:`~tracking.store.Store`), times are seconds since local midnight of
the operating day. See ``docs/tracking.md``.

The live-ETA function is ``tracking.eta.eta`` (not re-exported here, so
that ``tracking.eta`` stays the module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracking.correction import (
        Correction,
    )
    from tracking.eta import (
        Eta,
        LegTimes,
        RouteProgress,
        naive_eta,
        naive_route_eta,
        progress_of,
        route_eta,
        service_opening,
        windows_of,
    )
    from tracking.events import (
        AttemptResolved,
        Delivered,
        Event,
        FailedAttempt,
        FailureReason,
        OrderCancelled,
        OrderCreated,
        OrderDispatched,
        OrderPlanned,
        Position,
        Proof,
        ShiftEnded,
        ShiftStarted,
        StopArrived,
        StopDeparted,
        parse_event,
        parse_events,
    )
    from tracking.feedback import (
        CustomerValue,
        LatenessPricing,
        OrderCost,
        apply_costs,
        expected_loss,
        order_costs,
    )
    from tracking.learn import (
        EtaRecord,
        ExecutedDay,
        eta_records,
        fit_correction,
        fit_factors,
        fit_residuals,
        observed_halts,
        observed_legs,
        observed_services,
    )
    from tracking.outcomes import (
        DeliveryOutcome,
        EtaCheck,
        delivery_outcomes,
        outcomes_frame,
        performance,
    )
    from tracking.retention import (
        ExperienceEffect,
        LtvEstimate,
        cohort_table,
        customer_values,
        experience_cohort,
        experience_effect,
        lifetime_value,
        monthly_retention,
        repeat_purchase_rates,
        service_metrics,
        wilson_interval,
    )
    from tracking.status import (
        TRANSITIONS,
        InvalidTransition,
        OrderState,
        OrderStatus,
        StatusChange,
        can_transition,
    )
    from tracking.store import (
        MemoryStore,
        Store,
        VehicleState,
    )
    from tracking.tracker import (
        IngestResult,
        Rejection,
        Tracker,
    )
    from tracking.zones import (
        grid_zone,
    )

__all__ = [
    "TRANSITIONS",
    "AttemptResolved",
    "Correction",
    "CustomerValue",
    "Delivered",
    "DeliveryOutcome",
    "Eta",
    "EtaCheck",
    "EtaRecord",
    "Event",
    "ExecutedDay",
    "ExperienceEffect",
    "FailedAttempt",
    "FailureReason",
    "IngestResult",
    "InvalidTransition",
    "LatenessPricing",
    "LegTimes",
    "LtvEstimate",
    "MemoryStore",
    "OrderCancelled",
    "OrderCost",
    "OrderCreated",
    "OrderDispatched",
    "OrderPlanned",
    "OrderState",
    "OrderStatus",
    "Position",
    "Proof",
    "Rejection",
    "RouteProgress",
    "ShiftEnded",
    "ShiftStarted",
    "StatusChange",
    "StopArrived",
    "StopDeparted",
    "Store",
    "Tracker",
    "VehicleState",
    "apply_costs",
    "can_transition",
    "cohort_table",
    "customer_values",
    "delivery_outcomes",
    "eta_records",
    "expected_loss",
    "experience_cohort",
    "experience_effect",
    "fit_correction",
    "fit_factors",
    "fit_residuals",
    "grid_zone",
    "lifetime_value",
    "monthly_retention",
    "naive_eta",
    "naive_route_eta",
    "observed_halts",
    "observed_legs",
    "observed_services",
    "order_costs",
    "outcomes_frame",
    "parse_event",
    "parse_events",
    "performance",
    "progress_of",
    "repeat_purchase_rates",
    "route_eta",
    "service_metrics",
    "service_opening",
    "wilson_interval",
    "windows_of",
]

# Public name -> the module that defines it. Imported on first use, so that
# ``import tracking.<module>`` does not pull in every sibling (and pandas).
_EXPORTS: dict[str, str] = {
    "Correction": "tracking.correction",
    "Eta": "tracking.eta",
    "LegTimes": "tracking.eta",
    "RouteProgress": "tracking.eta",
    "naive_eta": "tracking.eta",
    "naive_route_eta": "tracking.eta",
    "progress_of": "tracking.eta",
    "route_eta": "tracking.eta",
    "service_opening": "tracking.eta",
    "windows_of": "tracking.eta",
    "AttemptResolved": "tracking.events",
    "Delivered": "tracking.events",
    "Event": "tracking.events",
    "FailedAttempt": "tracking.events",
    "FailureReason": "tracking.events",
    "OrderCancelled": "tracking.events",
    "OrderCreated": "tracking.events",
    "OrderDispatched": "tracking.events",
    "OrderPlanned": "tracking.events",
    "Position": "tracking.events",
    "Proof": "tracking.events",
    "ShiftEnded": "tracking.events",
    "ShiftStarted": "tracking.events",
    "StopArrived": "tracking.events",
    "StopDeparted": "tracking.events",
    "parse_event": "tracking.events",
    "parse_events": "tracking.events",
    "CustomerValue": "tracking.feedback",
    "LatenessPricing": "tracking.feedback",
    "OrderCost": "tracking.feedback",
    "apply_costs": "tracking.feedback",
    "expected_loss": "tracking.feedback",
    "order_costs": "tracking.feedback",
    "EtaRecord": "tracking.learn",
    "ExecutedDay": "tracking.learn",
    "eta_records": "tracking.learn",
    "fit_correction": "tracking.learn",
    "fit_factors": "tracking.learn",
    "fit_residuals": "tracking.learn",
    "observed_halts": "tracking.learn",
    "observed_legs": "tracking.learn",
    "observed_services": "tracking.learn",
    "DeliveryOutcome": "tracking.outcomes",
    "EtaCheck": "tracking.outcomes",
    "delivery_outcomes": "tracking.outcomes",
    "outcomes_frame": "tracking.outcomes",
    "performance": "tracking.outcomes",
    "ExperienceEffect": "tracking.retention",
    "LtvEstimate": "tracking.retention",
    "cohort_table": "tracking.retention",
    "customer_values": "tracking.retention",
    "experience_cohort": "tracking.retention",
    "experience_effect": "tracking.retention",
    "lifetime_value": "tracking.retention",
    "monthly_retention": "tracking.retention",
    "repeat_purchase_rates": "tracking.retention",
    "service_metrics": "tracking.retention",
    "wilson_interval": "tracking.retention",
    "TRANSITIONS": "tracking.status",
    "InvalidTransition": "tracking.status",
    "OrderState": "tracking.status",
    "OrderStatus": "tracking.status",
    "StatusChange": "tracking.status",
    "can_transition": "tracking.status",
    "MemoryStore": "tracking.store",
    "Store": "tracking.store",
    "VehicleState": "tracking.store",
    "IngestResult": "tracking.tracker",
    "Rejection": "tracking.tracker",
    "Tracker": "tracking.tracker",
    "grid_zone": "tracking.zones",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
