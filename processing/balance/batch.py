"""Many traces at once for the gateway: threads over the nogil kernels.

The Numba kernel releases the GIL, so a thread pool uses every core without pickling arrays to
worker processes (the Welch spectrum is NumPy/SciPy and short). One bad trace never fails the
batch: its slot holds the SignalError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from processing.balance.analysis import BalanceInput, BalanceResult, analyze_balance
from processing.errors import SignalError

log = logging.getLogger(__name__)


def analyze_balance_batch(
    items: Sequence[BalanceInput], max_workers: int | None = None
) -> list[BalanceResult | SignalError]:
    """Results in input order: a BalanceResult, or the SignalError that trace raised."""
    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(items) <= 1:
        return [_one(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="balance") as pool:
        return list(pool.map(_one, items))


def _one(item: BalanceInput) -> BalanceResult | SignalError:
    try:
        return analyze_balance(item.cop_mm, item.fs_hz, condition=item.condition, lowpass_hz=item.lowpass_hz)
    except SignalError as exc:
        return exc
    except Exception as exc:  # a bug must not take the other traces down with it
        log.exception("balance analysis failed unexpectedly")
        return SignalError("analysis_failed", f"{type(exc).__name__}: {exc}")
