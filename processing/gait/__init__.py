"""Gait from a lower-back IMU: cadence, step and stride times and lengths, walking speed,
variability, regularity and symmetry. Public API: :func:`analyze_gait`,
:func:`analyze_gait_batch`, :class:`GaitInput`, :class:`GaitResult`.

Imported lazily (PEP 562): ``frailwatch --help`` loads ``processing.gait.cli`` and must not pay
for Numba; the first use of a public name imports the kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.gait.analysis import GaitInput, GaitResult, analyze_gait
    from processing.gait.parallel import analyze_gait_batch

__all__ = ["GaitInput", "GaitResult", "analyze_gait", "analyze_gait_batch"]

_HOME = {
    "GaitInput": "processing.gait.analysis",
    "GaitResult": "processing.gait.analysis",
    "analyze_gait": "processing.gait.analysis",
    "analyze_gait_batch": "processing.gait.parallel",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'processing.gait' has no attribute {name!r}")
