"""milepost forecasting: daily demand per zone, with calibrated intervals.

The public API follows statsforecast's long-format contract: a history frame
``unique_id, ds, y`` plus known-future exogenous columns, future values in
``X_df``, one output column per model ``alias`` and ``<alias>-lo-<level>`` /
``<alias>-hi-<level>`` intervals. See ``docs/forecasting.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing.lazy import lazy_names

if TYPE_CHECKING:
    from forecasting.calendar import (
        CalendarEntry,
        EntryKind,
        HolidayCalendar,
        Promotion,
        PromotionType,
        RetailCalendar,
        default_promotions,
        festival_days,
    )
    from forecasting.calendar_io import (
        load_calendar_file,
        load_promotion_file,
    )
    from forecasting.conformal import (
        ConformalIntervals,
    )
    from forecasting.core import (
        Fallback,
        Forecaster,
        default_calibration,
        default_models,
    )
    from forecasting.exog import (
        SeriesCalendar,
        calendar_features,
        promotion_column,
        series_calendar_features,
        to_column,
    )
    from forecasting.features import (
        FeatureSpec,
    )
    from forecasting.frame import (
        FrameError,
        Panel,
        validate_df,
        validate_future,
    )
    from forecasting.metrics import (
        bias,
        coverage,
        evaluate,
        mase,
        wape,
    )
    from forecasting.models import (
        GlobalGBM,
        LogLinear,
        Model,
        SeasonalNaive,
    )
    from forecasting.synthetic import (
        generate_panel,
    )

__all__ = [
    "CalendarEntry",
    "ConformalIntervals",
    "EntryKind",
    "Fallback",
    "FeatureSpec",
    "Forecaster",
    "FrameError",
    "GlobalGBM",
    "HolidayCalendar",
    "LogLinear",
    "Model",
    "Panel",
    "Promotion",
    "PromotionType",
    "RetailCalendar",
    "SeasonalNaive",
    "SeriesCalendar",
    "bias",
    "calendar_features",
    "coverage",
    "default_calibration",
    "default_models",
    "default_promotions",
    "evaluate",
    "festival_days",
    "generate_panel",
    "load_calendar_file",
    "load_promotion_file",
    "mase",
    "promotion_column",
    "series_calendar_features",
    "to_column",
    "validate_df",
    "validate_future",
    "wape",
]

# Public name -> the module that defines it. Imported on first use, so that
# ``import forecasting.<module>`` does not pull in every sibling (and pandas).
_EXPORTS: dict[str, str] = {
    "CalendarEntry": "forecasting.calendar",
    "EntryKind": "forecasting.calendar",
    "HolidayCalendar": "forecasting.calendar",
    "Promotion": "forecasting.calendar",
    "PromotionType": "forecasting.calendar",
    "RetailCalendar": "forecasting.calendar",
    "default_promotions": "forecasting.calendar",
    "festival_days": "forecasting.calendar",
    "load_calendar_file": "forecasting.calendar_io",
    "load_promotion_file": "forecasting.calendar_io",
    "ConformalIntervals": "forecasting.conformal",
    "Fallback": "forecasting.core",
    "Forecaster": "forecasting.core",
    "default_calibration": "forecasting.core",
    "default_models": "forecasting.core",
    "SeriesCalendar": "forecasting.exog",
    "calendar_features": "forecasting.exog",
    "promotion_column": "forecasting.exog",
    "series_calendar_features": "forecasting.exog",
    "to_column": "forecasting.exog",
    "FeatureSpec": "forecasting.features",
    "FrameError": "forecasting.frame",
    "Panel": "forecasting.frame",
    "validate_df": "forecasting.frame",
    "validate_future": "forecasting.frame",
    "bias": "forecasting.metrics",
    "coverage": "forecasting.metrics",
    "evaluate": "forecasting.metrics",
    "mase": "forecasting.metrics",
    "wape": "forecasting.metrics",
    "GlobalGBM": "forecasting.models",
    "LogLinear": "forecasting.models",
    "Model": "forecasting.models",
    "SeasonalNaive": "forecasting.models",
    "generate_panel": "forecasting.synthetic",
}


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
