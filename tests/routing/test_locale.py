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
from routing.model import Problem, clock_readings
from routing.reoptimise import ExecutionState
from routing.units import (
    HOUR,
    clock,
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
    # Integer readings: the undated file's times, given the day afterwards.
    problem = Problem.model_validate(data).model_copy(
        update={"date": SPRING_NY, "locale": Locale.model_validate(ny)}
    )
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


NY_LOCALE = {"timezone": "America/New_York", "currency": "USD", "country": "US"}
BERLIN_LOCALE = {"timezone": "Europe/Berlin", "currency": "EUR", "country": "DE"}


def _dated(day: dt.date | None, locale: dict[str, str] | None) -> Problem:
    """The small example problem, every time written "HH:MM", on ``day``."""
    data = json.loads(SMALL.read_text())
    data["vehicles"][1]["shift"] = ["08:00", "20:00"]
    data["date"] = None if day is None else day.isoformat()
    if locale is not None:
        data["locale"] = locale
    return Problem.model_validate(data)


def _times(problem: Problem) -> list[int]:
    out = []
    for v in problem.vehicles:
        out += [v.shift.start, v.shift.end]
        out += [t for b in v.breaks for w in b.time_windows for t in w.as_list()]
    for j in problem.jobs:
        out += [t for w in j.time_windows for t in w.as_list()]
    return out


@pytest.mark.parametrize(
    ("day", "tz", "locale"),
    [(SPRING_NY, NY, NY_LOCALE), (FALL_BERLIN, BERLIN, BERLIN_LOCALE)],
)
def test_clock_strings_of_a_dated_problem_are_clock_readings(
    day: dt.date, tz: dt.tzinfo, locale: dict[str, str]
) -> None:
    """On a change day every "HH:MM" of a problem (vans' shifts and breaks,
    order windows) is wall_to_elapsed of the reading; an hour off the
    undated number after the change."""
    readings = _times(_dated(None, None))
    times = _times(_dated(day, locale))
    assert times == [wall_to_elapsed(r, day, tz) for r in readings]
    assert any(t != r for t, r in zip(times, readings, strict=True))
    for t, r in zip(times, readings, strict=True):
        assert wall_clock(t, day, tz) == clock(r)


def test_clock_strings_on_ordinary_days_and_integers_are_unchanged() -> None:
    """A day without a change (or no date) reads "HH:MM" as the same number
    of seconds as before; integer times are never converted."""
    readings = _times(_dated(None, None))
    assert _times(_dated(dt.date(2026, 3, 10), NY_LOCALE)) == readings
    assert _times(_dated(SPRING_NY, None)) == readings  # Seoul: no change
    data = _dated(None, None).model_dump(mode="json")
    as_ints = Problem.model_validate(
        {**data, "date": "2026-03-08", "locale": NY_LOCALE}
    )
    assert isinstance(data["vehicles"][0]["shift"]["start"], int)
    assert _times(as_ints) == readings


def test_skipped_and_repeated_readings_follow_wall_to_elapsed() -> None:
    """02:30 on spring-forward day (skipped) counts as if the clock had not
    moved (2.5 h elapsed, 03:30 on the wall); 02:30 on Berlin's fall-back
    day (repeated) is its first occurrence (summer time); neither fails."""
    window = {"time_windows": [["02:30", "04:00"]]}
    for day, locale, start, end in (
        (SPRING_NY, NY_LOCALE, 2 * HOUR + 1800, 3 * HOUR),
        (FALL_BERLIN, BERLIN_LOCALE, 2 * HOUR + 1800, 5 * HOUR),
    ):
        data = json.loads(SMALL.read_text())
        data["jobs"][0] = {**data["jobs"][0], **window}
        data.update(date=day.isoformat(), locale=locale)
        (w,) = Problem.model_validate(data).jobs[0].time_windows
        assert (w.start, w.end) == (start, end)
    assert wall_clock(2 * HOUR + 1800, SPRING_NY, NY) == "03:30"
    assert wall_clock(2 * HOUR + 1800, FALL_BERLIN, BERLIN) == "02:30"


def test_a_state_reads_its_clock_on_the_problems_day() -> None:
    """A re-optimisation state's "HH:MM" now is a clock reading of the day it
    is validated for (clock_readings); without it, plain seconds."""
    zero = dict.fromkeys(
        [
            "cost",
            "routes",
            "orders",
            "served",
            "unassigned",
            "distance",
            "duration",
            "service",
            "waiting_time",
            "in_window",
            "late",
        ],
        0,
    )
    plan = {"routes": [], "summary": zero}
    raw = {"time": "06:00", "plan": plan, "promised": {"o1": "07:00"}}
    with clock_readings(SPRING_NY, NY):
        state = ExecutionState.model_validate(raw)
    assert (state.time, state.promised["o1"]) == (5 * HOUR, 6 * HOUR)
    assert ExecutionState.model_validate(raw).time == 6 * HOUR
    with clock_readings(dt.date(2026, 3, 10), NY):
        assert ExecutionState.model_validate(raw).time == 6 * HOUR


@seed(2127)
@settings(max_examples=80, deadline=None)
@given(
    place=st.sampled_from(
        [
            (SPRING_NY, NY_LOCALE),
            (FALL_NY, NY_LOCALE),
            (SPRING_BERLIN, BERLIN_LOCALE),
            (FALL_BERLIN, BERLIN_LOCALE),
            (dt.date(2026, 7, 1), BERLIN_LOCALE),
        ]
    ),
    minute=st.integers(min_value=0, max_value=31 * 60 - 1),
)
def test_a_parsed_reading_shows_as_itself(
    place: tuple[dt.date, dict[str, str]], minute: int
) -> None:
    """For any reading that exists on the day, parsing it in a dated problem
    and showing the result with wall_clock gives the reading back."""
    day, locale = place
    tz = zone(locale["timezone"])
    h, m = divmod(minute, 60)
    text = f"{h:02d}:{m:02d}"
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    exists = (
        local.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        == local
    )
    data = json.loads(SMALL.read_text())
    data["jobs"][0] = {**data["jobs"][0], "time_windows": [[text, "31:00"]]}
    data.update(date=day.isoformat(), locale=locale)
    start = Problem.model_validate(data).jobs[0].time_windows[0].start
    shown = wall_clock(start, day, tz)
    days, hour = divmod(h, 24)
    expected = f"{hour:02d}:{m:02d}" + (f"+{days}" if days else "")
    if exists:
        assert shown == expected
    else:  # skipped: as if the clock had not moved, an hour later on the wall
        assert start == minute * 60
