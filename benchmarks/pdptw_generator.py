"""Write seeded PDPTW instances (Li & Lim format) from a Gehring-Homberger file.

The rules are :func:`routing.bench.pdptw.generate`'s (its module docstring
and benchmarks/README.md). The committed instances were made with::

    .venv/bin/python benchmarks/pdptw_generator.py --source RC2_10_1 \\
        --pairs 200,500,1000 --seed 0 --out benchmarks/pdptw

which writes ``RC2_10_1-p200-s0.txt`` and so on; the same arguments give the
same files, byte for byte.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from routing.bench.pdptw import default_folder, generate
from routing.bench.vrptw import default_data_dir
from routing.io.lilim import write_li_lim


def _source(name: str) -> Path:
    """A path as given, else a Gehring-Homberger or Solomon instance name."""
    path = Path(name)
    if path.is_file():
        return path
    for suite in ("homberger", "solomon"):
        found = default_data_dir() / suite / "instances" / f"{name.upper()}.txt"
        if found.is_file():
            return found
    raise SystemExit(f"--source: no file or benchmark instance named {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="RC2_10_1", help="VRPTW file or name")
    parser.add_argument("--pairs", default="200,500,1000", help="comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=default_folder())
    args = parser.parse_args()
    try:
        sizes = [int(p) for p in args.pairs.split(",") if p.strip()]
    except ValueError:
        raise SystemExit(f"--pairs: {args.pairs!r} is not a list of integers") from None
    source = _source(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    for pairs in sizes:
        try:
            made = generate(source, pairs, args.seed)
        except ValueError as exc:
            raise SystemExit(f"--pairs {pairs}: {exc}") from None
        target = args.out / f"{made.name}.txt"
        write_li_lim(target, made.instance)
        print(f"{target}: {pairs} pairs, {made.skipped} drawn row(s) skipped")


if __name__ == "__main__":
    main()
