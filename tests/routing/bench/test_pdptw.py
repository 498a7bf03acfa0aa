"""The PDPTW benchmark: the generator's rules, the Li & Lim reader, the
VROOM peer judged by our checker, and ``milepost bench pdptw``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli import app
from routing.bench.pdptw import default_folder, generate
from routing.bench.vroom_peer import _plan, solve_vroom
from routing.io import InputError
from routing.io.lilim import parse_li_lim, read_li_lim, write_li_lim
from routing.model import Problem
from routing.plan import Plan
from routing.solver import check
from routing.solver.data import build_data
from routing.solver.result import plan_from_sequences
from tests.helpers import SHARED

GH = SHARED / "benchmarks" / "vrptw" / "homberger" / "instances"


def solomon_file(path: Path, seed: int, customers: int, horizon: int) -> Path:
    """A random Solomon-format instance: places on a 100 x 100 grid, windows
    of 20 to 300 inside the horizon, services of 0 to 20."""
    rng = np.random.default_rng(seed)
    lines = ["RANDOM", "", "VEHICLE", "NUMBER     CAPACITY", "  60   100", ""]
    lines += ["CUSTOMER", "CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE", ""]
    lines.append(f"0 50 50 0 0 {horizon} 0")
    for c in range(1, customers + 1):
        x, y = rng.integers(0, 101, 2)
        ready = int(rng.integers(0, horizon // 2))
        due = min(horizon, ready + int(rng.integers(20, 301)))
        demand, service = int(rng.integers(1, 41)), int(rng.integers(0, 21))
        lines.append(f"{c} {x} {y} {demand} {ready} {due} {service}")
    path.write_text("\n".join(lines) + "\n")
    return path


def direct_plan(problem: Problem) -> Plan:
    """Every pair on its own vehicle: depot, pickup, delivery, depot."""
    data = build_data(problem, _travel())
    sequences = [list(data.order_nodes[s.id]) for s in problem.shipments]
    sequences += [[] for _ in range(len(problem.vehicles) - len(sequences))]
    return plan_from_sequences(
        data, sequences, dropped=[], impossible=[], engine="direct", seconds=0.0
    )


def _travel():  # type: ignore[no-untyped-def]
    from routing.travel import HaversineTravel

    return HaversineTravel()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    source_seed=st.integers(0, 2**16),
    seed=st.integers(0, 2**32 - 1),
    pairs=st.integers(1, 40),
    horizon=st.integers(600, 1500),
)
def test_generated_pairs_are_feasible_alone_and_ordered(
    tmp_path_factory: pytest.TempPathFactory,
    source_seed: int,
    seed: int,
    pairs: int,
    horizon: int,
) -> None:
    """Whatever the source, seed and size: each pair served alone by a direct
    round trip passes the checker; each delivery window opens no earlier than
    its pickup's; the same seed gives the same file."""
    folder = tmp_path_factory.mktemp("pdptw")
    source = solomon_file(folder / "src.txt", source_seed, 60, horizon)
    made = generate(source, pairs, seed)
    assert generate(source, pairs, seed).instance.text() == made.instance.text()
    target = folder / f"{made.name}.txt"
    write_li_lim(target, made.instance)
    problem, info = read_li_lim(target)
    assert info["pairs"] == pairs == len(problem.shipments)
    for p, d in made.instance.pairs:
        assert d.no == p.no + 1 and d.demand == -p.demand < 0
        assert p.ready <= p.due and d.ready <= d.due
        assert d.ready >= p.ready
    verdict = check(problem, direct_plan(problem), _travel())
    assert verdict.ok, str(verdict)


def test_seeds_give_different_instances(tmp_path: Path) -> None:
    """Another seed draws other rows: the files differ."""
    source = solomon_file(tmp_path / "src.txt", 3, 60, 1000)
    texts = {generate(source, 20, s).instance.text() for s in range(3)}
    assert len(texts) == 3


def test_a_source_that_cannot_pair_is_refused(tmp_path: Path) -> None:
    """A horizon too short for any round trip: the error says how many
    pairs were feasible."""
    source = solomon_file(tmp_path / "src.txt", 1, 10, 600)
    text = source.read_text().replace(" 0 600 0\n", " 0 30 0\n", 1)
    source.write_text(text)
    with pytest.raises(ValueError, match="only 0 of 5 pairs are feasible"):
        generate(source, 5, 0)


def test_committed_instances_are_the_generators_output() -> None:
    """benchmarks/pdptw/*.txt are what the generator writes for their names
    (source RC2_10_1, seed 0) and every pair in them is feasible alone."""
    files = sorted(default_folder().glob("RC2_10_1-p*-s0.txt"))
    assert [f.stem for f in files] == [
        "RC2_10_1-p1000-s0",
        "RC2_10_1-p200-s0",
        "RC2_10_1-p500-s0",
    ]
    small = default_folder() / "RC2_10_1-p200-s0.txt"
    problem, _ = read_li_lim(small)
    assert check(problem, direct_plan(problem), _travel()).ok
    if GH.is_dir():  # CI has ../shared; the files alone are checked above
        for f in files:
            pairs = int(f.stem.split("-p")[1].split("-")[0])
            made = generate(GH / "RC2_10_1.txt", pairs, 0)
            assert made.instance.text() == f.read_text()


