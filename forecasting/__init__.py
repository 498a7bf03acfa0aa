"""milepost forecasting: daily demand per zone, with calibrated intervals.

The public API follows statsforecast's long-format contract: a history frame
``unique_id, ds, y`` plus known-future exogenous columns, future values in
``X_df``, one output column per model ``alias`` and ``<alias>-lo-<level>`` /
``<alias>-hi-<level>`` intervals. See ``docs/forecasting.md``.
"""

from forecasting.calendar import (
    CalendarEntry,
    EntryKind,
    HolidayCalendar,
    Promotion,
    PromotionType,
    RetailCalendar,
    calendar_features,
    default_promotions,
    event_column,
    festival_days,
    load_calendar_file,
    load_promotion_file,
    promotion_column,
)
from forecasting.conformal import ConformalIntervals
from forecasting.core import Forecaster, default_models
from forecasting.features import FeatureSpec
from forecasting.frame import FrameError, Panel, validate_df, validate_future
from forecasting.metrics import bias, coverage, evaluate, mase, wape
from forecasting.models import GlobalGBM, LogLinear, Model, SeasonalNaive
from forecasting.synthetic import generate_panel

__all__ = [
    "CalendarEntry",
    "ConformalIntervals",
    "EntryKind",
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
    "bias",
    "calendar_features",
    "coverage",
    "default_models",
    "default_promotions",
    "evaluate",
    "event_column",
    "festival_days",
    "generate_panel",
    "load_calendar_file",
    "load_promotion_file",
    "mase",
    "promotion_column",
    "validate_df",
    "validate_future",
    "wape",
]
