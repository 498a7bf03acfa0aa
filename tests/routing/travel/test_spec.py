"""Travel descriptors: spec -> model -> spec for every kind, and the refusals."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from pydantic import ValidationError

from routing.model import Location, Matrices, Problem
from routing.plan import Plan
from routing.solver import SolveParams, solve
from routing.travel import (
    HaversineTravel,
    MatrixTravel,
    RoadTravel,
    TravelModel,
    TravelSpec,
    TravelUnavailable,
    load_spec,
    plan_travel_spec,
    synthetic_city_graph,
    travel_spec,
)
from scenarios.city.roads import load_city_spec, seoul_roads
from scenarios.disruption import ZonedTravel
from tests.helpers import DATA

COORDS = [(37.56, 126.82), (37.52, 127.02), (37.53, 127.00)]
POINTS = [Location(lat=lat, lon=lon) for lat, lon in COORDS]


def write_graphml(graph: nx.MultiDiGraph, path: Path) -> Path:
    """``graph`` as a GraphML file (bent edges as WKT, as osmnx writes them)."""
    plain = nx.MultiDiGraph(graph)
    for _, _, data in plain.edges(data=True):
        if "geometry" in data:
            coords = ", ".join(f"{x} {y}" for x, y in data["geometry"])
            data["geometry"] = f"LINESTRING ({coords})"
    nx.write_graphml(plain, path)
    return path


def tiny_city(seed_: int = 3) -> nx.MultiDiGraph:
    """Three small districts around the tiny problem's depot and orders."""
    centres = [(f"d{i}", lat, lon) for i, (lat, lon) in enumerate(COORDS)]
    return synthetic_city_graph(centres, seed=seed_, size=4)


