"""`frailwatch analyze …` as a user runs it: recordings written as CSV files, the command a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

IMU_HEADER = ["time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def run_analyze(test: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``frailwatch analyze <test> <args>`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "analyze", test, *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def write_csv(path: Path, header: list[str], columns: list[np.ndarray]) -> Path:
    """Columns (1-D or 2-D arrays, side by side) as a CSV with one header line."""
    np.savetxt(
        path, np.column_stack(columns), delimiter=",", header=",".join(header), comments="", fmt="%.6f"
    )
    return path
