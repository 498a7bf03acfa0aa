"""Benchmark harnesses of the simulator (behind ``milepost bench eta``).

Nothing in the libraries imports this package (an import-linter contract).
"""
