"""The travel model a stored plan is re-timed with: the one it was made with.

Every plan records its travel model (``Plan.travel``, a
:class:`routing.travel.TravelSpec`). The service plans stored days on the
deployment's roads (``MILEPOST_ROADS``, :func:`deployment_travel`), else on
straight lines; a plan posted from elsewhere may record roads. Slots,
re-optimisation and live ETAs rebuild the plan's own model here, or refuse
(:class:`~api.services.errors.Conflict`, HTTP 409) naming the spec's field
and why it cannot be rebuilt. A plan stored before plans recorded their
model (``travel`` is null) was made on straight lines.
"""

from __future__ import annotations

import threading
from pathlib import Path

from api.services.errors import Conflict
from api.settings import Settings
from routing.model import Problem
from routing.plan import Plan
from routing.travel import (
    DEFAULT_CACHE_DIR,
    HaversineTravel,
    RoadFileError,
    RoadTravel,
    TravelModel,
    TravelUnavailable,
)
from routing.travel.spec import TravelSpec
from scenarios.city.roads import load_city_spec

__all__ = [
    "RoadsUnavailable",
    "deployment_travel",
    "load_travel",
    "plan_travel",
    "rebuild_travel",
]

# Road models by what identifies them: parsing a city's graph takes seconds,
# and slots, the console and every live ETA rebuild a plan's model.
_MODELS: dict[TravelSpec, TravelModel] = {}
_DEPLOYED: dict[tuple[Path, float, float], RoadTravel] = {}
_LOCK = threading.Lock()


class RoadsUnavailable(RuntimeError):
    """``MILEPOST_ROADS`` names a file that cannot be read as a road network."""


def deployment_travel(settings: Settings) -> RoadTravel | None:
    """The roads stored days are planned on (None: straight lines).

    Built once per process and file version.

    Raises
    ------
    RoadsUnavailable
        Naming the setting, the file and why it cannot be read.
    """
    if settings.roads is None:
        return None
    path = settings.roads.expanduser()
    try:
        key = (path.resolve(), path.stat().st_mtime, settings.max_snap_m)
    except OSError as exc:
        raise RoadsUnavailable(f"MILEPOST_ROADS: cannot read {path}: {exc}") from None
    with _LOCK:
        road = _DEPLOYED.get(key)
        if road is None:
            try:
                road = RoadTravel.from_file(
                    path,
                    cache_dir=settings.travel_cache_dir.expanduser(),
                    max_snap_m=settings.max_snap_m,
                )
            except (RoadFileError, OSError, ValueError, SyntaxError) as exc:
                raise RoadsUnavailable(
                    f"MILEPOST_ROADS: {path} is not a readable road network: {exc}"
                ) from None
            _DEPLOYED[key] = road
            _MODELS[road.spec()] = road
    return road


def rebuild_travel(problem: Problem, plan: Plan) -> TravelModel:
    """The plan's own travel model (straight lines when not recorded).

    Raises
    ------
    routing.travel.TravelUnavailable
        When the recorded model cannot be rebuilt here.
    """
    if plan.travel is None:
        return HaversineTravel()
    return load_travel(problem, plan.travel)


def load_travel(problem: Problem, spec: TravelSpec) -> TravelModel:
    """The model ``spec`` describes, built once per process.

    Raises
    ------
    routing.travel.TravelUnavailable
        When it cannot be rebuilt here.
    """
    if spec.kind == "matrix":  # belongs to its problem: never shared
        return load_city_spec(spec, DEFAULT_CACHE_DIR.expanduser(), problem)
    with _LOCK:
        model = _MODELS.get(spec)
        if model is None:
            model = load_city_spec(spec, DEFAULT_CACHE_DIR.expanduser(), problem)
            _MODELS[spec] = model
    return model


def plan_travel(problem: Problem, plan: Plan, what: str) -> TravelModel:
    """:func:`rebuild_travel`, or a :class:`Conflict` saying why not.

    ``what`` names the plan in the message (``"plan 01H..."``).
    """
    try:
        return rebuild_travel(problem, plan)
    except TravelUnavailable as exc:
        assert plan.travel is not None
        raise Conflict(
            f"{what} was made with {plan.travel.describe()}, which this service "
            f"cannot rebuild ({exc.field}: {exc.reason}); it cannot be re-timed "
            "with another travel model"
        ) from None
