"""The versioned API: one module per resource, each with its own ``router``.

To add a resource, write ``api/routes/<resource>.py`` with
``router = APIRouter(prefix="/<resource>", tags=["<resource>"])`` and include
it below (keep the list sorted).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    dead_letters,
    depots,
    events,
    exceptions,
    forecasts,
    history,
    jobs,
    keys,
    metrics,
    orders,
    plans,
    retention,
    scenarios,
    slots,
    stations,
    tracking,
    vehicles,
)

__all__ = ["api_router"]

api_router = APIRouter(prefix="/v1")
api_router.include_router(dead_letters.router)
api_router.include_router(depots.router)
api_router.include_router(events.router)
api_router.include_router(exceptions.router)
api_router.include_router(forecasts.router)
api_router.include_router(history.router)
api_router.include_router(history.calendar_router)
api_router.include_router(jobs.router)
api_router.include_router(keys.router)
api_router.include_router(metrics.router)
api_router.include_router(orders.router)
api_router.include_router(plans.router)
api_router.include_router(retention.router)
api_router.include_router(scenarios.router)
api_router.include_router(slots.router)
api_router.include_router(stations.router)
api_router.include_router(tracking.router)
api_router.include_router(vehicles.router)
