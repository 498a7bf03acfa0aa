"""The service under load: live ETA reads against a bare endpoint, and ingest.

Run by hand, alone on the machine (``wrk`` from Debian's package), between
08:00 and 19:00 Seoul time (23:00-10:00 UTC) so that "now" falls inside the
live day's working hours (else pass ``--at``)::

    apt-get install -y wrk
    .venv/bin/python benchmarks/bench_api.py --orders 100000 --api-processes 2 \
        --json api.json
    .venv/bin/python benchmarks/bench_api.py --orders 100000 --api-processes 2 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB \
        --json api-pg.json

What it does:

1. **Seeds** a fresh database (SQLite file by default, ``--database-url``
   for PostgreSQL) with ``--orders`` orders: one live day of the embedded
   city on today's date in Seoul (``--live`` orders, planned with the
   routing engine, registered for tracking, and driven by the day executor
   until the live clock, so vans have positions, stops done and ETAs to
   compute) and delivered orders of past days for the rest (orders and
   their status histories). The live clock is the local time of seeding:
   ETAs are asked for "now" (no ``at``), as a storefront does, so the
   service's own clock, which moves on every ETA_REFRESH (10 s) for every
   route at once, is under test. ``--at SECONDS`` instead stores the events
   up to that second and asks every ETA for it (runs at any hour compare;
   the clock step is then never crossed).
2. Starts ``milepost serve`` (one uvicorn worker, JSON logs to a file) in its
   own process.
3. **Throughput**: ``wrk`` (one thread, ``--connections``) for
   ``--seconds`` on ``GET /v1/orders/{id}/eta`` (cycling through the live
   orders) and on ``GET /healthz`` (does nothing) with the same key header,
   server and config, so the ratio is our overhead; ``--rounds`` pairs of
   windows, the pair with the median ratio reported.
4. **Latency at a fixed rate**: an open-loop client sends ``--rate``
   (default 200) requests/s to the ETA endpoint for ``--latency-seconds``
   (default 60: six clock steps), then to the bare one for ``--seconds``;
   latency counts from the moment a request was due, so a stalled server is
   not hidden (coordinated omission). Reported: p50, p99, max and the
   requests over 100 ms, for the whole phase and per second of the 10 s
   clock step the requests were due in (``by_second_of_step``: a stall at
   the step shows in second 0).
5. **API processes** (``--api-processes N``, N > 1): the server is restarted
   as ``milepost serve --workers N`` on the same database and the ETA and
   bare throughput windows of 3. run again; ``processes_eta_speedup`` is N
   processes' ETA requests/s over one's.
6. **Ingest** (one process again): ``--ingest-clients`` clients post batches
   of ``--batch`` position events for ``--seconds``; then every
   acknowledged event id is looked up in the database.

A short check: ``--orders 20000 --seconds 10 --latency-seconds 30``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_dispatch import OrderRow
from api.db.tables_tracking import EventRow, OrderStatusRow
from api.services.ingest import ingest_and_commit
from api.services.tracking import ETA_REFRESH, now_seconds, register_plan
from routing.bench.vrptw import machine
from routing.locale import DEFAULT_LOCALE
from routing.model import Job, Problem
from routing.plan import Plan
from routing.solver import SolveParams, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem
from scenarios.execution import execute_day
from tracking.status import OrderState, OrderStatus

#: The live day is today in Seoul; ETAs are asked for "now" on it (the
#: service rounds it down to ETA_REFRESH, so within those 10 s every request
#: of a route shares one computation), or for ``--at``.
LIVE_DAY = dt.datetime.now(DEFAULT_LOCALE.zone).date()
INGEST_DAY = LIVE_DAY + dt.timedelta(days=1)
HISTORY_DAYS = 60
INSERT_CHUNK = 5_000


# -- seeding ----------------------------------------------------------------------


def _delivered(order_id: str, at: int) -> dict[str, Any]:
    status = OrderStatus.new(order_id, at=at - 40_000)
    for state, dt_s in (
        (OrderState.PLANNED, 30_000),
        (OrderState.DISPATCHED, 12_000),
        (OrderState.OUT_FOR_DELIVERY, 8_000),
        (OrderState.ARRIVING, 600),
        (OrderState.DELIVERED, 0),
    ):
        status = status.advance(state, at=at - dt_s, cause="history")
    return status.model_dump(mode="json")


def _order_row(
    order_id: str, day: dt.date, spec: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    return {
        "id": order_id,
        "day": day,
        "depot_id": None,
        "customer_id": None,
        "spec": spec,
        "tracking_token": secrets.token_urlsafe(24),
        "active": True,
        "created_at": now,
        "updated_at": now,
    }


def seed(
    url: str, orders: int, live: int, at: int | None, seconds: float
) -> tuple[list[str], int]:
    """Fill the database; return the live order ids."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    city = build_city(seed=0)
    problem = day_problem(city, LIVE_DAY, live, seed=0)
    t0 = time.perf_counter()
    plan = solve(problem, params=SolveParams(time_limit=seconds))
    print(
        f"live day: {len(problem.jobs)} orders, {len(plan.routes)} routes, "
        f"planned in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    now = dt.datetime.now(dt.UTC)
    # "Now" (no --at): the live day is driven until the local time of this
    # moment, so the ETAs asked for "now" during the run see its vans as
    # they were a minute or two before.
    clock = now_seconds(LIVE_DAY, DEFAULT_LOCALE.zone) if at is None else at
    _seed_live_day(sessions, problem, plan, clock, now)
    _seed_history(sessions, problem.jobs, orders - len(problem.jobs), now)
    if engine.dialect.name == "postgresql":
        # The statistics and visibility map a settled database has, so the
        # server's own autovacuum of the fresh rows does not run during the
        # measurements.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return [job.id for job in problem.jobs], clock


def _seed_live_day(
    sessions: sessionmaker[Session],
    problem: Problem,
    plan: Plan,
    at: int,
    now: dt.datetime,
) -> None:
    """Store the live day's orders and plan, and its events up to ``at``."""
    with sessions.begin() as session:
        session.execute(
            insert(OrderRow),
            [
                _order_row(job.id, LIVE_DAY, job.model_dump(mode="json"), now)
                for job in problem.jobs
            ],
        )
        register_plan(
            session,
            day=LIVE_DAY,
            plan_id="bench-live",
            plan=plan,
            problem=problem,
            at=6 * 3600,
        )
    executed = execute_day(problem, plan, HaversineTravel(), seed=0)
    so_far = [e for e in executed.events if e.at <= at]
    with sessions() as session:
        for k in range(0, len(so_far), 500):
            ingest_and_commit(session, LIVE_DAY, so_far[k : k + 500])
    print(
        f"live day: {len(so_far)} events up to {at // 3600:02d}:{at % 3600 // 60:02d}",
        flush=True,
    )


def _seed_history(
    sessions: sessionmaker[Session], jobs: Sequence[Job], history: int, now: dt.datetime
) -> None:
    """Store ``history`` delivered orders of past days (copies of ``jobs``)."""
    t0 = time.perf_counter()
    for start in range(0, history, INSERT_CHUNK):
        count = min(INSERT_CHUNK, history - start)
        order_rows, status_rows = [], []
        for i in range(start, start + count):
            job = jobs[i % len(jobs)]
            day = LIVE_DAY - dt.timedelta(days=1 + i % HISTORY_DAYS)
            order_id = f"h{i:07d}"
            spec = job.model_dump(mode="json")
            spec["id"] = order_id
            order_rows.append(_order_row(order_id, day, spec, now))
            status_rows.append(
                {
                    "order_id": order_id,
                    "day": day,
                    "state": OrderState.DELIVERED.value,
                    "vehicle": "history",
                    "updated_at": 50_000,
                    "status": _delivered(order_id, 50_000),
                }
            )
        with sessions.begin() as session:
            session.execute(insert(OrderRow), order_rows)
            session.execute(insert(OrderStatusRow), status_rows)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(OrderRow))
    print(
        f"history: {history} delivered orders in {time.perf_counter() - t0:.1f} s; "
        f"{total} orders stored",
        flush=True,
    )


