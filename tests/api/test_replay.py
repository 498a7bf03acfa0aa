"""The operator-day replay: its late-risk rule, its schedule, and a short day.

The rule and the schedule are pure and run by default. The replay itself
(``test_a_short_replayed_day_loses_nothing``) starts ``milepost serve`` on
PostgreSQL with MQTT: it is slow and needs both services.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.replay import (
    DEFAULT_SERVER,
    LATE_HORIZON,
    LATE_TOLERANCE,
    ReplayConfig,
    ScheduleShares,
    build_schedule,
    late_risk,
    promised_window_end,
    run_replay,
)
from api.replay.schedule import (
    Breakdown,
    Cancellation,
    DoorFailure,
    ExchangeOrder,
    LateStart,
    Rebooking,
    SensorExcursion,
    Slowdown,
    UrgentOrder,
)
from routing.model import Job, Location, TimeWindow
from scenarios.city.geography import DISTRICTS
from tests.helpers import service_missing

SEEDED = settings(derandomize=True, deadline=None, database=None, max_examples=200)


# -- the late-risk rule --------------------------------------------------------------


def test_late_risk_is_p90_past_the_window_end_by_more_than_the_tolerance() -> None:
    """At the tolerance exactly it is not at risk; one second more it is."""
    end = 12 * 3600
    assert not late_risk(end + LATE_TOLERANCE, end)
    assert late_risk(end + LATE_TOLERANCE + 1, end)
    assert not late_risk(end + 300, end, tolerance=300)
    assert late_risk(end + 301, end, tolerance=300)
    assert not late_risk(10**6, None), "an order without a window is never late"


def test_late_risk_judges_only_windows_ending_within_the_horizon() -> None:
    """A window ending more than the horizon after now is not judged yet;
    without ``now`` (or with no horizon) every window is."""
    now, end = 10 * 3600, 10 * 3600 + LATE_HORIZON
    assert late_risk(end + 3600, end, now=now)
    assert not late_risk(end + 3600, end + 1, now=now)
    assert late_risk(end + 3600, end + 1, now=now, horizon=None)
    assert late_risk(end + 3600, end + 1)


def test_late_risk_refuses_a_negative_tolerance() -> None:
    """A negative tolerance is a mistake, named."""
    with pytest.raises(ValueError, match="tolerance"):
        late_risk(0, 0, tolerance=-1)


@SEEDED
@given(
    p90=st.integers(-86_400, 3 * 86_400),
    end=st.integers(0, 2 * 86_400),
    later=st.integers(0, 7200),
    tolerance=st.integers(0, 3600),
)
def test_late_risk_is_monotone(p90: int, end: int, later: int, tolerance: int) -> None:
    """A later P90 or an earlier window end never makes an order safer;
    a larger tolerance never makes it riskier."""
    risky = late_risk(p90, end, tolerance=tolerance)
    assert late_risk(p90 + later, end, tolerance=tolerance) >= risky
    assert late_risk(p90, end - later, tolerance=tolerance) >= risky
    assert late_risk(p90, end, tolerance=tolerance + later) <= risky


def test_the_promised_window_is_the_one_holding_the_planned_start() -> None:
    """With two windows, the plan's service start picks the promise."""
    windows = (
        TimeWindow(start=9 * 3600, end=11 * 3600),
        TimeWindow(start=15 * 3600, end=17 * 3600),
    )
    assert promised_window_end(windows, 10 * 3600) == 11 * 3600
    assert promised_window_end(windows, 16 * 3600) == 17 * 3600
    assert promised_window_end(windows, 12 * 3600) == 17 * 3600
    assert promised_window_end(windows, 18 * 3600) == 17 * 3600
    assert promised_window_end(windows, None) == 17 * 3600
    assert promised_window_end((), 10 * 3600) is None


# -- the schedule ---------------------------------------------------------------------


def _pool(n: int) -> list[Job]:
    return [
        Job(
            id=f"pool-{k}",
            demand=(1000, 1),
            location=Location(lat=37.5 + k * 1e-4, lon=127.0),
            service=180,
        )
        for k in range(n)
    ]


