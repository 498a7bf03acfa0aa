"""Calendars: any country's holidays, Korean retail events, entries, promotions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
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
    default_promotions,
    festival_days,
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


def _entry(day: date, name: str, kind: EntryKind, **more: object) -> CalendarEntry:
    return CalendarEntry.model_validate(
        {"start": day, "name": name, "kind": kind, **more}
    )


def test_default_events_can_be_switched_off() -> None:
    """Without default events only public holidays and user entries remain."""
    user = _entry(date(2024, 6, 1), "store anniversary", EntryKind.EVENT)
    cal = RetailCalendar([2024], entries=[user], default_events=False)
    assert cal.event_names == ("store anniversary",)
    assert not cal.closures
    assert {e.kind for e in cal.entries} == {EntryKind.HOLIDAY, EntryKind.EVENT}


def test_user_entries_join_the_calendar() -> None:
    """User holidays, events and closures are merged into their kinds."""
    entries = [
        _entry(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY),
        _entry(date(2024, 6, 1), "Store Anniversary", EntryKind.EVENT),
        _entry(date(2024, 7, 3), "hub inventory", EntryKind.CLOSURE),
        _entry(date(2031, 1, 2), "out of range", EntryKind.EVENT),
    ]
    cal = RetailCalendar([2024], entries=entries)
    assert cal.holidays.name(date(2024, 5, 1)) == "Labour Day"
    assert cal.event_names[: len(DEFAULT_EVENTS)] == DEFAULT_EVENTS
    assert cal.event_names[-1] == "Store Anniversary"
    assert cal.is_closed(date(2024, 7, 3))
    assert "out of range" not in cal.event_names


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


# --------------------------------------------------------------------------
# any country, merge or replace


def test_another_country_has_its_own_holidays_and_no_korean_events() -> None:
    """Germany's calendar has German holidays and none of the Korean retail year."""
    cal = RetailCalendar([2024], country="de")
    assert cal.country == "DE" and not cal.default_events
    assert cal.holidays.name(date(2024, 10, 3)) == "German Unity Day"
    assert date(2024, 2, 10) not in cal.holidays  # Seollal
    assert cal.event_names == () and not cal.closures


def test_a_subdivision_adds_its_regional_holidays() -> None:
    """Bavaria keeps Epiphany; Germany as a whole does not."""
    epiphany = date(2024, 1, 6)
    assert epiphany not in HolidayCalendar([2024], country="DE")
    bavaria = HolidayCalendar([2024], country="DE", subdivision="by")
    assert bavaria.subdivision == "BY" and bavaria.name(epiphany) == "Epiphany"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"country": "XX"}, "country 'XX' is not known"),
        ({"country": "DE", "subdivision": "ZZ"}, "subdivision 'ZZ' is not one of DE's"),
    ],
)
def test_unknown_places_are_named(options: dict[str, str], fragment: str) -> None:
    """An unknown country or subdivision is an error naming it."""
    with pytest.raises(ValueError, match=fragment):
        HolidayCalendar([2024], **options)


def test_replace_keeps_only_the_users_entries() -> None:
    """``public_holidays="replace"``: no public holiday and no derived event."""
    own = [
        _entry(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY),
        _entry(date(2024, 6, 1), "fair", EntryKind.EVENT, end=date(2024, 6, 2)),
    ]
    cal = RetailCalendar([2024], entries=own, public_holidays="replace")
    assert dict(cal.holidays.days) == {date(2024, 5, 1): "Labour Day"}
    assert cal.event_names == ("fair",) and not cal.closures
    assert {e.name for e in cal.entries} == {"Labour Day", "fair"}


def test_merge_adds_the_users_entries_to_the_public_holidays() -> None:
    """The default merge keeps the package's holidays beside the user's."""
    own = [_entry(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY)]
    cal = RetailCalendar([2024], country="FR", entries=own)
    assert cal.holidays.name(date(2024, 7, 14)) is not None
    assert cal.holidays.name(date(2024, 5, 1)) == "Labour Day"


def test_korean_events_on_request_for_another_country() -> None:
    """default_events=True derives the Korean retail year from Korea's holidays."""
    cal = RetailCalendar([2024], country="US", default_events=True)
    assert "seollal_holidays" in cal.event_names
    assert cal.is_closed(date(2024, 2, 10))
    assert date(2024, 2, 10) not in cal.holidays


def test_festival_blocks_need_korea() -> None:
    """Seollal and Chuseok blocks are Korean."""
    with pytest.raises(ValueError, match="need Korea's holidays"):
        HolidayCalendar([2024], country="JP").festival_block("seollal", 2024)


