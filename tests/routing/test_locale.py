"""A deployment's locale and the clock helpers across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from routing.locale import DEFAULT_LOCALE, Locale, zone
from routing.model import Problem
from routing.units import (
    HOUR,
    midnight,
    to_datetime,
    to_seconds,
    wall_clock,
    wall_to_elapsed,
)
from routing.wallclock import changes_clock, from_wall_clock

NY = zone("America/New_York")
BERLIN = zone("Europe/Berlin")
SEOUL = zone("Asia/Seoul")
SPRING_NY = dt.date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
FALL_NY = dt.date(2026, 11, 1)  # 02:00 EDT -> 01:00 EST
SPRING_BERLIN = dt.date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
FALL_BERLIN = dt.date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET
SMALL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "small_problem.json"


def test_defaults_are_seoul_won_and_korea() -> None:
    """Without settings a locale is the original deployment's."""
    assert DEFAULT_LOCALE.timezone == "Asia/Seoul"
    assert (DEFAULT_LOCALE.currency, DEFAULT_LOCALE.minor_units) == ("KRW", 0)
    assert DEFAULT_LOCALE.country == "KR" and DEFAULT_LOCALE.subdivision is None
    assert DEFAULT_LOCALE.money(12_499.6) == "12,500 KRW"


def test_codes_are_canonical_and_carry_their_minor_units() -> None:
    """Case does not matter on input; decimals follow ISO 4217."""
    us = Locale(
        timezone="America/New_York", currency="usd", country="us", subdivision="ny"
    )
    assert (us.currency, us.country, us.subdivision) == ("USD", "US", "NY")
    assert us.minor_units == 2 and us.money(1234.5) == "1,234.50 USD"
    assert us.round_money(0.125) == 0.12  # banker's float rounding, 2 decimals
    assert Locale(currency="JPY").minor_units == 0
    assert Locale(currency="KWD").minor_units == 3
    de = Locale(
        timezone="Europe/Berlin", currency="EUR", country="DE", subdivision="BY"
    )
    assert de.zone is BERLIN


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA timezone"),
        ({"timezone": "../etc/passwd"}, "timezone", "IANA timezone"),
        ({"currency": "WON"}, "currency", "ISO 4217"),
        ({"country": "XX"}, "country", "holidays package"),
        ({"country": "US", "subdivision": "ZZ"}, "subdivision", "not a subdivision"),
        ({"country": "KR", "subdivision": "Seoul"}, "subdivision", "known: none"),
    ],
)
def test_bad_values_name_the_field_and_why(
    fields: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Locale(**fields)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"]


def test_old_problem_json_loads_with_the_korean_locale() -> None:
    problem = Problem.model_validate(json.loads(SMALL.read_text()))
    assert problem.locale == DEFAULT_LOCALE
    data = problem.model_dump(mode="json")
    data["locale"] = {"timezone": "Europe/Berlin", "currency": "EUR", "country": "DE"}
    assert Problem.model_validate(data).locale.zone is BERLIN


@pytest.mark.parametrize(
    ("day", "tz", "offsets", "length_h"),
    [
        (SPRING_NY, NY, ("-05:00", "-04:00"), 23),
        (FALL_NY, NY, ("-04:00", "-05:00"), 25),
        (SPRING_BERLIN, BERLIN, ("+01:00", "+02:00"), 23),
        (FALL_BERLIN, BERLIN, ("+02:00", "+01:00"), 25),
        (dt.date(2026, 3, 8), SEOUL, ("+09:00", "+09:00"), 24),
    ],
)
def test_elapsed_seconds_are_real_across_a_change(
    day: dt.date, tz: dt.tzinfo, offsets: tuple[str, str], length_h: int
) -> None:
    """Times count real seconds from midnight; the day is 23, 24 or 25 h."""
    before, after = to_datetime(HOUR, day, tz), to_datetime(12 * HOUR, day, tz)
    assert before.isoformat().endswith(offsets[0])
    assert after.isoformat().endswith(offsets[1])
    next_midnight = midnight(day + dt.timedelta(days=1), tz)
    assert to_seconds(next_midnight, day, tz) == length_h * HOUR
    assert changes_clock(day, tz) == (length_h != 24)


def test_a_shift_across_spring_forward_is_an_hour_shorter() -> None:
    """On the US spring-forward day 06:00 is 5 h after midnight; a shift
    06:00-14:00 (after the change) stays 8 h and reads 06:00 and 14:00 at its
    ends; 01:00-06:00 spans the change and is 4 real hours."""
    start, end = (wall_to_elapsed(h * HOUR, SPRING_NY, NY) for h in (6, 14))
    assert (start, end - start) == (5 * HOUR, 8 * HOUR)
    assert wall_clock(start, SPRING_NY, NY) == "06:00"
    assert wall_clock(end, SPRING_NY, NY) == "14:00"
    assert to_datetime(end, SPRING_NY, NY) == dt.datetime(
        2026, 3, 8, 14, tzinfo=dt.timezone(dt.timedelta(hours=-4))
    )
    one, six = (wall_to_elapsed(h * HOUR, SPRING_NY, NY) for h in (1, 6))
    assert six - one == 4 * HOUR
    # A night shift's next-morning reading counts on the next day's clock.
    assert wall_clock(wall_to_elapsed(31 * HOUR, SPRING_NY, NY), SPRING_NY, NY) == (
        "07:00+1"
    )


def test_fall_back_repeats_an_hour() -> None:
    """On Berlin's fall-back day 06:00 is 7 h after midnight; 02:30 is read as
    its first occurrence (summer time)."""
    assert wall_to_elapsed(6 * HOUR, FALL_BERLIN, BERLIN) == 7 * HOUR
    first = wall_to_elapsed(2 * HOUR + 1800, FALL_BERLIN, BERLIN)
    assert (
        to_datetime(first, FALL_BERLIN, BERLIN).isoformat().endswith("02:30:00+02:00")
    )
    assert wall_clock(first + HOUR, FALL_BERLIN, BERLIN) == "02:30"  # the repeat


def test_to_seconds_accepts_any_offset_and_refuses_naive() -> None:
    utc_noon = dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC)  # 08:00 EDT
    assert to_seconds(utc_noon, SPRING_NY, NY) == 7 * HOUR
    with pytest.raises(ValueError, match="no timezone"):
        to_seconds(dt.datetime(2026, 3, 8, 12), SPRING_NY, NY)  # noqa: DTZ001


