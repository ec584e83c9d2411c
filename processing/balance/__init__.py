"""Standing balance from a centre-of-pressure trace: Prieto et al. 1996 sway measures (path
length, velocity, mean and RMS distance, 95 % ellipse area, mean and power frequencies) and the
Romberg ratio. Public API: :func:`analyze_balance`, :func:`analyze_balance_batch`,
:func:`romberg_ratio`, :class:`BalanceInput`, :class:`BalanceResult`.

Imported lazily (PEP 562): ``frailwatch --help`` loads ``processing.balance.cli`` and must not
pay for Numba or SciPy; the first use of a public name imports the kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.balance.analysis import BalanceInput, BalanceResult, analyze_balance, romberg_ratio
    from processing.balance.parallel import analyze_balance_batch

__all__ = ["BalanceInput", "BalanceResult", "analyze_balance", "analyze_balance_batch", "romberg_ratio"]

_HOME = {
    "BalanceInput": "processing.balance.analysis",
    "BalanceResult": "processing.balance.analysis",
    "analyze_balance": "processing.balance.analysis",
    "romberg_ratio": "processing.balance.analysis",
    "analyze_balance_batch": "processing.balance.parallel",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'processing.balance' has no attribute {name!r}")
