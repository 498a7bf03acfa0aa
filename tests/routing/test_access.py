"""Orders off the roads: refused before the search, reported in the plan."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from routing.access import DepotOffRoad, road_access
from routing.model import Location, Problem
from routing.plan import Plan, Reason, StepType
from routing.solver import SolveParams, check, solve
from routing.solver.decompose import LargeParams, decompose_solve
from routing.travel import (
    MAX_SNAP_M,
    HaversineTravel,
    RoadTravel,
    load_spec,
    synthetic_city_graph,
    travel_spec,
)
from routing.travel.osm import edge_speed
from routing.units import haversine_m
from tests.routing.travel.test_spec import write_graphml

LAT0, LON0 = 37.50, 127.00
#: Degrees of latitude per metre (about).
DEG_PER_M = 1 / 111_195.0
#: Far enough from the grid (1.35 km across) that its nearest road node is
#: about 2.3 km away.
FAR = Location(lat=LAT0 + 3000 * DEG_PER_M, lon=LON0)
#: The island: a two-node street 2.5 km east of the grid, cut off from it.
ISLAND = (9_000_001, 9_000_002)
ISLAND_LAT = LAT0
ISLAND_LON = LON0 + 2500 * DEG_PER_M / 0.7934  # cos(37.5 deg)
BY_ISLAND = Location(lat=ISLAND_LAT + 20 * DEG_PER_M, lon=ISLAND_LON)
FAST = SolveParams(time_limit=1.0, engine="ortools", iterations=50)


def _city() -> nx.MultiDiGraph:
    """One 4 x 4 street grid (450 m apart) around (LAT0, LON0), plus an island
    street no road joins to it."""
    G = synthetic_city_graph([("a", LAT0, LON0)], seed=1, size=4)
    u, v = ISLAND
    G.add_node(u, x=ISLAND_LON, y=ISLAND_LAT)
    G.add_node(v, x=ISLAND_LON + 200 * DEG_PER_M / 0.7934, y=ISLAND_LAT)
    speed = edge_speed("residential")
    for a, b in ((u, v), (v, u)):
        G.add_edge(a, b, length=200.0, highway="residential", speed_kph=speed)
    return G


def _near(k: int) -> Location:
    """The ``k``-th of a few homes inside the grid."""
    return Location(lat=LAT0 + (k - 2) * 150 * DEG_PER_M, lon=LON0 + 0.001 * (k % 2))


def _problem(places: dict[str, Location], depot: Location | None = None) -> Problem:
    """One van from ``depot`` (default: the grid's centre, 294 m from its
    nearest node) and a one-parcel job per place."""
    hub = depot or Location(lat=LAT0, lon=LON0)
    return Problem.model_validate(
        {
            "depots": [{"id": "hub", "location": hub}],
            "vehicles": [
                {
                    "id": "van",
                    "start": "hub",
                    "end": "hub",
                    "capacity": [100],
                    "shift": [8 * 3600, 20 * 3600],
                }
            ],
            "jobs": [
                {"id": oid, "location": where, "demand": [1], "service": 60}
                for oid, where in places.items()
            ],
        }
    )


#: The default model (island dropped), built once for the property.
_MODEL = RoadTravel(_city())

DAY = _problem(
    {"o-1": _near(1), "o-2": _near(2), "o-3": _near(3), "far": FAR, "cut": BY_ISLAND}
)


@pytest.fixture(scope="module")
def all_components() -> RoadTravel:
    """The city with its island kept (``largest_component=False``)."""
    return RoadTravel(_city(), largest_component=False)


def _served(plan: Plan) -> set[str]:
    return {oid for r in plan.routes for oid in r.order_ids}


def _reasons(plan: Plan) -> dict[str, Reason]:
    return {u.id: u.reason for u in plan.unassigned}


def test_far_and_cut_off_orders_are_unassigned_with_their_reason(
    all_components: RoadTravel,
) -> None:
    """The far order is off_road (naming distance and limit), the one by the
    island unreachable; the rest are served, and the checker agrees."""
    plan = solve(DAY, travel=all_components, params=FAST)
    assert _reasons(plan) == {"far": Reason.OFF_ROAD, "cut": Reason.UNREACHABLE}
    assert _served(plan) == {"o-1", "o-2", "o-3"}
    far = next(u for u in plan.unassigned if u.id == "far")
    assert "beyond the snap limit of 500 m" in far.detail
    assert f"{plan.roads.orders['far'].metres:,} m" in far.detail  # type: ignore[union-attr]
    assert plan.summary.orders == 5 and plan.summary.unassigned == 2
    assert check(DAY, plan, all_components).ok


def test_the_plan_reports_every_snap(all_components: RoadTravel) -> None:
    """Every order and the depot have a snap; routed stops are within the
    limit on the main component, the island on another one."""
    plan = solve(DAY, travel=all_components, params=FAST)
    roads = plan.roads
    assert roads is not None
    assert roads.max_snap_m == MAX_SNAP_M == 500.0
    assert roads.components == 2
    assert set(roads.orders) == {"o-1", "o-2", "o-3", "far", "cut"}
    assert set(roads.depots) == {"hub"}
    for route in plan.routes:
        for step in route.steps:
            if step.type is StepType.JOB:
                assert step.id is not None
                snap = roads.orders[step.id]
                assert snap.metres <= 500 and snap.component == 0
    assert roads.orders["cut"].component == 1
    assert roads.orders["cut"].metres == pytest.approx(20, abs=1)
    assert roads.orders["far"].metres > 2000


def test_default_model_keeps_the_main_component_so_the_island_is_off_road() -> None:
    """Without the island in the model, its neighbour snaps to the grid 2 km
    away: off_road, and every component reported is the main one."""
    plan = solve(DAY, travel=RoadTravel(_city()), params=FAST)
    assert _reasons(plan) == {"far": Reason.OFF_ROAD, "cut": Reason.OFF_ROAD}
    assert plan.roads is not None and plan.roads.components == 1
    assert {s.component for s in plan.roads.orders.values()} == {0}


def test_raising_the_limit_plans_the_far_order(all_components: RoadTravel) -> None:
    """With a 5 km limit the far order is served (its snap reported), and
    the island's neighbour is still unreachable."""
    roads = all_components.with_max_snap_m(5000.0)
    plan = solve(DAY, travel=roads, params=FAST)
    assert "far" in _served(plan)
    assert _reasons(plan) == {"cut": Reason.UNREACHABLE}
    assert plan.roads is not None and plan.roads.max_snap_m == 5000.0
    assert plan.roads.orders["far"].metres > 2000
    assert check(DAY, plan, roads).ok
    assert all_components.max_snap_m == 500.0  # the copy has its own limit


