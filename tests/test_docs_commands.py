"""Every shell command in the README and docs/ runs as written.

The fenced ``sh`` blocks of ``README.md`` and ``docs/*.md`` are read line by
line (``\\`` continues a line, ``#`` starts a comment, ``&&`` separates
commands). Each ``.venv/bin/milepost`` command runs, in the order of its
document, in a scratch folder where ``docs/`` and ``scenarios/`` are the
repository's and ``.venv`` is this interpreter's environment; it must exit
0. The others are listed in ``ELSEWHERE`` with where they are exercised (a
command in a block that is in neither place fails this test), and the
benchmark and service commands, which run for minutes or until stopped,
are parsed with their options (``PARSED_ONLY``) rather than run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.helpers import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Commands run elsewhere, by prefix: where.
ELSEWHERE = {
    "python3.11 -m venv .venv": "tests/test_newcomer.py (a clean clone)",
    ".venv/bin/pip install -e": "tests/test_newcomer.py (a clean clone)",
    "scripts/test.sh": "is the CI run itself",
    "apt-get install": "scripts/test.sh (system packages, as root)",
    "npm ci --prefix api/web": "scripts/test.sh, before pytest",
    ".venv/bin/pytest": "the test suite itself",
    "curl ": "the service tests (tests/api) call every route",
    "export MILEPOST_": "tests/api/test_tutorial_operation.py runs with them",
    "mosquitto -c deploy/mosquitto/milepost.conf": (
        "tests/api/test_mqtt_broker.py starts a broker with the shipped config"
    ),
}
#: milepost commands only parsed: benchmarks (minutes, data sets next to the
#: repository), the service and its job worker (run until stopped;
#: tests/serve.py starts them) and the day replay (minutes, PostgreSQL and
#: MQTT; tests/api/test_replay.py runs it).
PARSED_ONLY = ("bench", "serve", "worker", "replay")
#: Documents whose commands another test runs, with their own settings and
#: data: which.
RUN_BY = {
    "tutorial-your-operation.md": "tests/api/test_tutorial_operation.py (slow: "
    "../shared data, PostgreSQL, the export lines as its environment)",
}


def shell_commands(document: Path) -> list[str]:
    """The commands of the document's ``sh`` blocks, in order."""
    commands: list[str] = []
    block: list[str] | None = None
    for line in document.read_text(encoding="utf-8").splitlines():
        if block is None:
            if re.fullmatch(r"```(sh|bash|shell)\s*", line):
                block = []
            continue
        if line.startswith("```"):
            text = "\n".join(block).replace("\\\n", " ")
            for command in text.splitlines():
                command = re.sub(r"\s+#.*$", "", command).strip()
                commands += [c.strip() for c in command.split("&&") if c.strip()]
            block = None
            continue
        block.append(line)
    return commands


def _documents_with_commands() -> list[Path]:
    return [d for d in DOCUMENTS if shell_commands(d) and d.name not in RUN_BY]


def _parse(app: typer.Typer, args: list[str]) -> None:
    """Resolve the subcommands and parse every option (nothing runs)."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("milepost", list(args))
    while hasattr(command, "resolve_command"):  # a group: descend
        protected = getattr(ctx, "_protected_args", None)
        if protected is None:
            protected = getattr(ctx, "protected_args", [])
        rest = [*protected, *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        assert command is not None, f"no command {name}"
        ctx = command.make_context(name or "", rest, parent=ctx)


def _workdir(tmp: Path) -> Path:
    for name in ("docs", "scenarios"):
        (tmp / name).symlink_to(ROOT / name)
    (tmp / ".venv").symlink_to(Path(sys.prefix))
    return tmp


def test_every_document_command_is_run_or_covered() -> None:
    """No command in a block is outside what the tests here run or list."""
    for document in DOCUMENTS:
        for command in shell_commands(document):
            assert command.startswith(".venv/bin/milepost ") or any(
                command.startswith(p) for p in ELSEWHERE
            ), f"{document.name}: {command!r} is neither run nor covered"


@pytest.mark.parametrize(
    "document",
    _documents_with_commands(),
    ids=[d.name for d in _documents_with_commands()],
)
def test_documented_commands_run(document: Path, tmp_path: Path) -> None:
    """Each milepost command of the document exits 0 (bench/serve: parses)."""
    from api.cli import app

    work = _workdir(tmp_path)
    # The service commands use their default database: milepost.db here.
    env = {k: v for k, v in os.environ.items() if k != "MILEPOST_DATABASE_URL"}
    for command in shell_commands(document):
        if not command.startswith(".venv/bin/milepost "):
            continue
        args = shlex.split(command)[1:]
        if args[0] in PARSED_ONLY:
            _parse(app, args)
            continue
        done = subprocess.run(
            [str(work / ".venv" / "bin" / "milepost"), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def test_parsing_rejects_what_the_command_would() -> None:
    """The parse-only check fails on an unknown option or a bad value."""
    from api.cli import app

    _parse(app, ["bench", "routing", "--suite", "solomon"])
    for bad in (["bench", "routing", "--bogus"], ["serve", "--port", "x"], ["no"]):
        with pytest.raises(Exception, match=r"(?i)option|integer|command"):
            _parse(app, bad)


def test_shipped_systemd_units_start_milepost_commands_that_parse() -> None:
    """Each unit in deploy/systemd runs a milepost command with valid options."""
    from api.cli import app

    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    commands = set()
    for unit in units:
        (line,) = [
            x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")
        ]
        program, *args = shlex.split(line.removeprefix("ExecStart="))
        assert program.endswith("/.venv/bin/milepost"), unit.name
        _parse(app, args)
        commands.add(args[0])
    assert commands == {"serve", "worker", "ingest-mqtt"}
