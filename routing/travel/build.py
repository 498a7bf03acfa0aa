"""Travel models to their descriptors (:mod:`routing.travel.spec`) and back.

:func:`travel_spec` describes a model; :func:`load_spec` rebuilds the model
a descriptor names, or refuses with
:class:`~routing.travel.spec.TravelUnavailable` naming the field and the
reason. Kept apart from the descriptor so that the models (which record
their own descriptor) and the descriptor never import each other.
"""

from __future__ import annotations

from pathlib import Path

from routing.model import Problem
from routing.travel.base import TravelModel
from routing.travel.haversine import HaversineTravel
from routing.travel.matrix import MatrixTravel
from routing.travel.road import MAX_SNAP_M, RoadTravel
from routing.travel.spec import (
    CityBuilder,
    TravelSpec,
    TravelUnavailable,
    array_sha256,
    bands_of,
    file_sha256,
    matrices_sha256,
)

__all__ = ["load_spec", "plan_travel_spec", "travel_spec"]


def travel_spec(model: TravelModel) -> TravelSpec:
    """The descriptor of ``model``.

    A model may describe itself with a ``spec()`` method; the built-in ones
    are described here. A road model records its file (or city seed) when
    it was built by :meth:`RoadTravel.from_file` or the city; one built from
    an in-memory graph gets ``path=None`` and cannot be rebuilt. Anything
    else is ``kind="other"``.
    """
    own = getattr(model, "spec", None)
    if callable(own):
        spec = own()
        if isinstance(spec, TravelSpec):
            return spec
    if isinstance(model, HaversineTravel):
        return TravelSpec(
            kind="haversine",
            name=model.name,
            detour=model.detour,
            speed_kmh=model.speed_kmh,
            bands=bands_of(model.bands),
        )
    if isinstance(model, MatrixTravel):
        return TravelSpec(
            kind="matrix",
            name=model.name,
            sha256=array_sha256(model.full.durations, model.full.distances),
        )
    return TravelSpec(kind="other", name=str(getattr(model, "name", type(model))))


def plan_travel_spec(problem: Problem, travel: TravelModel) -> TravelSpec:
    """The travel a plan of ``problem`` is timed with: the problem's own
    matrices when it has them (they always win), else ``travel``."""
    if problem.matrices is not None:
        return TravelSpec(
            kind="matrix", name="matrix", sha256=matrices_sha256(problem.matrices)
        )
    return travel_spec(travel)


# -- spec -> model -------------------------------------------------------------------


def load_spec(
    spec: TravelSpec,
    cache_dir: str | Path | None = None,
    *,
    city: CityBuilder | None = None,
    problem: Problem | None = None,
) -> TravelModel:
    """Rebuild the travel model ``spec`` describes, or refuse saying why.

    Parameters
    ----------
    spec
        The recorded descriptor (``Plan.travel``).
    cache_dir
        Where road matrices are cached (not part of the model's identity).
    city
        Builds the embedded city's roads of a seed; required for
        ``kind="city"`` (``scenarios.city.roads.load_city_spec`` gives it).
    problem
        For ``kind="matrix"``: the problem whose matrices must match.

    Raises
    ------
    TravelUnavailable
        The file is missing or changed, the rebuilt graph's digest differs,
        no city builder or problem was given, or the kind cannot be rebuilt.
    """
    if spec.kind == "haversine":
        assert spec.detour is not None and spec.speed_kmh is not None
        return HaversineTravel(
            detour=spec.detour,
            speed_kmh=spec.speed_kmh,
            bands=spec.bands or (),
            name=spec.name or "haversine",
        )
    if spec.kind == "road":
        return _load_road(spec, cache_dir)
    if spec.kind == "city":
        if city is None:
            raise TravelUnavailable(
                "travel.kind",
                "the embedded city's roads are built by scenarios; load the "
                "spec with scenarios.city.roads.load_city_spec",
            )
        assert spec.seed is not None
        model = city(spec.seed, Path(cache_dir) if cache_dir is not None else None)
        _same_digest(spec, model, f"seed {spec.seed}")
        if spec.max_snap_m is not None and isinstance(model, RoadTravel):
            return model.with_max_snap_m(spec.max_snap_m)
        return model
    if spec.kind == "matrix":
        return _load_matrix(spec, problem)
    raise TravelUnavailable(
        "travel.kind",
        f"the plan was made with travel model {spec.name!r}, which milepost "
        "cannot rebuild; re-plan with a road file, the city's roads or "
        "straight lines",
    )


def _load_road(spec: TravelSpec, cache_dir: str | Path | None) -> TravelModel:
    if spec.path is None:
        raise TravelUnavailable(
            "travel.path",
            "the plan's road graph was built in memory; there is no file to "
            "rebuild it from",
        )
    path = Path(spec.path)
    if not path.is_file():
        raise TravelUnavailable(
            "travel.path", f"road file {spec.path} not found (the plan was made on it)"
        )
    found = file_sha256(path)
    if found != spec.sha256:
        raise TravelUnavailable(
            "travel.sha256",
            f"road file {spec.path} changed since the plan was made "
            f"(sha256 {found[:12]}, the plan's {str(spec.sha256)[:12]})",
        )
    try:
        model = RoadTravel.from_file(
            path,
            cache_dir=cache_dir,
            name=spec.name or "road",
            max_snap_m=MAX_SNAP_M if spec.max_snap_m is None else spec.max_snap_m,
        )
    except (OSError, ValueError, SyntaxError) as exc:
        raise TravelUnavailable(
            "travel.path", f"cannot read road file {spec.path}: {exc}"
        ) from None
    _same_digest(spec, model, spec.path)
    return model


def _same_digest(spec: TravelSpec, model: TravelModel, what: str) -> None:
    digest = getattr(model, "digest", None)
    if digest != spec.digest:
        raise TravelUnavailable(
            "travel.digest",
            f"the road graph rebuilt from {what} differs from the plan's "
            f"(digest {str(digest)[:12]}, the plan's {str(spec.digest)[:12]}); "
            "the road data or the speed profile changed",
        )


def _load_matrix(spec: TravelSpec, problem: Problem | None) -> TravelModel:
    if problem is None or problem.matrices is None:
        raise TravelUnavailable(
            "travel.sha256",
            "the plan was timed with the problem's own matrices, and this "
            "problem has none",
        )
    found = matrices_sha256(problem.matrices)
    if found != spec.sha256:
        raise TravelUnavailable(
            "travel.sha256",
            f"the problem's matrices differ from the plan's (sha256 {found[:12]}, "
            f"the plan's {str(spec.sha256)[:12]})",
        )
    m = problem.matrices
    return MatrixTravel.from_lists(
        m.durations, m.distances if m.distances is not None else m.durations
    )
