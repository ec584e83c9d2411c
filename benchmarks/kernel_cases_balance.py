"""Balance cases for ``python -m benchmarks kernels``: the public analyze_balance on synthetic
sway (5 Hz low-pass, Welch spectrum) against the NumPy/SciPy reference pipeline, plus the
threaded batch the gateway calls.

``python -m benchmarks kernel_cases_balance`` runs only these rows and writes
``results/kernels_balance.json`` (not ``kernels.json``, which holds the whole table and is
rewritten only by a full ``python -m benchmarks kernels`` run).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from benchmarks.kernel_case import KernelCase
from processing.synthetic.balance import SwayTruth, synthesize_sway

BATCH = 64


def _stance(seconds: float, fs_hz: float) -> tuple[Any, ...]:
    truth = SwayTruth.profile("pre_frail", "closed", duration_s=seconds, noise_mm=0.05)
    return synthesize_sway(truth, fs_hz, seed=7), fs_hz


def _run(cop: np.ndarray, fs_hz: float) -> object:
    from processing.balance import analyze_balance

    return analyze_balance(cop, fs_hz)


def _reference(cop: np.ndarray, fs_hz: float) -> object:
    from processing.balance.reference import analyze_balance_reference

    return analyze_balance_reference(cop, fs_hz, 5.0)


def _batch_input() -> tuple[Any, ...]:
    from processing.balance import BalanceInput

    items = [
        BalanceInput(cop_mm=synthesize_sway(SwayTruth(duration_s=30.0), 100.0, seed), fs_hz=100.0)
        for seed in range(BATCH)
    ]
    return (items,)


def _run_batch(items: list[Any]) -> object:
    from processing.balance import analyze_balance_batch

    return analyze_balance_batch(items)


def _case(name: str, seconds: float, fs_hz: float) -> KernelCase:
    n = round(seconds * fs_hz)
    return KernelCase(
        name=name,
        make_input=lambda: _stance(seconds, fs_hz),
        run=_run,
        reference=_reference,
        seconds=n / fs_hz,
        samples=n,
    )


CASES = [
    _case("balance 30 s stance (100 Hz)", 30.0, 100.0),
    _case("balance 60 s stance (100 Hz)", 60.0, 100.0),
    _case("balance 60 s stance (1000 Hz)", 60.0, 1000.0),
    KernelCase(
        name=f"balance batch {BATCH} x 30 s (100 Hz, threads)",
        make_input=_batch_input,
        run=_run_batch,
        reference=None,
        seconds=BATCH * 30.0,
        samples=BATCH * 3000,
    ),
]


def main(argv: list[str]) -> int:
    """``python -m benchmarks kernel_cases_balance [--repeat N] [--no-first-call]``."""
    import argparse

    from benchmarks.common import print_table, write_result
    from benchmarks.kernels import measure

    parser = argparse.ArgumentParser(prog="python -m benchmarks kernel_cases_balance")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-first-call", action="store_true")
    args = parser.parse_args(argv)
    rows = [measure(case, args.repeat, not args.no_first_call) for case in CASES]
    columns = ["case", "signal_s", "ms_per_call", "x_realtime", "samples_per_s", "numpy_ms", "numba_vs_numpy"]
    if not args.no_first_call:
        columns += ["compile_first_call_s", "cached_import_s", "cached_first_call_s"]
    print_table("Balance kernels: public analysis vs NumPy/SciPy reference (after warm-up)", rows, columns)
    write_result("kernels_balance", {"cases": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
