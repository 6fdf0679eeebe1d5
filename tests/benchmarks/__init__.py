"""Benchmarks of the real stack; run as modules (`python -m tests.benchmarks.bench_export`).

Their files are named `bench_*.py`, so pytest does not collect them: benchmarks measure and
print, they do not pass or fail.
"""
