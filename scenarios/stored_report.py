"""The report of a stored operation's forecast: ``milepost forecast`` on the
orders stored in the service (:func:`scenarios.run.forecast_stored`), written
as the same files as the embedded city's (:mod:`scenarios.forecast_report`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from forecasting import Fallback
from scenarios.capacity import FLEET_COLUMNS
from scenarios.forecast_report import MAIN, ForecastReport, write_chart, write_csv
from scenarios.run import ForecastSpec, forecast_demand

__all__ = ["stored_report"]


def stored_report(
    out_dir: Path,
    spec: ForecastSpec,
    *,
    chart: bool = True,
    on_stage: Callable[[str], None] = lambda _: None,
) -> ForecastReport:
    """Forecast the stored operation of ``spec.history`` and write the files.

    The same files as :func:`run_forecast_report`, from
    :func:`scenarios.run.forecast_stored`; depots whose fleet could not be
    sized and series too short to forecast are in ``notes``.
    """
    assert spec.history is not None, "a stored report needs the stored history"
    last_share = [-1.0]

    def progress(share: float, message: str) -> None:
        if share > last_share[0]:
            last_share[0] = share
            on_stage(message)

    result = forecast_demand(spec, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    lv = result.level
    zones = pd.DataFrame(
        {
            "unique_id": [z.zone for z in result.zones],
            "ds": pd.to_datetime([z.day for z in result.zones]),
            MAIN: [z.orders for z in result.zones],
            f"{MAIN}-lo-{lv}": [z.lo for z in result.zones],
            f"{MAIN}-hi-{lv}": [z.hi for z in result.zones],
        }
    )
    depots = pd.DataFrame([d.model_dump() for d in result.depots])
    rows = [f.model_dump() for f in result.fleet]
    fleet = pd.DataFrame(rows).rename(columns={"day": "ds"}) if rows else None
    fleet = pd.DataFrame(fleet, columns=list(FLEET_COLUMNS))
    fleet["ds"] = pd.to_datetime(fleet["ds"])
    files = write_csv(out_dir, {"zones": zones, "depots": depots, "fleet": fleet})
    if chart and not zones.empty:
        files["chart"] = out_dir / "forecast.png"
        write_chart(files["chart"], spec.history.frames()[0], zones, lv)
    notes = list(result.notes) + [
        f"fleet of {u.depot or 'every depot'} not sized: {u.reason}"
        for u in result.unsized
    ]
    return ForecastReport(
        start=result.start,
        days=result.horizon,
        level=lv,
        plan_quantile=result.plan_quantile,
        zones=zones,
        depots=depots,
        fleet=fleet,
        files=files,
        notes=tuple(notes),
        fallbacks=tuple(
            Fallback(model=f.model, unique_id=f.id, used=f.used, reason=f.reason)
            for f in result.fallbacks
        ),
    )