def make_key(url: str, role: Role) -> str:
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, role, "bench")
    engine.dispose()
    return key


# -- the server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(
    url: str,
    port: int,
    log: Path,
    processes: int = 1,
    settings: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``milepost serve`` (``--workers processes``), once it answers ``/readyz``.

    ``settings`` adds ``MILEPOST_*`` variables to its environment.
    """
    env = {
        **os.environ,
        "MILEPOST_DATABASE_URL": url,
        "MILEPOST_LOG_JSON": "true",
        # One key from one address drives every request: the bench measures
        # serving, so the per-key rate limit (2,000/s by default) is off.
        "MILEPOST_RATE_LIMIT_PER_KEY": "0",
        **(settings or {}),
    }
    milepost = Path(sys.executable).with_name("milepost")
    command = [str(milepost), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*command, "--workers", str(processes)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                if processes > 1:
                    # The first worker answers before the others are up.
                    time.sleep(3)
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start; see {log}")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


# -- load -------------------------------------------------------------------------

_WRK_SCRIPT = """
local paths = {%s}
local i = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(
    port: int,
    paths: list[str],
    key: str,
    seconds: float,
    connections: int,
    folder: Path,
) -> dict[str, Any]:
    """Closed-loop throughput with wrk; requests/s and latency percentiles."""
    script = folder / "paths.lua"
    listed = ",".join(json.dumps(p) for p in paths)
    script.write_text(_WRK_SCRIPT % (listed, key))
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": rps,
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


