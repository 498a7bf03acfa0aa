"""The command-line package stays quick to load and easy to read.

``milepost --help`` imports every command module; the numeric libraries and
the engines are imported inside the commands. Repeated defaults (kept in the
CLI so that the help does not import the libraries) must equal the
libraries' own.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[3] / "api" / "cli"
HEAVY = ("pandas", "ortools", "pyvrp", "matplotlib", "scipy", "numpy", "lightgbm")
MAX_LINES = 60


def test_importing_the_cli_loads_no_heavy_library() -> None:
    """``import api.cli`` (what ``milepost --help`` does) loads none of HEAVY."""
    code = (
        "import json, sys, api.cli\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


def test_help_lists_the_commands_without_heavy_imports() -> None:
    """``milepost --help`` runs in a fresh interpreter without loading HEAVY."""
    code = (
        "import sys, api.cli\n"
        "try:\n"
        "    api.cli.app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "reoptimize" in done.stdout
    assert "HEAVY []" in done.stdout


def _functions() -> list[tuple[str, int]]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                found.append((f"{path.name}:{node.name}", node.end_lineno - first + 1))
    return found


def test_no_cli_function_is_longer_than_60_lines() -> None:
    """First decorator to last line, docstring included."""
    functions = _functions()
    assert len(functions) > 50
    long = {name: n for name, n in functions if n > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize(
    ("cli_value", "library"),
    [
        ("api.cli.common:DEFAULT_CACHE_DIR", "routing.travel.cache:DEFAULT_CACHE_DIR"),
        ("api.cli.amazon:DEFAULT_SPEED_KMH", "routing.io.amazon:DEFAULT_SPEED_KMH"),
        ("api.cli.amazon:DEFAULT_DETOUR", "routing.io.amazon:DEFAULT_DETOUR"),
        ("api.cli.bench_eta:LEARN_ONLY_DAYS", "scenarios.bench.eta:LEARN_ONLY_DAYS"),
        ("api.cli.bench_sizing:QUANTILES", "scenarios.sizing_backtest:QUANTILES"),
        ("api.cli.bench_sizing:SPAN", "scenarios.sizing_backtest:SPAN"),
        ("api.cli.bench_sizing:STEP", "scenarios.sizing_backtest:STEP"),
        ("api.cli.bench_pdptw:ENGINES", "routing.bench.pdptw:ENGINES"),
        ("api.cli.bench_pdptw:OBJECTIVES", "routing.bench.pdptw:OBJECTIVES"),
    ],
)
def test_repeated_defaults_match_the_libraries(cli_value: str, library: str) -> None:
    """A default the CLI repeats for a cheap help is the library's own."""
    import importlib

    def value(ref: str) -> object:
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)

    assert value(cli_value) == value(library)


def test_amazon_default_folder_help_names_the_library_default() -> None:
    """The help's default folder is where ``routing.io.amazon`` looks."""
    from api.cli.amazon import DEFAULT_FOLDER_HELP
    from routing.io.amazon import DEFAULT_FOLDER

    assert DEFAULT_FOLDER.as_posix().endswith(DEFAULT_FOLDER_HELP.removeprefix(".."))
