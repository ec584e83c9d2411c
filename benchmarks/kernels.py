"""Kernel speed table: every analysis's public function vs its NumPy reference, one run.

Usage: ``uv run python -m benchmarks kernels [--only NAME] [--repeat N] [--no-first-call]``.

Cases come from every module ``benchmarks/kernel_cases_*.py`` (``CASES: list[KernelCase]``).
For each case the table shows, after warm-up: time per call, × real time, samples/s, and the
speed ratio over the NumPy reference. The first call is measured separately in fresh
subprocesses: once with an empty Numba cache directory (compile) and once more with the same
directory (cache load, the cold start a gateway replica sees), each split into import time and
first-call time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import benchmarks
from benchmarks.common import best_of, print_table, write_result
from benchmarks.kernel_case import KernelCase

__all__ = ["KernelCase", "collect", "main"]


def collect() -> list[KernelCase]:
    """All cases from ``benchmarks/kernel_cases_*.py``, in module-name order."""
    cases: list[KernelCase] = []
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if module.name.startswith("kernel_cases_"):
            cases.extend(importlib.import_module(f"benchmarks.{module.name}").CASES)
    return cases


def _first_call_here(name: str) -> dict[str, float]:
    """Run inside a fresh interpreter: time importing the case modules, then the first call."""
    start = time.perf_counter()
    case = next(c for c in collect() if c.name == name)
    imported = time.perf_counter()
    args = case.make_input()
    begin = time.perf_counter()
    case.run(*args)
    end = time.perf_counter()
    return {"import_s": imported - start, "first_call_s": end - begin}


def _first_call_subprocess(name: str, cache_dir: str) -> dict[str, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.kernels", "--first-call-of", name],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"first-call subprocess for {name} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(case: KernelCase, repeat: int, first_call: bool) -> dict[str, Any]:
    args = case.make_input()
    case.run(*args)  # warm-up: compile or load the cache before timing
    seconds_per_call = best_of(lambda: case.run(*args), repeat=repeat)
    row: dict[str, Any] = {
        "case": case.name,
        "signal_s": case.seconds,
        "samples": case.samples,
        "ms_per_call": seconds_per_call * 1e3,
        "x_realtime": case.seconds / seconds_per_call,
        "samples_per_s": case.samples / seconds_per_call,
    }
    if case.reference is not None:
        reference = case.reference
        reference(*args)
        reference_s = best_of(lambda: reference(*args), repeat=max(1, repeat // 2))
        row["numpy_ms"] = reference_s * 1e3
        row["numba_vs_numpy"] = reference_s / seconds_per_call
    if first_call:
        with tempfile.TemporaryDirectory(prefix="fw-numba-cache-") as cache_dir:
            cold = _first_call_subprocess(case.name, cache_dir)
            warm = _first_call_subprocess(case.name, cache_dir)
        row["compile_first_call_s"] = cold["first_call_s"]
        row["cached_import_s"] = warm["import_s"]
        row["cached_first_call_s"] = warm["first_call_s"]
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks kernels", description=__doc__)
    parser.add_argument("--only", action="append", help="run only cases with this name (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds per case (best is kept)")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-subprocess timings")
    parser.add_argument("--first-call-of", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_call_of:
        print(json.dumps(_first_call_here(args.first_call_of)))
        return 0
    cases = [c for c in collect() if not args.only or c.name in args.only]
    if not cases:
        print("no kernel cases found (benchmarks/kernel_cases_*.py)", file=sys.stderr)
        return 2
    rows = [measure(case, args.repeat, not args.no_first_call) for case in cases]
    columns = ["case", "signal_s", "ms_per_call", "x_realtime", "samples_per_s", "numpy_ms", "numba_vs_numpy"]
    if not args.no_first_call:
        columns += ["compile_first_call_s", "cached_import_s", "cached_first_call_s"]
    print_table("Kernels: public analysis vs NumPy reference (one core, after warm-up)", rows, columns)
    write_result("kernels", {"cases": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
