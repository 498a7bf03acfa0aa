"""The expected retention cost of the live day: per order (planned and live)
and the day's totals in the plan's live view, and by day in the delivery
metrics.

The small example day (docs/examples/small_problem.json, solved once) is
stored and dispatched through the API, priced with a stored retention fit
(:data:`tests.api.test_priced_plans.PRICING`); device events make orders
late or failed. The service's clock is set to a time of the day (the day is
in the past). Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api import ops
from api.auth import Role
from api.services import retention as retention_service
from api.services import tracking_views
from api.services.metrics import outcomes_between
from api.services.retention import CurrentPricing, live_minutes
from routing.plan import Plan
from tests.api.conftest import auth
from tests.api.test_priced_plans import PRICING, VALUES, store_pricing
from tests.api.tracking_fixtures import DAY, batch, dispatch_small_day, small_day
from tracking.eta import Eta
from tracking.feedback import expected_loss
from tracking.status import OrderState, OrderStatus, StatusChange

PLAN_ID = "retention-plan"
HOUR = 3600
#: The order delivered late: c-17's (worth 900 000 won), window 10:00-12:00.
LATE = "o-1001"
#: The order whose attempt fails: window 14:00-16:00.
FAILED = "o-1008"
#: The service's clock in the tests: 13:00 on the plan's day.
NOW = 13 * HOUR
CURRENT = CurrentPricing(job_id="fit-1", pricing=PRICING, values=VALUES)


def _van(plan: Plan, order_id: str) -> str:
    return next(r.vehicle for r in plan.routes if order_id in r.order_ids)


def _send(
    client: TestClient, key: str, *events: dict[str, Any], day: dt.date = DAY
) -> None:
    sent = client.post("/v1/events", json=batch(*events, day=day), headers=auth(key))
    assert sent.status_code == 200, sent.text
    assert sent.json()["rejected"] == [], sent.json()


def _late_and_failed(
    client: TestClient, key: str, plan: Plan, *, day: dt.date = DAY, tag: str = ""
) -> None:
    """LATE handed over at 12:31 (31 minutes late), FAILED not at home, on
    ``day``; ``tag`` renames the orders (``o-1001`` -> ``o{tag}-1001``) and
    the events."""
    late, failed = LATE.replace("o-", f"o{tag}-"), FAILED.replace("o-", f"o{tag}-")
    van = _van(plan, late)
    at = 12 * HOUR + 30 * 60
    _send(
        client,
        key,
        {"type": "shift_start", "id": f"{tag}s1", "at": 8 * HOUR, "vehicle": van},
        {
            "type": "stop_departed",
            "id": f"{tag}d0",
            "at": 8 * HOUR + 60,
            "vehicle": van,
        },
        {
            "type": "stop_arrived",
            "id": f"{tag}a1",
            "at": at,
            "vehicle": van,
            "order_id": late,
        },
        {
            "type": "delivered",
            "id": f"{tag}x1",
            "at": at + 60,
            "vehicle": van,
            "order_id": late,
            "proof": {"recipient": "Kim"},
        },
        day=day,
    )
    other = _van(plan, failed)
    start = (
        []
        if other == van
        else [
            {
                "type": "shift_start",
                "id": f"{tag}s2",
                "at": 8 * HOUR,
                "vehicle": other,
            },
            {
                "type": "stop_departed",
                "id": f"{tag}d2",
                "at": 8 * HOUR + 60,
                "vehicle": other,
            },
        ]
    )
    _send(
        client,
        key,
        *start,
        {
            "type": "stop_arrived",
            "id": f"{tag}a2",
            "at": 12 * HOUR + 45 * 60,
            "vehicle": other,
            "order_id": failed,
        },
        {
            "type": "failed_attempt",
            "id": f"{tag}f2",
            "at": 12 * HOUR + 50 * 60,
            "vehicle": other,
            "order_id": failed,
            "reason": "not_home",
        },
        day=day,
    )


def _dispatch_renamed_day(
    client: TestClient, key: str, *, day: dt.date, plan_id: str, tag: str
) -> Plan:
    """The small day again, its orders renamed as :func:`_late_and_failed`
    renames them (the shipment too), stored for ``day`` and dispatched."""

    def renamed(text: str) -> str:
        return text.replace('"o-', f'"o{tag}-').replace('"s-', f'"s{tag}-')

    return dispatch_small_day(client, key, day=day, plan_id=plan_id, rename=renamed)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live view's clock at :data:`NOW`; the metrics' a day after its end."""
    monkeypatch.setattr(tracking_views, "eta_clock", lambda day, tz: NOW)
    monkeypatch.setattr(retention_service, "eta_clock", lambda day, tz: 60 * HOUR)


