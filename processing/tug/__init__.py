"""Timed up-and-go from a lower-back IMU: total time and the iTUG phases (sit-to-stand, walk
out, turn, walk back, turn-to-sit). Public API: :func:`analyze_tug`,
:func:`analyze_tug_batch`, :class:`TugInput`, :class:`TugResult`.

Imported lazily (PEP 562): ``frailwatch --help`` loads ``processing.tug.cli`` and must not pay
for Numba; the first use of a public name imports the kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.tug.analysis import TugInput, TugResult, analyze_tug
    from processing.tug.parallel import analyze_tug_batch

__all__ = ["TugInput", "TugResult", "analyze_tug", "analyze_tug_batch"]

_HOME = {
    "TugInput": "processing.tug.analysis",
    "TugResult": "processing.tug.analysis",
    "analyze_tug": "processing.tug.analysis",
    "analyze_tug_batch": "processing.tug.parallel",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'processing.tug' has no attribute {name!r}")
