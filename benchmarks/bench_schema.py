"""Schemathesis with every check against a real server, on a fresh database.

Run by hand (minutes; not with another benchmark)::

    .venv/bin/python benchmarks/bench_schema.py --json schema-sqlite.json
    .venv/bin/python benchmarks/bench_schema.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB \\
        --json schema-pg.json

It migrates the database, makes an admin key, starts ``milepost serve``
(jobs do not run: ``MILEPOST_JOB_WORKERS=0``, so generated plans and
scenarios queue and never solve; rate limits off, so generated bursts are
answered rather than refused) and runs ``st run --checks all`` with a fixed
seed over every operation of ``/openapi.json`` (examples, coverage, fuzzing
and stateful phases). The summary counts the failures by Schemathesis code
and operation and, separately, the 5xx answers and the responses off their
schema (``not_a_server_error``, ``response_schema_conformance``), which must
be 0. A PostgreSQL database must be empty (it is dropped and made again when
``--recreate`` is given).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from bench_api import serve  # this folder is on the path when run as a script
from sqlalchemy.engine import make_url

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.urls import libpq_conninfo

#: No solves (generated plans and scenarios queue) and no rate limits
#: (generated bursts are answered rather than refused).
QUIET = {
    "MILEPOST_JOB_WORKERS": "0",
    "MILEPOST_LOG_JSON": "false",
    "MILEPOST_RATE_LIMIT_PER_ADDRESS": "0",
}
#: Failures that would mean a broken service, not a disagreement about input.
HARD = ("Server error", "Response violates schema", "Undocumented Content-Type")


def _recreate(url: str) -> None:
    parsed = make_url(url)
    admin = libpq_conninfo(str(parsed.set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def summarise(output: str) -> dict[str, Any]:
    """Failures by code and by operation, from ``st run``'s text report."""
    by_code: dict[str, int] = {}
    for code, title, count in re.findall(
        r"❌ (ST\d+|[A-Z]\w*) ([^:\n]+): (\d+)", output
    ):
        by_code[f"{code} {title}".strip()] = int(count)
    operations: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        header = re.fullmatch(
            r"_+ ((?:GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) \S+) _+", line
        )
        if header:
            current = header.group(1)
            continue
        failure = re.fullmatch(r"- (ST\d+ .+|[A-Z][\w ]+)", line.strip())
        if current and failure:
            operations.setdefault(current, []).append(failure.group(1))
    cases = re.search(r"(\d+) generated, (\d+) found (\d+) unique failures", output)
    hard = {k: v for k, v in by_code.items() if any(h in k for h in HARD)}
    return {
        "generated": int(cases.group(1)) if cases else None,
        "unique_failures": int(cases.group(3)) if cases else 0,
        "by_code": by_code,
        "hard_failures": hard,
        "operations": operations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL (default: SQLite file)")
    parser.add_argument("--recreate", action="store_true", help="drop and create it")
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="milepost-schema-"))
    url = args.database_url or f"sqlite:///{folder / 'milepost.db'}"
    if args.recreate and args.database_url:
        _recreate(url)
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, Role.admin, "schemathesis")
    engine.dispose()
    server = serve(url, args.port, folder / "serve.log", settings=QUIET)
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"http://127.0.0.1:{args.port}/openapi.json",
        "--checks",
        "all",
        "-H",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--no-color",
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        server.terminate()
        server.wait(30)
    output = done.stdout + done.stderr
    (folder / "st.out").write_text(output)
    summary = {
        "database": make_url(url).get_backend_name(),
        "seconds": round(time.monotonic() - started, 1),
        "max_examples": args.max_examples,
        "seed": args.seed,
        "report": str(folder / "st.out"),
        **summarise(output),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if not args.json:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