#: Latency over this counts as a stall in the fixed-rate phase.
SLOW_MS = 100.0


def _summary(latencies: list[float]) -> dict[str, Any]:
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0}
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "max_ms": round(latencies[-1], 2),
        "over_100ms": sum(x > SLOW_MS for x in latencies),
    }


async def _open_loop(
    port: int, paths: list[str], key: str, rate: float, seconds: float, pool: int
) -> dict[str, Any]:
    """Send ``rate`` requests/s on keep-alive connections; latency from due time.

    Besides the whole run's percentiles, the requests are grouped by the
    second of the 10 s clock step (ETA_REFRESH) they were due in: second 0
    follows the moment "now" moves on for every route at once.
    """
    connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    connections = asyncio.Queue()
    for _ in range(pool):
        connections.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    timed: list[tuple[float, float]] = []  # (due, wall clock; latency, ms)
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    wall = time.time() - loop.time()

    async def one(path: str, due: float) -> None:
        reader, writer = await connections.get()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {key}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        timed.append((wall + due, (loop.time() - due) * 1000))
        statuses[status] = statuses.get(status, 0) + 1
        connections.put_nowait((reader, writer))

    start = loop.time() + 0.1
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not connections.empty():
        _, writer = connections.get_nowait()
        writer.close()
    by_second: list[list[float]] = [[] for _ in range(ETA_REFRESH)]
    for at, latency in timed:
        by_second[int(at) % ETA_REFRESH].append(latency)
    return {
        "rate_asked": rate,
        "rate_sent": round(total / elapsed, 1),
        "seconds": seconds,
        "statuses": statuses,
        **_summary([latency for _, latency in timed]),
        "by_second_of_step": [_summary(part) for part in by_second],
    }


def ingest(
    port: int, key: str, seconds: float, clients: int, batch: int
) -> tuple[dict[str, Any], list[str]]:
    """Post position batches from ``clients`` threads; the acknowledged ids."""
    acked: list[list[str]] = [[] for _ in range(clients)]
    errors = [0] * clients
    run = secrets.token_hex(3)  # new ids on every run, also on a reused database
    deadline = time.perf_counter() + seconds

    def client(c: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ) as http:
            n = 0
            while time.perf_counter() < deadline:
                events = [
                    {
                        "type": "position",
                        "id": f"{run}-c{c}-b{n}-{j}",
                        "at": 8 * 3600 + n,
                        "vehicle": f"bench-{c}-{j % 20}",
                        "lat": 37.5 + j * 1e-5,
                        "lon": 127.0 + n * 1e-6,
                    }
                    for j in range(batch)
                ]
                n += 1
                r = http.post(
                    "/v1/events", json={"day": INGEST_DAY.isoformat(), "events": events}
                )
                if r.status_code == 200:
                    acked[c] += r.json()["accepted"] + r.json()["duplicates"]
                else:
                    errors[c] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    ids = [i for part in acked for i in part]
    return (
        {
            "clients": clients,
            "batch": batch,
            "seconds": round(elapsed, 1),
            "acknowledged": len(ids),
            "events_per_s": round(len(ids) / elapsed),
            "failed_requests": sum(errors),
        },
        ids,
    )


def _states(port: int, paths: list[str], key: str) -> dict[str, int]:
    """How many live orders are in each state, and how many have an ETA."""
    counts: dict[str, int] = {}
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}"},
    ) as http:
        for path in paths:
            body = http.get(path).json()
            counts[body["status"]] = counts.get(body["status"], 0) + 1
            counts["with_eta"] = counts.get("with_eta", 0) + (body["eta"] is not None)
    return counts


