"""The deployment's lateness pricing: fit job, stored fits, routes, 422s."""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Role
from api.jobs.payloads import RetentionFitPayload, RetentionFitResult
from api.jobs.queue import JobQueue
from api.jobs.retention_fit import MIN_SPELLS, RetentionFitError, fit_retention
from api.services.retention import RetentionFitSchedule, store_fit
from api.settings import Settings
from routing.locale import DEFAULT_LOCALE
from scenarios.city import City, build_city
from tests.api.conftest import auth
from tests.api.routes.test_forecasts_scenarios import follow

URL = "/v1/retention"
START = dt.date(2025, 1, 1)
#: The lateness effect the synthetic history is drawn with (log hazard ratio
#: of the next order per log1p minute late) and the failure effect.
BETA, FAILED = -0.2, -0.3


def _quiet(share: float, message: str) -> None:
    del share, message


@functools.cache
def synthetic(n_customers: int = 300, seed: int = 5) -> RetentionFitPayload:
    """A seeded observable history: each customer orders at their own pace,
    a late delivery or a failed attempt slows their next order, and a late
    one makes some leave."""
    rng = np.random.default_rng(seed)
    horizon = 300
    cols: dict[str, list[Any]] = {
        k: [] for k in ("order_id", "customer_id", "day", "minutes_late", "failed")
    }
    for c in range(n_customers):
        rate = rng.gamma(2.0, 0.05 / 2.0)
        day, effect, k = 0, 1.0, 0
        while True:
            day += int(rng.geometric(min(0.9, rate * effect)))
            if day > horizon:
                break
            late = int(np.ceil(rng.lognormal(3.0, 0.9))) if rng.random() < 0.2 else 0
            failed = int(rng.random() < 0.08)
            cols["order_id"].append(f"c{c}-{k}")
            cols["customer_id"].append(f"c{c}")
            cols["day"].append(START + dt.timedelta(days=day))
            cols["minutes_late"].append(float(late))
            cols["failed"].append(failed)
            if late and rng.random() < 0.2:
                break
            effect = math.exp(BETA * math.log1p(late) + FAILED * failed)
            day += 1
            k += 1
    return RetentionFitPayload(
        start=START,
        end=START + dt.timedelta(days=horizon),
        order_id=tuple(cols["order_id"]),
        customer_id=tuple(cols["customer_id"]),
        day=tuple(cols["day"]),
        minutes_late=tuple(cols["minutes_late"]),
        failed_attempts=tuple(cols["failed"]),
    )


@functools.cache
def fitted() -> RetentionFitResult:
    """The fit of :func:`synthetic` (once per session)."""
    return fit_retention(synthetic(), _quiet)


def _first(payload: RetentionFitPayload, n: int) -> RetentionFitPayload:
    return payload.model_copy(
        update={
            name: getattr(payload, name)[:n]
            for name in (
                "order_id",
                "customer_id",
                "day",
                "minutes_late",
                "failed_attempts",
            )
        }
    )


# --- the job's function -----------------------------------------------------


def test_fit_recovers_the_effect_and_prices_it() -> None:
    """On a seeded history drawn with a known effect, the pricing's lateness
    and failure coefficients hold the true ones in their intervals, leaving
    after a late delivery is priced, and every customer has a value."""
    result = fitted()
    pricing = result.pricing
    assert result.n_spells >= MIN_SPELLS
    assert result.n_orders == len(synthetic().order_id)
    late = pricing.intervals["lateness_coef"]
    assert late.low <= -BETA <= late.high
    assert pricing.lateness_coef == pytest.approx(-BETA, abs=0.1)
    failed = pricing.intervals["failure_coef"]
    assert failed.low <= -FAILED <= failed.high
    assert pricing.churn_uplift > 0.05
    names = {(c.part, c.name) for c in result.coefficients}
    assert {("hazard", "log1p_late"), ("churn", "late")} <= names
    assert set(result.customer_values) == set(synthetic().customer_id)
    assert all(v > 0 for v in result.customer_values.values())


