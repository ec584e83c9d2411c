"""Many recordings at once for the gateway: threads over the nogil kernels.

The Numba kernels release the GIL, so a thread pool uses every core without pickling arrays to
worker processes. One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

from collections.abc import Sequence

from processing.errors import SignalError
from processing.gait.analysis import GaitInput, GaitResult, analyze_gait
from processing.parallel import analyze_many


def analyze_gait_batch(
    inputs: Sequence[GaitInput], max_workers: int | None = None
) -> list[GaitResult | SignalError]:
    """Results in input order: a GaitResult, or the SignalError that recording raised."""
    return analyze_many(_one, inputs, "gait", max_workers)


def _one(item: GaitInput) -> GaitResult:
    return analyze_gait(
        item.acc, item.fs_hz, gyr=item.gyr, sensor_height_m=item.sensor_height_m, height_m=item.height_m
    )
