"""The Korean retail calendar: holidays, events, closures, promotions, files."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from forecasting.calendar import (
    DEFAULT_EVENTS,
    CalendarEntry,
    EntryKind,
    Festival,
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


@pytest.fixture(scope="module")
def calendar() -> RetailCalendar:
    """The default retail calendar for 2023-2026."""
    return RetailCalendar(range(2023, 2027))


def _names(calendar: RetailCalendar, day: date, kind: EntryKind) -> set[str]:
    return {e.name for e in calendar.on(day) if e.kind is kind}


@pytest.mark.parametrize(
    ("festival", "year", "expected"),
    [
        ("seollal", 2024, date(2024, 2, 10)),
        ("chuseok", 2024, date(2024, 9, 17)),
        ("seollal", 2025, date(2025, 1, 29)),
        ("chuseok", 2025, date(2025, 10, 6)),
        ("seollal", 2026, date(2026, 2, 17)),
        ("chuseok", 2026, date(2026, 9, 25)),
    ],
)
def test_festival_main_days(festival: Festival, year: int, expected: date) -> None:
    """Seollal and Chuseok fall on their lunar-calendar dates."""
    assert festival_days(festival, [year]) == (expected,)
    assert HolidayCalendar([year]).festival(festival, year) == expected


@pytest.mark.parametrize(
    ("festival", "year", "first", "last"),
    [
        ("seollal", 2024, date(2024, 2, 9), date(2024, 2, 12)),
        ("chuseok", 2024, date(2024, 9, 14), date(2024, 9, 18)),
        ("seollal", 2025, date(2025, 1, 25), date(2025, 1, 30)),
        ("chuseok", 2025, date(2025, 10, 3), date(2025, 10, 9)),
    ],
)
def test_festival_blocks_span_adjacent_days_off(
    festival: Festival, year: int, first: date, last: date
) -> None:
    """A festival block runs over the adjacent holidays and weekend days."""
    assert HolidayCalendar([year]).festival_block(festival, year) == (first, last)


def test_unknown_festival_is_rejected() -> None:
    """Only seollal and chuseok are festivals."""
    with pytest.raises(ValueError, match="unknown festival"):
        festival_days("dano", [2024])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2024, 1, 1), "New Year's Day"),
        (date(2024, 2, 10), "Korean New Year"),
        (date(2024, 9, 17), "Chuseok"),
        (date(2024, 10, 9), "Hangul Day"),
        (date(2025, 6, 3), "Presidential Election Day"),
        (date(2025, 12, 25), "Christmas Day"),
    ],
)
def test_public_holidays_come_from_the_holidays_package(day: date, name: str) -> None:
    """Public holidays and their English names come from the holidays package."""
    holidays = HolidayCalendar([day.year])
    assert day in holidays
    assert holidays.name(day) == name


def test_working_day_is_not_a_holiday() -> None:
    """An ordinary Tuesday has no holiday name."""
    holidays = HolidayCalendar([2024])
    assert date(2024, 3, 12) not in holidays
    assert holidays.name(date(2024, 3, 12)) is None


def test_extra_holiday_adds_and_renames_days() -> None:
    """Extra days are added, and an extra name replaces the package's."""
    holidays = HolidayCalendar(
        [2024],
        extra={date(2024, 5, 1): "Labour Day", date(2024, 10, 9): "Hangeul Day"},
    )
    assert holidays.name(date(2024, 5, 1)) == "Labour Day"
    assert holidays.name(date(2024, 10, 9)) == "Hangeul Day"


def test_removed_holiday_is_gone_and_shrinks_the_block() -> None:
    """Removing a holiday drops it and shortens a festival block it ended."""
    holidays = HolidayCalendar([2024], remove={date(2024, 2, 12)})
    assert date(2024, 2, 12) not in holidays
    assert holidays.festival_block("seollal", 2024) == (
        date(2024, 2, 9),
        date(2024, 2, 11),
    )


def test_removing_a_working_day_is_an_error() -> None:
    """Removing a day that is no holiday is reported, not ignored."""
    with pytest.raises(ValueError, match="not a public holiday"):
        HolidayCalendar([2024], remove={date(2024, 3, 12)})


