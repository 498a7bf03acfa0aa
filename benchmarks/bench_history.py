"""Importing a big order history: ``milepost history import`` end to end.

Run by hand (a minute; not with another benchmark)::

    .venv/bin/python benchmarks/bench_history.py --rows 100000 --json history.json
    .venv/bin/python benchmarks/bench_history.py --rows 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB

It writes a seeded history CSV of ``--rows`` orders (25 zones, 3 depots,
about a year), then times three runs of the command on a fresh database:
the first import (every row inserted), the same file again (every row
unchanged) and the file with every outcome changed (every row updated).
The target is under 30 s each. A PostgreSQL database must be empty (it is
dropped and made again).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
MILEPOST = Path(sys.prefix) / "bin" / "milepost"
HEADER = "order_id,created_at,delivered_at,zone,lat,lon,depot,promotions,outcome"


def write_history(path: Path, rows: int, seed: int, outcome: str) -> None:
    """``rows`` orders over a year from 2025-01-01, local times without offset."""
    rng = np.random.default_rng(seed)
    # Local times without an offset: the import reads them in its timezone.
    start = dt.datetime(2025, 1, 1)  # noqa: DTZ001
    minutes = np.sort(rng.integers(0, 365 * 24 * 60, size=rows))
    zones = rng.integers(0, 25, size=rows)
    late = rng.integers(12 * 60, 36 * 60, size=rows)
    lat = 37.45 + rng.random(rows) * 0.2
    lon = 126.85 + rng.random(rows) * 0.3
    promo = rng.random(rows) < 0.1
    with path.open("w") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            made = start + dt.timedelta(minutes=int(minutes[i]))
            came = made + dt.timedelta(minutes=int(late[i]))
            out.write(
                f"o{i:07d},{made:%Y-%m-%dT%H:%M},{came:%Y-%m-%dT%H:%M},"
                f"zone-{zones[i]:02d},{lat[i]:.5f},{lon[i]:.5f},"
                f"depot-{zones[i] % 3},{'coupon' if promo[i] else ''},{outcome}\n"
            )


def _fresh(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = parsed.set(drivername="postgresql", database="postgres")
    name = parsed.database
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def _run(url: str, path: Path) -> tuple[float, str]:
    env = {**os.environ, "MILEPOST_DATABASE_URL": url}
    began = time.perf_counter()
    done = subprocess.run(
        [str(MILEPOST), "history", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr}")
    return seconds, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="milepost-history-"))
    url = args.database_url or f"sqlite:///{folder / 'milepost.db'}"
    _fresh(url)
    first, changed = folder / "history.csv", folder / "history-changed.csv"
    write_history(first, args.rows, args.seed, "delivered")
    write_history(changed, args.rows, args.seed, "returned")
    results: dict[str, Any] = {
        "rows": args.rows,
        "bytes": first.stat().st_size,
        "database": make_url(url).get_backend_name(),
    }
    for name, path in (("insert", first), ("unchanged", first), ("update", changed)):
        seconds, said = _run(url, path)
        results[name] = {"seconds": round(seconds, 2), "output": said}
        print(f"{name:>9}: {seconds:6.2f} s  {said}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
