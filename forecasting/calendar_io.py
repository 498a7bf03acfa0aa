"""Calendar and promotion files, read with errors that point at the mistake.

A **calendar file** lists a business's own days (version 2), as CSV with a
header row or as JSON lines (one object per line):

``start``
    First day, ``YYYY-MM-DD``.
``end``
    Last day, inclusive; optional (empty or absent: the start day).
``name``
    What it is; entries of one name share feature columns.
``kind``
    ``holiday``, ``closure``, ``promotion`` or ``event``.
``scope``
    Optional: empty for the whole country, else the zone or region id the
    entry applies to.
``intensity``
    Optional, promotions only: the campaign's strength (default 1).

Version 1 files (CSV ``date,name,type``, one day per line) are still read.
Every error is a :class:`ValueError` naming the file, the line (the header
is line 1), the column (CSV) or field (JSON) and the reason.

A **promotion file** is a CSV ``start,end,type,intensity[,name]`` of
:class:`~forecasting.calendar.Promotion` campaigns.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO, TypeVar

from pydantic_core import PydanticCustomError

from forecasting.calendar import CalendarEntry, EntryKind, Promotion, PromotionType
from routing.bounds import MAX_ID_LENGTH, check_id

__all__ = ["CALENDAR_FIELDS", "load_calendar_file", "load_promotion_file"]

#: Fields of a version 2 calendar file, in order.
CALENDAR_FIELDS = ("start", "end", "name", "kind", "scope", "intensity")
_REQUIRED = ("start", "name", "kind")
_V1 = ("date", "name", "type")

Source = str | os.PathLike[str] | TextIO

_T = TypeVar("_T")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _read(source: Source) -> tuple[str, str]:
    """The label (path or stream name) and text of a source."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source), Path(source).read_text(encoding="utf-8-sig")
    return getattr(source, "name", "<stream>"), source.read()