def test_fit_fails_with_too_little_history() -> None:
    """A few dozen deliveries, or none, fail the fit with the reason."""
    with pytest.raises(RetentionFitError, match=f"at least {MIN_SPELLS} needed"):
        fit_retention(_first(synthetic(), 60), _quiet)
    with pytest.raises(RetentionFitError, match="no attempted delivery"):
        fit_retention(_first(synthetic(), 0), _quiet)


def test_payload_columns_must_agree() -> None:
    """A payload whose columns differ in length is refused, naming the column."""
    bad = synthetic().model_dump()
    bad["minutes_late"] = bad["minutes_late"][:-1]
    with pytest.raises(ValueError, match="minutes_late"):
        RetentionFitPayload.model_validate(bad)


# --- the routes ---------------------------------------------------------------


def test_no_pricing_before_the_first_fit(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Before any fit, the pricing is a 404 that says what to do."""
    got = client.get(f"{URL}/pricing", headers=auth(keys[Role.planner]))
    assert got.status_code == 404
    assert got.json()["detail"] == "no fit yet: POST /v1/retention/fit"


def test_fit_without_tracked_history_fails_clearly(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """No tracked day in the window: the job fails and says why; no pricing."""
    key = keys[Role.planner]
    body = {"from": "2026-11-01", "until": "2026-11-30"}
    queued = client.post(f"{URL}/fit", json=body, headers=auth(key))
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "retention_fit"
    assert job["url"] == f"{URL}/fit/{job['id']}"
    assert queued.headers["location"] == job["url"]
    done = follow(client, job["url"], key, timeout=60)
    assert done["status"] == "failed"
    assert "no attempted delivery of a known customer" in done["error"]
    assert "2026-11-01..2026-11-30" in done["error"]
    assert done["result"] is None
    assert client.get(f"{URL}/pricing", headers=auth(key)).status_code == 404


def test_a_fit_job_stores_the_current_pricing(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A fit job on a seeded history succeeds; its pricing becomes current."""
    key = keys[Role.planner]
    queue: JobQueue = app.state.job_queue
    sessions: sessionmaker[Session] = app.state.sessionmaker
    with sessions() as session:
        row = queue.submit(session, queue.kinds.retention_fit, synthetic())
        session.commit()
        job_id = row.id
    done = follow(client, f"{URL}/fit/{job_id}", key, timeout=120)
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["n_spells"] == fitted().n_spells
    got = client.get(f"{URL}/pricing", headers=auth(key))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["job_id"] == job_id and body["status"] == "succeeded"
    assert body["from"] == START.isoformat()
    assert body["until"] == synthetic().end.isoformat()
    assert body["pricing"]["lateness_coef"] == pytest.approx(
        fitted().pricing.lateness_coef
    )
    assert set(body["pricing"]["intervals"]) == {
        "lateness_coef",
        "failure_coef",
        "churn_uplift",
    }
    assert body["customer_values"]["customers"] == len(set(synthetic().customer_id))
    values = body["customer_values"]
    assert 0 < values["median"] <= values["p90"]


def test_the_newest_fit_is_current(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Of two stored fits, the pricing is the later one's."""
    sessions: sessionmaker[Session] = app.state.sessionmaker
    first = fitted()
    second = first.model_copy(
        update={"pricing": first.pricing.model_copy(update={"lateness_coef": 0.5})}
    )
    with sessions() as session:
        store_fit(session, "job-a", synthetic(), first)
        session.commit()
    with sessions() as session:
        store_fit(session, "job-b", synthetic(), second)
        session.commit()
    got = client.get(f"{URL}/pricing", headers=auth(keys[Role.admin])).json()
    assert got["job_id"] == "job-b"
    assert got["pricing"]["lateness_coef"] == 0.5


def test_unknown_fit_job_is_404(client: TestClient, keys: dict[Role, str]) -> None:
    """A job id that is not a retention fit is a 404 problem."""
    got = client.get(f"{URL}/fit/nope", headers=auth(keys[Role.planner]))
    assert got.status_code == 404
    assert got.json()["detail"] == "no retention_fit nope"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2026-12-01", "until": "2026-11-01"}, "from"),
        ({"from": "2024-01-01", "until": "2026-11-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"until": "2026-13-01"}, "until"),
        ({"days": 3}, "days"),
    ],
)
def test_bad_windows_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], body: dict[str, Any], field: str
) -> None:
    """A window that is backwards, too long or not a date names its field."""
    got = client.post(f"{URL}/fit", json=body, headers=auth(keys[Role.planner]))
    assert got.status_code == 422, got.text
    problem = got.json()
    assert got.headers["content-type"] == "application/problem+json"
    assert field in str(problem), problem


