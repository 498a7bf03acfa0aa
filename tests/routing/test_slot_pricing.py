"""Slot quotes priced with retention prices (:class:`routing.slotting.SlotPricing`)."""

from __future__ import annotations

import json
import math
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli.live import slots_command
from routing.io import plan_to_json, problem_to_json, write_json
from routing.model import (
    Costs,
    Depot,
    Job,
    Location,
    Problem,
    TimeWindow,
    Vehicle,
)
from routing.plan import Plan, StepType
from routing.slotting import SlotBook, SlotConfig, SlotPricing, SlotQuote
from routing.solver import SolveParams, solve
from routing.travel import HaversineTravel
from routing.units import HOUR
from scenarios.city import City, build_city, day_problem
from tracking.feedback import LatenessPricing

TRAVEL = HaversineTravel()
DAY = date(2024, 2, 1)
#: One window, 08:00-09:00, for one-parcel orders of the line day.
LINE_SLOTS = SlotConfig(
    windows=(TimeWindow(start=8 * HOUR, end=9 * HOUR),), night=None, demand=(1,)
)


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(seed=11, n_customers=400, end=date(2024, 1, 31))


@pytest.fixture(scope="module")
def day(city: City) -> tuple[Problem, Plan]:
    """A 40-order day whose orders' windows are soft (a learned-priced plan),
    one day van per depot: some orders are planned late."""
    problem = day_problem(city, DAY, n_orders=40, seed=4, vehicles_per_depot=1)
    soft = tuple(
        j.model_copy(update={"lateness_cost": 50.0 + 10.0 * (k % 7)})
        for k, j in enumerate(problem.jobs)
    )
    problem = problem.model_copy(update={"jobs": soft})
    plan = solve(problem, params=SolveParams(time_limit=1.0, workers=1))
    return problem, plan


@pytest.fixture(scope="module")
def addresses(city: City) -> list[Location]:
    rows = city.customers.sample(n=200, random_state=3)
    return [
        Location(lat=float(lat), lon=float(lon))
        for lat, lon in zip(rows["lat"], rows["lon"], strict=True)
    ]


def _facts(q: SlotQuote) -> tuple[object, ...]:
    """What a quote says apart from its retention price."""
    return (q.slot, q.available, q.reason, q.detail, q.marginal_cost, q.vehicle, q.eta)


def _own_risk(q: SlotQuote, price: float, delay: int) -> float:
    """The quoted order's expected retention cost by the slack rule."""
    assert q.eta is not None
    slack = max(0, q.slot.window.end - q.eta)
    return price * delay * math.exp(-slack / delay) / 60.0


def _line_day() -> tuple[Problem, Plan]:
    """One van, one soft-windowed order 12 km out that it cannot reach in
    its window (planned late), and the road there."""
    depot = Location(lat=37.50, lon=127.00)
    far = Job(
        id="far",
        location=Location(lat=37.608, lon=127.00),
        demand=(1,),
        service=300,
        time_windows=(TimeWindow(start=8 * HOUR, end=8 * HOUR + 300),),
        lateness_cost=120.0,
        penalty=10_000_000.0,
    )
    problem = Problem(
        date=DAY,
        depots=(Depot(id="d", location=depot),),
        vehicles=(
            Vehicle(
                id="van",
                start="d",
                end="d",
                capacity=(10,),
                shift=TimeWindow(start=8 * HOUR, end=20 * HOUR),
                costs=Costs(per_km=500.0, per_hour=20_000.0),
            ),
        ),
        jobs=(far,),
    )
    plan = solve(problem, travel=TRAVEL, params=SolveParams(time_limit=1.0, workers=1))
    return problem, plan


def test_without_prices_the_quotes_are_the_route_cost_alone(
    day: tuple[Problem, Plan], addresses: list[Location]
) -> None:
    """No pricing (or prices of zero): retention 0, total = marginal cost,
    and the quotes are those of an empty pricing exactly."""
    problem, plan = day
    book = SlotBook(problem, plan, TRAVEL)
    for location in addresses[:10]:
        plain = book.quote(location, DAY)
        for q in plain:
            if q.marginal_cost is None:
                assert q.retention_cost is None and q.total_cost is None
            else:
                assert q.retention_cost == 0.0
                assert q.total_cost == q.marginal_cost
        zero = SlotPricing()
        priced = book.quote(location, DAY, pricing=zero)
        assert [_facts(q) for q in priced] == [_facts(q) for q in plain]