def test_holiday_calendar_needs_years() -> None:
    """An empty year list is rejected."""
    with pytest.raises(ValueError, match="years is empty"):
        HolidayCalendar([])


@pytest.mark.parametrize(
    ("day", "event"),
    [
        (date(2024, 2, 14), "valentines_day"),
        (date(2025, 3, 14), "white_day"),
        (date(2024, 4, 14), "black_day"),
        (date(2024, 11, 11), "pepero_day"),
        (date(2025, 11, 11), "pepero_day"),
        (date(2023, 11, 24), "black_friday"),
        (date(2024, 11, 29), "black_friday"),
        (date(2025, 11, 28), "black_friday"),
        (date(2026, 11, 27), "black_friday"),
        (date(2024, 11, 1), "korea_sale_festa"),
        (date(2024, 11, 15), "korea_sale_festa"),
        (date(2024, 12, 24), "christmas_eve"),
        (date(2025, 12, 25), "christmas"),
        (date(2024, 1, 26), "seollal_run_up"),
        (date(2024, 2, 8), "seollal_run_up"),
        (date(2024, 2, 11), "seollal_holidays"),
        (date(2024, 9, 13), "chuseok_run_up"),
        (date(2025, 10, 9), "chuseok_holidays"),
    ],
)
def test_demand_events_fall_on_their_dates(
    calendar: RetailCalendar, day: date, event: str
) -> None:
    """Every derived demand event is on the day its rule gives."""
    assert event in _names(calendar, day, EntryKind.EVENT)


@pytest.mark.parametrize(
    ("day", "event"),
    [
        (date(2024, 11, 28), "black_friday"),
        (date(2024, 10, 31), "korea_sale_festa"),
        (date(2024, 11, 16), "korea_sale_festa"),
        (date(2024, 1, 25), "seollal_run_up"),
        (date(2024, 2, 9), "seollal_run_up"),
        (date(2024, 2, 13), "seollal_holidays"),
    ],
)
def test_demand_events_stop_at_their_bounds(
    calendar: RetailCalendar, day: date, event: str
) -> None:
    """Event windows do not spill over their first and last days."""
    assert event not in _names(calendar, day, EntryKind.EVENT)


def test_run_up_length_is_configurable() -> None:
    """run_up_days sets how many days before a block count as the run-up."""
    cal = RetailCalendar([2024], run_up_days=7)
    run_up = cal.dates("seollal_run_up")
    assert run_up[0] == date(2024, 2, 2)
    assert run_up[-1] == date(2024, 2, 8)


def test_sale_festa_window_is_configurable() -> None:
    """sale_festa moves the Korea Sale Festa window inside November."""
    cal = RetailCalendar([2024], sale_festa=(9, 30))
    days = cal.dates("korea_sale_festa")
    assert (days[0], days[-1], len(days)) == (date(2024, 11, 9), date(2024, 11, 30), 22)


@pytest.mark.parametrize(
    ("day", "closed", "holiday", "events"),
    [
        (date(2024, 2, 10), True, True, {"seollal_holidays"}),
        (date(2024, 9, 14), True, False, {"chuseok_holidays"}),
        (date(2024, 8, 14), True, False, set()),
        (date(2024, 11, 11), False, False, {"pepero_day", "korea_sale_festa"}),
        (date(2024, 10, 9), False, True, set()),
    ],
)
def test_closures_holidays_and_events_are_kept_apart(
    calendar: RetailCalendar,
    day: date,
    closed: bool,
    holiday: bool,
    events: set[str],
) -> None:
    """A closure, a public holiday and a demand event are separate facts."""
    assert calendar.is_closed(day) is closed
    assert (day in calendar.holidays) is holiday
    assert _names(calendar, day, EntryKind.EVENT) == events


def test_default_events_can_be_switched_off() -> None:
    """Without default events only public holidays and user entries remain."""
    user = CalendarEntry(date(2024, 6, 1), "store anniversary", EntryKind.EVENT)
    cal = RetailCalendar([2024], entries=[user], default_events=False)
    assert cal.event_names == ("store anniversary",)
    assert not cal.closures
    assert {e.kind for e in cal.entries} == {EntryKind.HOLIDAY, EntryKind.EVENT}


