"""Benchmarks: ``python -m benchmarks <name>`` (or ``make bench ARGS=<name>``).

Each benchmark module has ``main(argv) -> int``, prints a table and writes
``benchmarks/results/<name>.json`` via :mod:`benchmarks.common`. Speed claims in the README come
from these files, never from timed tests.
"""