def _schedule(seed: int, n: int = 600, shares: ScheduleShares | None = None) -> list:
    return build_schedule(
        orders=[f"o{k:04d}" for k in range(n)],
        vehicles=[("v1", 8 * 3600), ("v2", 8 * 3600), ("v3", 10 * 3600)],
        urgent_pool=_pool(n // 10),
        districts=[d.name for d in DISTRICTS],
        seed=seed,
        shares=shares,
    )


def test_same_seed_same_schedule_and_another_seed_another() -> None:
    """The schedule is a function of its seed and inputs."""
    assert _schedule(3) == _schedule(3)
    assert _schedule(3) != _schedule(4)


@pytest.mark.parametrize("n", [120, 600, 2000])
def test_the_schedule_has_the_shares_the_issue_asks(n: int) -> None:
    """3% cancellations, 2% urgent orders, 5% failed attempts, one breakdown,
    one van 40 minutes late, one unforeseen slowdown, one rebooking, one
    exchange order and one sensor excursion."""
    schedule = _schedule(0, n)
    kinds = Counter(type(d) for d in schedule)
    assert kinds[Cancellation] == round(0.03 * n)
    assert kinds[UrgentOrder] == round(0.02 * n)
    assert kinds[DoorFailure] == round(0.05 * n)
    assert kinds[Breakdown] == kinds[Rebooking] == kinds[Slowdown] == 1
    assert kinds[LateStart] == 1
    assert kinds[ExchangeOrder] == kinds[SensorExcursion] == 1
    exchange = next(d for d in schedule if isinstance(d, ExchangeOrder))
    assert exchange.job.type == "exchange"
    assert exchange.job.collect == exchange.job.demand
    assert 9 * 3600 <= exchange.at < 14 * 3600
    late = next(d for d in schedule if isinstance(d, LateStart))
    assert late.minutes == 40 and late.vehicle in ("v1", "v2")
    slow = next(d for d in schedule if isinstance(d, Slowdown))
    assert not slow.slowdown.foreseen and slow.slowdown.multiplier > 1
    failing = [d.order_id for d in schedule if isinstance(d, DoorFailure)]
    assert len(set(failing)) == len(failing)
    urgent = [d.job.id for d in schedule if isinstance(d, UrgentOrder | ExchangeOrder)]
    assert len(set(urgent)) == len(urgent) and not set(urgent) & {
        f"o{k:04d}" for k in range(n)
    }
    assert [d.at for d in schedule] == sorted(d.at for d in schedule)


def test_a_schedule_without_disruptions_is_empty() -> None:
    """Shares of zero give a quiet day."""
    quiet = ScheduleShares(
        cancellations=0,
        urgent_orders=0,
        failed_attempts=0,
        breakdowns=0,
        late_starts=0,
        slowdowns=0,
        rebookings=0,
        exchanges=0,
        sensor_excursions=0,
    )
    assert _schedule(0, shares=quiet) == []


def test_the_existing_kinds_do_not_move_with_the_new_ones() -> None:
    """Exchanges and sensor excursions are drawn after the other kinds: a
    seed's cancellations, urgent orders, failures and the rest stay put."""
    old = ScheduleShares(exchanges=0, sensor_excursions=0)
    new = [
        d for d in _schedule(5) if d.kind not in ("exchange_order", "sensor_excursion")
    ]
    assert new == _schedule(5, shares=old)


def test_urgent_and_exchange_orders_carry_their_pool_job_s_basket() -> None:
    """Given the pool's baskets, each new order carries its pool job's (the
    replay sends it as the order's ``value``); without them, none."""
    pool = _pool(60)
    values = {j.id: 1_000.0 * (k + 1) for k, j in enumerate(pool)}
    common = {
        "orders": [f"o{k:04d}" for k in range(600)],
        "vehicles": [("v1", 8 * 3600)],
        "urgent_pool": pool,
        "districts": ["Jongno-gu"],
        "seed": 2,
    }
    new = [
        d
        for d in build_schedule(**common, values=values)
        if isinstance(d, UrgentOrder | ExchangeOrder)
    ]
    assert len(new) == 13
    # the k-th urgent order is the k-th pool job, the exchange the next one
    urgent = sorted(
        (d for d in new if isinstance(d, UrgentOrder)), key=lambda d: d.job.id
    )
    assert [d.value for d in urgent] == [values[j.id] for j in pool[:12]]
    exchange = next(d for d in new if isinstance(d, ExchangeOrder))
    assert exchange.value == values[pool[12].id]
    assert all(
        d.value is None
        for d in build_schedule(**common)
        if isinstance(d, UrgentOrder | ExchangeOrder)
    )


@pytest.mark.parametrize("exchanges", [0, 1])
def test_too_small_an_urgent_pool_is_refused(exchanges: int) -> None:
    """The urgent orders and exchanges come from the pool; a short pool is
    named."""
    with pytest.raises(ValueError, match="urgent_pool"):
        build_schedule(
            orders=[f"o{k}" for k in range(600)],
            vehicles=[("v1", 0)],
            urgent_pool=_pool(12 + exchanges - 1),
            districts=["Jongno-gu"],
            seed=0,
            shares=ScheduleShares(exchanges=exchanges),
        )


# -- a short replayed day (slow; PostgreSQL and Mosquitto) ---------------------


def _services_or_skip() -> None:
    try:
        psycopg.connect(
            DEFAULT_SERVER.replace("+psycopg", ""), connect_timeout=5
        ).close()
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL is not reachable ({' '.join(str(exc).split())})")
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=5).close()
    except OSError as exc:
        service_missing(f"no MQTT broker at 127.0.0.1:1883 ({exc})")