def test_a_late_delivery_costs_more_live_than_planned(
    app: FastAPI, client: TestClient, keys: dict[Role, str], clock: None
) -> None:
    """With a fit, each routed order carries its planned and live retention
    cost; a late delivery's live one is its 31 minutes', a failed attempt's
    its failure's; the day's totals are the sums, the planned one the plan's."""
    store_pricing(app)
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    live = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()
    assert live["pricing"] == {"source": "learned", "fit": "fit-1", "reason": None}
    stops = {s["order_id"]: s for s in live["orders"]}

    late = stops[LATE]["retention"]
    assert late["minutes_late"] == 31.0 and late["failed_attempts"] == 0
    want = expected_loss(CURRENT.customer("c-17"), 31.0, PRICING)
    assert late["live"] == pytest.approx(want, abs=0.01)
    assert late["live"] > late["planned"]

    failed = stops[FAILED]["retention"]
    assert failed["failed_attempts"] == 1 and failed["minutes_late"] == 0.0
    want = expected_loss(CURRENT.customer(None), 0.0, PRICING, failed_attempts=1)
    assert failed["live"] == pytest.approx(want, abs=0.01) and want > 0

    routed = {o for r in plan.routes for o in r.order_ids}
    priced = {o: s["retention"] for o, s in stops.items() if s["retention"]}
    assert set(priced) <= routed and {LATE, FAILED} <= set(priced)
    kpis = live["kpis"]
    assert kpis["retention_live"] == pytest.approx(
        sum(r["live"] for r in priced.values()), abs=0.05
    )
    assert kpis["retention_planned"] == pytest.approx(
        sum(r["planned"] for r in priced.values()), abs=0.05
    )
    assert kpis["retention_live"] > kpis["retention_planned"]
    body = client.get(f"/v1/plans/{PLAN_ID}", headers=auth(key)).json()
    assert kpis["retention_planned"] == pytest.approx(
        body["retention"]["total"], abs=0.05
    )


def test_without_a_fit_the_live_day_says_why(
    client: TestClient, keys: dict[Role, str], clock: None
) -> None:
    """No retention fit yet: no number is made up, the view says why."""
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    live = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()
    assert live["pricing"] == {
        "source": "uniform",
        "fit": None,
        "reason": "no retention fit yet",
    }
    assert live["kpis"]["retention_live"] is None
    assert live["kpis"]["retention_planned"] is None
    assert all(s["retention"] is None for s in live["orders"])

    got = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(key),
    ).json()
    assert got["retention_pricing"]["reason"] == "no retention fit yet"
    assert [r["retention_cost"] for r in got["data"]] == [None]


def test_metrics_price_the_day_realised_and_live(
    app: FastAPI, client: TestClient, keys: dict[Role, str], clock: None
) -> None:
    """The delivery metrics' day costs its attempted orders' realised loss
    (minutes late and failed attempts as the fit learns them) and, the day
    being over, each order never attempted a day late when it had a window."""
    store_pricing(app)
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    with app.state.sessionmaker() as session:
        outcomes = outcomes_between(session, DAY, DAY)
    want = 0.0
    for o in outcomes:
        customer = CURRENT.customer(o.customer_id)
        if o.attempts:
            minutes, failed = float(o.minutes_late), len(o.failure_reasons)
        else:
            minutes, failed = (PRICING.drop_minutes if o.windows else 0.0), 0
        want += round(
            expected_loss(customer, minutes, PRICING, failed_attempts=failed), 2
        )
    late = next(o for o in outcomes if o.order_id == LATE)
    assert late.minutes_late >= 30
    got = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(key),
    ).json()
    assert got["retention_pricing"] == {
        "source": "learned",
        "fit": "fit-1",
        "reason": None,
    }
    (row,) = got["data"]
    assert row["group"] == DAY.isoformat()
    assert row["retention_cost"] == pytest.approx(want, abs=0.05)
    assert row["retention_cost"] > 0
    by_van = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat(), "by": "vehicle"},
        headers=auth(key),
    ).json()["data"]
    assert sum(r["retention_cost"] for r in by_van) == pytest.approx(want, abs=0.05)


