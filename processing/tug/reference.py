"""The turn computation in plain NumPy/SciPy: the oracle :func:`processing.tug._kernels.turns`
is tested against (same inputs and outputs; runs and edges found with ``np.flatnonzero``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from processing.tug import _kernels as k

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def turns(yaw_dps: FloatArray, fs_hz: float) -> tuple[IntArray, IntArray, FloatArray]:
    b, a = sps.butter(2, min(k.YAW_LOWPASS_HZ, 0.4 * fs_hz), fs=fs_hz)
    smooth = np.asarray(sps.filtfilt(b, a, yaw_dps), dtype=np.float64)
    n = smooth.size
    search = int(k.EDGE_SEARCH_S * fs_hz)
    starts: list[int] = []
    ends: list[int] = []
    angles: list[float] = []
    fast = np.flatnonzero(np.abs(smooth) > k.TURN_RATE_DPS)
    i = int(fast[0]) if fast.size else n
    while i < n:
        sign = 1.0 if smooth[i] > 0 else -1.0
        stop = np.flatnonzero(sign * smooth[i:] <= k.TURN_RATE_DPS)
        j = i + int(stop[0]) if stop.size else n
        quiet = np.flatnonzero(sign * smooth[:i] <= k.EDGE_RATE_DPS)
        s = int(quiet[-1]) + 1 if quiet.size else 0
        s = _fall(np.abs(smooth), s, max(0, s - search), -1)
        quiet_after = np.flatnonzero(sign * smooth[j : n - 1] <= k.EDGE_RATE_DPS)
        e = j + int(quiet_after[0]) if quiet_after.size else max(j, n - 1)
        e = _fall(np.abs(smooth), e, min(n - 1, e + search), 1)
        angle = float(smooth[s:e].sum() / fs_hz)
        if abs(angle) >= k.TURN_ANGLE_DEG:
            starts.append(s)
            ends.append(e)
            angles.append(angle)
        nxt = np.flatnonzero(np.abs(smooth[max(j, e) :]) > k.TURN_RATE_DPS)
        i = max(j, e) + int(nxt[0]) if nxt.size else n
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), np.array(angles)


def _fall(magnitude: FloatArray, index: int, limit: int, step: int) -> int:
    """Move from ``index`` towards ``limit`` while the next sample is strictly smaller."""
    while (index > limit if step < 0 else index < limit) and magnitude[index + step] < magnitude[index]:
        index += step
    return index


def analyze_tug_reference(acc: FloatArray, fs_hz: float, gyr: FloatArray | None = None) -> object:
    """The whole TUG pipeline with the reference transitions and turns (benchmark oracle)."""
    from processing.imu import vertical_axis
    from processing.sts import reference as sts_reference
    from processing.tug.analysis import result_from_events

    accel = np.asarray(acc, dtype=np.float64)
    gyro = np.empty((0, 3)) if gyr is None else np.asarray(gyr, dtype=np.float64)
    found = sts_reference.transitions(accel, gyro, fs_hz)
    turned = turns(gyro @ vertical_axis(accel), fs_hz) if gyr is not None else None
    return result_from_events(*found, turned, fs_hz)
