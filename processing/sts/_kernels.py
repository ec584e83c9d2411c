"""Private Numba kernels for postural transitions (sit-to-stand, stand-to-sit) from a lower-back
IMU. No validation here: :mod:`processing.sts.analysis` checks input; these assume finite float64
arrays of sane length. The timed up-and-go (:mod:`processing.tug`) uses the same transitions.

Every kernel has a plain NumPy/SciPy twin in :mod:`processing.sts.reference` that the tests
compare it with. All are ``@njit(cache=True, nogil=True)`` (threads in the batch entry point).

Why these signals (details and measured accuracy: docs/sts_tug.md):

- *Vertical velocity without knowing the orientation.* The norm of the specific force is
  ``|a + g| ≈ g + a_vertical`` (first order in a/g) whatever way the sensor is worn or the trunk
  is flexed, so integrating ``|acc| − g`` gives the vertical velocity of the trunk (the signal of
  Zijlstra et al. 2010, "A body-fixed-sensor-based analysis of power during sit-to-stand
  movements", Gait Posture 31:272–278, Sect. 2.3, and of the phases in Millor et al. 2013,
  J NeuroEng Rehabil 10:86, Fig. 2). A stand-up is a positive velocity hump, a sit-down a
  negative one; ``g`` is the median norm (robust to a sensor's scale error).
- *Where the movement starts and ends.* The trunk flexes before seat-off and re-extends after
  seat contact (Millor et al. 2013, "impulse" phase; van Lummel et al. 2013, "Automated approach
  for quantifying the repeated sit-to-stand using one body fixed sensor in young and older
  adults", Gait Posture 38:153–156), so a transition is widened from its vertical-velocity hump
  to where trunk activity falls to 10 % of its peak: the norm of the angular rate with a
  gyroscope, else the norm of the rate of change of the low-passed acceleration (tilt rate × g).
  Start of forward and end of backward trunk rotation match force-plate movement onset and end
  closely (Zijlstra et al. 2012, "Sit-stand and stand-sit transitions in older adults and
  patients with Parkinson's disease: event detection based on motion sensors versus force
  plates", J NeuroEng Rehabil 9:75).
"""

from __future__ import annotations

import numpy as np

from processing.compiled import njit
from processing.gait._kernels import butter2_lowpass, filtfilt, find_peaks

LOWPASS_HZ = 2.0  # transitions last ≥ 0.5 s; walking bounce and impacts are above this
HIGHPASS_HZ = 0.1  # removes integration drift from the vertical velocity, keeps 0.5–5 s humps
QUIET_SHARE = 0.2  # gravity's norm is read from the calmest fifth of the recording
PEAK_VELOCITY_MPS = 0.10  # a vertical velocity hump lower than this is not a stand-up or sit-down
NOISE_PEAK_FACTOR = 5.0  # ... nor one below 5 × the 1-s random walk of the sensor's white noise
WINDOW_FRACTION = 0.1  # the vertical movement spans the hump down to 10 % of its peak
MIN_DISPLACEMENT_M = 0.15  # a sit-to-stand raises the lower back ~0.3–0.5 m; a step bounce ~0.04 m
MIN_PEAK_SPACING_S = 0.5
ACTIVITY_FRACTION = 0.1  # movement starts/ends where trunk activity is 10 % of its peak
LEAD_S = 1.5  # trunk flexion may precede a stand-up's rise (and follow a sit-down's descent) this long
TRAIL_S = 0.25  # ... but walking may follow a stand-up (or precede a sit-down) at once
LEAD_PER_HUMP = 1.0  # slow transitions: the lead grows to this multiple of the velocity hump ...
TRAIL_PER_HUMP = 0.25  # ... and the trail to this one


@njit(cache=True, nogil=True)
def lowpass_columns(x: np.ndarray, cutoff_hz: float, fs_hz: float) -> np.ndarray:
    """Zero-phase second-order Butterworth low-pass of each column (see gait ``filtfilt``)."""
    c = butter2_lowpass(cutoff_hz, fs_hz)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = filtfilt(np.ascontiguousarray(x[:, j]), c)
    return out


