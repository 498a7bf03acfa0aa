"""milepost forecasting."""

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

__all__ = [
    "CalendarEntry",
    "EntryKind",
    "HolidayCalendar",
    "Promotion",
    "PromotionType",
    "RetailCalendar",
    "calendar_features",
    "default_promotions",
    "event_column",
    "festival_days",
    "load_calendar_file",
    "load_promotion_file",
    "promotion_column",
]