@pytest.fixture(scope="module")
def road_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small road network on disk."""
    return write_graphml(tiny_city(), tmp_path_factory.mktemp("roads") / "city.graphml")


# -- round trips -----------------------------------------------------------------------


@seed(17)
@settings(max_examples=60, deadline=None)
@given(
    detour=st.floats(1.0, 2.0),
    speed=st.floats(5.0, 90.0),
    cuts=st.lists(st.integers(1, 23), unique=True, max_size=5).map(sorted),
    speeds=st.lists(st.floats(5.0, 90.0), min_size=6, max_size=6),
)
def test_haversine_round_trip(
    detour: float, speed: float, cuts: list[int], speeds: list[float]
) -> None:
    """Any straight-line model comes back equal from its spec, and so do its
    matrices in every band."""
    edges = [0, *cuts, 24]
    pairs = enumerate(itertools.pairwise(edges))
    bands = tuple((a, b, speeds[i]) for i, (a, b) in pairs)
    model = HaversineTravel(detour=detour, speed_kmh=speed, bands=bands)
    spec = travel_spec(model)
    back = load_spec(TravelSpec.model_validate_json(spec.model_dump_json()))
    assert back == model
    assert travel_spec(back) == spec
    for start in model.band_starts:
        assert_array_equal(
            back.matrix(POINTS, depart=start).durations,
            model.matrix(POINTS, depart=start).durations,
        )


def test_road_file_round_trip(road_file: Path) -> None:
    """A road model from a file records the file, its sha256 and the graph's
    digest, and rebuilds to the same matrices."""
    model = RoadTravel.from_file(road_file)
    spec = travel_spec(model)
    assert spec.kind == "road"
    assert spec.path == str(road_file.resolve())
    assert spec.sha256 is not None and len(spec.sha256) == 64
    assert spec.digest == model.digest
    back = load_spec(spec)
    assert travel_spec(back) == spec
    for depart in (2 * 3600, 8 * 3600 + 1800):
        assert_array_equal(
            back.matrix(POINTS, depart=depart).durations,
            model.matrix(POINTS, depart=depart).durations,
        )


def test_city_round_trip() -> None:
    """The embedded city's roads are described by their seed and rebuilt by
    scenarios (routing cannot build the city itself)."""
    model = seoul_roads(0)
    spec = travel_spec(model)
    assert (spec.kind, spec.seed, spec.digest) == ("city", 0, model.digest)
    assert travel_spec(load_city_spec(spec)) == spec
    with pytest.raises(TravelUnavailable) as info:
        load_spec(spec)
    assert info.value.field == "travel.kind"


def test_matrix_round_trip() -> None:
    """User matrices are described by their hash and rebuilt from the problem
    that carries them; other matrices are refused."""
    base = Problem.model_validate_json((DATA / "tiny_problem.json").read_text())
    durations = ((0, 600), (650, 0))
    problem = base.model_copy(update={"matrices": Matrices(durations=durations)})
    spec = plan_travel_spec(problem, HaversineTravel())
    assert spec.kind == "matrix"
    back = load_spec(spec, problem=problem)
    assert isinstance(back, MatrixTravel)
    assert travel_spec(back).sha256 == spec.sha256
    assert travel_spec(MatrixTravel.from_lists(durations, durations)) == spec
    other = base.model_copy(
        update={"matrices": Matrices(durations=((0, 601), (650, 0)))}
    )
    with pytest.raises(TravelUnavailable, match="differ from the plan's"):
        load_spec(spec, problem=other)
    with pytest.raises(TravelUnavailable, match="has none"):
        load_spec(spec, problem=base)


# -- refusals --------------------------------------------------------------------------


def test_missing_or_changed_road_file_is_refused(tmp_path: Path) -> None:
    """A moved file, a changed file and a changed graph each name their field."""
    path = write_graphml(tiny_city(), tmp_path / "roads.graphml")
    spec = travel_spec(RoadTravel.from_file(path))
    moved = path.rename(tmp_path / "elsewhere.graphml")
    with pytest.raises(TravelUnavailable) as info:
        load_spec(spec)
    assert info.value.field == "travel.path"
    assert "not found" in info.value.reason
    write_graphml(tiny_city(seed_=4), path)
    with pytest.raises(TravelUnavailable) as info:
        load_spec(spec)
    assert info.value.field == "travel.sha256"
    assert "changed since the plan was made" in str(info.value)
    # Same bytes under the recorded name, but a profile that is not the plan's.
    path.write_bytes(moved.read_bytes())
    forged = spec.model_copy(update={"digest": "0" * 64})
    with pytest.raises(TravelUnavailable) as info:
        load_spec(forged)
    assert info.value.field == "travel.digest"


def test_unrebuildable_models_are_refused() -> None:
    """A graph built in memory and a model milepost does not know are
    recorded, but cannot be rebuilt; a city of another digest is refused."""
    in_memory = travel_spec(RoadTravel.from_graph(tiny_city()))
    assert (in_memory.kind, in_memory.path) == ("road", None)
    with pytest.raises(TravelUnavailable, match="built in memory"):
        load_spec(in_memory)
    zoned = travel_spec(ZonedTravel(HaversineTravel(), ()))
    assert zoned.kind == "other"
    with pytest.raises(TravelUnavailable, match="cannot rebuild"):
        load_spec(zoned)
    city = travel_spec(seoul_roads(0)).model_copy(update={"digest": "f" * 64})
    with pytest.raises(TravelUnavailable) as info:
        load_city_spec(city)
    assert info.value.field == "travel.digest"


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"kind": "haversine", "detour": 1.3}, "speed_kmh"),
        ({"kind": "road"}, "digest"),
        ({"kind": "road", "digest": "d", "path": "x.graphml"}, "sha256"),
        ({"kind": "city", "digest": "d"}, "seed"),
        ({"kind": "matrix"}, "sha256"),
    ],
)
def test_incomplete_spec_names_the_field(data: dict[str, object], missing: str) -> None:
    """A spec without what identifies its kind is invalid, naming the field."""
    with pytest.raises(ValidationError, match=missing):
        TravelSpec.model_validate(data)


def test_same_as_compares_what_prices_travel(road_file: Path) -> None:
    """The same road file elsewhere is the same travel; another seed is not."""
    here = travel_spec(RoadTravel.from_file(road_file))
    moved = here.model_copy(update={"path": "/elsewhere/city.graphml"})
    assert here.same_as(moved)
    assert not here.same_as(travel_spec(HaversineTravel()))
    assert not travel_spec(HaversineTravel()).same_as(
        travel_spec(HaversineTravel(detour=1.4))
    )


# -- plans record it ------------------------------------------------------------------


def test_solve_records_the_travel_model(road_file: Path) -> None:
    """``solve`` records its model; an older plan file without one still loads."""
    problem = Problem.model_validate_json((DATA / "tiny_problem.json").read_text())
    params = SolveParams(time_limit=1.0, engine="ortools")
    assert solve(problem, params=params).travel == travel_spec(HaversineTravel())
    roads = RoadTravel.from_file(road_file)
    plan = solve(problem, travel=roads, params=params)
    assert plan.travel == travel_spec(roads)
    assert Plan.model_validate_json(plan.model_dump_json()).travel == plan.travel
    old = Plan.model_validate_json((DATA / "tiny_problem.plan.json").read_text())
    assert old.travel is None
    assert np.isfinite(old.summary.cost)


def test_live_day_plans_keep_the_travel_model(road_file: Path) -> None:
    """Re-optimisation, urgent insertion and slot booking record the model
    they re-timed the plan with, and on roads keep the planned times."""
    from routing.model import Job
    from routing.reoptimise import ExecutionState, insert_urgent, reoptimise
    from routing.slotting import SlotBook, SlotConfig

    problem = Problem.model_validate_json((DATA / "tiny_problem.json").read_text())
    roads = RoadTravel.from_file(road_file)
    spec = travel_spec(roads)
    plan = solve(problem, travel=roads, params=SolveParams(time_limit=1.0))

    def legs_on(p: Plan, model: TravelModel) -> bool:
        """Every leg's distance is the model's for its departure."""
        for route in p.routes:
            for a, b in itertools.pairwise(route.steps):
                assert a.location is not None and b.location is not None
                m = model.matrix([a.location, b.location], depart=a.departure)
                if b.distance - a.distance != m.distances[0, 1]:
                    return False
        return True

    assert legs_on(plan, roads)
    # A new order: the van's day is re-timed.
    new = {"id": "n-1", "location": POINTS[2], "demand": (1,)}
    state = ExecutionState(time=7 * 3600, plan=plan, new_orders=(Job(**new),))
    params = SolveParams(time_limit=0.001)
    result = reoptimise(problem, state, roads, params=params, search=False)
    assert result.plan.travel == spec
    assert result.plan.summary.served == 2
    assert legs_on(result.plan, roads)
    assert not legs_on(result.plan, HaversineTravel())

    urgent = Job(id="u-1", location=POINTS[2], demand=(1,))
    assert insert_urgent(plan, problem, urgent, roads).plan.travel == spec

    book = SlotBook(problem, plan, roads, SlotConfig(demand=(1,)))
    free = next(q for q in book.quote(POINTS[2], problem.date) if q.available)
    book.book(POINTS[2], free.slot.id, order_id="b-1")
    assert book.plan().travel == spec
