"""Every loader rejects a malformed file with a message naming field and reason.

One small file per case lives in ``tests/data/malformed/<loader>/``, with the
expected message beside it in ``<case>.expected`` (each line must appear in
the error). ``tests/data/README.md`` describes the layout. The problem,
state and scenario cases are also run through the ``milepost`` command: exit
code 2, the same message, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

DATA = Path(__file__).resolve().parent / "data"
MALFORMED = DATA / "malformed"
TINY_PROBLEM = DATA / "tiny_problem.json"
TINY_PLAN = DATA / "tiny_problem.plan.json"


def _problem(path: Path) -> object:
    from routing.io import read_problem

    return read_problem(path)


def _state(path: Path) -> object:
    from api.cli.live import read_state
    from routing.io import read_problem

    return read_state(read_problem(TINY_PROBLEM), path, TINY_PLAN)


def _solomon(path: Path) -> object:
    from routing.io.vrplib import read_solomon

    return read_solomon(path)


def _scenario(path: Path) -> object:
    from scenarios.spec import load_scenario

    return load_scenario(path)


def _promotion(path: Path) -> object:
    from forecasting.calendar_io import load_promotion_file

    return load_promotion_file(path)


def _calendar(path: Path) -> object:
    from forecasting.calendar_io import load_calendar_file

    return load_calendar_file(path)


LOADERS: dict[str, Callable[[Path], object]] = {
    "problem": _problem,
    "state": _state,
    "solomon": _solomon,
    "scenario": _scenario,
    "promotion": _promotion,
    "calendar": _calendar,
}


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for expected in sorted(MALFORMED.glob("*/*.expected")):
        kind = expected.parent.name
        (data,) = [
            p for p in expected.parent.glob(expected.stem + ".*") if p != expected
        ]
        cases.append((kind, data))
    return cases


CASES = _cases()


def _expected(path: Path) -> list[str]:
    text = path.with_suffix(".expected").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line]


def test_every_loader_has_cases_and_every_case_a_loader() -> None:
    """Each folder is a loader; each data file has its expected message."""
    assert {kind for kind, _ in CASES} == set(LOADERS)
    data_files = {
        p for p in MALFORMED.glob("*/*") if p.suffix != ".expected" and p.is_file()
    }
    assert data_files == {path for _, path in CASES}


@pytest.mark.parametrize(
    ("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES]
)
def test_loader_rejects_with_field_and_reason(kind: str, path: Path) -> None:
    """The loader raises (InputError, ScenarioError or ValueError) and says why."""
    with pytest.raises(ValueError) as caught:
        LOADERS[kind](path)
    message = str(caught.value)
    for line in _expected(path):
        assert line in message
    assert "!r}" not in message and "{value" not in message  # no raw template


def _cli(kind: str, path: Path) -> list[str]:
    if kind == "problem":
        return ["plan", str(path)]
    if kind == "state":
        return ["reoptimize", str(TINY_PROBLEM), str(path), "--plan", str(TINY_PLAN)]
    return ["simulate", str(path)]


CLI_CASES = [(k, p) for k, p in CASES if k in ("problem", "state", "scenario")]


@pytest.mark.parametrize(
    ("kind", "path"), CLI_CASES, ids=[f"{k}/{p.name}" for k, p in CLI_CASES]
)
def test_cli_exits_2_with_the_message(
    kind: str, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``milepost plan|reoptimize|simulate <bad file>`` exits 2 and says why."""
    from api.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, _cli(kind, path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    output = " ".join(result.output.split())  # the terminal may wrap long lines
    for line in _expected(path):
        assert " ".join(line.split()) in output
    assert list(tmp_path.iterdir()) == []
