"""``GET /v1/metrics/retention``'s ``experience_effect``: fitted on the range
(and zone) asked for, not the stored fit's window; bounded and kept.

The tracked days are the seeded history of the retention fit's tests
(:func:`tests.api.routes.test_retention_fit.synthetic`: 300 customers over
300 days from 2025-01-01), given as outcomes instead of tracked plans (which
take a solve each); the stored fit is that history's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.retention import save_fit
from api.jobs import retention_fit
from api.services import metrics
from tests.api.conftest import auth
from tests.api.routes.test_retention_fit import START, fitted, synthetic
from tracking.events import FailureReason
from tracking.outcomes import DeliveryOutcome
from tracking.retention import experience_effect

URL = "/v1/metrics/retention"
#: The stored fit's window: the whole synthetic history.
FIT_END = START + dt.timedelta(days=300)


def _outcomes() -> list[DeliveryOutcome]:
    p = synthetic()
    return [
        DeliveryOutcome(
            order_id=order_id,
            customer_id=customer,
            zone="z1" if int(customer[1:]) % 2 else "z2",
            day=day,
            delivered=True,
            minutes_late=int(late),
            attempts=1 + failed,
            failure_reasons=(FailureReason.NOT_HOME,) * failed,
        )
        for order_id, customer, day, late, failed in zip(
            p.order_id,
            p.customer_id,
            p.day,
            p.minutes_late,
            p.failed_attempts,
            strict=True,
        )
    ]


@pytest.fixture
def tracked(monkeypatch: pytest.MonkeyPatch, app: FastAPI) -> list[DeliveryOutcome]:
    """The synthetic history as the tracked days, its fit stored, and no
    effect kept from another test."""
    made = _outcomes()

    def between(
        session: object, start: dt.date, end: dt.date, *, zone: str | None = None
    ) -> list[DeliveryOutcome]:
        return [
            o
            for o in made
            if o.day is not None
            and start <= o.day <= end
            and (zone is None or o.zone == zone)
        ]

    monkeypatch.setattr(metrics, "outcomes_between", between)
    monkeypatch.setattr(metrics, "_EFFECTS", {})
    with app.state.sessionmaker.begin() as session:
        save_fit(session, job_id="fit-1", result=fitted())
    return made


def _effect(
    client: TestClient, keys: dict[Role, str], start: dt.date, end: dt.date, **q: str
) -> dict[str, Any]:
    got = client.get(
        URL,
        params={"from": start.isoformat(), "until": end.isoformat(), **q},
        headers=auth(keys[Role.planner]),
    )
    assert got.status_code == 200, got.text
    effect: dict[str, Any] = got.json()["experience_effect"]
    return effect


def _hazard(effect: dict[str, Any]) -> dict[str, float]:
    return {
        c["name"]: c["coef"] for c in effect["coefficients"] if c["part"] == "hazard"
    }


def _direct(made: list[DeliveryOutcome], start: dt.date, end: dt.date) -> Any:
    """The estimator on the range's deliveries, called directly."""
    frame = metrics.history_frame(
        [o for o in made if o.day is not None and start <= o.day <= end]
    )
    return experience_effect(frame, end=end), len(frame)


def test_a_range_inside_the_fit_window_is_fitted_on_its_own_days(
    client: TestClient, keys: dict[Role, str], tracked: list[DeliveryOutcome]
) -> None:
    """Days 60-240 of the stored fit's 300: the effect is the estimator's on
    those days (as called directly), not the stored fit's coefficients."""
    start, end = START + dt.timedelta(days=60), START + dt.timedelta(days=240)
    effect = _effect(client, keys, start, end)
    direct, deliveries = _direct(tracked, start, end)
    assert (effect["start"], effect["end"]) == (start.isoformat(), end.isoformat())
    assert effect["reason"] is None
    assert effect["deliveries"] == deliveries
    assert effect["customers"] == effect["customers_fitted"]
    assert effect["n_spells"] == direct.n_spells
    got = _hazard(effect)
    for name in direct.names:
        assert got[name] == pytest.approx(direct[name][0], rel=1e-9)
    stored = {c.name: c.coef for c in fitted().coefficients if c.part == "hazard"}
    assert got["log1p_late"] != pytest.approx(stored["log1p_late"], rel=1e-6)


