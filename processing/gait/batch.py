"""Many recordings at once for the gateway: threads over the nogil kernels.

The Numba kernels release the GIL, so a thread pool uses every core without pickling arrays to
worker processes. One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from processing.errors import SignalError
from processing.gait.analysis import GaitInput, GaitResult, analyze_gait

log = logging.getLogger(__name__)


def analyze_gait_batch(
    inputs: Sequence[GaitInput], max_workers: int | None = None
) -> list[GaitResult | SignalError]:
    """Results in input order: a GaitResult, or the SignalError that recording raised."""
    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(inputs) <= 1:
        return [_one(item) for item in inputs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gait") as pool:
        return list(pool.map(_one, inputs))


def _one(item: GaitInput) -> GaitResult | SignalError:
    try:
        return analyze_gait(
            item.acc, item.fs_hz, gyr=item.gyr, sensor_height_m=item.sensor_height_m, height_m=item.height_m
        )
    except SignalError as exc:
        return exc
    except Exception as exc:  # a bug must not take the other recordings down with it
        log.exception("gait analysis failed unexpectedly")
        return SignalError("analysis_failed", f"{type(exc).__name__}: {exc}")
