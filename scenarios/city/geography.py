"""Seoul's geography for the embedded city: districts, depots, pickup stations.

District centroids are the geometric centroids of the 25 autonomous districts
(gu), rounded to 4 decimals. Populations are resident-registration counts of
Korean nationals at the end of 2023 (Seoul Open Data Plaza / KOSIS,
"registered population by gu"), rounded to thousands; they sum to about
9.39 million. Depots and stations are plausible sites, not real facilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from routing.model import Depot, Location, PickupStation
from routing.units import EARTH_RADIUS_M

__all__ = [
    "BBOX",
    "DEPOTS",
    "DISTRICTS",
    "HOME_RADIUS_M",
    "METRO_DEPOTS",
    "STATIONS",
    "District",
    "coordinates",
    "districts_frame",
    "haversine_matrix_m",
    "known_districts",
    "nearest",
    "scatter_homes",
]

#: Seoul's bounding box: (south, west, north, east) in degrees.
BBOX = (37.42, 126.76, 37.70, 127.19)

#: Customers live within this distance of their district's centroid.
HOME_RADIUS_M = 2_500.0


@dataclass(frozen=True, slots=True)
class District:
    """One of Seoul's 25 autonomous districts (gu).

    Parameters
    ----------
    code
        Short ASCII id, e.g. ``"gangnam"``.
    name
        Romanised name, e.g. ``"Gangnam-gu"``.
    name_ko
        Korean name, e.g. ``"강남구"``.
    lat, lon
        Centroid (WGS84 degrees).
    population
        Resident population, thousands (end of 2023).
    """

    code: str
    name: str
    name_ko: str
    lat: float
    lon: float
    population: int


DISTRICTS: tuple[District, ...] = (
    District("jongno", "Jongno-gu", "종로구", 37.5950, 126.9773, 139),
    District("jung", "Jung-gu", "중구", 37.5600, 126.9959, 121),
    District("yongsan", "Yongsan-gu", "용산구", 37.5311, 126.9810, 211),
    District("seongdong", "Seongdong-gu", "성동구", 37.5510, 127.0410, 280),
    District("gwangjin", "Gwangjin-gu", "광진구", 37.5468, 127.0857, 337),
    District("dongdaemun", "Dongdaemun-gu", "동대문구", 37.5820, 127.0548, 343),
    District("jungnang", "Jungnang-gu", "중랑구", 37.5978, 127.0928, 383),
    District("seongbuk", "Seongbuk-gu", "성북구", 37.6057, 127.0175, 430),
    District("gangbuk", "Gangbuk-gu", "강북구", 37.6432, 127.0110, 288),
    District("dobong", "Dobong-gu", "도봉구", 37.6690, 127.0324, 303),
    District("nowon", "Nowon-gu", "노원구", 37.6524, 127.0750, 497),
    District("eunpyeong", "Eunpyeong-gu", "은평구", 37.6190, 126.9270, 463),
    District("seodaemun", "Seodaemun-gu", "서대문구", 37.5778, 126.9390, 307),
    District("mapo", "Mapo-gu", "마포구", 37.5593, 126.9087, 358),
    District("yangcheon", "Yangcheon-gu", "양천구", 37.5247, 126.8556, 431),
    District("gangseo", "Gangseo-gu", "강서구", 37.5612, 126.8228, 560),
    District("guro", "Guro-gu", "구로구", 37.4946, 126.8564, 396),
    District("geumcheon", "Geumcheon-gu", "금천구", 37.4606, 126.9006, 228),
    District("yeongdeungpo", "Yeongdeungpo-gu", "영등포구", 37.5223, 126.9102, 374),
    District("dongjak", "Dongjak-gu", "동작구", 37.4988, 126.9516, 377),
    District("gwanak", "Gwanak-gu", "관악구", 37.4674, 126.9453, 487),
    District("seocho", "Seocho-gu", "서초구", 37.4733, 127.0312, 400),
    District("gangnam", "Gangnam-gu", "강남구", 37.4966, 127.0630, 534),
    District("songpa", "Songpa-gu", "송파구", 37.5051, 127.1159, 656),
    District("gangdong", "Gangdong-gu", "강동구", 37.5501, 127.1470, 465),
)

#: Three hubs: west of the centre (Gangseo), south-east (Songpa, next to the
#: Munjeong logistics complex) and north (Dobong).
DEPOTS: tuple[Depot, ...] = (
    Depot(
        id="depot-west",
        name="Gangseo hub",
        location=Location(lat=37.5530, lon=126.8440),
    ),
    Depot(
        id="depot-east",
        name="Songpa hub",
        location=Location(lat=37.4830, lon=127.1230),
    ),
    Depot(
        id="depot-north",
        name="Dobong hub",
        location=Location(lat=37.6530, lon=127.0470),
    ),
)

#: A metro operator's network: the three depots and seven more hubs, so
#: that no home is far from one (:func:`scenarios.city.with_depots`).
METRO_DEPOTS: tuple[Depot, ...] = (
    *DEPOTS,
    Depot(
        id="depot-guro",
        name="Guro hub",
        location=Location(lat=37.4950, lon=126.8870),
    ),
    Depot(
        id="depot-seocho",
        name="Seocho hub",
        location=Location(lat=37.4700, lon=127.0300),
    ),
    Depot(
        id="depot-yongsan",
        name="Yongsan hub",
        location=Location(lat=37.5320, lon=126.9900),
    ),
    Depot(
        id="depot-eunpyeong",
        name="Eunpyeong hub",
        location=Location(lat=37.6100, lon=126.9300),
    ),
    Depot(
        id="depot-jungnang",
        name="Jungnang hub",
        location=Location(lat=37.6000, lon=127.0900),
    ),
    Depot(
        id="depot-mapo",
        name="Mapo hub",
        location=Location(lat=37.5600, lon=126.9080),
    ),
    Depot(
        id="depot-seongdong",
        name="Seongdong hub",
        location=Location(lat=37.5500, lon=127.0400),
    ),
)

#: Parcel lockers in dense districts (near a busy subway station).
STATIONS: tuple[PickupStation, ...] = (
    PickupStation(
        id="station-jamsil",
        name="Jamsil (Songpa-gu)",
        location=Location(lat=37.5133, lon=127.1001),
    ),
    PickupStation(
        id="station-gangnam",
        name="Yeoksam (Gangnam-gu)",
        location=Location(lat=37.5006, lon=127.0364),
    ),
    PickupStation(
        id="station-balsan",
        name="Balsan (Gangseo-gu)",
        location=Location(lat=37.5586, lon=126.8377),
    ),
    PickupStation(
        id="station-sillim",
        name="Sillim (Gwanak-gu)",
        location=Location(lat=37.4842, lon=126.9297),
    ),
    PickupStation(
        id="station-nowon",
        name="Nowon (Nowon-gu)",
        location=Location(lat=37.6542, lon=127.0568),
    ),
    PickupStation(
        id="station-yeonsinnae",
        name="Yeonsinnae (Eunpyeong-gu)",
        location=Location(lat=37.6190, lon=126.9210),
    ),
    PickupStation(
        id="station-hongdae",
        name="Hongik Univ. (Mapo-gu)",
        location=Location(lat=37.5571, lon=126.9245),
    ),
    PickupStation(
        id="station-cheonho",
        name="Cheonho (Gangdong-gu)",
        location=Location(lat=37.5386, lon=127.1236),
    ),
)

_M_PER_DEG_LAT = np.pi * EARTH_RADIUS_M / 180.0


def known_districts(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` without repeats, or ValueError naming the first unknown one."""
    known = {d.name for d in DISTRICTS}
    for name in names:
        if name not in known:
            raise ValueError(
                f"unknown district {name!r}; districts are " + ", ".join(sorted(known))
            )
    return tuple(dict.fromkeys(names))


