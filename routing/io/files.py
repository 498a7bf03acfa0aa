"""Files in and out: problem JSON, plan JSON, GeoJSON, readable errors.

The JSON shapes are documented in ``docs/API.md``. Reading never raises a
traceback-worthy exception for bad input: it raises :class:`InputError` whose
lines each name a field path and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from routing.model import Problem
from routing.plan import Plan, Route, Step, StepType
from routing.travel import HasGeometry
from routing.units import clock
from routing.wallclock import shown_as


class InputError(ValueError):
    """Bad input; ``lines`` are ``"field.path: reason"`` messages."""

    def __init__(self, source: str, lines: Sequence[str]) -> None:
        self.source = source
        self.lines = list(lines)
        super().__init__(f"{source}: " + "; ".join(self.lines))


def field_path(loc: Iterable[int | str]) -> str:
    """``("jobs", 3, "time_windows", 0)`` -> ``"jobs[3].time_windows[0]"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union", "union")):
            continue
        else:
            out += f".{part}" if out else part
    return out


def validation_lines(error: ValidationError) -> list[str]:
    """One line per pydantic error: the field path, then the reason."""
    lines = []
    errors = error.errors(include_url=False)
    for e in errors:
        path = field_path(e["loc"])
        msg = error_reason(e)
        if e["type"] == "problem":
            # Problem-level checks already name their fields, one per "; ".
            lines.extend(str(e["ctx"]["errors"]).split("; "))
            continue
        if e["type"] == "too_short" and any(
            len(o["loc"]) > len(e["loc"]) and o["loc"][: len(e["loc"])] == e["loc"]
            for o in errors
        ):
            continue  # a list emptied by its own bad items: those say why
        lines.append(f"{path}: {msg}" if path else msg)
    return lines


def error_reason(error: Mapping[str, Any]) -> str:
    """pydantic's message of one error, in the words of a file's author."""
    kind, msg = str(error["type"]), str(error["msg"])
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (check its spelling against the format)"
    if kind == "too_short":
        return (
            f"needs at least {ctx.get('min_length')} item(s), "
            f"has {ctx.get('actual_length')}"
        )
    return msg


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``, turning errors into :class:`InputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, validation_lines(exc)) from None


def load_json(path: str | Path) -> Any:
    """Read JSON, reporting a missing file or a syntax error by position."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), ["file not found"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(str(p), [f"cannot read: {exc}"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InputError(str(p), [f"{where}: {_json_reason(exc.msg)}"]) from None


#: The JSON decoder's messages that end mid-sentence ("... at"), in words.
_JSON_REASONS = {
    "Unterminated string starting at": "a string starts here and is never closed "
    '(a missing ")',
    "Invalid control character at": "a control character such as a line break "
    "inside a string (write it as \\n)",
    "Expecting value": "expected a value (string, number, object, array, true, "
    "false or null)",
    "Extra data": "more text after the end of the JSON value",
    "Expecting property name enclosed in double quotes": "expected a key in "
    "double quotes (a comma before a closing brace?)",
}


def _json_reason(msg: str) -> str:
    return _JSON_REASONS.get(msg, msg.removesuffix(" at"))


def read_problem(path: str | Path) -> Problem:
    """Read and validate a problem file (``docs/API.md``)."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), ["the top level must be a JSON object"])
    return parse_model(Problem, data, str(path))


def problem_to_json(problem: Problem) -> dict[str, Any]:
    """The problem as JSON-ready data, without default-valued keys."""
    return problem.model_dump(mode="json", exclude_defaults=True)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data (VROOM's output shape)."""
    return plan.model_dump(mode="json", exclude_none=True)


def write_json(data: Any, path: str | Path) -> Path:
    """Write JSON atomically enough for CLI use (temp file, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(p)
    return p


def _reader(problem: Problem | None) -> Callable[[int], str]:
    """How a time of day is shown: the local clock of the problem's day and
    zone, or plain ``HH:MM`` of the seconds without a problem or date."""
    return clock if problem is None else shown_as(problem)


def _windows_by_order(problem: Problem | None) -> dict[tuple[str, str], list[str]]:
    if problem is None:
        return {}
    show = _reader(problem)
    out: dict[tuple[str, str], list[str]] = {}
    for job in problem.jobs:
        out[(job.id, "job")] = [
            f"{show(w.start)}-{show(w.end)}" for w in job.time_windows
        ]
    for sh in problem.shipments:
        for kind, step in (("pickup", sh.pickup), ("delivery", sh.delivery)):
            out[(sh.id, kind)] = [
                f"{show(w.start)}-{show(w.end)}" for w in step.time_windows
            ]
    return out


def _route_line(route: Route, travel: HasGeometry | None) -> list[list[float]]:
    """A route's polyline: along the roads when the model can draw them."""
    coords: list[list[float]] = []
    prev: Step | None = None
    for step in route.steps:
        loc = step.location
        if step.type == StepType.BREAK or loc is None or not loc.has_coordinates:
            continue
        assert loc.lon is not None and loc.lat is not None
        leg: list[list[float]] = [[loc.lon, loc.lat]]
        if travel is not None and prev is not None and prev.location is not None:
            try:
                drawn = travel.geometry(prev.location, loc, depart=prev.departure)
            except ValueError:  # no road path: keep the straight line
                drawn = []
            if drawn:
                leg = [[lon, lat] for lon, lat in drawn] + leg
        if coords and leg and leg[0] == coords[-1]:
            leg = leg[1:]
        coords.extend(leg)
        prev = step
    return coords


def plan_geojson(
    plan: Plan, problem: Problem | None = None, travel: object | None = None
) -> dict[str, Any]:
    """Routes as LineStrings and stops as Points (``[lon, lat]``).

    When ``travel`` can draw legs (a road network), routes follow the roads;
    otherwise legs are straight lines between stops.
    """
    drawer = travel if isinstance(travel, HasGeometry) else None
    windows = _windows_by_order(problem)
    show = _reader(problem)
    kinds = {} if problem is None else {j.id: j.type for j in problem.jobs}
    features: list[dict[str, Any]] = []
    for r, route in enumerate(plan.routes):
        coords = _route_line(route, drawer)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {
                    "vehicle": route.vehicle,
                    "route": r,
                    "orders": route.orders,
                    "distance_m": route.distance,
                    "start": show(route.start),
                    "end": show(route.end),
                },
            }
        )
        for seq, step in enumerate(route.steps):
            loc = step.location
            if step.type == StepType.BREAK or loc is None or not loc.has_coordinates:
                continue
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [loc.lon, loc.lat]},
                    "properties": {
                        "vehicle": route.vehicle,
                        "sequence": seq,
                        "type": step.type.value,
                        "order": step.id,
                        "eta": show(step.service_start),
                        "arrival": step.arrival,
                        "late_s": step.late,
                        "windows": windows.get((step.id or "", step.type.value), []),
                        # a job's kind: delivery, pickup (return) or exchange
                        **(
                            {"kind": kinds[step.id]}
                            if step.type == StepType.JOB and step.id in kinds
                            else {}
                        ),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}
