"""Benchmarks: this construct and its handler, measured side by side with the alternatives in one run.

`python -m bench.run` (or `make bench`) writes bench/RESULTS.md and bench/results.png.
"""