def test_user_entries_join_the_calendar() -> None:
    """User holidays, events and closures are merged into their kinds."""
    entries = [
        CalendarEntry(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY),
        CalendarEntry(date(2024, 6, 1), "Store Anniversary", EntryKind.EVENT),
        CalendarEntry(date(2024, 7, 3), "hub inventory", EntryKind.CLOSURE),
        CalendarEntry(date(2031, 1, 2), "out of range", EntryKind.EVENT),
    ]
    cal = RetailCalendar([2024], entries=entries)
    assert cal.holidays.name(date(2024, 5, 1)) == "Labour Day"
    assert cal.event_names[: len(DEFAULT_EVENTS)] == DEFAULT_EVENTS
    assert cal.event_names[-1] == "Store Anniversary"
    assert cal.is_closed(date(2024, 7, 3))
    assert "out of range" not in cal.event_names


def test_features_have_one_row_per_day(calendar: RetailCalendar) -> None:
    """The feature frame covers every day of the range, in order."""
    features = calendar_features(date(2024, 1, 1), date(2025, 12, 31), calendar)
    assert len(features) == 731
    assert features["ds"].dtype == np.dtype("datetime64[ns]")
    assert features["ds"].is_monotonic_increasing
    assert features["ds"].diff().dropna().eq(pd.Timedelta(days=1)).all()
    assert features.loc[0, "dow"] == 0  # 2024-01-01 was a Monday
    for name in DEFAULT_EVENTS:
        assert features[event_column(name)].dtype == bool
    for kind in PromotionType:
        assert (features[promotion_column(kind)] == 0).all()


@pytest.mark.parametrize(
    ("day", "column", "value"),
    [
        (date(2024, 2, 10), "holiday_name", "Korean New Year"),
        (date(2024, 2, 10), "holiday", True),
        (date(2024, 2, 10), "closure", True),
        (date(2024, 3, 12), "holiday_name", ""),
        (date(2024, 2, 1), "days_to_seollal", 9),
        (date(2024, 2, 10), "days_to_seollal", 0),
        (date(2024, 2, 11), "days_to_seollal", 353),
        (date(2025, 12, 31), "days_to_seollal", 48),
        (date(2024, 9, 1), "days_to_chuseok", 16),
        (date(2024, 11, 29), "event_black_friday", True),
        (date(2024, 6, 8), "is_weekend", True),
    ],
)
def test_feature_values(
    calendar: RetailCalendar, day: date, column: str, value: object
) -> None:
    """Individual features hold the calendar's facts for their day."""
    features = calendar_features(date(2024, 1, 1), date(2025, 12, 31), calendar)
    row = features.loc[features["ds"] == pd.Timestamp(day)].iloc[0]
    assert row[column] == value


def test_promotion_intensities_add_up_per_type() -> None:
    """Overlapping promotions of one type add their intensities."""
    promos = [
        Promotion(
            start=date(2024, 3, 1),
            end=date(2024, 3, 10),
            type=PromotionType.SEASONAL,
            intensity=1.0,
        ),
        Promotion(
            start=date(2024, 3, 8),
            end=date(2024, 3, 12),
            type=PromotionType.SEASONAL,
            intensity=0.5,
        ),
        Promotion(
            start=date(2024, 2, 1),
            end=date(2024, 3, 2),
            type=PromotionType.SIGN_UP,
            intensity=0.7,
        ),
    ]
    features = calendar_features(date(2024, 3, 1), date(2024, 3, 31), promotions=promos)
    seasonal = features["promo_seasonal"].to_numpy()
    expected = np.zeros(31)
    expected[0:10] += 1.0
    expected[7:12] += 0.5
    np.testing.assert_allclose(seasonal, expected)
    np.testing.assert_allclose(features["promo_sign_up"].to_numpy()[:3], [0.7, 0.7, 0])


def test_user_event_becomes_a_feature_column() -> None:
    """A user event gets its own slugged ``event_`` column."""
    entry = CalendarEntry(date(2024, 6, 1), "Store Anniversary!", EntryKind.EVENT)
    cal = RetailCalendar([2024], entries=[entry])
    features = calendar_features(date(2024, 5, 30), date(2024, 6, 2), cal)
    assert features["event_store_anniversary"].tolist() == [False, False, True, False]