# --- the nightly fit ------------------------------------------------------------


def test_the_nightly_time_must_be_hours_and_minutes() -> None:
    """MILEPOST_RETENTION_FIT_AT is HH:MM or unset; anything else names it."""
    assert Settings(retention_fit_at="02:30").retention_fit_at == "02:30"
    assert Settings(retention_fit_at="").retention_fit_at is None
    for bad in ("24:00", "2:30", "02:30:00", "nightly"):
        with pytest.raises(ValidationError, match="retention_fit_at"):
            Settings(retention_fit_at=bad)


def _shop(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=DEFAULT_LOCALE.zone)


def test_the_nightly_fit_is_queued_once_a_day(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """Before the time nothing; after it one job, however many processes
    look; the next day another."""
    del client  # started: the database is migrated
    nightly = settings.model_copy(update={"retention_fit_at": "02:30"})
    clock = [_shop(7, 2, 29)]
    schedules = [
        RetentionFitSchedule(
            app.state.sessionmaker, app.state.job_queue, nightly, now=lambda: clock[0]
        )
        for _ in range(2)
    ]
    assert all(s.enabled for s in schedules)
    assert [s.tick() for s in schedules] == [None, None]
    clock[0] = _shop(7, 2, 31)
    first, again = (s.tick() for s in schedules)
    assert first is not None and first.kind == "retention_fit" and again is None
    clock[0] = _shop(7, 23, 59)
    assert [s.tick() for s in schedules] == [None, None]
    clock[0] = _shop(8, 2, 30)
    assert schedules[1].tick() is not None
    assert schedules[0].tick() is None
    off = RetentionFitSchedule(
        app.state.sessionmaker, app.state.job_queue, settings, now=lambda: clock[0]
    )
    assert not off.enabled and off.tick() is None


def _city_payload(
    city: City, start: dt.date, end: dt.date, *, values: bool
) -> RetentionFitPayload:
    """The city's deliveries of ``start..end`` as a fit reads them from the
    tracked days (with or without their baskets)."""
    h = city.history[
        (city.history["delivery_date"] >= pd.Timestamp(start))
        & (city.history["delivery_date"] <= pd.Timestamp(end))
    ]
    return RetentionFitPayload(
        start=start,
        end=end,
        order_id=tuple(h["order_id"].astype(str)),
        customer_id=tuple(h["customer_id"].astype(str)),
        day=tuple(d.date() for d in h["delivery_date"]),
        minutes_late=tuple(float(m) for m in h["minutes_late"]),
        failed_attempts=tuple(int(f) for f in h["failed_attempts"]),
        value=tuple(float(v) for v in h["value"]) if values else None,
    )


def test_the_retention_fit_values_customers_by_their_baskets() -> None:
    """The retention fit job's customer values, on the city's deliveries of
    a year sent with their baskets, follow each customer's latent mean basket:
    against the same fit without baskets, a customer's value moves with it
    (the customer values the plans are priced with)."""
    city = build_city(seed=2, n_customers=2_000)
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    with_baskets = fit_retention(_city_payload(city, start, end, values=True), _quiet)
    without = fit_retention(_city_payload(city, start, end, values=False), _quiet)
    counts = city.history["customer_id"].astype(str).value_counts()
    frequent = [c for c in counts.index[counts >= 12] if c in without.customer_values]
    ratio = pd.Series(
        {
            c: with_baskets.customer_values[c] / without.customer_values[c]
            for c in frequent
        }
    )
    latent = city.customers.set_index(city.customers["customer_id"].astype(str))[
        "basket"
    ]
    assert len(frequent) > 200
    assert np.corrcoef(ratio, latent[ratio.index])[0, 1] > 0.8