def durable(url: str, ids: list[str]) -> int:
    """How many of ``ids`` are stored for the ingest day."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        stored = set(
            session.scalars(select(EventRow.id).where(EventRow.day == INGEST_DAY))
        )
    engine.dispose()
    return len(set(ids) & stored)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=600)
    parser.add_argument(
        "--at",
        type=int,
        default=None,
        help="ask ETAs for this fixed second of the live day (its events up to "
        "it are stored), so runs at any hour compare; default: ask for now "
        "(no `at`, as a storefront does), the live day driven until the local "
        "time of seeding",
    )
    parser.add_argument("--plan-seconds", type=float, default=10.0)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--seconds",
        type=float,
        default=15.0,
        help="each throughput window, the bare fixed-rate phase and ingest",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pairs of ETA and bare throughput windows; the median pair is reported",
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=60.0,
        help="the ETA fixed-rate phase (several 10 s clock steps)",
    )
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="also measure ETA throughput with `milepost serve --workers N` "
        "(N > 1), on the same database, after the one-process phases",
    )
    parser.add_argument("--ingest-clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--json", type=Path)
    return parser.parse_args()


def _throughput(
    port: int, eta_paths: list[str], reader: str, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """ETA and bare throughput windows, alternating; the median pair is kept."""
    # ETA and bare windows alternate, so a change in the machine's speed
    # (seen here: 1.5x within minutes) shows in both sides of a ratio.
    rounds: list[dict[str, Any]] = []
    for k in range(args.rounds):
        pair: dict[str, Any] = {}
        for name, paths in (("eta", eta_paths), ("bare", ["/healthz"])):
            got = wrk(port, paths, reader, args.seconds, args.connections, folder)
            pair[name] = got
            print(f"round {k + 1} throughput {name}: {got}", flush=True)
        pair["ratio"] = round(
            pair["eta"]["requests_per_s"] / pair["bare"]["requests_per_s"], 3
        )
        rounds.append(pair)
    middle = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    return {
        "throughput_rounds": rounds,
        "throughput_eta": middle["eta"],
        "throughput_bare": middle["bare"],
        "throughput_ratio": middle["ratio"],
    }


def _clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _processes(
    url: str,
    processes: int,
    eta_paths: list[str],
    reader: str,
    args: argparse.Namespace,
    folder: Path,
) -> dict[str, Any]:
    """ETA and bare throughput with ``processes`` API processes."""
    port = free_port()
    server = serve(url, port, folder / f"server-{processes}.log", processes)
    try:
        wrk(port, eta_paths, reader, 3, args.connections, folder)  # warm caches
        got = _throughput(port, eta_paths, reader, args, folder)
    finally:
        stop(server)
    print(f"{processes} API processes: {got['throughput_eta']}", flush=True)
    return got


def main() -> None:
    args = _arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    folder = Path(tempfile.mkdtemp(prefix="milepost-bench-api-"))
    url = args.database_url or f"sqlite:///{folder / 'milepost.db'}"
    live, clock = seed(url, args.orders, args.live, args.at, args.plan_seconds)
    if not 8 * 3600 <= clock <= 19 * 3600:
        print(
            f"warning: the live day's clock is {_clock_text(clock)} in Seoul, "
            "outside its vans' working hours: few orders have a live ETA "
            "(run between 08:00 and 19:00 Seoul time, or pass --at)",
            flush=True,
        )
    reader = make_key(url, Role.storefront)
    # Each ingest client reports for 20 vans at once, more than a device key
    # (bound to one van or one depot's stored vans) may: a dispatcher's key.
    device = make_key(url, Role.dispatcher)
    port = free_port()
    server = serve(url, port, folder / "server.log")
    results: dict[str, Any] = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": url.split(":", 1)[0],
        "orders": args.orders,
        "live_orders": len(live),
        "asked_for": "now" if args.at is None else args.at,
        "live_clock": _clock_text(clock),
    }
    query = "" if args.at is None else f"?at={args.at}"
    eta_paths = [f"/v1/orders/{o}/eta{query}" for o in live]
    try:
        results["live_states"] = _states(port, eta_paths, reader)
        print("live orders by state:", results["live_states"], flush=True)
        check = httpx.get(
            f"http://127.0.0.1:{port}{eta_paths[0]}",
            headers={"Authorization": f"Bearer {reader}"},
        )
        print("sample ETA:", check.status_code, check.text[:300], flush=True)
        wrk(port, eta_paths, reader, 3, args.connections, folder)  # warm caches
        results.update(_throughput(port, eta_paths, reader, args, folder))
        for name, paths, seconds in (
            ("eta", eta_paths, args.latency_seconds),
            ("bare", ["/healthz"], args.seconds),
        ):
            got = asyncio.run(_open_loop(port, paths, reader, args.rate, seconds, 32))
            results[f"fixed_rate_{name}"] = got
            brief = {k: v for k, v in got.items() if k != "by_second_of_step"}
            print(f"fixed rate {name}: {brief}", flush=True)
            for second, part in enumerate(got["by_second_of_step"]):
                print(f"  second {second} of the 10 s step: {part}", flush=True)
        if args.api_processes > 1:
            stop(server)
            one = results["throughput_eta"]["requests_per_s"]
            many = _processes(url, args.api_processes, eta_paths, reader, args, folder)
            results[f"processes_{args.api_processes}"] = many
            results["processes_eta_speedup"] = round(
                many["throughput_eta"]["requests_per_s"] / one, 3
            )
            print(
                f"ETA throughput, {args.api_processes} API processes vs 1: "
                f"x{results['processes_eta_speedup']}",
                flush=True,
            )
            server = serve(url, port, folder / "server.log")
        got, ids = ingest(port, device, args.seconds, args.ingest_clients, args.batch)
        got["durable"] = durable(url, ids)
        results["ingest"] = got
        print(f"ingest: {got}", flush=True)
    finally:
        stop(server)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