def test_a_tight_slot_costs_a_valuable_customer_more(
    day: tuple[Problem, Plan], addresses: list[Location]
) -> None:
    """The quoted order's own risk follows the slack rule: the less time
    between the planned start and the window's end, the dearer; twice the
    customer's price, twice the risk."""
    problem, plan = day
    book = SlotBook(problem, plan, TRAVEL)
    location = addresses[0]
    others = SlotPricing()  # no other order priced: the own risk alone
    cheap = book.quote(
        location, DAY, pricing=others.model_copy(update={"customer": 40.0})
    )
    dear = book.quote(
        location, DAY, pricing=others.model_copy(update={"customer": 80.0})
    )
    quoted = [q for q in dear if q.retention_cost is not None]
    assert len(quoted) >= 3
    by_id = {q.slot.id: q for q in cheap}
    for q in quoted:
        assert q.retention_cost == pytest.approx(_own_risk(q, 80.0, 600), abs=0.01)
        assert q.retention_cost == pytest.approx(
            2 * (by_id[q.slot.id].retention_cost or 0.0), abs=0.02
        )
        assert q.marginal_cost is not None and q.retention_cost is not None
        assert q.total_cost == pytest.approx(q.marginal_cost + q.retention_cost)
    tight = min(quoted, key=lambda q: q.slot.window.end - (q.eta or 0))
    loose = max(quoted, key=lambda q: q.slot.window.end - (q.eta or 0))
    assert tight.retention_cost is not None and loose.retention_cost is not None
    assert tight.retention_cost > loose.retention_cost


def test_other_orders_pushed_later_are_charged_their_late_minutes() -> None:
    """A stop on the way to an order already planned late pushes it later:
    the quote charges its extra late minutes at its price, exactly what
    the booked plan shows."""
    problem, plan = _line_day()
    (route,) = plan.routes
    far = next(s for s in route.steps if s.id == "far")
    assert far.late > 0
    # Half way there; the slot closes before the van could come back to it.
    config = LINE_SLOTS
    on_the_way = Location(lat=37.554, lon=127.00)
    pricing = SlotPricing(per_minute={"far": 120.0}, customer=0.0)
    book = SlotBook(problem, plan, TRAVEL, config)
    (quote,) = book.quote(on_the_way, DAY, pricing=pricing)
    assert quote.available and quote.retention_cost is not None
    booked = book.book(on_the_way, quote.slot.id)
    assert booked.marginal_cost == quote.marginal_cost
    (after,) = book.plan().routes
    pushed = next(s for s in after.steps if s.id == "far")
    assert pushed.late > far.late
    own = 0.0  # the quoted customer is priced 0 here
    expected = 120.0 * (pushed.late - far.late) / 60.0 + own
    assert quote.retention_cost == pytest.approx(expected, abs=0.01)
    assert quote.total_cost == pytest.approx(quote.marginal_cost + expected, abs=0.01)
    # Without prices the same slot is offered at the same route cost.
    (plain,) = SlotBook(problem, plan, TRAVEL, config).quote(on_the_way, DAY)
    assert _facts(plain) == _facts(quote)
    assert plain.retention_cost == 0.0


def test_a_hard_windowed_order_is_never_pushed_late() -> None:
    """A booked (hard) window stays hard: the quote that would push it late
    is not offered, priced or not, so it never carries its late minutes."""
    problem, plan = _line_day()
    hard = problem.model_copy(
        update={
            "jobs": tuple(
                j.model_copy(update={"lateness_cost": None, "time_windows": ()})
                for j in problem.jobs
            )
        }
    )
    plan = solve(hard, travel=TRAVEL, params=SolveParams(time_limit=1.0, workers=1))
    config = LINE_SLOTS
    book = SlotBook(hard, plan, TRAVEL, config)
    book.book(Location(lat=37.554, lon=127.00), "08:00-09:00", order_id="booked")
    pricing = SlotPricing(per_minute={"booked": 500.0, "far": 500.0})
    for q in book.quote(Location(lat=37.53, lon=127.00), DAY, pricing=pricing):
        if q.available:
            # the booked order is kept in its window: no late minute of it
            assert q.retention_cost == pytest.approx(0.0, abs=0.01)
    starts = {
        s.id: s.service_start
        for r in book.plan().routes
        for s in r.steps
        if s.type == StepType.JOB
    }
    assert config.windows[0].contains(starts["booked"])


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    pick=st.integers(min_value=0, max_value=199),
    seed=st.integers(min_value=0, max_value=10_000),
    scale=st.floats(min_value=0.0, max_value=5_000.0),
    customer=st.floats(min_value=0.0, max_value=5_000.0),
    delay=st.integers(min_value=1, max_value=3 * HOUR),
)
def test_pricing_never_changes_availability(
    day: tuple[Problem, Plan],
    addresses: list[Location],
    pick: int,
    seed: int,
    scale: float,
    customer: float,
    delay: int,
) -> None:
    """Priced or not, a quote offers the same slots at the same route cost,
    van and ETA: a priced quote never offers a slot the unpriced book says
    is infeasible. The priced list is ordered by its total cost."""
    problem, plan = day
    rng = random.Random(seed)
    pricing = SlotPricing(
        per_minute={j.id: rng.random() * scale for j in problem.jobs},
        customer=customer,
        delay=delay,
    )
    book = SlotBook(problem, plan, TRAVEL)
    location = addresses[pick]
    plain = {q.slot.id: q for q in book.quote(location, DAY)}
    priced = book.quote(location, DAY, pricing=pricing)
    assert {q.slot.id for q in priced} == set(plain)
    for q in priced:
        assert _facts(q) == _facts(plain[q.slot.id])
        if q.marginal_cost is not None:
            assert q.retention_cost is not None
            assert q.total_cost == pytest.approx(q.marginal_cost + q.retention_cost)
    keys = [
        (not q.available, q.total_cost if q.total_cost is not None else math.inf)
        for q in priced
    ]
    assert keys == sorted(keys)


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(slots_command)
    return app


