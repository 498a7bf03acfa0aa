"""The planners' jobs: demand forecasts and scenario comparisons (``api.jobs`` kinds).

Both are thin: they validate the stored payload into the library's spec and
call the one implementation the command line uses
(:func:`scenarios.run.forecast_demand`, :func:`scenarios.sweep.run_sweep`,
as ``milepost forecast`` and ``milepost simulate`` do), so they are pure and
picklable (they run in a worker thread or on a Dask cluster, never touching
the database) and a command line can share them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.jobs import register
from scenarios.run import ForecastSpec, forecast_demand
from scenarios.spec import Scenario
from scenarios.sweep import comparison, run_sweep

__all__ = ["FORECAST", "SCENARIO", "run_forecast", "run_scenario"]

FORECAST = "forecast"
SCENARIO = "scenario"


@register(FORECAST, url="/v1/forecasts/{id}")
def run_forecast(
    payload: dict[str, Any], progress: Callable[[float, str], None]
) -> dict[str, Any]:
    """Forecast the embedded city's demand and fleet (:func:`forecast_demand`).

    Parameters
    ----------
    payload
        A :class:`~scenarios.run.ForecastSpec` as JSON.
    progress
        ``(share done, message)`` callback.

    Returns
    -------
    dict
        The :class:`~scenarios.run.DemandForecast` as JSON.
    """
    spec = ForecastSpec.model_validate(payload)
    return forecast_demand(spec, progress).model_dump(mode="json")


@register(SCENARIO, url="/v1/scenarios/{id}")
def run_scenario(
    payload: dict[str, Any], progress: Callable[[float, str], None]
) -> dict[str, Any]:
    """Simulate and compare scenarios (:func:`~scenarios.sweep.run_sweep`).

    Parameters
    ----------
    payload
        ``{"scenarios": [Scenario, ...], "replications": n | None}`` as JSON.
    progress
        ``(share done, message)`` callback.

    Returns
    -------
    dict
        The :class:`~scenarios.sweep.Comparison` as JSON.
    """
    scenarios = [Scenario.model_validate(s) for s in payload["scenarios"]]
    result = run_sweep(
        scenarios,
        replications=payload.get("replications"),
        progress=lambda done, total: progress(
            done / total, f"{done} of {total} days simulated"
        ),
    )
    return comparison(result).model_dump(mode="json")
