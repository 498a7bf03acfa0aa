"""The OR-Tools engine on small problems, always judged by the checker."""

from __future__ import annotations

import pytest

from routing.model import Problem
from routing.plan import Plan, Reason, StepType
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from tests.factories import brute_force, grid_problem, random_problem

FAST = SolveParams(time_limit=0.5)
COORDS = [
    (0, 0),
    (1000, 0),
    (2000, 0),
    (2000, 1000),
    (0, 1000),
    (-1000, 500),
    (500, 2000),
]


def _solve(problem: Problem, params: SolveParams = FAST) -> Plan:
    plan = solve(problem, params=params)
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)
    return plan


def test_tsp_matches_brute_force() -> None:
    """One vehicle, six stops: the engine finds the enumerated optimum."""
    problem = grid_problem(
        COORDS, [{"id": f"j{i}", "at": i} for i in range(1, 7)], [{"id": "v"}]
    )
    best = brute_force(problem)
    assert best is not None
    assert _solve(problem).summary.distance == best[0]


def test_capacity_matches_brute_force() -> None:
    """Two vans of capacity 3 for six unit parcels: optimum by enumeration."""
    problem = grid_problem(
        COORDS,
        [{"id": f"j{i}", "at": i} for i in range(1, 7)],
        [{"id": "v1", "capacity": [3]}, {"id": "v2", "capacity": [3]}],
    )
    best = brute_force(problem)
    assert best is not None
    plan = _solve(problem)
    assert plan.summary.distance == best[0]
    assert all(r.orders <= 3 for r in plan.routes)


def test_time_windows_match_brute_force() -> None:
    """Windows force a visiting order that differs from the shortest tour."""
    jobs = [
        {"id": "far", "at": 2, "time_windows": [[0, 250]]},
        {"id": "near", "at": 1, "time_windows": [[500, 900]]},
        {"id": "x", "at": 3},
        {"id": "y", "at": 4},
    ]
    problem = grid_problem(COORDS, jobs, [{"id": "v"}])
    best = brute_force(problem)
    assert best is not None
    plan = _solve(problem)
    assert plan.summary.distance == best[0]
    order = plan.routes[0].order_ids
    assert order.index("far") < order.index("near")


def test_second_window_is_used() -> None:
    """A stop with two windows is served in the later one when the first is gone."""
    jobs = [{"id": "a", "at": 2, "time_windows": [[0, 10], [5000, 6000]]}]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v"}]))
    step = plan.routes[0].steps[1]
    assert 5000 <= step.service_start <= 6000


def test_break_taken_inside_its_window() -> None:
    """A driver break appears once, inside its window, and service never overlaps it."""
    jobs = [{"id": f"j{i}", "at": i, "service": 600} for i in range(1, 7)]
    vehicles = [
        {
            "id": "v",
            "breaks": [{"id": "rest", "time_windows": [[1000, 1500]], "service": 900}],
        }
    ]
    plan = _solve(grid_problem(COORDS, jobs, vehicles))
    breaks = [s for s in plan.routes[0].steps if s.type == StepType.BREAK]
    assert len(breaks) == 1
    assert 1000 <= breaks[0].service_start <= 1500


def test_returns_and_deliveries_share_capacity() -> None:
    """A van leaves full of deliveries and makes room before collecting returns."""
    jobs = [
        {"id": "d1", "at": 1, "demand": [2]},
        {"id": "d2", "at": 2, "demand": [2]},
        {"id": "r1", "at": 3, "demand": [3], "type": "pickup"},
    ]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v", "capacity": [4]}]))
    steps = plan.routes[0].steps
    assert steps[0].load == (4,)
    assert max(s.load[0] for s in steps) <= 4
    assert plan.summary.served == 3
    assert steps[-1].load == (3,)


