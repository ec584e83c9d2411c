"""The transition computations in plain NumPy/SciPy: the oracle the Numba kernels are tested
against. Each function mirrors one kernel in :mod:`processing.sts._kernels` (same name, inputs and
outputs), written the obvious vectorised way with library routines (``scipy.signal``,
``np.gradient``, ``np.flatnonzero``). Slow, simple, independent of Numba.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from processing.sts import _kernels as k

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def lowpass_columns(x: FloatArray, cutoff_hz: float, fs_hz: float) -> FloatArray:
    b, a = sps.butter(2, cutoff_hz, fs=fs_hz)
    return np.asarray(sps.filtfilt(b, a, x, axis=0), dtype=np.float64)


def movement_signals(acc: FloatArray, gyr: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    cutoff = min(k.LOWPASS_HZ, 0.4 * fs_hz)
    smooth = lowpass_columns(acc, cutoff, fs_hz)
    norm = np.linalg.norm(smooth, axis=1)
    if gyr.shape[0] == acc.shape[0]:
        activity = np.linalg.norm(lowpass_columns(gyr, cutoff, fs_hz), axis=1)
    else:
        activity = np.linalg.norm(np.gradient(smooth, axis=0) * fs_hz, axis=1)
    calm = activity <= np.sort(activity)[int(k.QUIET_SHARE * (activity.size - 1))]
    velocity = np.cumsum(norm - np.median(norm[calm])) / fs_hz
    velocity = velocity - lowpass_columns(velocity[:, None], k.HIGHPASS_HZ, fs_hz)[:, 0]
    return velocity, activity


def noise_sigma(acc: FloatArray) -> float:
    second = np.abs(np.diff(acc, n=2, axis=0))
    return float(np.median(second, axis=0).mean() / (0.6745 * np.sqrt(6.0)))


def min_peak_velocity(acc: FloatArray, fs_hz: float) -> float:
    return max(k.PEAK_VELOCITY_MPS, k.NOISE_PEAK_FACTOR * noise_sigma(acc) * np.sqrt(1.0 / fs_hz))


def velocity_humps(velocity: FloatArray, fs_hz: float, min_peak: float) -> IntArray:
    rows: list[tuple[int, int, int]] = []
    spacing = max(1, int(k.MIN_PEAK_SPACING_S * fs_hz))
    for sign in (1, -1):
        signed = sign * velocity
        peaks, _ = sps.find_peaks(signed, height=min_peak, distance=spacing)
        for p in peaks:
            low = signed <= k.WINDOW_FRACTION * signed[p]
            before = np.flatnonzero(low[: p + 1])
            after = np.flatnonzero(low[p:])
            a = int(before[-1]) if before.size else 0
            b = int(p + after[0]) if after.size else signed.size - 1
            if a == 0 or b == signed.size - 1:
                continue
            if signed[a:b].sum() / fs_hz >= k.MIN_DISPLACEMENT_M:
                rows.append((a, b, sign))
    out = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return out[np.argsort(out[:, 0], kind="stable")]


def hump_size(velocity: FloatArray, a: int, b: int) -> float:
    return float(np.abs(velocity[a:b]).sum())


def clean_humps(rows: IntArray, velocity: FloatArray) -> IntArray:
    kept: list[int] = []
    for i, (a, b, _) in enumerate(rows):
        if kept:
            la, lb, _ = rows[kept[-1]]
            if a <= lb:
                if hump_size(velocity, a, b) > hump_size(velocity, la, lb):
                    kept[-1] = i
                continue
        kept.append(i)
    return rows[np.array(kept, dtype=np.int64)]


def widen(activity: FloatArray, rows: IntArray, fs_hz: float) -> tuple[IntArray, IntArray]:
    n = activity.size
    starts, ends = [], []
    for r, (a, b, sign) in enumerate(rows):
        lead = max(int(k.LEAD_S * fs_hz), int(k.LEAD_PER_HUMP * (b - a)))
        trail = max(int(k.TRAIL_S * fs_hz), int(k.TRAIL_PER_HUMP * (b - a)))
        before, after = (lead, trail) if sign > 0 else (trail, lead)
        lo = max(0, a - before, rows[r - 1, 1] if r > 0 else 0)
        hi = min(n - 1, b + after, rows[r + 1, 0] if r < len(rows) - 1 else n - 1)
        peak = activity[lo : hi + 1].max()
        quiet = min(activity[lo : a + 1].min(), activity[b : hi + 1].min())
        calm = activity <= quiet + k.ACTIVITY_FRACTION * (peak - quiet)
        back = np.flatnonzero(calm[lo + 1 : a + 1])
        ahead = np.flatnonzero(calm[b:hi])
        starts.append(lo + 1 + int(back[-1]) if back.size else lo)
        ends.append(b + int(ahead[0]) if ahead.size else hi)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def transitions(
    acc: FloatArray, gyr: FloatArray, fs_hz: float
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    velocity, activity = movement_signals(acc, gyr, fs_hz)
    rows = clean_humps(velocity_humps(velocity, fs_hz, min_peak_velocity(acc, fs_hz)), velocity)
    starts, ends = widen(activity, rows, fs_hz)
    rise = np.array([s * hump_size(velocity, a, b) / fs_hz for a, b, s in rows], dtype=np.float64)
    return starts, ends, rows[:, 2].copy(), rise


def analyze_sts_reference(acc: FloatArray, fs_hz: float, gyr: FloatArray | None = None) -> object:
    """The whole STS pipeline with the reference transitions (benchmark oracle)."""
    from processing.sts.analysis import result_from_transitions

    accel = np.asarray(acc, dtype=np.float64)
    gyro = np.empty((0, 3)) if gyr is None else np.asarray(gyr, dtype=np.float64)
    return result_from_transitions(*transitions(accel, gyro, fs_hz), fs_hz, accel.shape[0], gyr is not None)
