"""Travel descriptors: which travel model a plan was made with, and back.

A :class:`TravelSpec` names a travel model in a few JSON fields, so that a
plan can record it (``Plan.travel``) and whoever re-times the plan later
(slots, re-optimisation, ETAs, the service) rebuilds the *same* model:

* ``haversine``: straight lines; ``detour``, ``speed_kmh`` and the hour
  ``bands`` are the whole model.
* ``road``: a road file; its ``path``, the file's ``sha256`` and the
  ``digest`` of the graph and speed profile the model routes on; and
  ``max_snap_m`` when the plan was made with a snap limit other than the
  default (500 m), so that it is re-timed with the stops it let in.
* ``city``: the embedded city's synthetic roads of ``seed`` (and their
  ``digest``). Routing does not know the city (it lives in ``scenarios``),
  so :func:`routing.travel.build.load_spec` takes the builder as its ``city`` argument;
  ``scenarios.city.roads.load_city_spec`` passes it.
* ``matrix``: user-supplied matrices, by the ``sha256`` of their entries.
  They travel with the problem (``Problem.matrices``), so rebuilding checks
  that the problem's matrices are still the ones planned with.
* ``other``: a model milepost cannot describe (e.g. a simulator's slowed
  roads); it is recorded by ``name`` and cannot be rebuilt.

This module is the descriptor only; :mod:`routing.travel.build` turns a
model into its descriptor and back (``load_spec`` refuses with
:class:`TravelUnavailable`, naming the field and the reason, whenever the
model it would build is not the recorded one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from routing.base import FrozenModel

if TYPE_CHECKING:
    from routing.model import Matrices
    from routing.travel.base import TravelModel

__all__ = [
    "CityBuilder",
    "TravelKind",
    "TravelSpec",
    "TravelUnavailable",
    "array_sha256",
    "bands_of",
    "describe",
    "file_sha256",
    "matrices_sha256",
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
    max_snap_m: float | None = Field(
        default=None,
        ge=0,
        description="road and city: the snap limit (m) when it is not the "
        "default 500 m",
    )

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
            return f"roads of {where} ({_short(self)}){_limit(self)}"
        if self.kind == "city":
            return f"embedded city roads, seed {self.seed}{_limit(self)}"
        if self.kind == "matrix":
            return f"the problem's matrices (sha256 {str(self.sha256)[:8]})"
        return f"travel model {self.name!r}"


def _short(spec: TravelSpec) -> str:
    return f"digest {str(spec.digest)[:8]}"


def _limit(spec: TravelSpec) -> str:
    if spec.max_snap_m is None:
        return ""
    if spec.max_snap_m >= 1e300:
        return ", no snap limit"
    return f", snap limit {spec.max_snap_m:g} m"


# -- model -> spec -------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (read in chunks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def array_sha256(durations: object, distances: object) -> str:
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
    return array_sha256(matrices.durations, distances)


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
