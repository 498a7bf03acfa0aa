#!/usr/bin/env bash
# Set up a virtual environment, install milepost with its dev extras, and run
# every check: ruff (lint + format), mypy (strict), import layering, pytest.
# Usage: scripts/test.sh [extra pytest args]     (e.g. -m slow for slow tests)
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
echo "== pytest"
"$VENV/bin/pytest" -n 2 "$@"
