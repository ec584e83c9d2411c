"""Repeated sit-to-stand (chair-stand test) from a lower-back IMU: repetitions, 5-times time,
per-repetition durations, 30-second count. Public API: :func:`analyze_sts`,
:func:`analyze_sts_batch`, :class:`StsInput`, :class:`StsResult`.

Imported lazily (PEP 562): ``frailwatch --help`` loads ``processing.sts.cli`` and must not pay
for Numba; the first use of a public name imports the kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.sts.analysis import StsInput, StsResult, analyze_sts
    from processing.sts.parallel import analyze_sts_batch

__all__ = ["StsInput", "StsResult", "analyze_sts", "analyze_sts_batch"]

_HOME = {
    "StsInput": "processing.sts.analysis",
    "StsResult": "processing.sts.analysis",
    "analyze_sts": "processing.sts.analysis",
    "analyze_sts_batch": "processing.sts.parallel",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'processing.sts' has no attribute {name!r}")