def test_shipment_pickup_before_delivery() -> None:
    """A shipment is picked up before it is delivered, on the same vehicle."""
    problem = grid_problem(
        COORDS,
        [{"id": "j", "at": 1}],
        [{"id": "v1"}, {"id": "v2"}],
        shipments=[
            {
                "id": "s",
                "demand": [5],
                "pickup": {"location": {"index": 6}},
                "delivery": {"location": {"index": 5}},
            }
        ],
    )
    plan = _solve(problem)
    route = next(r for r in plan.routes if "s" in r.order_ids)
    kinds = [s.type for s in route.steps if s.id == "s"]
    assert kinds == [StepType.PICKUP, StepType.DELIVERY]


@pytest.mark.parametrize(
    ("job", "vehicle", "reason"),
    [
        pytest.param({"demand": [500]}, {}, Reason.CAPACITY, id="capacity"),
        pytest.param({"skills": ["cold"]}, {}, Reason.SKILLS, id="skills"),
        pytest.param({"service_level": "night"}, {}, Reason.NIGHT_SHIFT, id="night"),
        pytest.param({}, {"night": True}, Reason.DAY_SHIFT, id="day"),
        pytest.param({"time_windows": [[0, 50]]}, {}, Reason.TIME_WINDOW, id="window"),
        pytest.param(
            {"service_level": "scheduled", "scheduled_date": "2026-01-02"},
            {},
            Reason.SCHEDULED_OTHER_DAY,
            id="scheduled",
        ),
    ],
)
def test_precheck_reasons(job: dict, vehicle: dict, reason: Reason) -> None:
    """Orders no vehicle could ever serve are unassigned with the right reason."""
    problem = grid_problem(
        COORDS,
        [
            {
                "id": "ok",
                "at": 1,
                "service_level": "night" if vehicle.get("night") else "next_day",
            },
            {"id": "bad", "at": 2, **job},
        ],
        [{"id": "v", **vehicle}],
        date="2026-01-01",
    )
    plan = _solve(problem)
    assert [(u.id, u.reason) for u in plan.unassigned] == [("bad", reason)]
    assert plan.unassigned[0].detail


def test_overloaded_day_degrades_to_dropped_orders() -> None:
    """More parcels than vans can carry: a feasible plan plus dropped orders."""
    jobs = [{"id": f"j{i}", "at": i, "demand": [4]} for i in range(1, 7)]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v", "capacity": [10]}]))
    assert plan.summary.served == 2
    assert {u.reason for u in plan.unassigned} == {Reason.DROPPED}
    assert len(plan.unassigned) == 4


def test_priority_orders_are_kept_when_overloaded() -> None:
    """When not everything fits, high-priority orders are served first."""
    jobs = [
        {"id": f"j{i}", "at": i, "demand": [4], "priority": 100 if i in (5, 6) else 0}
        for i in range(1, 7)
    ]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v", "capacity": [8]}]))
    assert set(plan.routes[0].order_ids) == {"j5", "j6"}


def test_soft_window_served_late_at_a_cost() -> None:
    """An order that allows lateness is served late instead of being dropped."""
    jobs = [{"id": "late", "at": 2, "time_windows": [[0, 100]], "lateness_cost": 10}]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v", "shift": [500, 10_000]}]))
    step = plan.routes[0].steps[1]
    assert step.late > 0
    assert plan.summary.late == 1


def test_slack_reflects_the_next_window() -> None:
    """Slack at a stop is how far it may slip before a later window breaks."""
    jobs = [
        {"id": "a", "at": 1, "time_windows": [[0, 150]]},
        {"id": "b", "at": 2, "time_windows": [[0, 1000]]},
    ]
    plan = _solve(grid_problem(COORDS, jobs, [{"id": "v", "shift": [0, 5000]}]))
    # d -> a at 100 s -> b at 200 s -> d at 400 s (10 m/s on a 1 km grid).
    a, b = plan.routes[0].steps[1:3]
    assert (a.id, a.service_start, b.id, b.service_start) == ("a", 100, "b", 200)
    assert b.slack == 800  # b's window closes at 1000
    assert a.slack == 50  # a's own window closes at 150


