"""Time-of-day speed profiles for road travel.

A profile splits the day into *bands* and gives, for each band, a speed
multiplier per road *group*: ``arterial`` (motorway, trunk, primary,
secondary, tertiary and their links) and ``local`` (everything else:
unclassified, residential, living streets, service roads). An edge's speed in
a band is its base speed (``maxspeed`` or the class table, see
:mod:`routing.travel.osm`) times the multiplier of its group in that band.

Default bands (hours ``[from, to)``, multiplier arterial / local):

======  =================  ========  =====
band    hours              arterial  local
======  =================  ========  =====
night   00-06              1.15      1.15
early   06-07              1.00      1.00
am      07-10 (peak)       0.65      0.80
day     10-17              0.85      0.90
pm      17-20 (peak)       0.60      0.75
evening 20-24              1.00      1.00
======  =================  ========  =====

Peaks hit arterials hardest (queues at signals and merges); side streets
slow down less. Night runs a little above the base speed because base speeds
already assume some traffic. The boundaries match
:data:`routing.travel.haversine.DEFAULT_SPEED_BANDS`, so swapping travel
models keeps the solver's band structure. A departure without a time
(``depart=None``) is priced at the base speeds (multiplier 1).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from routing.travel.base import band_index
from routing.units import HOUR

#: Highway classes (without ``_link``) that count as arterial.
ARTERIAL_CLASSES: frozenset[str] = frozenset(
    {"motorway", "trunk", "primary", "secondary", "tertiary"}
)

GROUPS: tuple[str, str] = ("arterial", "local")


def road_group(highway: str) -> str:
    """``"arterial"`` or ``"local"`` for an OSM ``highway`` class.

    Parameters
    ----------
    highway
        An OSM highway value such as ``"primary_link"`` or ``"residential"``.

    Returns
    -------
    str
        The group whose multipliers apply to the class.
    """
    base = highway.removesuffix("_link")
    return "arterial" if base in ARTERIAL_CLASSES else "local"


@dataclass(frozen=True)
class Band:
    """One time band: where it starts and its multiplier per road group.

    Parameters
    ----------
    name
        Short label, e.g. ``"am"``.
    start_hour
        Hour of the day (0-23) at which the band begins; it lasts until the
        next band begins.
    arterial, local
        Speed multipliers (> 0) for the two road groups.
    """

    name: str
    start_hour: int
    arterial: float
    local: float

    def multiplier(self, group: str) -> float:
        """The multiplier for ``"arterial"`` or ``"local"`` roads."""
        if group == "arterial":
            return self.arterial
        if group == "local":
            return self.local
        raise ValueError(f"unknown road group {group!r}; expected one of {GROUPS}")


DEFAULT_BANDS: tuple[Band, ...] = (
    Band("night", 0, 1.15, 1.15),
    Band("early", 6, 1.00, 1.00),
    Band("am", 7, 0.65, 0.80),
    Band("day", 10, 0.85, 0.90),
    Band("pm", 17, 0.60, 0.75),
    Band("evening", 20, 1.00, 1.00),
)


@dataclass(frozen=True)
class SpeedProfile:
    """Speed multipliers by time band and road group.

    Parameters
    ----------
    bands
        Bands sorted by ``start_hour``; the first must start at hour 0.
    name
        Label used in reports.

    Raises
    ------
    ValueError
        If the bands are empty, unsorted, do not start at 0 or carry a
        non-positive multiplier.
    """

    bands: tuple[Band, ...] = field(default=DEFAULT_BANDS)
    name: str = "default"

    def __post_init__(self) -> None:
        if not self.bands:
            raise ValueError("a speed profile needs at least one band")
        starts = [b.start_hour for b in self.bands]
        if starts[0] != 0:
            raise ValueError(f"the first band must start at hour 0, got {starts[0]}")
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError(f"band start hours must increase strictly: {starts}")
        if starts[-1] > 23:
            raise ValueError(f"band start hours must be 0-23, got {starts[-1]}")
        for band in self.bands:
            if not (band.arterial > 0 and band.local > 0):
                raise ValueError(f"band {band.name!r}: multipliers must be positive")

    @classmethod
    def from_dict(
        cls,
        overrides: Mapping[str, Mapping[str, float]],
        *,
        base: SpeedProfile | None = None,
        name: str = "custom",
    ) -> SpeedProfile:
        """Override some bands of ``base`` (default: the default profile).

        Parameters
        ----------
        overrides
            ``{band name: {"arterial": x, "local": y}}``; either key may be
            left out to keep the base value.
        base
            The profile to start from.
        name
            The new profile's name.

        Returns
        -------
        SpeedProfile
            A new profile.

        Raises
        ------
        ValueError
            If a band name or group is unknown.
        """
        base = base or cls()
        known = {b.name for b in base.bands}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown band(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        bands = []
        for band in base.bands:
            change = dict(overrides.get(band.name, {}))
            bad = sorted(set(change) - set(GROUPS))
            if bad:
                raise ValueError(f"band {band.name!r}: unknown group(s) {bad}")
            bands.append(
                Band(
                    band.name,
                    band.start_hour,
                    float(change.get("arterial", band.arterial)),
                    float(change.get("local", band.local)),
                )
            )
        return cls(tuple(bands), name=name)

    @classmethod
    def flat(cls) -> SpeedProfile:
        """A single all-day band at base speeds (no time-of-day effect)."""
        return cls((Band("all", 0, 1.0, 1.0),), name="flat")

    @property
    def band_starts(self) -> tuple[int, ...]:
        """Seconds since midnight at which each band begins."""
        return tuple(b.start_hour * HOUR for b in self.bands)

    def band_at(self, depart: int) -> int:
        """Index of the band containing a departure ``depart`` s after midnight."""
        return band_index(self.band_starts, depart)

    def multipliers(self, band: int | None) -> dict[str, float]:
        """``{group: multiplier}`` of band ``band`` (``None``: base speeds)."""
        if band is None:
            return dict.fromkeys(GROUPS, 1.0)
        b = self.bands[band]
        return {"arterial": b.arterial, "local": b.local}

    def digest(self) -> str:
        """Stable hash of the band boundaries and multipliers."""
        data: Sequence[object] = [
            (b.start_hour, repr(b.arterial), repr(b.local)) for b in self.bands
        ]
        text = json.dumps(data, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


DEFAULT_PROFILE = SpeedProfile()
