"""Zones: the spatial key of learned corrections and of per-zone metrics.

A zone function maps a location to a short string. The default is a regular
latitude/longitude grid (cells of 0.05 degrees, about 5.5 km north-south and
4.4 km east-west in Seoul); callers with districts or delivery zones pass
their own function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from routing.model import Location

__all__ = ["ZoneFn", "grid_zone"]

ZoneFn = Callable[[Location], str]

#: Grid cell size of :func:`grid_zone`, degrees.
GRID_DEGREES = 0.05


def grid_zone(location: Location, cell: float = GRID_DEGREES) -> str:
    """The grid cell of a location, e.g. ``"751:2539"``.

    Parameters
    ----------
    location
        A location with ``lat`` and ``lon``; one without coordinates is zone
        ``"?"``.
    cell
        Cell size in degrees.

    Returns
    -------
    str
        ``"{row}:{column}"`` of the cell.
    """
    if location.lat is None or location.lon is None:
        return "?"
    return f"{math.floor(location.lat / cell)}:{math.floor(location.lon / cell)}"
