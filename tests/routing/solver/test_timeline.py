"""The common timeline: every engine's sequences are timed by ``schedule``."""

from __future__ import annotations

import ast
from pathlib import Path

from routing.solver import insertion, timeline
from routing.solver.data import ProblemData, build_data
from routing.solver.timeline import BreakVisit, schedule, schedule_route
from routing.travel import HaversineTravel
from tests.factories import grid_problem
from tests.helpers import ROOT

COORDS = [(0, 0), (1000, 0), (2000, 0), (2000, 1000), (0, 1000)]
TRAVEL = HaversineTravel()


def _data() -> ProblemData:
    problem = grid_problem(
        COORDS,
        [
            {"id": "a", "at": 1, "service": 60},
            {"id": "b", "at": 2, "service": 60, "time_windows": [[2000, 4000]]},
            {"id": "c", "at": 3, "service": 60},
        ],
        [
            {
                "id": "v",
                "capacity": [4],
                "shift": [0, 9000],
                "breaks": [
                    {"id": "rest", "time_windows": [[300, 2000]], "service": 300}
                ],
            }
        ],
    )
    return build_data(problem, TRAVEL)


def test_schedule_times_a_route_from_a_given_departure() -> None:
    """``schedule`` leaves at the time it is given and times every stop after it."""
    data = _data()
    seq = [data.order_nodes["a"][0], BreakVisit(0), data.order_nodes["b"][0]]
    route = schedule(data, 0, seq, 100)
    assert route.start == 100
    assert [s.id for s in route.steps] == [None, "a", "rest", "b", None]
    assert route.steps[3].service_start >= 2000  # waits for b's window
    later = schedule(data, 0, seq, 400)
    assert later.start == 400


def test_schedule_route_is_schedule_from_its_chosen_departure() -> None:
    """``schedule_route`` picks the departure; ``schedule`` from it agrees."""
    data = _data()
    seq = [data.order_nodes[o][0] for o in ("a", "b", "c")]
    chosen = schedule_route(data, 0, seq)
    assert chosen == schedule(data, 0, seq, chosen.steps[0].departure)


def test_insertion_times_routes_with_the_public_schedule() -> None:
    """Insertion uses ``timeline.schedule`` itself, not a private helper."""
    assert insertion.schedule is timeline.schedule


def _private_imports(path: Path) -> list[str]:
    """``from routing.x import _name`` and ``module._name`` across modules."""
    tree = ast.parse(path.read_text())
    found: list[str] = []
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "routing"
        ):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{node.module}.{alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("routing"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_in_routing_uses_another_modules_private_names() -> None:
    """Across routing/, only a module's own code uses its ``_private`` names."""
    used = {
        str(path.relative_to(ROOT)): names
        for path in sorted((ROOT / "routing").rglob("*.py"))
        if (names := _private_imports(path))
    }
    assert used == {}
