"""VRPTW benchmark files: Solomon / Gehring-Homberger instances and BKS tables.

A Solomon file (``/work/shared/benchmarks/vrptw/README.md`` describes the
format and both objective conventions) becomes a :class:`~routing.model.Problem`
with its own travel matrices, so engines and the checker see exactly the
benchmark's numbers:

* row 0 is the depot, ``depots[0]`` with id ``"depot"``; every other row is a
  delivery job whose id is the customer number (``"1"`` ... ``"100"``); each
  row's position in the file is its matrix index;
* travel time equals distance (unit speed), and every time value (ready time,
  due date, service time, the depot's due date as the shift end) is scaled by
  the same factor as the distances, so the integer model keeps the
  benchmark's feasibility exactly;
* loads (demands and ``CAPACITY``) are scaled by the same factor too, as
  PyVRP's reader does with ``round_func``: exact for integer loads, and the
  engine then sees the very numbers PyVRP sees reading the file (its penalty
  arithmetic is in integers, so unscaled loads send the search down another
  path: same model, different result after a time limit);
* ``VEHICLE NUMBER`` identical vehicles with the instance's ``CAPACITY`` and
  no costs: the objective is distance only.

Conventions (the scale applies to distances, times and loads alike):

``"dimacs"``
    ``floor(10 * euclid)``, i.e. distances truncated to one decimal and
    multiplied by 10 (DIMACS 2021, CVRPLIB, PyVRP's ``round_func="dimacs"``).
    Compare ``distance / 10`` with the ``distance_only;euclid_trunc1`` BKS.
``"exact"``
    ``round(1000 * euclid)`` (PyVRP's ``round_func="exact"``): three decimals,
    close to the double-precision SINTEF convention.
``"hierarchical"``
    For the SINTEF convention (fewest vehicles, then distance in doubles):
    distances ``round(1000 * euclid)`` as ``"exact"``, travel times
    ``ceil(1000 * euclid)``. Rounded times can be up to half a thousandth
    short per arc, and a route timed with them may then be late in exact
    arithmetic; times never shorter than the true ones keep every plan the
    model accepts feasible in doubles. Compare ``distance / 1000`` (or the
    distance re-measured in doubles) with the
    ``hierarchical_vehicles_then_distance;euclid_double`` BKS.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np

from routing.io.files import InputError
from routing.model import Matrices, Problem

Convention = Literal["dimacs", "exact", "hierarchical"]

#: Distance and time units per instance unit.
SCALE: dict[str, int] = {"dimacs": 10, "exact": 1000, "hierarchical": 1000}
#: ``objective_convention`` of the bks.csv rows :func:`read_bks` keeps by default.
DISTANCE_ONLY = "distance_only;euclid_trunc1"
#: ``objective_convention`` of the SINTEF rows (fewest vehicles, then distance).
HIERARCHICAL = "hierarchical_vehicles_then_distance;euclid_double"
DEPOT_ID = "depot"

_COLUMNS = (
    "CUST NO.",
    "XCOORD.",
    "YCOORD.",
    "DEMAND",
    "READY TIME",
    "DUE DATE",
    "SERVICE TIME",
)


class InstanceInfo(TypedDict):
    """What a Solomon file says besides the problem itself."""

    name: str
    vehicles: int
    capacity: int
    customers: int
    convention: str
    scale: int
    coordinates: list[tuple[float, float]]


class BksEntry(TypedDict):
    """A best-known solution: routes and total distance (instance units)."""

    vehicles: int
    distance: float


class SolomonRow:
    """One row of a Solomon file: customer number, place, demand, window and
    service, in instance units (``line`` is its line in the file)."""

    __slots__ = ("customer", "demand", "due", "line", "ready", "service", "x", "y")

    def __init__(self, line: int, values: list[float]) -> None:
        self.line = line
        self.customer = int(values[0])
        self.x, self.y = values[1], values[2]
        self.demand = int(values[3])
        self.ready, self.due, self.service = values[4], values[5], values[6]


def read_solomon(
    path: str | Path, *, convention: Convention = "dimacs"
) -> tuple[Problem, InstanceInfo]:
    """Read a Solomon or Gehring-Homberger VRPTW file.

    Parameters
    ----------
    path
        The instance file (CRLF or LF line ends).
    convention
        ``"dimacs"`` (truncate 10 x euclid), ``"exact"`` (round 1000 x
        euclid) or ``"hierarchical"`` (distances as ``"exact"``, times
        rounded up); see the module docstring.

    Returns
    -------
    tuple
        The :class:`~routing.model.Problem` and an :class:`InstanceInfo`.

    Raises
    ------
    InputError
        When the file is missing or malformed; each message names the line.
    """
    if convention not in SCALE:
        raise ValueError(f"convention must be one of {sorted(SCALE)}")
    p = Path(path)
    lines = _read_lines(p)
    name, vehicles, capacity, rows = _parse(p, lines)
    scale = SCALE[convention]

    coords = np.array([(r.x, r.y) for r in rows], dtype=np.float64)
    # The matrices are built square and non-negative here; skipping pydantic's
    # per-entry validation keeps 1000-customer instances fast to load.
    matrix = distance_matrix(coords, convention)
    times = distance_matrix(coords, "ceil") if convention == "hierarchical" else matrix
    matrices = Matrices.model_construct(durations=times, distances=matrix)
    problem = Problem.model_validate(
        _problem_document(name, vehicles, capacity, rows, convention)
        | {"matrices": matrices}
    )
    info: InstanceInfo = {
        "name": name,
        "vehicles": vehicles,
        "capacity": capacity,
        "customers": len(rows) - 1,
        "convention": convention,
        "scale": scale,
        "coordinates": [(r.x, r.y) for r in rows],
    }
    return problem, info


def read_rows(path: str | Path) -> tuple[str, int, int, list[SolomonRow]]:
    """The name, ``NUMBER``, ``CAPACITY`` and rows (depot first) of a Solomon
    file, each row checked as :func:`read_solomon` checks it.

    Raises
    ------
    InputError
        When the file is missing or malformed; each message names the line.
    """
    p = Path(path)
    return _parse(p, _read_lines(p))


def _problem_document(
    name: str, vehicles: int, capacity: int, rows: list[SolomonRow], convention: str
) -> dict[str, Any]:
    """Depot, fleet and customers as a problem document, times and loads scaled."""
    scale = SCALE[convention]

    def scaled(value: float) -> int:
        if convention == "dimacs":
            return math.floor(scale * value)
        return round(scale * value)

    depot = rows[0]
    return {
        "depots": [{"id": DEPOT_ID, "location": {"index": 0}, "name": name}],
        "vehicles": [
            {
                "id": f"v{k}",
                "start": DEPOT_ID,
                "end": DEPOT_ID,
                "capacity": [capacity * scale],
                "shift": [scaled(depot.ready), scaled(depot.due)],
            }
            for k in range(1, vehicles + 1)
        ],
        "jobs": [
            {
                "id": str(r.customer),
                "location": {"index": i},
                "demand": [r.demand * scale],
                "service": scaled(r.service),
                "time_windows": [[scaled(r.ready), scaled(r.due)]],
            }
            for i, r in enumerate(rows[1:], start=1)
        ],
    }


def distance_matrix(coords: np.ndarray, convention: str) -> tuple[tuple[int, ...], ...]:
    """Integer arcs between planar points: ``"dimacs"`` truncates 10 x
    euclid, ``"ceil"`` rounds 1000 x euclid up, anything else rounds it."""
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.sqrt((diff**2).sum(axis=2))
    if convention == "dimacs":
        values = (10 * euclid).astype(np.int64)  # truncation, as PyVRP's "dimacs"
    elif convention == "ceil":  # never shorter than the exact time
        values = np.ceil(1000 * euclid).astype(np.int64)
    else:
        values = np.round(1000 * euclid).astype(np.int64)
    return tuple(tuple(row) for row in values.tolist())


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(str(path), ["file not found"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(str(path), [f"cannot read: {exc}"]) from None


def _numbers(path: Path, number: int, text: str, what: str) -> list[float]:
    values = []
    for token in text.split():
        try:
            value = float(token)
        except ValueError:
            raise InputError(
                str(path), [f"line {number}: {token!r} is not a number ({what})"]
            ) from None
        if not math.isfinite(value) or value < 0:
            raise InputError(
                str(path),
                [f"line {number}: {token!r} must be a non-negative number ({what})"],
            )
        values.append(value)
    return values


def _parse(path: Path, lines: list[str]) -> tuple[str, int, int, list[SolomonRow]]:
    source = str(path)
    numbered = [(k, line.strip()) for k, line in enumerate(lines, start=1)]
    content = [(k, text) for k, text in numbered if text]
    if not content:
        raise InputError(source, ["line 1: the file is empty"])
    name = content[0][1]
    keys = [text.upper() for _, text in content]
    vehicles, capacity = _fleet(path, content, keys)
    if "CUSTOMER" not in keys:
        raise InputError(source, ["no CUSTOMER section"])
    rows = _customer_rows(path, content[keys.index("CUSTOMER") + 1 :])
    return name, vehicles, capacity, rows


def _fleet(
    path: Path, content: list[tuple[int, str]], keys: list[str]
) -> tuple[int, int]:
    """NUMBER and CAPACITY from the first numeric line after ``VEHICLE``."""
    source = str(path)
    if "VEHICLE" not in keys:
        raise InputError(source, ["no VEHICLE section (expected after the name)"])
    at = keys.index("VEHICLE")
    fleet = [(k, t) for k, t in content[at + 1 :] if not t[0].isalpha()]
    if not fleet:
        raise InputError(source, ["no NUMBER / CAPACITY line after VEHICLE"])
    k, text = fleet[0]
    values = _numbers(path, k, text, "NUMBER CAPACITY")
    if len(values) != 2 or not all(v.is_integer() for v in values) or values[0] < 1:
        raise InputError(
            source,
            [f"line {k}: expected NUMBER and CAPACITY as two integers, got {text!r}"],
        )
    return int(values[0]), int(values[1])


def _customer_rows(path: Path, content: list[tuple[int, str]]) -> list[SolomonRow]:
    """The depot row, then one row per customer, each checked on its own line."""
    source = str(path)
    rows: list[SolomonRow] = []
    first_line: dict[int, int] = {}
    for k, text in content:
        if text[0].isalpha():
            if rows:
                raise InputError(
                    source, [f"line {k}: unexpected text {text!r} among customer rows"]
                )
            continue  # the column header
        row = _customer_row(path, k, text)
        if row.customer in first_line:
            raise InputError(
                source,
                [
                    f"line {k}: customer {row.customer} appears twice "
                    f"(first on line {first_line[row.customer]})"
                ],
            )
        if not rows and row.customer != 0:
            raise InputError(
                source,
                [f"line {k}: the first row must be the depot (customer 0)"],
            )
        first_line[row.customer] = k
        rows.append(row)
    if len(rows) < 2:
        raise InputError(source, ["no customer rows after the depot"])
    return rows


def _customer_row(path: Path, k: int, text: str) -> SolomonRow:
    source = str(path)
    values = _numbers(path, k, text, "customer row")
    if len(values) != len(_COLUMNS):
        raise InputError(
            source,
            [
                f"line {k}: expected {len(_COLUMNS)} numbers "
                f"({', '.join(_COLUMNS)}), got {len(values)}"
            ],
        )
    for column, value in zip(_COLUMNS, values, strict=True):
        if column in ("CUST NO.", "DEMAND") and not value.is_integer():
            raise InputError(
                source, [f"line {k}: {column} must be an integer, got {value}"]
            )
    row = SolomonRow(k, values)
    if row.ready > row.due:
        raise InputError(
            source,
            [f"line {k}: READY TIME {row.ready:g} is after DUE DATE {row.due:g}"],
        )
    return row


def read_bks(
    path: str | Path, *, convention: str = DISTANCE_ONLY
) -> dict[str, BksEntry]:
    """Best-known solutions of one convention from a ``bks.csv``.

    Parameters
    ----------
    path
        A ``bks.csv`` with columns ``instance, vehicles, distance, source,
        objective_convention``.

    Returns
    -------
    dict
        Instance name to :class:`BksEntry`, for the rows whose
        ``objective_convention`` is ``convention`` (by default
        :data:`DISTANCE_ONLY`; :data:`HIERARCHICAL` for the SINTEF rows).

    Raises
    ------
    InputError
        When the file is missing, lacks a column, or has a bad number; the
        message names the line.
    """
    p = Path(path)
    lines = _read_lines(p)
    reader = csv.DictReader(lines)
    need = {"instance", "vehicles", "distance", "objective_convention"}
    missing = need - set(reader.fieldnames or [])
    if missing:
        raise InputError(
            str(p), [f"line 1: missing column(s) {', '.join(sorted(missing))}"]
        )
    out: dict[str, BksEntry] = {}
    for row in reader:
        k = reader.line_num
        if row["objective_convention"] != convention:
            continue
        try:
            entry: BksEntry = {
                "vehicles": int(row["vehicles"]),
                "distance": float(row["distance"]),
            }
        except (TypeError, ValueError):
            raise InputError(
                str(p),
                [
                    f"line {k}: vehicles {row['vehicles']!r} / distance "
                    f"{row['distance']!r} are not numbers"
                ],
            ) from None
        out[row["instance"]] = entry
    return out