def test_metrics_price_a_customer_by_their_recent_lateness_as_plans_do(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    clock: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """c-17 is late on the first day and again on the next: the delivery
    metrics price the second day's orders with each customer's late
    deliveries before that day (c-17: one), the first day's with none before
    it, as the plan's live retention cost prices them; the second day costs
    more than it would for a customer never late."""
    vulnerable = PRICING.model_copy(update={"churn_uplifts": (0.001, 0.05, 0.3)})
    store_pricing(app, pricing=vulnerable)
    current = CurrentPricing(job_id="fit-1", pricing=vulnerable, values=VALUES)
    key = keys[Role.dispatcher]
    retention_service._RECENT.clear()
    first = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, first)
    second = DAY + dt.timedelta(days=1)
    plan = _dispatch_renamed_day(client, key, day=second, plan_id="again", tag="2")
    _late_and_failed(client, key, plan, day=second, tag="2")
    with app.state.sessionmaker() as session:
        outcomes = outcomes_between(session, DAY, second)
        recent = retention_service.recent_lateness(session, second)
    assert recent == {"c-17": 1}

    def day_cost(day: dt.date, recent_late: dict[str, int]) -> float:
        customers = current.customers(recent_late)
        total = 0.0
        for o in outcomes:
            if o.day != day:
                continue
            if o.attempts:
                minutes, failed = float(o.minutes_late), len(o.failure_reasons)
            else:
                minutes, failed = (vulnerable.drop_minutes if o.windows else 0.0), 0
            loss = expected_loss(
                customers(o.customer_id), minutes, vulnerable, failed_attempts=failed
            )
            total += round(loss, 2)
        return total

    got = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": second.isoformat()},
        headers=auth(key),
    ).json()
    by_day = {r["group"]: r["retention_cost"] for r in got["data"]}
    assert by_day[DAY.isoformat()] == pytest.approx(day_cost(DAY, {}), abs=0.05)
    assert by_day[second.isoformat()] == pytest.approx(
        day_cost(second, recent), abs=0.05
    )
    assert day_cost(second, recent) > day_cost(second, {}) + 1.0
    # The plan path prices c-17's late order of the second day the same way.
    monkeypatch.setattr(tracking_views, "eta_clock", lambda day, tz: 20 * HOUR)
    live = client.get("/v1/plans/again/live", headers=auth(key)).json()
    stop = next(s for s in live["orders"] if s["order_id"] == "o2-1001")
    want = expected_loss(current.customers(recent)("c-17"), 31.0, vulnerable)
    assert stop["retention"]["live"] == pytest.approx(want, abs=0.01)


