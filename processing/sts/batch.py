"""Many chair-stand recordings at once: threads over the nogil kernels (as gait's batch).

One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from processing.errors import SignalError
from processing.sts.analysis import StsInput, StsResult, analyze_sts

log = logging.getLogger(__name__)


def analyze_sts_batch(
    inputs: Sequence[StsInput], max_workers: int | None = None
) -> list[StsResult | SignalError]:
    """Results in input order: an StsResult, or the SignalError that recording raised."""
    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(inputs) <= 1:
        return [_one(item) for item in inputs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sts") as pool:
        return list(pool.map(_one, inputs))


def _one(item: StsInput) -> StsResult | SignalError:
    try:
        return analyze_sts(item.acc, item.gyr, item.fs_hz)
    except SignalError as exc:
        return exc
    except Exception as exc:  # a bug must not take the other recordings down with it
        log.exception("sit-to-stand analysis failed unexpectedly")
        return SignalError("analysis_failed", f"{type(exc).__name__}: {exc}")