def test_features_need_a_covering_calendar() -> None:
    """A calendar missing a year of the range is an error."""
    with pytest.raises(ValueError, match="needs \\[2025\\]"):
        calendar_features(date(2024, 12, 1), date(2025, 1, 31), RetailCalendar([2024]))


def test_features_reject_a_reversed_range() -> None:
    """The end of the range must not be before its start."""
    with pytest.raises(ValueError, match="before start"):
        calendar_features(date(2024, 2, 1), date(2024, 1, 1))


@pytest.mark.parametrize(
    "fields",
    [
        {"start": date(2024, 2, 1), "end": date(2024, 1, 1), "type": "seasonal"},
        {"start": date(2024, 1, 1), "end": date(2024, 1, 2), "type": "mega_sale"},
        {
            "start": date(2024, 1, 1),
            "end": date(2024, 1, 2),
            "type": "seasonal",
            "intensity": -0.1,
        },
        {
            "start": date(2024, 1, 1),
            "end": date(2024, 1, 2),
            "type": "seasonal",
            "intensity": float("nan"),
        },
    ],
)
def test_invalid_promotion_is_rejected(fields: dict[str, object]) -> None:
    """A promotion needs ordered dates, a known type and intensity >= 0."""
    with pytest.raises(ValidationError):
        Promotion.model_validate(fields)


def test_default_promotions_are_deterministic_per_seed() -> None:
    """Same seed, same plan; another seed, another plan."""
    a = default_promotions(date(2024, 1, 1), date(2025, 12, 31), seed=5)
    b = default_promotions(date(2024, 1, 1), date(2025, 12, 31), seed=5)
    c = default_promotions(date(2024, 1, 1), date(2025, 12, 31), seed=6)
    assert a == b
    assert a != c


def test_default_promotions_cover_every_type_inside_the_range() -> None:
    """The default plan has all five types, clipped to the range."""
    start, end = date(2024, 1, 5), date(2025, 6, 30)
    plan = default_promotions(start, end, seed=0)
    assert {p.type for p in plan} == set(PromotionType)
    assert all(start <= p.start <= p.end <= end for p in plan)
    assert all(p.intensity > 0 for p in plan)


def test_default_promotions_of_a_year_do_not_depend_on_the_range() -> None:
    """A year's campaigns are the same whatever range is asked for."""
    long = default_promotions(date(2024, 1, 1), date(2025, 12, 31), seed=1)
    short = default_promotions(date(2025, 1, 1), date(2025, 12, 31), seed=1)
    assert [p for p in long if p.start.year == 2025] == list(short)


CALENDAR_OK = """date,name,type
2024-05-01,Labour Day,holiday
2024-06-01,Store anniversary,event

2024-07-03,hub inventory,closure
"""


def test_calendar_file_loads(tmp_path: Path) -> None:
    """A valid calendar file becomes sorted entries, blank lines skipped."""
    path = tmp_path / "calendar.csv"
    path.write_text(CALENDAR_OK, encoding="utf-8")
    entries = load_calendar_file(path)
    assert entries == (
        CalendarEntry(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY),
        CalendarEntry(date(2024, 6, 1), "Store anniversary", EntryKind.EVENT),
        CalendarEntry(date(2024, 7, 3), "hub inventory", EntryKind.CLOSURE),
    )


