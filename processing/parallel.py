"""Many recordings at once, for the gateway: threads over the nogil kernels.

The Numba kernels release the GIL, so a thread pool uses every core without pickling arrays to
worker processes. One bad recording never fails the batch: its slot holds the SignalError. Each
analysis (gait, balance, sts, tug) has a thin ``analyze_<test>_batch`` over :func:`analyze_many`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from processing.errors import SignalError

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def analyze_many(
    analyze_one: Callable[[Item], Result], items: Sequence[Item], test: str, max_workers: int | None = None
) -> list[Result | SignalError]:
    """``analyze_one`` over ``items`` in input order; a raised SignalError takes the item's slot."""

    def one(item: Item) -> Result | SignalError:
        try:
            return analyze_one(item)
        except SignalError as exc:
            return exc
        except Exception as exc:  # a bug must not take the other recordings down with it
            log.exception("%s analysis failed unexpectedly", test)
            return SignalError("analysis_failed", f"{type(exc).__name__}: {exc}")

    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(items) <= 1:
        return [one(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=test) as pool:
        return list(pool.map(one, items))
