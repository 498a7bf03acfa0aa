"""Calendar and promotion files: versions 1 and 2, CSV and JSON lines, errors."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from forecasting.calendar import CalendarEntry, EntryKind, Promotion, PromotionType
from forecasting.calendar_io import load_calendar_file, load_promotion_file
from tests.helpers import EXAMPLES

CALENDAR_OK = """date,name,type
2024-05-01,Labour Day,holiday
2024-06-01,Store anniversary,event

2024-07-03,hub inventory,closure
"""


def _day(day: date, name: str, kind: EntryKind) -> CalendarEntry:
    return CalendarEntry(start=day, end=day, name=name, kind=kind)


def test_calendar_file_loads(tmp_path: Path) -> None:
    """A version 1 file (date,name,type) becomes entries in file order."""
    path = tmp_path / "calendar.csv"
    path.write_text(CALENDAR_OK, encoding="utf-8")
    entries = load_calendar_file(path)
    assert entries == (
        _day(date(2024, 5, 1), "Labour Day", EntryKind.HOLIDAY),
        _day(date(2024, 6, 1), "Store anniversary", EntryKind.EVENT),
        _day(date(2024, 7, 3), "hub inventory", EntryKind.CLOSURE),
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
            [
                "line 3",
                "column 'type'",
                "'party'",
                "holiday, event, closure, promotion",
            ],
        ),
        (
            "date,name,type\n2024-01-02,x,event\n2024-01-02,x,closure\n",
            ["line 3", "duplicate of line 2"],
        ),
        (
            "date,name,type\n2024-1-2,x,event\n",
            ["line 2", "column 'date'", "'2024-1-2'"],
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


V2_OK = """start,end,name,kind,scope,intensity
2024-05-01,2024-05-03,golden week,holiday,,
2024-06-01,,fair,event,Mapo-gu,
2024-06-03,2024-06-09,coupon,promotion,,0.5
2024-07-03,,hub inventory,closure,depot-east,
"""


def test_version_2_csv_loads_ranges_scopes_and_intensities() -> None:
    """start..end ranges, an optional end, scopes and promotion intensities."""
    fair, coupon = load_calendar_file(io.StringIO(V2_OK))[1:3]
    assert (fair.start, fair.end, fair.scope) == (date(2024, 6, 1),) * 2 + ("Mapo-gu",)
    assert (coupon.days, coupon.kind, coupon.intensity) == (7, EntryKind.PROMOTION, 0.5)


def test_optional_columns_may_be_left_out() -> None:
    """start,name,kind is enough."""
    entries = load_calendar_file(io.StringIO("start,name,kind\n2024-01-02,x,closure\n"))
    assert entries == (_day(date(2024, 1, 2), "x", EntryKind.CLOSURE),)


def test_the_documented_examples_agree() -> None:
    """docs/examples/calendar.csv and .jsonl hold the same entries."""
    csv_entries = load_calendar_file(EXAMPLES / "calendar.csv")
    assert load_calendar_file(EXAMPLES / "calendar.jsonl") == csv_entries
    assert {e.kind for e in csv_entries} == set(EntryKind)
    assert {e.scope for e in csv_entries} > {""}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("start,name\n2024-01-01,x\n", ["missing required column 'kind'"]),
        (
            "start,name,kind,note\n2024-01-01,x,event,y\n",
            ["unexpected column 'note'", "start, name, kind, end, scope, intensity"],
        ),
        (
            "start,end,name,kind\n2024-01-05,2024-01-02,x,event\n",
            ["line 2", "column 'end'", "before start 2024-01-05"],
        ),
        (
            "start,end,name,kind\n2024-01-01,2025-06-01,x,event\n",
            ["line 2", "column 'end'", "spans 518 days"],
        ),
        (
            "start,name,kind,intensity\n2024-01-01,x,holiday,2\n",
            ["line 2", "column 'intensity'", "promotions only"],
        ),
        (
            "start,name,kind,intensity\n2024-01-01,x,promotion,-1\n",
            ["line 2", "column 'intensity'", "'-1'", "0-1000"],
        ),
        (
            "start,name,kind,scope\n2024-01-01,x,event,a/b\n",
            ["line 2", "column 'scope'", "'a/b'", "zone or region id"],
        ),
        (
            "start,name,kind\n2024-01-01,x,sale\n",
            ["line 2", "column 'kind'", "'sale'", "holiday, event, closure, promotion"],
        ),
        (
            "start,name,kind\n2024-01-01,x,event\n2024-01-01,x,event\n",
            ["line 3", "duplicate of line 2"],
        ),
        ('{"start": "2024-01-01", "name": "x"}\n', ["line 1", "missing field 'kind'"]),
        (
            '{"start": "2024-01-01", "name": "x", "kind": "event"}\n{"day": 1}\n',
            ["line 2", "unexpected field 'day'"],
        ),
        ('{"start": "2024-01-01", "name": x}\n', ["line 1", "not JSON"]),
        (
            '{"start": "2024-01-01", "name": "x", "kind": "event", "scope": [1]}\n',
            ["line 1", "field 'scope'", "text or a number"],
        ),
        (
            '{"start": "2024-01-01", "name": "x", "kind": "promotion", '
            '"intensity": "lots"}\n',
            ["line 1", "field 'intensity'", "'lots'"],
        ),
        (
            '{"start": "2024-01-01", "name": "x", "kind": "event"}\n[1]\n',
            ["line 2", "object"],
        ),
    ],
)
def test_invalid_version_2_files_name_line_field_and_reason(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    """Each invalid v2 file (CSV or JSON lines) fails with a located message."""
    path = tmp_path / "calendar.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_calendar_file(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
