"""PDPTW benchmark files in the Li & Lim format.

The format of the classic pickup-and-delivery benchmark (Li & Lim 2001), and
of the instances :mod:`routing.bench.pdptw` generates::

    K   Q   S
    0   x   y   0       ready   due   0        0        0
    i   x   y   demand  ready   due   service  pickup   delivery

The first line gives the number of vehicles ``K``, their capacity ``Q`` and
the speed ``S`` (always 1: travel time equals distance). Task 0 is the depot,
its window the vehicles' shift. A pickup task has a positive demand,
``pickup`` 0 and ``delivery`` the number of its delivery task; a delivery task
has the negative demand, ``pickup`` the number of its pickup and ``delivery``
0. Tab- or space-separated, integers or decimals.

:func:`read_li_lim` turns a file into a :class:`~routing.model.Problem` with
one shipment per pair, read with the DIMACS convention of
:func:`routing.io.vrplib.read_solomon`: distances ``floor(10 * euclid)``,
travel time equal to distance, and times and loads multiplied by the same 10
(so ``distance / 10`` is in instance units). A shipment's id is its pickup's
task number; each task's matrix index is its row (depot 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routing.io.files import InputError
from routing.io.vrplib import DEPOT_ID, SCALE, distance_matrix
from routing.model import Matrices, Problem

#: Distance, time and load units per instance unit.
LI_LIM_SCALE = SCALE["dimacs"]


@dataclass(frozen=True)
class Task:
    """One row of a Li & Lim file, in instance units."""

    no: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float
    pickup: int = 0
    delivery: int = 0

    def line(self) -> str:
        values = (
            self.no,
            self.x,
            self.y,
            self.demand,
            self.ready,
            self.due,
            self.service,
            self.pickup,
            self.delivery,
        )
        return "\t".join(_number(v) for v in values)


@dataclass(frozen=True)
class PdptwInstance:
    """A PDPTW instance: fleet and tasks (``tasks[0]`` is the depot)."""

    vehicles: int
    capacity: int
    tasks: tuple[Task, ...]

    @property
    def pairs(self) -> list[tuple[Task, Task]]:
        """(pickup, delivery) per shipment, in task order."""
        by_no = {t.no: t for t in self.tasks}
        return [(t, by_no[t.delivery]) for t in self.tasks[1:] if t.delivery]

    def text(self) -> str:
        head = f"{self.vehicles}\t{self.capacity}\t1"
        return "\n".join([head, *(t.line() for t in self.tasks)]) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_li_lim(path: str | Path, instance: PdptwInstance) -> None:
    """Write ``instance`` as a Li & Lim file."""
    Path(path).write_text(instance.text(), encoding="utf-8")


def parse_li_lim(path: str | Path) -> PdptwInstance:
    """Read a Li & Lim file into its tasks, checking every pair.

    Raises
    ------
    InputError
        When the file is missing or malformed; each message names the line.
    """
    p = Path(path)
    source = str(p)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(source, ["file not found"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(source, [f"cannot read: {exc}"]) from None
    content = [(k, text.split()) for k, text in enumerate(lines, 1) if text.strip()]
    if not content:
        raise InputError(source, ["line 1: the file is empty"])
    k, head = content[0]
    fleet = _values(source, k, head, 3, "K Q S")
    if fleet[0] < 1 or not fleet[0].is_integer() or not fleet[1].is_integer():
        raise InputError(source, [f"line {k}: K and Q must be whole, K at least 1"])
    if fleet[2] != 1:
        raise InputError(source, [f"line {k}: speed S must be 1, got {fleet[2]:g}"])
    tasks = [_task(source, k, fields) for k, fields in content[1:]]
    _check_tasks(source, tasks, [k for k, _ in content[1:]])
    return PdptwInstance(int(fleet[0]), int(fleet[1]), tuple(tasks))


def _values(source: str, k: int, fields: list[str], n: int, what: str) -> list[float]:
    if len(fields) != n:
        raise InputError(
            source, [f"line {k}: expected {n} numbers ({what}), got {len(fields)}"]
        )
    try:
        values = [float(f) for f in fields]
    except ValueError:
        raise InputError(
            source, [f"line {k}: {' '.join(fields)!r} is not numbers"]
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(source, [f"line {k}: numbers must be finite"])
    return values


def _task(source: str, k: int, fields: list[str]) -> Task:
    v = _values(source, k, fields, 9, "no x y demand ready due service p d")
    if not all(x.is_integer() for x in (v[0], v[3], v[7], v[8])):
        raise InputError(source, [f"line {k}: no, demand, p and d must be whole"])
    if v[4] > v[5] or v[4] < 0 or v[6] < 0:
        raise InputError(
            source, [f"line {k}: window [{v[4]:g}, {v[5]:g}] or service is invalid"]
        )
    return Task(
        int(v[0]), v[1], v[2], int(v[3]), v[4], v[5], v[6], int(v[7]), int(v[8])
    )


def _check_tasks(source: str, tasks: list[Task], lines: list[int]) -> None:
    """Task 0 first, distinct numbers, every pickup paired with its delivery."""
    if not tasks or tasks[0].no != 0:
        raise InputError(source, ["the first task must be the depot (task 0)"])
    where = {}
    for t, k in zip(tasks, lines, strict=True):
        if t.no in where:
            raise InputError(source, [f"line {k}: task {t.no} appears twice"])
        where[t.no] = k
    by_no = {t.no: t for t in tasks}
    errors = []
    for t in tasks[1:]:
        k = where[t.no]
        if (t.pickup == 0) == (t.delivery == 0):
            errors.append(f"line {k}: task {t.no} needs exactly one of p and d")
            continue
        other = by_no.get(t.delivery or t.pickup)
        back = None if other is None else (other.pickup or other.delivery)
        if other is None or back != t.no or other.demand != -t.demand:
            errors.append(
                f"line {k}: task {t.no} and its partner "
                f"{t.delivery or t.pickup} are not a pickup-delivery pair"
            )
        elif t.delivery and t.demand < 0:
            errors.append(f"line {k}: pickup {t.no} has a negative demand")
    if errors:
        raise InputError(source, errors[:10])


def read_li_lim(path: str | Path) -> tuple[Problem, dict[str, Any]]:
    """Read a Li & Lim PDPTW file as a problem with its own matrices.

    Returns
    -------
    tuple
        The :class:`~routing.model.Problem` (one shipment per pair, id = the
        pickup's task number) and ``info``: ``name``, ``pairs``,
        ``vehicles``, ``capacity``, ``scale`` and ``coordinates`` (by matrix
        index).

    Raises
    ------
    InputError
        When the file is missing or malformed.
    """
    instance = parse_li_lim(path)
    scale = LI_LIM_SCALE
    coords = np.array([(t.x, t.y) for t in instance.tasks], dtype=np.float64)
    matrix = distance_matrix(coords, "dimacs")
    row = {t.no: i for i, t in enumerate(instance.tasks)}
    depot = instance.tasks[0]

    def step(t: Task) -> dict[str, Any]:
        return {
            "location": {"index": row[t.no]},
            "service": math.floor(scale * t.service),
            "time_windows": [[math.floor(scale * t.ready), math.floor(scale * t.due)]],
        }

    document = {
        "depots": [{"id": DEPOT_ID, "location": {"index": 0}, "name": Path(path).stem}],
        "vehicles": [
            {
                "id": f"v{k}",
                "start": DEPOT_ID,
                "end": DEPOT_ID,
                "capacity": [instance.capacity * scale],
                "shift": [
                    math.floor(scale * depot.ready),
                    math.floor(scale * depot.due),
                ],
            }
            for k in range(1, instance.vehicles + 1)
        ],
        "shipments": [
            {
                "id": str(p.no),
                "demand": [p.demand * scale],
                "pickup": step(p),
                "delivery": step(d),
            }
            for p, d in instance.pairs
        ],
    }
    matrices = Matrices.model_construct(durations=matrix, distances=matrix)
    problem = Problem.model_validate(document | {"matrices": matrices})
    info = {
        "name": Path(path).stem,
        "pairs": len(instance.pairs),
        "vehicles": instance.vehicles,
        "capacity": instance.capacity,
        "scale": scale,
        "coordinates": [(t.x, t.y) for t in instance.tasks],
    }
    return problem, info