@pytest.mark.slow
def test_a_short_replayed_day_loses_nothing() -> None:
    """120 orders until 14:00 through a real service: every plan version
    passes the checker, no parcel and no acknowledged event is lost or
    duplicated, and the dispatcher re-optimised at least once."""
    _services_or_skip()
    report = run_replay(
        ReplayConfig(orders=120, until=14 * 3600, plan_seconds=3, reoptimize_seconds=1),
        server=DEFAULT_SERVER,
    ).as_dict()
    assert report["plan_versions"] >= 2
    assert report["checker_violations"] == 0, report["version_checks"]
    assert report["parcels_lost"] == 0, report["lost_orders"]
    events = report["events"]
    assert events["lost"] == 0 and events["duplicated"] == 0
    assert events["mqtt_not_stored"] == 0
    assert events["sent_http"] > 0 and events["sent_mqtt"] > 0
    reopt = report["reoptimisations"]
    assert reopt["ok"] >= 1
    # Every state the vans report is one the service accepts (a shipment
    # picked up is on board, not completed twice).
    assert reopt["ok"] == reopt["count"], reopt["failed"]
    assert report["orders_served"] > 0
    # Station deliveries go to stored stations, as a shop sends them.
    assert report["station_orders"] > 0
    kinds = {d["kind"] for d in report["disruptions"]}
    assert {"cancellation", "door_failure", "late_start", "breakdown"} <= kinds
    assert {"exchange_order", "sensor_excursion"} <= kinds
    assert report["cold_chain_orders"] > 0
    exceptions = report["service_exceptions"]
    assert exceptions["by_kind"].get("sensor_excursion", 0) >= 1, exceptions
    assert all(e["open_minutes"] >= 0 for e in exceptions["each"])
    rescue = report["rescue"]
    assert rescue["rescued"] + rescue["lost"] == rescue["parcels"]
    # Every delivery is stored with the city's basket; returns have none.
    baskets = report["baskets"]
    assert 0.8 * baskets["orders"] < baskets["with_value"] < baskets["orders"]
    assert 15_000 < baskets["mean_value"] < 60_000


def test_sigterm_stops_the_server_and_drops_its_database() -> None:
    """A replay stopped by SIGTERM (a supervisor, ``timeout``) cleans up as
    Ctrl-C does: the child server stops, its database is dropped, and the
    command says so (exit 130)."""
    _services_or_skip()
    cmd = [str(Path(sys.executable).with_name("milepost")), "replay", "--orders", "60"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    started = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("service on"):
            started = line
            break
    assert started, "the replay never said its service started"
    # "service on http://127.0.0.1:PORT, database NAME"
    port = int(started.split(":")[2].split(",")[0])
    database = started.rsplit(" ", 1)[1].strip()
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "database dropped" in out
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
    assert found is None, f"database {database} left behind"
