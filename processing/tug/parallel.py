"""Many timed up-and-go recordings at once: threads over the nogil kernels (as gait's batch).

One bad recording never fails the batch: its slot holds the SignalError.
"""

from __future__ import annotations

from collections.abc import Sequence

from processing.errors import SignalError
from processing.parallel import analyze_many
from processing.tug.analysis import TugInput, TugResult, analyze_tug


def analyze_tug_batch(
    inputs: Sequence[TugInput], max_workers: int | None = None
) -> list[TugResult | SignalError]:
    """Results in input order: a TugResult, or the SignalError that recording raised."""
    return analyze_many(_one, inputs, "tug", max_workers)


def _one(item: TugInput) -> TugResult:
    return analyze_tug(item.acc, item.gyr, item.fs_hz)
