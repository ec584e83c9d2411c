"""One entry in the kernel speed table (``python -m benchmarks kernels``).

Each analysis adds a module ``benchmarks/kernel_cases_<area>.py`` exposing
``CASES: list[KernelCase]``. A case names a public analysis function, a reference (plain NumPy)
implementation of the same computation, and a deterministic input of known length, so the table
can show × real time, samples/s and the Numba/NumPy ratio side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KernelCase:
    """``run(*make_input())`` is timed; ``reference(*make_input())`` is the NumPy oracle.

    ``seconds`` and ``samples`` describe one input (signal duration and number of samples), so
    throughput is ``samples / time`` and speed is ``seconds / time`` × real time. ``make_input``
    must be deterministic (seeded) and cheap compared with the benchmark itself. ``reference``
    may be None when no NumPy version exists (then no ratio is shown).
    """

    name: str
    make_input: Callable[[], tuple[Any, ...]]
    run: Callable[..., object]
    reference: Callable[..., object] | None
    seconds: float
    samples: int