def test_a_range_reaching_outside_the_fit_window_reads_its_own_days(
    client: TestClient, keys: dict[Role, str], tracked: list[DeliveryOutcome]
) -> None:
    """A range from day 150 to 60 days past the stored fit's end is fitted on
    the deliveries it holds; a range wholly after the tracked days has none
    and says so, without coefficients."""
    start, end = START + dt.timedelta(days=150), FIT_END + dt.timedelta(days=60)
    effect = _effect(client, keys, start, end)
    direct, deliveries = _direct(tracked, start, end)
    assert (effect["start"], effect["end"]) == (start.isoformat(), end.isoformat())
    assert effect["deliveries"] == deliveries > 0
    assert _hazard(effect)["log1p_late"] == pytest.approx(
        direct["log1p_late"][0], rel=1e-9
    )
    after = FIT_END + dt.timedelta(days=1), FIT_END + dt.timedelta(days=90)
    empty = _effect(client, keys, *after)
    assert empty["coefficients"] == [] and empty["deliveries"] == 0
    assert empty["reason"] == (
        "no attempted delivery of a known customer was tracked in "
        f"{after[0]}..{after[1]}"
    )


def test_too_short_a_range_says_why_and_names_the_zone(
    client: TestClient, keys: dict[Role, str], tracked: list[DeliveryOutcome]
) -> None:
    """A week of one zone has too few spells: the reason names the range,
    the zone and the spells needed; the other metrics are still answered."""
    start, end = START + dt.timedelta(days=100), START + dt.timedelta(days=106)
    got = client.get(
        URL,
        params={"from": start.isoformat(), "until": end.isoformat(), "zone": "z1"},
        headers=auth(keys[Role.planner]),
    ).json()
    effect = got["experience_effect"]
    assert effect["coefficients"] == [] and effect["n_spells"] is None
    assert effect["reason"].startswith(
        f"too little history in {start}..{end} (zone z1)"
    )
    assert f"at least {retention_fit.MIN_SPELLS} needed" in effect["reason"]
    assert got["deliveries"] == effect["deliveries"] > 0


def test_an_unchanged_range_is_not_fitted_again(
    client: TestClient,
    keys: dict[Role, str],
    tracked: list[DeliveryOutcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same range over the same deliveries is answered from what was
    kept; a new delivery in it is fitted again."""
    calls: list[int] = []
    fit = metrics.fit_effect

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return fit(*args, **kw)

    monkeypatch.setattr(metrics, "fit_effect", counted)
    start, end = START + dt.timedelta(days=30), START + dt.timedelta(days=200)
    first = _effect(client, keys, start, end)
    assert _effect(client, keys, start, end) == first and len(calls) == 1
    tracked.append(
        DeliveryOutcome(
            order_id="extra",
            customer_id="c0",
            zone="z2",
            day=start,
            delivered=True,
            minutes_late=90,
            attempts=1,
        )
    )
    again = _effect(client, keys, start, end)
    assert len(calls) == 2 and again["deliveries"] == first["deliveries"] + 1


def test_a_long_range_is_fitted_on_a_sample_of_its_customers(
    client: TestClient,
    keys: dict[Role, str],
    tracked: list[DeliveryOutcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond the bound, every delivery of a sample of customers is fitted:
    at most the bound, the same sample on every request."""
    monkeypatch.setattr(metrics, "MAX_EFFECT_DELIVERIES", 2_000)
    effect = _effect(client, keys, START, FIT_END)
    assert effect["deliveries"] <= 2_000 < len(tracked)
    everyone = metrics.history_frame(tracked)["customer_id"].nunique()
    assert effect["customers_fitted"] < effect["customers"] == everyone
    assert effect["reason"] is None and effect["coefficients"]
    monkeypatch.setattr(metrics, "_EFFECTS", {})
    assert _effect(client, keys, START, FIT_END) == effect
    frame = metrics.history_frame(tracked)
    assert (
        metrics._sample(frame, 2_000)["customer_id"].nunique()
        == (effect["customers_fitted"])
    )
    sample = metrics._sample(frame, 2_000)
    per = frame["customer_id"].value_counts()
    taken = sample["customer_id"].value_counts()
    assert taken.to_dict() == per[taken.index].to_dict()


def test_a_range_ending_after_today_is_fitted_to_today(
    client: TestClient, keys: dict[Role, str], tracked: list[DeliveryOutcome]
) -> None:
    """Days that have not come are not days at risk: the effect's end is
    today when the range ends later."""
    today = dt.datetime.now(dt.UTC).date()
    effect = _effect(
        client, keys, today - dt.timedelta(days=100), today + dt.timedelta(days=30)
    )
    assert dt.date.fromisoformat(effect["end"]) <= today + dt.timedelta(days=1)
    assert dt.date.fromisoformat(effect["end"]) >= today - dt.timedelta(days=1)
