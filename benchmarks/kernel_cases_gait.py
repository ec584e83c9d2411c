"""Gait cases for ``python -m benchmarks kernels``: the public analyze_gait on synthetic walks
(with gyroscope, turns and a tilted sensor) against the NumPy/SciPy reference pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.kernel_case import KernelCase
from processing.synthetic.gait import WalkTruth, simulate_walk

FS_HZ = 100.0


def _walk(n_steps: int, turn_every_m: float | None) -> tuple[Any, ...]:
    truth = WalkTruth(
        n_steps=n_steps, turn_every_m=turn_every_m, standing_s=1.0, sensor_orientation_deg=(80.0, 15.0, 30.0)
    )
    walk = simulate_walk(truth, FS_HZ, seed=7)
    return walk.acc, FS_HZ, walk.gyr


def _run(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.gait import analyze_gait

    return analyze_gait(acc, fs_hz, gyr=gyr, sensor_height_m=0.95)


def _reference(acc: np.ndarray, fs_hz: float, gyr: np.ndarray) -> object:
    from processing.gait.reference import analyze_gait_reference

    return analyze_gait_reference(acc, fs_hz, gyr, 0.95)


def _case(name: str, n_steps: int, turn_every_m: float | None) -> KernelCase:
    acc, fs, _ = _walk(n_steps, turn_every_m)
    return KernelCase(
        name=name,
        make_input=lambda: _walk(n_steps, turn_every_m),
        run=_run,
        reference=_reference,
        seconds=acc.shape[0] / fs,
        samples=acc.shape[0],
    )


CASES = [
    _case("gait 4 m out-and-back (100 Hz)", 16, 4.0),
    _case("gait 60 s walk with turns (100 Hz)", 106, 10.0),
    _case("gait 10 min walk (100 Hz)", 1050, 20.0),
]


def main(argv: list[str]) -> int:
    """``python -m benchmarks kernel_cases_gait``: the kernels table for the gait cases only."""
    from benchmarks.kernels import main as kernels_main

    only = [arg for case in CASES for arg in ("--only", case.name)]
    return kernels_main([*only, *argv])
