"""Benchmark harnesses behind ``milepost bench`` and ``benchmarks/RESULTS.md``.

* :mod:`routing.bench.vrptw`: Solomon and Gehring-Homberger against the best
  known solutions, engine against engine.
* :mod:`routing.bench.travel`: road-network shortest paths against networkx.
* :mod:`routing.bench.amazon`: our routes against those Amazon drivers drove.
* :mod:`routing.bench.machine`: where a benchmark ran.

Nothing in the libraries imports this package (an import-linter contract).
"""
