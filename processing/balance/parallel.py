"""Many traces at once for the gateway: threads over the nogil kernels.

The Numba kernel releases the GIL, so a thread pool uses every core without pickling arrays to
worker processes (the Welch spectrum is NumPy/SciPy and short). One bad trace never fails the
batch: its slot holds the SignalError.
"""

from __future__ import annotations

from collections.abc import Sequence

from processing.balance.analysis import BalanceInput, BalanceResult, analyze_balance
from processing.errors import SignalError
from processing.parallel import analyze_many


def analyze_balance_batch(
    items: Sequence[BalanceInput], max_workers: int | None = None
) -> list[BalanceResult | SignalError]:
    """Results in input order: a BalanceResult, or the SignalError that trace raised."""
    return analyze_many(_one, items, "balance", max_workers)


def _one(item: BalanceInput) -> BalanceResult:
    return analyze_balance(item.cop_mm, item.fs_hz, condition=item.condition, lowpass_hz=item.lowpass_hz)