@pytest.mark.parametrize("seed", range(4))
def test_random_days_pass_the_checker(seed: int) -> None:
    """Seeded random days with every constraint family come back feasible."""
    problem = random_problem(seed)
    plan = _solve(problem, SolveParams(time_limit=2.0))
    assert plan.summary.served + plan.summary.unassigned == plan.summary.orders


def test_warm_start_is_used() -> None:
    """OR-Tools started from a known route returns one at least as short."""
    from routing.solver.data import build_data
    from routing.solver.ortools_adapter import solve_ortools
    from routing.solver.solve import plan_from_sequences

    problem = grid_problem(
        COORDS, [{"id": f"j{i}", "at": i} for i in range(1, 7)], [{"id": "v"}]
    )
    best = brute_force(problem)
    assert best is not None
    data = build_data(problem, HaversineTravel())
    initial = [[data.order_nodes[oid][0] for oid in best[1].routes[0].order_ids]]
    # A first-solution strategy that is poor alone, so the start matters.
    params = SolveParams(
        time_limit=0.2,
        first_solution="GLOBAL_CHEAPEST_ARC",
        metaheuristic="GREEDY_DESCENT",
    )
    result = solve_ortools(data, [j.id for j in problem.jobs], params, initial=initial)
    assert result.warm_started
    plan = plan_from_sequences(
        data,
        result.sequences,
        dropped=result.dropped,
        impossible=[],
        engine="ortools",
        seconds=0,
    )
    assert plan.summary.distance == best[0]
    assert check(problem, plan, HaversineTravel()).ok