def test_calendar_file_loads_from_a_stream() -> None:
    """An open text stream works as well as a path."""
    assert len(load_calendar_file(io.StringIO(CALENDAR_OK))) == 3


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty"]),
        ("date,name\n2024-01-01,x\n", ["missing required column 'type'"]),
        (
            "date,name,type,notes\n2024-01-01,x,event,hi\n",
            ["unexpected column 'notes'"],
        ),
        ("date,name,type\n2024-13-01,x,event\n", ["line 2", "column 'date'", "date"]),
        ("date,name,type\n,x,event\n", ["line 2", "column 'date'", "is empty"]),
        ("date,name,type\n2024-01-02,,event\n", ["line 2", "column 'name'", "empty"]),
        (
            "date,name,type\n2024-01-02,x,event\n2024-01-03,y,party\n",
            ["line 3", "column 'type'", "'party'", "holiday, event, closure"],
        ),
        (
            "date,name,type\n2024-01-02,x,event\n2024-01-02,x,closure\n",
            ["line 3", "duplicate of line 2"],
        ),
        ("date,name,type\n2024-01-02,x\n", ["line 2", "2 fields"]),
        ("date,name,type,date\n2024-01-02,x,event,x\n", ["column 'date'", "twice"]),
    ],
)
def test_invalid_calendar_file_names_line_column_and_reason(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    """Each invalid calendar file fails with a message that locates the error."""
    path = tmp_path / "calendar.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_calendar_file(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


PROMOTIONS_OK = """start,end,type,intensity,name
2024-03-01,2024-03-10,seasonal,1.0,spring sale
2024-03-05,2024-03-05,limited_time,1.5,flash
"""


def test_promotion_file_loads(tmp_path: Path) -> None:
    """A valid promotion file becomes promotions, in file order."""
    path = tmp_path / "promotions.csv"
    path.write_text(PROMOTIONS_OK, encoding="utf-8")
    plan = load_promotion_file(path)
    assert plan == (
        Promotion(
            start=date(2024, 3, 1),
            end=date(2024, 3, 10),
            type=PromotionType.SEASONAL,
            intensity=1.0,
            name="spring sale",
        ),
        Promotion(
            start=date(2024, 3, 5),
            end=date(2024, 3, 5),
            type=PromotionType.LIMITED_TIME,
            intensity=1.5,
            name="flash",
        ),
    )


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("start,end,type\n2024-01-01,2024-01-02,seasonal\n", ["column 'intensity'"]),
        (
            "start,end,type,intensity\n01/03/2024,2024-01-02,seasonal,1\n",
            ["line 2", "column 'start'", "'01/03/2024'", "YYYY-MM-DD"],
        ),
        (
            "start,end,type,intensity\n2024-01-05,2024-01-02,seasonal,1\n",
            ["line 2", "column 'end'", "before start"],
        ),
        (
            "start,end,type,intensity\n2024-01-01,2024-01-02,mega,1\n",
            ["line 2", "column 'type'", "'mega'", "sign_up"],
        ),
        (
            "start,end,type,intensity\n2024-01-01,2024-01-02,seasonal,-1\n",
            ["line 2", "column 'intensity'", "'-1'", ">= 0"],
        ),
        (
            "start,end,type,intensity\n2024-01-01,2024-01-02,seasonal,high\n",
            ["line 2", "column 'intensity'", "'high'", "number"],
        ),
        (
            "start,end,type,intensity\n2024-01-01,2024-01-02,seasonal,nan\n",
            ["line 2", "column 'intensity'", "finite"],
        ),
        (
            "start,end,type,intensity\n2024-01-01,2024-01-02,seasonal,\n",
            ["line 2", "column 'intensity'", "is empty"],
        ),
    ],
)
def test_invalid_promotion_file_names_line_column_and_reason(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    """Each invalid promotion file fails with a message that locates the error."""
    path = tmp_path / "promotions.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_promotion_file(path)
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message


def test_loaded_files_drive_the_features(tmp_path: Path) -> None:
    """Entries and promotions read from files flow into the feature frame."""
    calendar_path = tmp_path / "calendar.csv"
    calendar_path.write_text(CALENDAR_OK, encoding="utf-8")
    promo_path = tmp_path / "promotions.csv"
    promo_path.write_text(PROMOTIONS_OK, encoding="utf-8")
    cal = RetailCalendar([2024], entries=load_calendar_file(calendar_path))
    features = calendar_features(
        date(2024, 3, 1), date(2024, 7, 31), cal, load_promotion_file(promo_path)
    )
    by_day = features.set_index("ds")
    assert by_day.loc[pd.Timestamp(2024, 5, 1), "holiday_name"] == "Labour Day"
    assert by_day.loc[pd.Timestamp(2024, 7, 3), "closure"]
    assert by_day.loc[pd.Timestamp(2024, 3, 5), "promo_limited_time"] == 1.5
    assert by_day["promo_seasonal"].sum() == pytest.approx(10.0)
    anniversary = by_day["event_store_anniversary"]
    assert anniversary[anniversary].index.tolist() == [pd.Timestamp(2024, 6, 1)]