def test_cli_prices_quotes_with_a_pricing_file(tmp_path: Path) -> None:
    """``milepost slots --pricing FILE --customer-id C`` adds each slot's
    retention cost (a valuable customer's more), at the same route cost;
    ``--customer-id`` alone or a bad file is exit 2 naming it."""
    problem, plan = _line_day()
    write_json(problem_to_json(problem), tmp_path / "day.json")
    write_json(plan_to_json(plan), tmp_path / "plan.json")
    config = tmp_path / "slots.json"
    write_json(LINE_SLOTS.model_dump(mode="json"), config)
    fit = {
        "pricing": LatenessPricing(
            lateness_coef=0.08, failure_coef=0.3, churn_uplift=0.1
        ).model_dump(mode="json"),
        "customer_values": {"customers": 3, "mean": 1, "median": 50_000, "p90": 1},
        "values": {"c-rich": 900_000.0},
    }
    write_json(fit, tmp_path / "pricing.json")
    args = [
        str(tmp_path / "day.json"),
        str(tmp_path / "plan.json"),
        "--lat",
        "37.554",
        "--lon",
        "127.0",
        "--config",
        str(config),
    ]

    def quoted(*extra: str) -> dict[str, Any]:
        target = tmp_path / "quotes.json"
        done = CliRunner().invoke(_cli(), [*args, "--json", str(target), *extra])
        assert done.exit_code == 0, done.output
        (q,) = json.loads(target.read_text())
        return dict(q)

    plain = quoted()
    assert plain["available"] and plain["retention_cost"] == 0.0
    priced = ["--pricing", str(tmp_path / "pricing.json")]
    rich = quoted(*priced, "--customer-id", "c-rich")
    typical = quoted(*priced)
    for q in (rich, typical):
        assert q["marginal_cost"] == plain["marginal_cost"]
        assert q["total_cost"] == pytest.approx(
            q["marginal_cost"] + q["retention_cost"]
        )
    # The pushed order (no customer: the median value) and the quoted one.
    assert rich["retention_cost"] > typical["retention_cost"] > 0
    # A learned late running of stops always early: no own risk, only the
    # pushed order's extra minutes are left.
    write_json({**fit, "running_late": [-60] * 5}, tmp_path / "early.json")
    early = quoted("--pricing", str(tmp_path / "early.json"), "--customer-id", "c-rich")
    assert 0 < early["retention_cost"] < rich["retention_cost"]

    alone = CliRunner().invoke(_cli(), [*args, "--customer-id", "c-rich"])
    assert alone.exit_code == 2 and "--customer-id" in alone.output
    (tmp_path / "bad.json").write_text('{"pricing": {"lateness_coef": -1}}')
    bad_file = ["--pricing", str(tmp_path / "bad.json")]
    bad = CliRunner().invoke(_cli(), [*args, *bad_file])
    assert bad.exit_code == 2 and "bad.json" in bad.output


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(
    sample=st.lists(st.integers(min_value=-3 * HOUR, max_value=3 * HOUR), max_size=40),
    slack=st.integers(min_value=0, max_value=4 * HOUR),
    more=st.integers(min_value=0, max_value=HOUR),
)
def test_late_minutes_fall_with_slack(sample: list[int], slack: int, more: int) -> None:
    """The own risk's expected late minutes: never negative, never more with
    more slack; the learned sample's mean overrun when there is one, the
    assumed exponential's without."""
    pricing = SlotPricing(customer=1.0, running_late=tuple(sample), delay=600)
    late = pricing.late_minutes(slack)
    assert 0.0 <= pricing.late_minutes(slack + more) <= late
    if sample:
        assert late == pytest.approx(
            sum(max(0, d - slack) for d in sample) / len(sample) / 60
        )
        assert late <= max(0, max(sample)) / 60
    else:
        assert late == pytest.approx(10.0 * math.exp(-slack / 600))
