"""Many chair-stand recordings at once: threads over the nogil kernels (as gait's batch).

One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

from collections.abc import Sequence

from processing.errors import SignalError
from processing.parallel import analyze_many
from processing.sts.analysis import StsInput, StsResult, analyze_sts


def analyze_sts_batch(
    inputs: Sequence[StsInput], max_workers: int | None = None
) -> list[StsResult | SignalError]:
    """Results in input order: a StsResult, or the SignalError that recording raised."""
    return analyze_many(_one, inputs, "sts", max_workers)


def _one(item: StsInput) -> StsResult:
    return analyze_sts(item.acc, item.gyr, item.fs_hz)