def _header(label: str, text: str) -> list[str]:
    """The CSV header's column names (lowercase), or an error if there is none."""
    try:
        # newline="": a lone carriage return ends a row, as csv expects.
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as exc:
        raise ValueError(f"{label}: line 1: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise ValueError(f"{label}: the file is empty: expected a header row")
    return [h.strip().lower() for h in header]


def _rows(
    label: str, text: str, required: Sequence[str], optional: Sequence[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    """A CSV's ``(line number, row)`` pairs after checking its header."""
    columns = _header(label, text)
    for column in required:
        if column not in columns:
            raise ValueError(f"{label}: missing required column '{column}'")
    for column in columns:
        if column not in required and column not in optional:
            raise ValueError(
                f"{label}: unexpected column '{column}' "
                f"(expected {', '.join([*required, *optional])})"
            )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ValueError(f"{label}: column '{duplicated[0]}' appears twice")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    for values in _csv_lines(label, reader):
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            raise ValueError(
                f"{label}: line {line}: has {len(values)} fields, "
                f"the header has {len(columns)}"
            )
        rows.append(
            (line, {c: v.strip() for c, v in zip(columns, values, strict=True)})
        )
    return rows


def _csv_lines(label: str, reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The rows after the header; a malformed row is an error naming its line."""
    try:
        next(reader)
        yield from reader
    except csv.Error as exc:
        line = getattr(reader, "line_num", 0)
        raise ValueError(f"{label}: line {line}: {exc}") from None


def _json_value(label: str, line: int, key: str, value: object) -> str:
    """A JSON field's value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    raise ValueError(
        f"{label}: line {line}, field '{key}': expected text or a number, "
        f"got {json.dumps(value)}"
    )


def _json_rows(label: str, text: str) -> list[tuple[int, dict[str, str]]]:
    """JSON lines as ``(line number, row)`` pairs of text, keys checked."""
    rows: list[tuple[int, dict[str, str]]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{label}: line {line}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise ValueError(f"{label}: line {line}: expected a JSON object")
        for key in item:
            if key not in CALENDAR_FIELDS:
                raise ValueError(
                    f"{label}: line {line}: unexpected field '{key}' "
                    f"(expected {', '.join(CALENDAR_FIELDS)})"
                )
        for key in _REQUIRED:
            if key not in item:
                raise ValueError(f"{label}: line {line}: missing field '{key}'")
        rows.append(
            (line, {k: _json_value(label, line, k, v) for k, v in item.items()})
        )
    return rows


def _field(
    where: str,
    column: str,
    raw: str,
    parse: Callable[[str], _T],
    expected: str,
) -> _T:
    """``parse(raw)``, or an error saying where, what was found and what was wanted."""
    here = f"{where} '{column}'"
    if raw == "":
        raise ValueError(f"{here}: is empty")
    try:
        return parse(raw)
    except ValueError:
        raise ValueError(f"{here}: {raw!r} is not {expected}") from None


def _parse_day(raw: str) -> date:
    if not _ISO_DAY.fullmatch(raw):
        raise ValueError(raw)
    return date.fromisoformat(raw)


def _parse_kind(raw: str) -> EntryKind:
    return EntryKind(raw.lower())


def _parse_promotion_type(raw: str) -> PromotionType:
    return PromotionType(raw.lower())


def _parse_intensity(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0 or value > 1_000:
        raise ValueError(raw)
    return value


def _parse_name(raw: str) -> str:
    if len(raw) > 200:
        raise ValueError(raw)
    return raw


def _parse_scope(raw: str) -> str:
    if len(raw) > MAX_ID_LENGTH:
        raise ValueError(raw)
    try:
        return check_id(raw)
    except PydanticCustomError:
        raise ValueError(raw) from None


_DAY_TEXT = "a date (YYYY-MM-DD)"
_KINDS = ", ".join(k.value for k in EntryKind)


def _entry(where: str, row: Mapping[str, str]) -> CalendarEntry:
    """One line of a version 2 calendar file."""
    start = _field(where, "start", row["start"], _parse_day, _DAY_TEXT)
    end = start
    if row.get("end", ""):
        end = _field(where, "end", row["end"], _parse_day, _DAY_TEXT)
        if end < start:
            raise ValueError(
                f"{where} 'end': {end.isoformat()} is before start {start.isoformat()}"
            )
    name = _field(where, "name", row["name"], _parse_name, "a name of 1-200 characters")
    kind = _field(where, "kind", row["kind"], _parse_kind, f"one of {_KINDS}")
    scope = ""
    if row.get("scope", ""):
        scope = _field(
            where, "scope", row["scope"], _parse_scope, "a zone or region id"
        )
    intensity = 1.0
    if row.get("intensity", ""):
        intensity = _field(
            where, "intensity", row["intensity"], _parse_intensity, "a number 0-1000"
        )
        if kind is not EntryKind.PROMOTION and intensity != 1.0:
            raise ValueError(
                f"{where} 'intensity': applies to promotions only, "
                f"not to a {kind.value}"
            )
    return _valid(where, start, end, name, kind, scope, intensity)


def _valid(
    where: str,
    start: date,
    end: date,
    name: str,
    kind: EntryKind,
    scope: str,
    intensity: float,
) -> CalendarEntry:
    """The entry, or the model's own objection (a span too long...) located."""
    try:
        return CalendarEntry(
            start=start,
            end=end,
            name=name,
            kind=kind,
            scope=scope,
            intensity=intensity,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        detail = errors()[0] if callable(errors) else {"loc": (), "msg": str(exc)}
        field = ".".join(str(p) for p in detail["loc"]) or "end"
        raise ValueError(f"{where} '{field}': {detail['msg']}") from None


def _v1_entry(where: str, row: Mapping[str, str]) -> CalendarEntry:
    """One line of a version 1 calendar file (``date,name,type``)."""
    day = _field(where, "date", row["date"], _parse_day, _DAY_TEXT)
    name = _field(where, "name", row["name"], _parse_name, "a name of 1-200 characters")
    kind = _field(where, "type", row["type"], _parse_kind, f"one of {_KINDS}")
    return _valid(where, day, day, name, kind, "", 1.0)


def load_calendar_file(source: Source) -> tuple[CalendarEntry, ...]:
    """Read a calendar file: CSV or JSON lines, version 2 or 1 (module docstring).

    The format is told from the content: a first character ``{`` means
    JSON lines, a ``date`` column a version 1 CSV. Blank lines are skipped.
    Pass the result as ``RetailCalendar(years, entries=...)``.

    Parameters
    ----------
    source
        A path or an open text stream.

    Returns
    -------
    tuple of CalendarEntry
        In file order.

    Raises
    ------
    ValueError
        On a missing or unknown column or field, a bad value or a duplicate
        line; the message names the file, the line, the column (or field)
        and the reason.

    Examples
    --------
    >>> import io
    >>> text = "start,end,name,kind,scope\\n2024-05-01,2024-05-03,Fair,event,Mapo-gu\\n"
    >>> [(e.name, e.days, e.scope) for e in load_calendar_file(io.StringIO(text))]
    [('Fair', 3, 'Mapo-gu')]
    """
    label, text = _read(source)
    if text.lstrip().startswith("{"):
        rows, word, parse = _json_rows(label, text), "field", _entry
    elif "date" in _header(label, text):
        rows, word, parse = _rows(label, text, _V1), "column", _v1_entry
    else:
        optional = [f for f in CALENDAR_FIELDS if f not in _REQUIRED]
        rows, word, parse = _rows(label, text, _REQUIRED, optional), "column", _entry
    seen: dict[tuple[object, ...], int] = {}
    entries = []
    for line, row in rows:
        entry = parse(f"{label}: line {line}, {word}", row)
        # Version 1 allowed one entry per day and name, whatever its type.
        key: tuple[object, ...] = (entry.start, entry.name)
        if parse is _entry:
            key = (entry.start, entry.end, entry.name, entry.kind, entry.scope)
        if key in seen:
            raise ValueError(f"{label}: line {line}: duplicate of line {seen[key]}")
        seen[key] = line
        entries.append(entry)
    return tuple(entries)


def load_promotion_file(source: Source) -> tuple[Promotion, ...]:
    """Read a promotion plan: a CSV with columns ``start,end,type,intensity``.

    An optional ``name`` column is kept. Dates are ISO (``YYYY-MM-DD``) and
    both ends are inclusive; ``type`` is a :class:`PromotionType` value and
    ``intensity`` a finite number ``>= 0``.

    Parameters
    ----------
    source
        A path or an open text stream.

    Returns
    -------
    tuple of Promotion
        In file order.

    Raises
    ------
    ValueError
        On a missing or unknown column, or a bad value; the message names the
        file, the line (the header is line 1), the column and the reason.
    """
    label, text = _read(source)
    rows = _rows(label, text, ("start", "end", "type", "intensity"), ("name",))
    return tuple(_promotion(f"{label}: line {line}, column", row) for line, row in rows)


def _promotion(where: str, row: Mapping[str, str]) -> Promotion:
    """One line of a promotion file (see :func:`load_promotion_file`)."""
    start = _field(where, "start", row["start"], date.fromisoformat, _DAY_TEXT)
    end = _field(where, "end", row["end"], date.fromisoformat, _DAY_TEXT)
    if end < start:
        raise ValueError(
            f"{where} 'end': {end.isoformat()} is before start {start.isoformat()}"
        )
    types = ", ".join(t.value for t in PromotionType)
    kind = _field(where, "type", row["type"], _parse_promotion_type, f"one of {types}")
    intensity = _field(
        where, "intensity", row["intensity"], _parse_intensity, "a finite number >= 0"
    )
    return Promotion(
        start=start,
        end=end,
        type=kind,
        intensity=intensity,
        name=row.get("name", ""),
    )
