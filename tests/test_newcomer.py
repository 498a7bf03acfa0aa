"""The newcomer's path on a clean clone, as the README tells it.

A clone of the repository at this commit, a fresh ``python3.11 -m venv``,
``pip install -e .`` (from whatever index pip is configured with, e.g. a local
cache), then ``milepost demo``, ``milepost slots`` and ``milepost reoptimize``
with the shipped example state, each command exactly as the README has it.
Slow (several minutes: the install dominates); run it with ``-m slow``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_docs_commands import shell_commands

pytestmark = pytest.mark.slow


def _run(
    command: str, cwd: Path, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env.pop("MILEPOST_DATABASE_URL", None)
    return subprocess.run(
        shlex.split(command),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(shutil.which("python3.11") is None, reason="needs python3.11")
def test_readme_path_on_a_clean_clone(tmp_path: Path) -> None:
    """Clone, venv, install, demo, slots, reoptimize: each exits 0 and writes."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    clone = tmp_path / "milepost"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", head], check=True)
    commands = shell_commands(clone / "README.md")
    newcomer = commands[: commands.index("scripts/test.sh")]
    assert newcomer[:3] == [
        "python3.11 -m venv .venv",
        ".venv/bin/pip install -e .",
        ".venv/bin/milepost demo",
    ]
    assert [c.split()[1] for c in newcomer[3:]] == ["slots", "reoptimize"]
    for command in newcomer:
        done = _run(command, clone)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    out = clone / "milepost-out"
    for name in ("problem.json", "plan.json", "routes.geojson"):
        assert (out / name).stat().st_size > 0
    result = json.loads((clone / "reoptimize_state.reopt.json").read_text())
    assert set(result) == {"source", "committed", "changes", "plan", "problem"}
    assert [m["order"] for m in result["changes"]["inserted"]] == ["return-1"]
    assert (
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=clone,
            capture_output=True,
            text=True,
        ).stdout
        == ""
    )