FAMILIES = {
    "returns": (
        [
            {"id": "d1", "at": 1, "demand": [3]},
            {"id": "d2", "at": 3, "demand": [2]},
            {"id": "r1", "at": 2, "demand": [4], "type": "pickup"},
            {"id": "r2", "at": 4, "demand": [1], "type": "pickup"},
        ],
        [{"id": "v", "capacity": [5]}],
        {},
    ),
    "shipments": (
        [{"id": "j", "at": 1}],
        [{"id": "v", "capacity": [3]}],
        {
            "shipments": [
                {
                    "id": "s1",
                    "demand": [2],
                    "pickup": {"location": {"index": 5}},
                    "delivery": {"location": {"index": 2}},
                },
                {
                    "id": "s2",
                    "demand": [2],
                    "pickup": {"location": {"index": 6}},
                    "delivery": {"location": {"index": 4}},
                },
            ]
        },
    ),
    "breaks": (
        [{"id": f"j{i}", "at": i, "service": 300} for i in range(1, 5)],
        [
            {
                "id": "v",
                "breaks": [{"id": "b", "time_windows": [[400, 450]], "service": 600}],
            }
        ],
        {},
    ),
    "multi-window": (
        [
            {"id": "a", "at": 1, "time_windows": [[0, 50], [700, 800]]},
            {"id": "b", "at": 2, "time_windows": [[150, 250]]},
            {"id": "c", "at": 6, "time_windows": [[300, 500], [900, 1000]]},
        ],
        [{"id": "v"}],
        {},
    ),
    "skills-multi-vehicle": (
        [
            {"id": "a", "at": 1, "skills": ["cold"]},
            {"id": "b", "at": 2},
            {"id": "c", "at": 5, "skills": ["cold"]},
            {"id": "d", "at": 6},
        ],
        [
            {"id": "v1", "skills": ["cold"], "capacity": [3]},
            {"id": "v2", "capacity": [3]},
        ],
        {},
    ),
    "max-orders-and-duration": (
        [{"id": f"j{i}", "at": i} for i in range(1, 6)],
        [{"id": "v1", "max_orders": 2}, {"id": "v2", "max_duration": 700}],
        {},
    ),
    "setup-at-shared-place": (
        [
            {"id": "a", "at": 2, "setup": 200},
            {"id": "b", "at": 2, "setup": 200, "time_windows": [[0, 450]]},
            {"id": "c", "at": 4, "setup": 100},
        ],
        [{"id": "v"}],
        {},
    ),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_constraint_family_matches_brute_force(family: str) -> None:
    """For each constraint family OR-Tools finds the enumerated optimum."""
    jobs, vehicles, extra = FAMILIES[family]
    problem = grid_problem(COORDS, jobs, vehicles, **extra)
    best = brute_force(problem)
    assert best is not None, "the instance must be feasible"
    plan = _solve(problem)
    assert plan.summary.unassigned == 0
    assert plan.summary.distance == best[0]


def test_legs_are_timed_in_their_departure_band() -> None:
    """The same route takes longer in the morning peak than at night."""
    from routing.model import Problem as P

    def day(shift: list[str]) -> Plan:
        problem = P.model_validate(
            {
                "depots": [{"id": "d", "location": {"lat": 37.50, "lon": 127.00}}],
                "vehicles": [
                    {
                        "id": "v",
                        "start": "d",
                        "end": "d",
                        "capacity": [9],
                        "shift": shift,
                    }
                ],
                "jobs": [
                    {
                        "id": "a",
                        "location": {"lat": 37.55, "lon": 127.02},
                        "demand": [1],
                    },
                    {
                        "id": "b",
                        "location": {"lat": 37.58, "lon": 126.95},
                        "demand": [1],
                    },
                ],
            }
        )
        return _solve(problem)

    night, peak = day(["02:00", "06:00"]), day(["08:30", "12:00"])
    assert night.summary.distance == peak.summary.distance
    assert night.summary.duration < peak.summary.duration
    first_night = night.routes[0].steps[1]
    first_peak = peak.routes[0].steps[1]
    assert first_night.arrival - 2 * 3600 < first_peak.arrival - int(8.5 * 3600)


class _Blocked:
    """Haversine travel with some one-way arcs blocked (a stand-in road graph)."""

    name = "blocked"
    band_starts = (0,)

    def __init__(self, blocked: set[tuple[int, int]]) -> None:
        self.blocked = blocked

    def matrix(self, points, *, depart=None):  # type: ignore[no-untyped-def]
        import numpy as np

        from routing.travel import TravelMatrix

        base = HaversineTravel(bands=()).matrix(points)
        mask = np.zeros(base.durations.shape, dtype=bool)
        for a, b in self.blocked:
            if a < len(points) and b < len(points):
                mask[a, b] = True
        return TravelMatrix(base.durations, base.distances, unreachable=mask)


def _line_problem() -> Problem:
    return Problem.model_validate(
        {
            "depots": [{"id": "d", "location": {"lat": 37.50, "lon": 127.00}}],
            "vehicles": [
                {
                    "id": "v",
                    "start": "d",
                    "end": "d",
                    "capacity": [9],
                    "shift": [0, 86_000],
                }
            ],
            "jobs": [
                {"id": "a", "location": {"lat": 37.51, "lon": 127.00}, "demand": [1]},
                {"id": "b", "location": {"lat": 37.52, "lon": 127.00}, "demand": [1]},
            ],
        }
    )


def test_blocked_arcs_are_never_driven() -> None:
    """A one-way restriction forces the other visiting order, and the checker agrees."""
    problem = _line_problem()
    # points: 0 depot, 1 a, 2 b; forbid a -> b.
    travel = _Blocked({(1, 2)})
    plan = solve(problem, travel=travel, params=FAST)
    assert check(problem, plan, travel).ok
    assert plan.routes[0].order_ids == ["b", "a"]
    # The same plan reversed would use the blocked arc: the checker says so.
    free = solve(problem, travel=_Blocked({(2, 1)}), params=FAST)
    assert free.routes[0].order_ids == ["a", "b"]
    assert not check(problem, free, travel).ok


def test_unreachable_order_gets_its_reason() -> None:
    """An order with no path from the depot is unassigned as unreachable."""
    problem = _line_problem()
    # Nothing leads to b (a road graph's reachability is transitive).
    plan = solve(problem, travel=_Blocked({(0, 2), (1, 2)}), params=FAST)
    assert [(u.id, u.reason) for u in plan.unassigned] == [("b", Reason.UNREACHABLE)]


def test_max_duration_counts_from_the_latest_useful_departure() -> None:
    """A late window is reachable under max_duration: the van simply leaves later."""
    jobs = [{"id": "late", "at": 2, "time_windows": [[5000, 5100]], "service": 60}]
    vehicles = [{"id": "v", "shift": [0, 10_000], "max_duration": 600}]
    plan = _solve(grid_problem(COORDS, jobs, vehicles))
    assert plan.summary.unassigned == 0
    route = plan.routes[0]
    assert route.start >= 5000 - 200  # left 200 s (travel) before the window
    assert route.end - route.start <= 600


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_an_iteration_bound_makes_the_search_repeatable(engine: str) -> None:
    """Stopped by ``iterations`` (not the clock), two runs give one plan."""
    problem = random_problem(11, n_jobs=25)
    if engine == "pyvrp":
        vehicles = tuple(v.model_copy(update={"breaks": ()}) for v in problem.vehicles)
        problem = problem.model_copy(update={"vehicles": vehicles})
    # OR-Tools counts solutions (each one a second or more here), PyVRP
    # iterations (milliseconds): bounds of like cost.
    params = SolveParams(
        engine=engine,  # type: ignore[arg-type]
        time_limit=60.0,
        iterations=300 if engine == "pyvrp" else 60,
        workers=1,
        seed=4,
    )
    first, second = solve(problem, params=params), solve(problem, params=params)
    assert first.seconds < 30, "the iteration bound, not the clock, ends it"
    assert [r.order_ids for r in first.routes] == [r.order_ids for r in second.routes]
    assert first.summary.cost == second.summary.cost
    assert check(problem, first, HaversineTravel()).ok


@pytest.mark.parametrize("engine", ["auto", "ortools", "pyvrp", "large"])
def test_an_empty_fleet_leaves_every_order_unassigned(engine: str) -> None:
    """With no vehicles no engine runs; each order is unassigned with a reason."""
    problem = grid_problem(
        [(0, 0), (1000, 0), (0, 1000)],
        [{"id": "a", "at": 1}, {"id": "b", "at": 2}],
        [{"id": "v", "capacity": [4], "shift": [0, 5000]}],
    ).model_copy(update={"vehicles": ()})
    plan = solve(
        problem,
        params=SolveParams(engine=engine, time_limit=2.0),  # type: ignore[arg-type]
    )
    assert plan.routes == ()
    assert [(u.id, u.reason) for u in plan.unassigned] == [
        ("a", Reason.DEPOT),
        ("b", Reason.DEPOT),
    ]
    assert all(u.detail == "the problem has no vehicles" for u in plan.unassigned)
    assert check(problem, plan, HaversineTravel()).ok


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_progress_speaks_the_plans_units(engine: str) -> None:
    """The best objective reported is the plan's cost in won, not engine units."""
    from routing.io import read_problem
    from tests.helpers import ROOT

    problem = read_problem(ROOT / "docs" / "examples" / "small_problem.json")
    seen: list[float] = []
    params = SolveParams(engine=engine, objective="cost", time_limit=2.0, seed=1)
    plan = solve(
        problem,
        params=params,
        progress=lambda _engine, _seconds, objective: seen.append(objective),
    )
    assert seen, "the engine reported no solution"
    # Won, not the engines' hundredths of a won. The search's objective and
    # the plan's priced cost are computed apart (on this example they differ
    # by a quarter), so the two agree in scale, not to the won.
    assert plan.summary.cost / 2 < min(seen) <= plan.summary.cost * 1.5