def test_bad_mode_is_refused() -> None:
    """public_holidays is merge or replace."""
    with pytest.raises(ValueError, match="'merge' or 'replace'"):
        RetailCalendar([2024], public_holidays="keep")  # type: ignore[arg-type]


def test_scoped_entries_apply_only_in_their_scope() -> None:
    """A regional closure and holiday are absent from the national view."""
    day = date(2024, 6, 3)
    own = [
        _entry(day, "hub works", EntryKind.CLOSURE, scope="depot-east"),
        _entry(day, "Dano", EntryKind.HOLIDAY, scope="Gangneung"),
    ]
    cal = RetailCalendar([2024], entries=own)
    assert not cal.is_closed(day) and cal.is_closed(day, {"depot-east"})
    assert day not in cal.holidays
    assert [e.name for e in cal.on(day, {"Gangneung"})] == ["Dano"]
    assert cal.scopes == {"depot-east", "Gangneung"}
    assert cal.names(EntryKind.HOLIDAY, ()) == cal.names(EntryKind.HOLIDAY, {"x"})
    assert "Dano" in cal.names(EntryKind.HOLIDAY, {"Gangneung"})


# --------------------------------------------------------------------------
# the entry model


def test_entry_defaults_and_row() -> None:
    """end defaults to start, scope to national, intensity to 1; rows round-trip."""
    entry = CalendarEntry.from_row(
        {
            "start": "2024-05-01",
            "end": None,
            "name": " fair ",
            "kind": "event",
            "scope": None,
            "intensity": None,
        }
    )
    assert (entry.end, entry.name, entry.scope, entry.intensity) == (
        date(2024, 5, 1),
        "fair",
        "",
        1.0,
    )
    assert entry.to_row() == {
        "start": date(2024, 5, 1),
        "end": date(2024, 5, 1),
        "name": "fair",
        "kind": EntryKind.EVENT,
        "scope": "",
        "intensity": 1.0,
    }
    assert CalendarEntry.from_row(entry.to_row()) == entry
    assert CalendarEntry.from_row(entry.model_dump(mode="json")) == entry


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ({"end": "2024-04-30"}, (), "before start"),
        ({"end": "2025-06-01"}, (), "spans 397 days"),
        ({"intensity": 2.0}, (), "promotions only"),
        ({"kind": "party"}, ("kind",), "holiday"),
        ({"scope": "a/b"}, ("scope",), "'/'"),
        ({"name": "  "}, ("name",), "at least 1"),
        ({"start": 20240501}, ("start",), "YYYY-MM-DD"),
        ({"intensity": True}, ("intensity",), "not a boolean"),
        ({"colour": "red"}, ("colour",), "Extra inputs"),
    ],
)
def test_invalid_entries_name_field_and_reason(
    row: dict[str, object], field: tuple[str, ...], fragment: str
) -> None:
    """Each invalid entry names its field (or the entry) and the reason."""
    base = {"start": "2024-05-01", "name": "fair", "kind": "event"}
    with pytest.raises(ValidationError) as raised:
        CalendarEntry.from_row({**base, **row})
    error = raised.value.errors()[0]
    assert tuple(error["loc"]) == field
    assert fragment in error["msg"]


_entry_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=30,
)


@seed(11)
@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    length=st.integers(0, 365),
    name=_entry_names,
    kind=st.sampled_from(list(EntryKind)),
    scope=st.sampled_from(["", "Mapo-gu", "depot-east", "BY"]),
    intensity=st.floats(0.0, 1000.0),
)
def test_rows_round_trip(
    start: date,
    length: int,
    name: str,
    kind: EntryKind,
    scope: str,
    intensity: float,
) -> None:
    """Any valid entry survives to_row/from_row and its JSON form unchanged."""
    entry = CalendarEntry(
        start=start,
        end=start + timedelta(days=length),
        name=name,
        kind=kind,
        scope=scope,
        intensity=intensity if kind is EntryKind.PROMOTION else 1.0,
    )
    assert CalendarEntry.from_row(entry.to_row()) == entry
    assert CalendarEntry.from_row(entry.model_dump(mode="json")) == entry
    assert entry.days == length + 1 and entry.covers(entry.end)


def test_a_promotion_is_an_entry_named_by_its_type() -> None:
    """Promotion.entry() carries dates and intensity under the type's name."""
    promo = Promotion(
        start=date(2024, 3, 1),
        end=date(2024, 3, 4),
        type=PromotionType.SIGN_UP,
        intensity=0.7,
        name="spring sign-up",
    )
    assert promo.entry() == CalendarEntry(
        start=date(2024, 3, 1),
        end=date(2024, 3, 4),
        name="sign_up",
        kind=EntryKind.PROMOTION,
        intensity=0.7,
    )
