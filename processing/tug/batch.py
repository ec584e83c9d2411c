"""Many timed up-and-go recordings at once: threads over the nogil kernels (as gait's batch).

One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from processing.errors import SignalError
from processing.tug.analysis import TugInput, TugResult, analyze_tug

log = logging.getLogger(__name__)


def analyze_tug_batch(
    inputs: Sequence[TugInput], max_workers: int | None = None
) -> list[TugResult | SignalError]:
    """Results in input order: a TugResult, or the SignalError that recording raised."""
    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(inputs) <= 1:
        return [_one(item) for item in inputs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tug") as pool:
        return list(pool.map(_one, inputs))


def _one(item: TugInput) -> TugResult | SignalError:
    try:
        return analyze_tug(item.acc, item.gyr, item.fs_hz)
    except SignalError as exc:
        return exc
    except Exception as exc:  # a bug must not take the other recordings down with it
        log.exception("TUG analysis failed unexpectedly")
        return SignalError("analysis_failed", f"{type(exc).__name__}: {exc}")