@seed(2026)
@settings(max_examples=60, deadline=None)
@given(
    place=st.sampled_from(
        [(SPRING_NY, NY), (FALL_NY, NY), (SPRING_BERLIN, BERLIN), (FALL_BERLIN, BERLIN)]
    ),
    offset=st.integers(min_value=-6 * HOUR, max_value=30 * HOUR),
    fold=st.sampled_from([0, 1]),
)
def test_seconds_and_datetimes_round_trip(
    place: tuple[dt.date, dt.tzinfo], offset: int, fold: int
) -> None:
    """to_datetime(to_seconds(x)) is x (same instant, same local offset) for
    every aware local time around a change, both sides of a repeated hour."""
    day, tz = place
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=offset)
    moment = naive.replace(tzinfo=tz, fold=fold).astimezone(dt.UTC).astimezone(tz)
    back = to_datetime(to_seconds(moment, day, tz), day, tz)
    assert back.astimezone(dt.UTC) == moment.astimezone(dt.UTC)
    assert back.utcoffset() == moment.utcoffset()


def test_from_wall_clock_moves_times_after_the_change_only() -> None:
    """A problem's clock readings become elapsed seconds on a change day; on
    other days (and without a date) the problem is returned as it is."""
    data = json.loads(SMALL.read_text())
    ny = {"timezone": "America/New_York", "currency": "USD", "country": "US"}
    problem = Problem.model_validate({**data, "date": "2026-03-08", "locale": ny})
    moved = from_wall_clock(problem)
    for old, new in zip(problem.vehicles, moved.vehicles, strict=True):
        assert new.shift.start == wall_to_elapsed(old.shift.start, SPRING_NY, NY)
        assert new.shift.end == old.shift.end - HOUR  # shifts end after 03:00
    for old_job, new_job in zip(problem.jobs, moved.jobs, strict=True):
        for w_old, w_new in zip(
            old_job.time_windows, new_job.time_windows, strict=True
        ):
            assert w_new.end == wall_to_elapsed(w_old.end, SPRING_NY, NY)
    fleet_only = from_wall_clock(problem, orders=False)
    assert fleet_only.vehicles == moved.vehicles and fleet_only.jobs == problem.jobs
    normal = Problem.model_validate({**data, "date": "2026-03-10", "locale": ny})
    assert from_wall_clock(normal) is normal
    assert from_wall_clock(Problem.model_validate(data)) is not None
