"""docs/tutorial-your-operation.md, run: a non-Korean operation end to end.

The tutorial's ``milepost`` commands run as written (from a folder where
``../shared`` is the data folder next to the repository), with its
``export`` lines as the environment and a fresh PostgreSQL database; its
``curl`` calls are replayed against the service built from that same
environment. Each step's result is checked: the import, the calendar with
Germany's public holidays, a 28-day forecast of the stored history against
what happened, the fleet, and a day planned on Baltimore's roads in Berlin
time and euros.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.routes.test_plans import wait_plan
from tests.helpers import ROOT, SHARED
from tests.test_docs_commands import shell_commands

DOC = ROOT / "docs" / "tutorial-your-operation.md"
START = dt.date(2015, 7, 4)
DAY = dt.date(2015, 7, 6)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SHARED / "datasets" / "rossmann_100stores").is_dir(),
        reason="needs ../shared/datasets (Rossmann and the Baltimore roads)",
    ),
]


def _exports(commands: list[str], database_url: str) -> dict[str, str]:
    """The tutorial's ``export`` lines, its database swapped for a fresh one."""
    env: dict[str, str] = {}
    for command in commands:
        if command.startswith("export "):
            for pair in shlex.split(command)[1:]:
                name, _, value = pair.partition("=")
                env[name] = value
    assert env["MILEPOST_DATABASE_URL"].startswith("postgresql")
    env["MILEPOST_DATABASE_URL"] = database_url
    return env


def _run(work: Path, command: str, env: dict[str, str]) -> str:
    """A ``milepost`` command of the tutorial; its output (exit 0 asserted)."""
    args = shlex.split(command)[1:]
    done = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "milepost"), *args],
        cwd=work,
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _curl(client: TestClient, command: str, key: str, work: Path) -> Any:
    """Replay a ``curl`` line of the tutorial through ``client``."""
    args = shlex.split(command.replace("$KEY", key))[1:]
    method, headers, body, url = None, {}, None, ""
    it = iter(args)
    for arg in it:
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data-binary"):
            data = next(it)
            body = (work / data[1:]).read_bytes() if data.startswith("@") else data
        else:
            url = arg
    path = url.removeprefix("localhost:8000")
    method = method or ("POST" if body is not None else "GET")
    return client.request(method, path, content=body, headers=headers)


def _follow(client: TestClient, url: str, key: str) -> Any:
    deadline = time.monotonic() + 600
    while True:
        body = client.get(url, headers={"Authorization": f"Bearer {key}"}).json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(1.0)


def _actual_orders(history: Path) -> dict[str, int]:
    """Orders placed per zone in the forecast's 28 days, from the file."""
    last = START + dt.timedelta(days=27)
    counts: dict[str, int] = {}
    with history.open() as handle:
        for row in csv.DictReader(handle):
            day = dt.date.fromisoformat(row["created_at"][:10])
            if START <= day <= last:
                counts[row["zone"]] = counts.get(row["zone"], 0) + 1
    return counts


def test_the_tutorial_runs_a_german_operation_end_to_end(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = shell_commands(DOC)
    env = _exports(commands, pg_url)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    milepost = [c for c in commands if c.startswith(".venv/bin/milepost ")]
    curls = [c for c in commands if c.startswith("curl ")]

    # 1-3: the files, the import, the calendar (the command line).
    outputs = {c.split()[1] + " " + c.split()[2]: _run(work, c, env) for c in milepost
               if c.split()[1] != "serve" and "keys create" not in c}  # fmt: skip
    assert "112,656 orders of 10 zones" in outputs["history rossmann"]
    assert (
        "112,656 orders read: 112,656 inserted, 0 updated, 0 unchanged"
        in outputs["history import"]
    )
    assert "merged with the public holidays of DE-NW" in outputs["history calendar"]
    assert "2013-01-02 to 2015-07-31 (Europe/Berlin)" in outputs["history show"]

    # 4: the service, built from the same environment; a key as the CLI makes.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(work)
    from api.app import create_app
    from api.auth import Role
    from api.settings import get_settings
    from tests.api.conftest import make_keys

    app = create_app(get_settings())
    with TestClient(app) as client:
        key = make_keys(app)[Role.admin]
        _service_steps(client, key, curls, work)


def _service_steps(client: TestClient, key: str, curls: list[str], work: Path) -> None:
    depot_1, depot_2, calendar, summary, forecast, van, orders, plan = curls
    for line in (depot_1, depot_2):
        assert _curl(client, line, key, work).status_code == 201
    stored = _curl(client, calendar, key, work)
    assert stored.status_code == 200, stored.text
    assert (stored.json()["count"], stored.json()["country"]) == (1069, "DE")
    assert stored.json()["subdivision"] == "NW"
    seen = _curl(client, summary, key, work).json()
    assert seen["rows"] == 112_656 and len(seen["zones"]) == 10

    # 5: 28 days forecast from the API, against what the stores sold.
    queued = _curl(client, forecast, key, work)
    assert queued.status_code == 202, queued.text
    done = _follow(client, queued.json()["url"], key)
    assert done["status"] == "succeeded", done.get("error")
    result = done["result"]
    assert result["source"] == "stored" and result["start"] == START.isoformat()
    assert result["fallbacks"] == [] and result["unsized"] == []
    zones: dict[str, float] = {}
    for z in result["zones"]:
        assert z["model_used"] == "GlobalGBM"
        zones[z["zone"]] = zones.get(z["zone"], 0.0) + z["orders"]
        if dt.date.fromisoformat(z["day"]).weekday() == 6:
            assert z["orders"] < 1  # the stores are closed on Sundays
    actual = _actual_orders(work / "rossmann-operation" / "history.csv")
    assert set(zones) == set(actual) and len(zones) == 10
    wape = sum(abs(zones[z] - actual[z]) for z in zones) / sum(actual.values())
    assert wape < 0.25, wape
    fleet = {(f["depot"], f["day"]): f for f in result["fleet"]}
    assert {d for d, _ in fleet} == {"depot-1", "depot-2"}
    for row in fleet.values():
        assert row["fallback"] is None
        assert (row["vans"] > 0) == (row["planned_orders"] > 0)
    vans = fleet[("depot-1", DAY.isoformat())]["vans"]
    assert vans >= 1

    # 6: the fleet's vans, the day's orders, a plan on the roads.
    body = json.loads(shlex.split(van)[-2])
    for i in range(vans):
        sent = client.post(
            "/v1/vehicles",
            json={**body, "id": f"van-{i + 1}"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert sent.status_code == 201, sent.text
    batch_file = work / "rossmann-operation" / "orders-2015-07-06.json"
    batch = json.loads(batch_file.read_text())
    ours = [o["job"]["id"] for o in batch["orders"] if o["depot_id"] == "depot-1"]
    assert _curl(client, orders, key, work).status_code == 201
    queued = _curl(client, plan, key, work)
    assert queued.status_code == 202, queued.text
    made = wait_plan(client, key, queued.json()["url"])
    assert made["status"] == "draft", made.get("job")
    assert made["currency"] == "EUR"
    routes = made["plan"]["routes"]
    assert made["plan"]["travel"]["kind"] == "road"
    assert made["plan"]["travel"]["path"].endswith("baltimore_drive.graphml.gz")
    served = {s["id"] for r in routes for s in r["steps"] if s["type"] == "job"}
    assert served == set(ours) and not made["plan"]["unassigned"]
    assert 1 <= len(routes) <= vans