def test_the_solvers_never_see_refused_orders(all_components: RoadTravel) -> None:
    """road_access hands the engines the day without them."""
    access = road_access(DAY, all_components)
    assert [j.id for j in access.kept.jobs] == ["o-1", "o-2", "o-3"]
    assert [u.id for u in access.refused] == ["far", "cut"]


def test_straight_lines_refuse_and_report_nothing() -> None:
    """Off roads nothing is snapped: every order is planned, no report."""
    plan = solve(DAY, travel=HaversineTravel(), params=FAST)
    assert plan.roads is None
    assert _served(plan) == {"o-1", "o-2", "o-3", "far", "cut"}


@pytest.mark.parametrize(
    ("depot", "reason"),
    [(FAR, "beyond the snap limit of 500 m"), (BY_ISLAND, "cut off from the main")],
)
def test_a_depot_off_the_roads_is_an_error(
    all_components: RoadTravel, depot: Location, reason: str
) -> None:
    """A depot off the roads or on the island: an error naming the field."""
    problem = _problem({"o-1": _near(1)}, depot=depot)
    with pytest.raises(DepotOffRoad, match=reason) as caught:
        solve(problem, travel=all_components, params=FAST)
    assert caught.value.field == "depots[0].location"


def test_large_solve_leaves_out_the_same_orders(all_components: RoadTravel) -> None:
    """The decomposing solver (plan-large) refuses them as solve() does."""
    result = decompose_solve(
        DAY,
        params=FAST,
        travel=all_components,
        large=LargeParams(part_size=20, workers=1, improve=False),
    )
    assert _reasons(result.plan) == {"far": Reason.OFF_ROAD, "cut": Reason.UNREACHABLE}
    assert result.plan.roads is not None
    assert check(DAY, result.plan, all_components).ok


def test_the_plan_records_a_raised_limit_and_is_retimed_with_it(
    tmp_path: Path,
) -> None:
    """A road file's spec carries a non-default limit; the rebuilt model
    has it, so the far order still counts as on the roads."""
    path = write_graphml(_city(), tmp_path / "city.graphml")
    assert RoadTravel.from_file(path).spec().max_snap_m is None
    roads = RoadTravel.from_file(path, max_snap_m=5000.0)
    spec = travel_spec(roads)
    assert spec.max_snap_m == 5000.0
    assert "snap limit 5000 m" in spec.describe()
    rebuilt = load_spec(spec)
    assert isinstance(rebuilt, RoadTravel) and rebuilt.max_snap_m == 5000.0
    assert spec.same_as(travel_spec(RoadTravel.from_file(path)))
    plan = solve(DAY, travel=roads, params=FAST)
    assert check(DAY, plan, rebuilt).ok


@seed(21)
@settings(max_examples=25, deadline=None)
@given(
    offsets=st.lists(
        st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)),
        min_size=1,
        max_size=6,
    ),
    limit=st.floats(50.0, 3000.0),
)
def test_no_routed_stop_is_farther_than_the_limit(
    offsets: list[tuple[float, float]], limit: float
) -> None:
    """Whatever the homes and the limit: a routed stop's snap is within the
    limit on the main component, and an order is off_road exactly when its
    snap exceeds the limit."""
    roads = _MODEL.with_max_snap_m(limit)
    places = {
        f"o-{k}": Location(
            lat=LAT0 + north * DEG_PER_M, lon=LON0 + east * DEG_PER_M / 0.7934
        )
        for k, (north, east) in enumerate(offsets)
    }
    on_road = Location(lat=float(_MODEL.lat[0]), lon=float(_MODEL.lon[0]))
    problem = _problem(places, depot=on_road)
    plan = solve(problem, travel=roads, params=FAST)
    assert plan.roads is not None
    for oid in _served(plan):
        assert plan.roads.orders[oid].metres <= limit
        assert plan.roads.orders[oid].component == 0
    for oid, snap in plan.roads.orders.items():
        off = _reasons(plan).get(oid) is Reason.OFF_ROAD
        assert off == (snap.metres > limit), (oid, snap, limit)
    assert check(problem, plan, roads).ok


def test_snap_distance_is_the_straight_line() -> None:
    """The reported metres are the haversine from the home to its node."""
    assert FAR.lat is not None and FAR.lon is not None
    node = int(_MODEL.snap([FAR]).index[0])
    expected = haversine_m(FAR.lat, FAR.lon, _MODEL.lat[node], _MODEL.lon[node])
    roads = _MODEL.with_max_snap_m(None)
    plan = solve(_problem({"far": FAR}), travel=roads, params=FAST)
    assert plan.roads is not None and plan.roads.max_snap_m is None
    assert plan.roads.orders["far"].metres == round(expected)
