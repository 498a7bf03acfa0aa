#!/usr/bin/env bash
# Set up a virtual environment, install milepost with its dev extras, and run
# every check: ruff (lint + format), mypy (strict), import layering, pytest
# (with the browser tests of tests/web: npm assets and Debian's Chromium).
# Usage: scripts/test.sh [extra pytest args]     (e.g. -m slow for slow tests)
#
# System parts (the README's "Run the tests" lists them): when missing, it
# starts PostgreSQL (pg_ctlcluster) and Mosquitto, and installs with apt-get
# nodejs + npm and chromium + fonts-noto-cjk (without recommends); those
# steps need root. MILEPOST_REQUIRE_SERVICES=1 makes a test fail, not skip,
# when PostgreSQL, Mosquitto or the web assets are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV="${MILEPOST_VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
echo "== installing milepost[dev]"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy" routing forecasting tracking scenarios api
echo "== import layers"
"$VENV/bin/lint-imports"
echo "== postgresql"
# The service tests run against a real PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 -p 5432
fi
echo "== mosquitto"
# The MQTT ingest tests publish to a real broker on 127.0.0.1:1883.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
    for _ in $(seq 30); do
        (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
        sleep 1
    done
fi
echo "== web assets"
# The pages' browser libraries, exactly as pinned in api/web/package-lock.json.
if ! command -v npm >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        nodejs npm
fi
npm ci --prefix api/web --no-audit --no-fund --loglevel=error
echo "== chromium"
# tests/web drive Debian's Chromium; Playwright never downloads a browser.
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-noto-cjk
fi
echo "== pytest"
# Bytecode caches (__pycache__, ignored by git) are written even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): without them each worker
# compiled and assertion-rewrote every test module again (10 s of CPU each,
# measured) and every milepost process the tests start compiled the sources.
unset PYTHONDONTWRITEBYTECODE
# Three workers on two cores: a third of the run's time is spent waiting on
# the browser, the service processes and PostgreSQL (measured: 1,051 s with
# three workers, 1,176 s with two, on the 2-core machine).
MILEPOST_REQUIRE_SERVICES=1 "$VENV/bin/pytest" -n 3 "$@"