def _gauge(text: str) -> dict[tuple[str, str, str], float]:
    """``milepost_retention_cost`` on a ``/metrics`` page, by (day, kind,
    currency)."""
    return {
        (s.labels["day"], s.labels["kind"], s.labels["currency"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "milepost_retention_cost"
    }


def test_metrics_page_shows_the_day_s_retention_cost(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    clock: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``/metrics`` has no figure before the first fit; with one, the shop
    day's planned cost is the plan's retention total and the live one the
    delivery metrics' cost of the day, in the deployment's currency."""
    monkeypatch.setattr(ops, "today", lambda tz: DAY)
    key = keys[Role.dispatcher]
    dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    assert _gauge(client.get("/metrics").text) == {}
    store_pricing(app)
    collector = ops.RetentionCostCollector(
        app.state.read_sessionmaker, app.state.live_etas, ttl=0.0
    )
    registry = CollectorRegistry()
    registry.register(collector)
    plan = Plan.model_validate(
        client.get(f"/v1/plans/{PLAN_ID}", headers=auth(key)).json()["plan"]
    )
    _late_and_failed(client, key, plan)
    live = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(key),
    ).json()["data"][0]["retention_cost"]
    planned = client.get(f"/v1/plans/{PLAN_ID}", headers=auth(key)).json()
    day = DAY.isoformat()
    want = {
        (day, "planned", "KRW"): pytest.approx(planned["retention"]["total"], abs=0.05),
        (day, "live", "KRW"): pytest.approx(live, abs=0.05),
    }
    assert _gauge(generate_latest(registry).decode()) == want
    # The app's own collector keeps its figure a minute: the fit stored after
    # its first scrape shows once that minute is over.
    assert _gauge(client.get("/metrics").text) == {}
    assert live > planned["retention"]["total"] >= 0


def test_the_day_s_retention_cost_is_kept_for_its_ttl(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    clock: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scrapes within the TTL show the kept figure; the next one prices the
    day again; a failure is logged and counted, with no figure shown."""
    monkeypatch.setattr(ops, "today", lambda tz: DAY)
    store_pricing(app)
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    now = [0.0]
    collector = ops.RetentionCostCollector(
        app.state.read_sessionmaker, app.state.live_etas, ttl=60.0, clock=lambda: now[0]
    )
    registry = CollectorRegistry()
    registry.register(collector)
    before = _gauge(generate_latest(registry).decode())
    _late_and_failed(client, key, plan)
    now[0] = 59.0
    assert _gauge(generate_latest(registry).decode()) == before
    now[0] = 61.0
    after = _gauge(generate_latest(registry).decode())
    live = (DAY.isoformat(), "live", "KRW")
    # the day being over, the orders not attempted cost a day late each; one
    # delivered 31 minutes late costs less
    assert after[live] < before[live]

    def broken(*_: Any) -> Any:
        raise RuntimeError("no database")

    monkeypatch.setattr(ops, "day_cost", broken)
    now[0] = 200.0
    text = generate_latest(registry).decode()
    assert _gauge(text) == {}
    assert "milepost_retention_cost_errors_total 1.0" in text


# -- live_minutes -----------------------------------------------------------------

END = 12 * HOUR


def _status(*targets: OrderState) -> OrderStatus:
    history = [StatusChange(source=None, target=OrderState.CREATED, at=0, cause="x")]
    for k, t in enumerate(targets):
        history.append(
            StatusChange(source=history[-1].target, target=t, at=k + 1, cause="x")
        )
    return OrderStatus(order_id="o", history=tuple(history))


def _eta(point: int) -> Eta:
    return Eta(order_id="o", vehicle="v", point=point, p10=point, p90=point, made_at=0)


@seed(20)
@settings(max_examples=200, deadline=None)
@given(
    point=st.integers(0, 40 * HOUR),
    later=st.integers(0, 10 * HOUR),
    now=st.integers(0, 40 * HOUR),
    cap=st.floats(1.0, 3_000.0),
)
def test_live_minutes_grow_with_the_eta_and_the_clock(
    point: int, later: int, now: int, cap: float
) -> None:
    """A pending order's minutes late lie in ``[0, cap]``, are 0 while its ETA
    and the clock are inside the window, and never shrink as either moves on."""
    status = _status(OrderState.PLANNED, OrderState.DISPATCHED)
    m, failed = live_minutes(status, _eta(point), END, None, now, cap=cap)
    assert failed == 0 and 0.0 <= m <= cap
    if point <= END and now <= END:
        assert m == 0.0
    assert live_minutes(status, _eta(point + later), END, None, now, cap=cap)[0] >= m
    assert live_minutes(status, _eta(point), END, None, now + later, cap=cap)[0] >= m
    assert live_minutes(status, _eta(point), None, None, now, cap=cap) == (0.0, 0)


def test_live_minutes_of_delivered_failed_and_moved_orders() -> None:
    """Delivered: its hand-over; failed or cancelled: only the attempts."""
    delivered = OrderStatus(
        order_id="o",
        history=(
            StatusChange(source=None, target=OrderState.CREATED, at=0, cause="x"),
            StatusChange(
                source=OrderState.CREATED,
                target=OrderState.DELIVERED,
                at=END + 600,
                cause="x",
            ),
        ),
    )
    assert live_minutes(delivered, None, END, END, 20 * HOUR, cap=1e4) == (10.0, 0)
    failed = _status(
        OrderState.PLANNED,
        OrderState.DISPATCHED,
        OrderState.OUT_FOR_DELIVERY,
        OrderState.ARRIVING,
        OrderState.FAILED_ATTEMPT,
    )
    assert live_minutes(failed, None, END, END, 20 * HOUR, cap=1e4) == (0.0, 1)
    cancelled = _status(OrderState.PLANNED, OrderState.CANCELLED)
    assert live_minutes(cancelled, None, END, END, 20 * HOUR, cap=1e4) == (0.0, 0)
    # no ETA and no status: the planned start, then the clock
    assert live_minutes(None, None, END, END + 120, 0, cap=1e4) == (2.0, 0)
    assert live_minutes(None, None, END, END, END + 300, cap=1e4) == (5.0, 0)


def test_metrics_price_orders_not_attempted_by_their_live_eta(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    clock: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the day is on, an order not attempted yet costs in the metrics
    what it costs live in the console (nothing when off the plan's routes);
    attempted ones their realised loss."""
    monkeypatch.setattr(retention_service, "eta_clock", lambda day, tz: NOW)
    store_pricing(app)
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    live = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()
    stops = {s["order_id"]: s["retention"] for s in live["orders"]}
    with app.state.sessionmaker() as session:
        outcomes = outcomes_between(session, DAY, DAY)
    want = 0.0
    for o in outcomes:
        if o.attempts:
            customer = CURRENT.customer(o.customer_id)
            loss = expected_loss(
                customer,
                float(o.minutes_late),
                PRICING,
                failed_attempts=len(o.failure_reasons),
            )
            want += round(loss, 2)
        elif stops.get(o.order_id) is not None:
            want += stops[o.order_id]["live"]
    got = client.get(
        "/v1/metrics/delivery",
        params={"start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=auth(key),
    ).json()
    assert got["data"][0]["retention_cost"] == pytest.approx(want, abs=0.05)


def test_a_late_delivery_makes_the_customer_vulnerable_the_next_day(
    app: FastAPI, client: TestClient, keys: dict[Role, str], clock: None
) -> None:
    """The tracked late delivery counts as c-17's recent lateness from the
    next day on (not on its own day), and a fit that prices a second late
    delivery higher buffers c-17's next order more."""
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    tomorrow = DAY + dt.timedelta(days=1)
    # The count is kept per database and day; another test's may be kept.
    retention_service._RECENT.clear()
    with app.state.sessionmaker() as session:
        recent = retention_service.recent_lateness(session, tomorrow)
        assert retention_service.recent_lateness(session, DAY) == {}
    assert recent == {"c-17": 1}
    vulnerable = PRICING.model_copy(update={"churn_uplifts": (0.001, 0.05, 0.3)})
    current = CurrentPricing(job_id="fit-1", pricing=vulnerable, values=VALUES)
    problem, _ = small_day()
    c23 = problem.jobs[1].model_copy(update={"customer_id": "c-23"})
    c17 = problem.jobs[1].model_copy(update={"id": "o-x", "customer_id": "c-17"})
    day = problem.model_copy(update={"jobs": (c23, c17)})
    fresh = retention_service.priced(day, current)
    again = retention_service.priced(day, current, recent)
    assert fresh.jobs[1].buffer_cost < again.jobs[1].buffer_cost
    assert fresh.jobs[0] == again.jobs[0]  # c-23 was never late


def test_a_plan_prices_its_late_orders_by_recent_lateness() -> None:
    """The plan's retention cost (read and live) prices a customer who was
    late recently as the plan's buffers did: a late planned stop of theirs
    costs more than the same stop of a customer never late."""
    from routing.model import TimeWindow

    vulnerable = PRICING.model_copy(update={"churn_uplifts": (0.001, 0.05, 0.3)})
    current = CurrentPricing(job_id="fit-1", pricing=vulnerable, values=VALUES)
    problem, plan = small_day()
    step = next(s for s in plan.routes[0].steps if s.type == "job")
    late_window = TimeWindow(start=0, end=step.service_start - 30 * 60)
    jobs = tuple(
        j.model_copy(update={"customer_id": "c-17", "time_windows": (late_window,)})
        if j.id == step.id
        else j
        for j in problem.jobs
    )
    day = problem.model_copy(update={"jobs": jobs})
    fresh = retention_service.retention_of(day, plan, current).orders[step.id]
    again = retention_service.retention_of(day, plan, current, {"c-17": 1})
    assert again.orders[step.id] > fresh > 0
    live = retention_service.live_retention(
        day, plan, {}, NOW, current, recent_late={"c-17": 1}
    )
    assert live.orders[step.id].planned == again.orders[step.id]


def test_stops_running_behind_their_plan_are_learned(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    clock: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tracked stops of the days before are how far the day runs behind
    its plan (what slot quotes price the quoted order's own risk with); with
    too few stops there is nothing learned."""
    key = keys[Role.dispatcher]
    plan = dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)
    _late_and_failed(client, key, plan)
    tomorrow = DAY + dt.timedelta(days=1)
    retention_service._RUNNING.clear()
    with app.state.sessionmaker() as session:
        assert retention_service.running_late(session, tomorrow) == ()
        retention_service._RUNNING.clear()
        monkeypatch.setattr(retention_service, "RUNNING_MIN_STOPS", 2)
        sample = retention_service.running_late(session, tomorrow)
        assert retention_service.running_late(session, DAY) == ()  # none before
        outcomes = outcomes_between(session, DAY, DAY)
    retention_service._RUNNING.clear()
    behind = sorted(
        o.service_start - o.planned_service_start
        for o in outcomes
        if o.service_start is not None and o.planned_service_start is not None
    )
    assert len(behind) >= 2
    assert len(sample) == retention_service.RUNNING_SAMPLE
    assert (sample[0], sample[-1]) == (behind[0], behind[-1])
    assert list(sample) == sorted(sample)