def test_li_lim_reader_names_the_broken_line(tmp_path: Path) -> None:
    """A delivery that does not point back at its pickup is refused by line."""
    path = tmp_path / "bad.txt"
    path.write_text(
        "2\t100\t1\n0\t0\t0\t0\t0\t500\t0\t0\t0\n"
        "1\t1\t1\t5\t0\t100\t0\t0\t2\n2\t2\t2\t-5\t0\t200\t0\t0\t0\n"
    )
    with pytest.raises(
        InputError,
        match="line 3: task 1 and its partner 2 are not a pickup-delivery pair; "
        "line 4: task 2 needs exactly one of p and d",
    ):
        parse_li_lim(path)
    path.write_text("2\t100\t2\n0\t0\t0\t0\t0\t500\t0\t0\t0\n")
    with pytest.raises(InputError, match="line 1: speed S must be 1"):
        parse_li_lim(path)


def tiny_instance(tmp_path: Path, pairs: int = 8) -> Path:
    source = solomon_file(tmp_path / "src.txt", 7, 40, 1000)
    made = generate(source, pairs, 0)
    target = tmp_path / f"{made.name}.txt"
    write_li_lim(target, made.instance)
    return target


def test_vroom_routes_pass_our_checker(tmp_path: Path) -> None:
    """VROOM's plan of a small instance, timed by our timeline, passes the
    independent checker and serves every pair."""
    problem, _ = read_li_lim(tiny_instance(tmp_path))
    got = solve_vroom(problem, 2.0, vans_first=True)
    assert got.plan.summary.unassigned == 0
    verdict = check(problem, got.plan, _travel())
    assert verdict.ok, str(verdict)
    assert verdict.distance == got.summary["distance"]


def test_vroom_routes_are_judged_not_trusted(tmp_path: Path) -> None:
    """A VROOM answer that delivers before it picks up is caught by our checker."""
    problem, _ = read_li_lim(tiny_instance(tmp_path, pairs=1))
    answer = {
        "routes": [
            {
                "vehicle": 0,
                "steps": [
                    {"type": "start"},
                    {"type": "delivery", "id": 0},
                    {"type": "pickup", "id": 0},
                    {"type": "end"},
                ],
            }
        ]
    }
    verdict = check(problem, _plan(problem, answer, 0.0), _travel())
    assert not verdict.ok
    assert any("pickup" in v.detail or "before" in v.detail for v in verdict.violations)


def test_bench_pdptw_runs_every_engine_and_keeps_a_reference(tmp_path: Path) -> None:
    """One tiny instance: auto, OR-Tools and VROOM each judged by the checker;
    --save-reference stores the best with its command; a later run reports
    routes over and the gap to it."""
    instance = tiny_instance(tmp_path)
    results, reference = tmp_path / "out.json", tmp_path / "ref.json"
    args = ["bench", "pdptw", "--instances", str(instance), "--time-limit", "1"]
    done = CliRunner().invoke(
        app,
        [
            *args,
            "--reference",
            str(reference),
            "--save-reference",
            "--json",
            str(results),
        ],
    )
    assert done.exit_code == 0, done.output
    runs = json.loads(results.read_text())["runs"]
    assert [r["engine"] for r in runs] == ["auto", "ortools", "vroom"]
    assert all(r["feasible"] and r["unassigned"] == 0 for r in runs)
    assert runs[2]["vroom_exploration_level"] == 5
    stored = json.loads(reference.read_text())
    best = stored["best"][instance.stem]
    assert (best["vehicles"], best["distance"]) == min(
        (r["vehicles"], r["distance"]) for r in runs
    )
    assert best["command"].startswith("milepost bench pdptw --instances")
    again = CliRunner().invoke(
        app,
        [
            *args,
            "--engine",
            "vroom",
            "--reference",
            str(reference),
            "--json",
            str(results),
        ],
    )
    assert again.exit_code == 0, again.output
    run = json.loads(results.read_text())["runs"][0]
    assert run["ref_distance"] == best["distance"]
    assert run["extra_routes"] == run["vehicles"] - best["vehicles"]
    gap = 100 * (run["distance"] / best["distance"] - 1)
    assert run["gap_pct"] == pytest.approx(gap, abs=0.01)


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--engine", "bogus", "--engine: unknown bogus"),
        ("--objective", "cost", "--objective: unknown 'cost'"),
        ("--instances", "nowhere", "--instances: no file 'nowhere'"),
        ("--time-limit", "0", "--time-limit must be positive"),
    ],
)
def test_bench_pdptw_refuses_bad_options(option: str, value: str, named: str) -> None:
    """Exit 2 with the option named, before any run."""
    done = CliRunner().invoke(app, ["bench", "pdptw", option, value])
    assert done.exit_code == 2
    assert named in done.output
