"""Sit-to-stand and TUG cases for ``python -m benchmarks kernels``: the public analyze_sts and
analyze_tug on synthetic recordings (gyroscope, tilted sensor) against the NumPy/SciPy reference
pipelines (processing.sts.reference, processing.tug.reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.kernel_case import KernelCase
from processing.synthetic.sts import StsTruth, simulate_sts
from processing.synthetic.tug import TugTruth, simulate_tug

FS_HZ = 100.0
ORIENTATION = (80.0, 15.0, 30.0)


def _sts(n_reps: int) -> tuple[Any, ...]:
    sts = simulate_sts(StsTruth(n_reps=n_reps, sensor_orientation_deg=ORIENTATION), FS_HZ, seed=7)
    return sts.acc, FS_HZ, sts.gyr


def _tug(distance_m: float) -> tuple[Any, ...]:
    tug = simulate_tug(TugTruth(distance_m=distance_m, sensor_orientation_deg=ORIENTATION), FS_HZ, seed=7)
    return tug.acc, FS_HZ, tug.gyr


def _run_sts(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.sts import analyze_sts

    return analyze_sts(acc, gyr, fs_hz)


def _reference_sts(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.sts.reference import analyze_sts_reference

    return analyze_sts_reference(acc, fs_hz, gyr)


def _run_tug(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.tug import analyze_tug

    return analyze_tug(acc, gyr, fs_hz)


def _reference_tug(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.tug.reference import analyze_tug_reference

    return analyze_tug_reference(acc, fs_hz, gyr)


def _sts_case(name: str, n_reps: int) -> KernelCase:
    acc = _sts(n_reps)[0]
    return KernelCase(
        name=name,
        make_input=lambda: _sts(n_reps),
        run=_run_sts,
        reference=_reference_sts,
        seconds=acc.shape[0] / FS_HZ,
        samples=acc.shape[0],
    )


def _tug_case(name: str, distance_m: float) -> KernelCase:
    acc = _tug(distance_m)[0]
    return KernelCase(
        name=name,
        make_input=lambda: _tug(distance_m),
        run=_run_tug,
        reference=_reference_tug,
        seconds=acc.shape[0] / FS_HZ,
        samples=acc.shape[0],
    )


CASES = [
    _sts_case("sts 5 times (100 Hz)", 5),
    _sts_case("sts 30 s test, 10 stands (100 Hz)", 10),
    _sts_case("sts 5 min of stands (100 Hz)", 100),
    _tug_case("tug 3 m (100 Hz)", 3.0),
    _tug_case("tug 10 m (100 Hz)", 10.0),
]


def main(argv: list[str]) -> int:
    """``python -m benchmarks kernel_cases_sts``: the kernels table for the sts and tug cases,
    saved as ``results/kernels_sts.json``; the full table in ``results/kernels.json`` (all
    analyses, ``python -m benchmarks kernels``) is left as it was."""
    from benchmarks.common import RESULTS
    from benchmarks.kernels import main as kernels_main

    full = RESULTS / "kernels.json"
    kept = full.read_text() if full.exists() else None
    only = [arg for case in CASES for arg in ("--only", case.name)]
    code = kernels_main([*only, *argv])
    if full.exists():
        (RESULTS / "kernels_sts.json").write_text(full.read_text())
        print(f"moved to {RESULTS / 'kernels_sts.json'}")
    if kept is not None:
        full.write_text(kept)
    return code
