"""``milepost forecast`` says which zones and depots a fallback model forecast."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from api.cli.forecast import _notes
from forecasting import Fallback
from scenarios.forecast_report import ForecastReport


def _report(*fallbacks: Fallback) -> ForecastReport:
    zones = pd.DataFrame(
        {"unique_id": ["Mapo-gu"], "GlobalGBM": [10.0], "SeasonalNaive": [9.0]}
    )
    return ForecastReport(
        start=dt.date(2026, 1, 1),
        days=1,
        level=80,
        plan_quantile=80,
        zones=zones,
        depots=pd.DataFrame(),
        fleet=pd.DataFrame(),
        files={},
        fallbacks=fallbacks,
    )


def test_each_fallback_is_a_line_with_its_reason() -> None:
    """After the skill line, one line per fallback names model, fallback and why."""
    why = "GlobalGBM failed to fit: ValueError: only 46 training rows"
    lines = _notes(_report(Fallback("GlobalGBM", "depot-east", "LogLinear", why)))
    assert lines == [
        "all zones, 1 days: 10 orders forecast (SeasonalNaive: 9)",
        f"depot-east: forecast by LogLinear, not GlobalGBM ({why})",
    ]
    assert _notes(_report()) == lines[:1]
