"""Private Numba kernel for turns in the timed up-and-go. Transitions (stand-up, sit-down) come
from :mod:`processing.sts._kernels`. No validation here; the NumPy twin is
:mod:`processing.tug.reference`. ``@njit(cache=True, nogil=True)`` like every kernel.
"""

from __future__ import annotations

import numpy as np

from processing.compiled import njit
from processing.gait._kernels import butter2_lowpass, filtfilt

YAW_LOWPASS_HZ = 1.5  # El-Gohary et al. 2014, Sect. 2.3: turning is slower than the stride sway
TURN_RATE_DPS = 15.0  # a turn is a run of yaw rate above 15 deg/s (El-Gohary et al. 2014) ...
TURN_ANGLE_DEG = 45.0  # ... sweeping at least 45 degrees
EDGE_RATE_DPS = 5.0  # its boundaries: where the rate falls below 5 deg/s ...
EDGE_SEARCH_S = 0.5  # ... then on to where it stops falling (at most 0.5 s further)


@njit(cache=True, nogil=True)
def turns(yaw_dps: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turns about vertical as ``(start, end, angle_deg)``: low-pass the yaw rate at 1.5 Hz; a
    turn is a run above 15 deg/s of one sign sweeping ≥ 45° (El-Gohary et al. 2014, "Continuous
    monitoring of turning in patients with movement disability", Sensors 14:356–369, Sect. 2.3).
    Its boundaries are widened to where the rate drops below 5 deg/s and then to the local
    minimum of |rate|, because a turn's rate rises from zero and a threshold alone cuts its
    slow beginning and end."""
    smooth = filtfilt(yaw_dps, butter2_lowpass(min(YAW_LOWPASS_HZ, 0.4 * fs_hz), fs_hz))
    n = smooth.size
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    angles = np.empty(n)
    count = 0
    search = int(EDGE_SEARCH_S * fs_hz)
    i = 0
    while i < n:
        if abs(smooth[i]) <= TURN_RATE_DPS:
            i += 1
            continue
        sign = 1.0 if smooth[i] > 0 else -1.0
        j = i
        while j < n and sign * smooth[j] > TURN_RATE_DPS:
            j += 1
        s = i
        while s > 0 and sign * smooth[s - 1] > EDGE_RATE_DPS:
            s -= 1
        limit = max(0, s - search)
        while s > limit and abs(smooth[s - 1]) < abs(smooth[s]):
            s -= 1
        e = j
        while e < n - 1 and sign * smooth[e] > EDGE_RATE_DPS:
            e += 1
        limit = min(n - 1, e + search)
        while e < limit and abs(smooth[e + 1]) < abs(smooth[e]):
            e += 1
        angle = 0.0
        for m in range(s, e):
            angle += smooth[m]
        angle /= fs_hz
        if abs(angle) >= TURN_ANGLE_DEG:
            starts[count] = s
            ends[count] = e
            angles[count] = angle
            count += 1
        i = max(j, e)
    return starts[:count].copy(), ends[:count].copy(), angles[:count].copy()
