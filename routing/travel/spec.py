"""Travel descriptors: which travel model a plan was made with, and back.

A :class:`TravelSpec` names a travel model in a few JSON fields, so that a
plan can record it (``Plan.travel``) and whoever re-times the plan later
(slots, re-optimisation, ETAs, the service) rebuilds the *same* model:

* ``haversine``: straight lines; ``detour``, ``speed_kmh`` and the hour
  ``bands`` are the whole model.
* ``road``: a road file; its ``path``, the file's ``sha256`` and the
  ``digest`` of the graph and speed profile the model routes on.
* ``city``: the embedded city's synthetic roads of ``seed`` (and their
  ``digest``). Routing does not know the city (it lives in ``scenarios``),
  so :func:`load_spec` takes the builder as its ``city`` argument;
  ``scenarios.city.roads.load_city_spec`` passes it.
* ``matrix``: user-supplied matrices, by the ``sha256`` of their entries.
  They travel with the problem (``Problem.matrices``), so rebuilding checks
  that the problem's matrices are still the ones planned with.
* ``other``: a model milepost cannot describe (e.g. a simulator's slowed
  roads); it is recorded by ``name`` and cannot be rebuilt.

:func:`load_spec` refuses with :class:`TravelUnavailable`, naming the field
and the reason, whenever the model it would build is not the recorded one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from routing.base import FrozenModel

if TYPE_CHECKING:
    from routing.model import Matrices, Problem
    from routing.travel.base import TravelModel

__all__ = [
    "CityBuilder",
    "TravelKind",
    "TravelSpec",
    "TravelUnavailable",
    "bands_of",
    "describe",
    "file_sha256",
    "load_spec",
    "matrices_sha256",
    "plan_travel_spec",
    "travel_spec",
]

TravelKind = Literal["haversine", "road", "city", "matrix", "other"]

#: Builds the embedded city's road model of a seed, caching in a folder.
CityBuilder = Callable[[int, Path | None], "TravelModel"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "haversine": ("detour", "speed_kmh", "bands"),
    "road": ("digest",),
    "city": ("seed", "digest"),
    "matrix": ("sha256",),
    "other": (),
}


class TravelUnavailable(ValueError):
    """A recorded travel model that cannot be rebuilt here, and why.

    ``field`` is the spec's field at fault (``"travel.path"``, ...), so the
    message reads ``travel.path: file not found ...``.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class TravelSpec(FrozenModel):
    """What identifies a travel model (see the module docstring)."""

    kind: TravelKind
    name: str = ""
    detour: float | None = None
    speed_kmh: float | None = None
    bands: tuple[tuple[int, int, float], ...] | None = None
    path: str | None = None
    sha256: str | None = None
    digest: str | None = None
    seed: int | None = None

    @model_validator(mode="after")
    def _complete(self) -> TravelSpec:
        missing = [f for f in _REQUIRED[self.kind] if getattr(self, f) is None]
        if self.kind == "road" and self.path is not None and self.sha256 is None:
            missing.append("sha256 (of the file at path)")
        if missing:
            raise ValueError(f"a {self.kind} travel spec needs {', '.join(missing)}")
        return self

    def key(self) -> tuple[object, ...]:
        """What must be equal for two specs to price travel the same.

        A road file and the city's roads agree when they are the same graph
        and profile, wherever the file lies.
        """
        if self.kind == "haversine":
            return ("haversine", self.detour, self.speed_kmh, self.bands)
        if self.kind in ("road", "city"):
            return ("road", self.digest)
        if self.kind == "matrix":
            return ("matrix", self.sha256)
        return ("other", self.name)

    def same_as(self, other: TravelSpec) -> bool:
        """Whether ``other`` describes the same travel (:meth:`key`)."""
        return self.key() == other.key()

    def describe(self) -> str:
        """A few words for tables and messages: the kind and its identity."""
        if self.kind == "haversine":
            bands = len(self.bands or ())
            return f"straight lines (detour {self.detour:g}, " + (
                f"{bands} speed bands)" if bands else f"{self.speed_kmh:g} km/h)"
            )
        if self.kind == "road":
            where = Path(self.path).name if self.path else "a graph built in memory"
            return f"roads of {where} ({_short(self)})"
        if self.kind == "city":
            return f"embedded city roads, seed {self.seed}"
        if self.kind == "matrix":
            return f"the problem's matrices (sha256 {str(self.sha256)[:8]})"
        return f"travel model {self.name!r}"


def _short(spec: TravelSpec) -> str:
    return f"digest {str(spec.digest)[:8]}"


# -- model -> spec -------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (read in chunks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _array_sha256(durations: object, distances: object) -> str:
    import numpy as np

    d = np.ascontiguousarray(np.asarray(durations, dtype=np.int64))
    m = np.ascontiguousarray(np.asarray(distances, dtype=np.int64))
    h = hashlib.sha256()
    h.update(str(d.shape).encode())
    h.update(d.tobytes())
    h.update(m.tobytes())
    return h.hexdigest()


def matrices_sha256(matrices: Matrices) -> str:
    """The hash of a problem's matrices (durations stand in for missing
    distances, as the solver reads them)."""
    distances = (
        matrices.distances if matrices.distances is not None else matrices.durations
    )
    return _array_sha256(matrices.durations, distances)


def travel_spec(model: TravelModel) -> TravelSpec:
    """The descriptor of ``model``.

    A model may describe itself with a ``spec()`` method; the built-in ones
    are described here. A road model records its file (or city seed) when
    it was built by :meth:`RoadTravel.from_file` or the city; one built from
    an in-memory graph gets ``path=None`` and cannot be rebuilt. Anything
    else is ``kind="other"``.
    """
    from routing.travel.haversine import HaversineTravel
    from routing.travel.matrix import MatrixTravel

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
            sha256=_array_sha256(model.full.durations, model.full.distances),
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
    from routing.travel.haversine import HaversineTravel

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
    from routing.travel.road import RoadTravel

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
            path, cache_dir=cache_dir, name=spec.name or "road"
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
    from routing.travel.matrix import MatrixTravel

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


def describe(spec: TravelSpec | None) -> str:
    """:meth:`TravelSpec.describe`, or what an unrecorded model means."""
    if spec is None:
        return "not recorded (an older plan): straight lines"
    return spec.describe()


def bands_of(
    bands: Sequence[tuple[int, int, float]],
) -> tuple[tuple[int, int, float], ...]:
    """Bands as the spec stores them (ints and floats)."""
    return tuple((int(a), int(b), float(k)) for a, b, k in bands)