@njit(cache=True, nogil=True)
def row_norms(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.sqrt(x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
    return out


@njit(cache=True, nogil=True)
def gradient_columns(x: np.ndarray, fs_hz: float) -> np.ndarray:
    """Time derivative per column: central differences inside, one-sided at the ends
    (``numpy.gradient`` with ``edge_order=1``)."""
    n = x.shape[0]
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[0, j] = (x[1, j] - x[0, j]) * fs_hz
        out[n - 1, j] = (x[n - 1, j] - x[n - 2, j]) * fs_hz
        for i in range(1, n - 1):
            out[i, j] = (x[i + 1, j] - x[i - 1, j]) * 0.5 * fs_hz
    return out


@njit(cache=True, nogil=True)
def movement_signals(acc: np.ndarray, gyr: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """``(vertical_velocity_mps, activity)`` from ``acc`` (n, 3) and ``gyr`` (n, 3) or (0, 3).

    Vertical velocity: cumulative integral of ``|lowpass(acc)| − median`` with drift removed by
    subtracting its 0.1 Hz zero-phase low-pass (Zijlstra et al. 2010, Sect. 2.3). Activity:
    ``|lowpass(gyr)|`` in deg/s with a gyroscope, else ``|d lowpass(acc)/dt|`` in m/s³."""
    fs = fs_hz
    smooth = lowpass_columns(acc, min(LOWPASS_HZ, 0.4 * fs), fs)
    norm = row_norms(smooth)
    if gyr.shape[0] == acc.shape[0]:
        activity = row_norms(lowpass_columns(gyr, min(LOWPASS_HZ, 0.4 * fs), fs))
    else:
        activity = row_norms(gradient_columns(smooth, fs))
    # Gravity as the sensor reads it, from the quietest samples: while walking the norm exceeds
    # g by |a_horizontal|²/2g, and a median over a walk would make sitting still drift downward.
    calm = activity <= np.sort(activity)[int(QUIET_SHARE * (activity.size - 1))]
    g = np.median(norm[calm])
    velocity = np.cumsum(norm - g) / fs
    velocity = velocity - filtfilt(velocity, butter2_lowpass(HIGHPASS_HZ, fs))
    return velocity, activity


@njit(cache=True, nogil=True)
def noise_sigma(acc: np.ndarray) -> float:
    """White-noise level of the accelerometer (m/s², one sigma), the mean over axes of
    ``median|Δ²x| / (0.6745·√6)``: a second difference of white noise has sigma √6·σ, while
    movement below ~5 Hz barely shows in it, and the median ignores impacts."""
    n = acc.shape[0]
    total = 0.0
    for j in range(3):
        second = np.empty(n - 2)
        for i in range(n - 2):
            second[i] = abs(acc[i + 2, j] - 2.0 * acc[i + 1, j] + acc[i, j])
        total += float(np.median(second))
    return total / 3.0 / (0.6745 * np.sqrt(6.0))


@njit(cache=True, nogil=True)
def min_peak_velocity(acc: np.ndarray, fs_hz: float) -> float:
    """0.15 m/s, raised for noisy sensors to NOISE_PEAK_FACTOR × the velocity that white noise
    integrates to in one second (σ·√(1 s / fs)): a random walk must not pass for a stand-up."""
    return max(PEAK_VELOCITY_MPS, NOISE_PEAK_FACTOR * noise_sigma(acc) * np.sqrt(1.0 / fs_hz))


@njit(cache=True, nogil=True)
def velocity_humps(velocity: np.ndarray, fs_hz: float, min_peak: float) -> np.ndarray:
    """Candidate transitions as rows ``(first, last, sign)`` of vertical-velocity humps whose
    peak reaches ``min_peak`` (m/s) and whose integral (vertical displacement) reaches 0.15 m; sign +1 is
    up (stand-up), −1 down (sit-down). A hump still under way at the recording's first or last
    sample is left out (its start or end is unknown, and integration drift is largest there).
    Sorted by ``first``; overlapping humps are not merged."""
    n = velocity.size
    rows = np.empty((n, 3), dtype=np.int64)
    count = 0
    spacing = max(1, int(MIN_PEAK_SPACING_S * fs_hz))
    for sign in (1.0, -1.0):
        signed = sign * velocity
        for p in find_peaks(signed, min_peak, spacing):
            threshold = WINDOW_FRACTION * signed[p]
            a = p
            while a > 0 and signed[a] > threshold:
                a -= 1
            b = p
            while b < n - 1 and signed[b] > threshold:
                b += 1
            if a == 0 or b == n - 1:
                continue  # cut by the recording's start or end: it cannot be timed
            displacement = 0.0
            for i in range(a, b):
                displacement += signed[i]
            if displacement / fs_hz >= MIN_DISPLACEMENT_M:
                rows[count, 0] = a
                rows[count, 1] = b
                rows[count, 2] = int(sign)
                count += 1
    rows = rows[:count]
    return rows[np.argsort(rows[:, 0], kind="mergesort")]


@njit(cache=True, nogil=True)
def hump_size(velocity: np.ndarray, a: int, b: int) -> float:
    size = 0.0
    for i in range(a, b):
        size += abs(velocity[i])
    return size


@njit(cache=True, nogil=True)
def clean_humps(rows: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """Keep one hump per movement: of two overlapping humps the larger displacement wins. Two
    in a row with the same sign are both kept (a slow sit-down between them may have gone
    unseen; dropping one would lose a repetition)."""
    keep = np.ones(rows.shape[0], dtype=np.bool_)
    last = -1
    for i in range(rows.shape[0]):
        if last >= 0 and rows[i, 0] <= rows[last, 1]:
            if hump_size(velocity, rows[i, 0], rows[i, 1]) > hump_size(
                velocity, rows[last, 0], rows[last, 1]
            ):
                keep[last] = False
                last = i
            else:
                keep[i] = False
            continue
        last = i
    return rows[keep]


@njit(cache=True, nogil=True)
def widen(activity: np.ndarray, rows: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end sample of each transition: from its vertical-velocity hump outwards while
    trunk activity exceeds 10 % of its peak above the quiet level (trunk rotation onset/end as
    movement onset/end: Zijlstra et al. 2012, J NeuroEng Rehabil 9:75, Sect. Results),
    never into a neighbouring transition, at most 1.5 s (or the hump's duration, if longer) on
    the flexion side (before a stand-up, after a sit-down) and 0.25 s (or a quarter of the hump)
    on the other (walking may follow a stand-up at once)."""
    m = rows.shape[0]
    n = activity.size
    starts = np.empty(m, dtype=np.int64)
    ends = np.empty(m, dtype=np.int64)
    for r in range(m):
        a, b, sign = rows[r, 0], rows[r, 1], rows[r, 2]
        lead = max(int(LEAD_S * fs_hz), int(LEAD_PER_HUMP * (b - a)))
        trail = max(int(TRAIL_S * fs_hz), int(TRAIL_PER_HUMP * (b - a)))
        before, after = (lead, trail) if sign > 0 else (trail, lead)
        lo = max(0, a - before)
        hi = min(n - 1, b + after)
        if r > 0:
            lo = max(lo, rows[r - 1, 1])
        if r < m - 1:
            hi = min(hi, rows[r + 1, 0])
        peak = activity[lo : hi + 1].max()
        quiet = min(activity[lo : a + 1].min(), activity[b : hi + 1].min())
        threshold = quiet + ACTIVITY_FRACTION * (peak - quiet)
        s = a
        while s > lo and activity[s] > threshold:
            s -= 1
        e = b
        while e < hi and activity[e] > threshold:
            e += 1
        starts[r] = s
        ends[r] = e
    return starts, ends


@njit(cache=True, nogil=True)
def transitions(
    acc: np.ndarray, gyr: np.ndarray, fs_hz: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Postural transitions in time order: ``(start, end, sign, rise_m)`` — start and end sample,
    +1 stand-up / −1 sit-down, and the vertical displacement (m, signed) of each."""
    velocity, activity = movement_signals(acc, gyr, fs_hz)
    rows = clean_humps(velocity_humps(velocity, fs_hz, min_peak_velocity(acc, fs_hz)), velocity)
    starts, ends = widen(activity, rows, fs_hz)
    rise = np.empty(rows.shape[0])
    for r in range(rows.shape[0]):
        rise[r] = rows[r, 2] * hump_size(velocity, rows[r, 0], rows[r, 1]) / fs_hz
    return starts, ends, rows[:, 2].copy(), rise