def districts_frame() -> pd.DataFrame:
    """The districts as a frame: code, name, name_ko, lat, lon, population, share.

    ``share`` is the district's fraction of Seoul's population.
    """
    frame = pd.DataFrame(
        {
            "code": [d.code for d in DISTRICTS],
            "name": [d.name for d in DISTRICTS],
            "name_ko": [d.name_ko for d in DISTRICTS],
            "lat": [d.lat for d in DISTRICTS],
            "lon": [d.lon for d in DISTRICTS],
            "population": [d.population for d in DISTRICTS],
        }
    )
    frame["share"] = frame["population"] / frame["population"].sum()
    return frame


def scatter_homes(
    rng: np.random.Generator,
    district: npt.NDArray[np.intp],
    radius_m: float = HOME_RADIUS_M,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Random home locations, uniform on a disc around each district centroid.

    Parameters
    ----------
    rng
        Random generator.
    district
        Index into :data:`DISTRICTS`, one per home.
    radius_m
        Radius of the disc, metres.

    Returns
    -------
    lat, lon
        Arrays of the same length as ``district``, clipped to :data:`BBOX`.
    """
    lat0 = np.array([d.lat for d in DISTRICTS])[district]
    lon0 = np.array([d.lon for d in DISTRICTS])[district]
    r = radius_m * np.sqrt(rng.random(len(district)))
    theta = rng.uniform(0.0, 2.0 * np.pi, len(district))
    lat = lat0 + r * np.cos(theta) / _M_PER_DEG_LAT
    lon = lon0 + r * np.sin(theta) / (_M_PER_DEG_LAT * np.cos(np.radians(lat0)))
    south, west, north, east = BBOX
    lat_out = np.round(np.clip(lat, south, north), 6).astype(np.float64)
    lon_out = np.round(np.clip(lon, west, east), 6).astype(np.float64)
    return lat_out, lon_out


def haversine_matrix_m(
    lat1: npt.ArrayLike,
    lon1: npt.ArrayLike,
    lat2: npt.ArrayLike,
    lon2: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres between every point 1 and point 2.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(lat1), len(lat2))``.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))[:, None]
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))[None, :]
    dl = np.radians(
        np.asarray(lon2, dtype=np.float64)[None, :]
        - np.asarray(lon1, dtype=np.float64)[:, None]
    )
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist: npt.NDArray[np.float64] = (
        2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    )
    return dist


def coordinates(
    places: Sequence[Depot | PickupStation],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Latitudes and longitudes of depots or stations.

    Raises
    ------
    ValueError
        If a place has no coordinates (only a matrix index).
    """
    lat, lon = [], []
    for place in places:
        if place.location.lat is None or place.location.lon is None:
            raise ValueError(f"{place.id} has no coordinates")
        lat.append(place.location.lat)
        lon.append(place.location.lon)
    return np.array(lat, dtype=np.float64), np.array(lon, dtype=np.float64)


def nearest(
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    places: Sequence[Depot | PickupStation],
) -> npt.NDArray[np.intp]:
    """Index of the nearest of ``places`` (great-circle) for every point."""
    plat, plon = coordinates(places)
    idx: npt.NDArray[np.intp] = np.argmin(
        haversine_matrix_m(lat, lon, plat, plon), axis=1
    )
    return idx
