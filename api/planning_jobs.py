"""The planners' jobs: demand forecasts and simulated days (``api.jobs`` kinds).

Both are thin: they validate the stored payload into the library's spec and
call the one implementation in :mod:`scenarios.run`, so they are pure and
picklable (they run in a worker thread or on a Dask cluster, never touching
the database) and a command line can share them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.jobs import register
from scenarios.run import DaySpec, ForecastSpec, forecast_demand, simulate_day

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
    """Plan and execute one day of the embedded city (:func:`simulate_day`).

    Parameters
    ----------
    payload
        A :class:`~scenarios.run.DaySpec` as JSON.
    progress
        ``(share done, message)`` callback.

    Returns
    -------
    dict
        The :class:`~scenarios.run.DayKpis` as JSON.
    """
    spec = DaySpec.model_validate(payload)
    return simulate_day(spec, progress).model_dump(mode="json")
