"""The gait computations in plain NumPy/SciPy: the oracle the Numba kernels are tested against.

Each function mirrors one kernel in :mod:`processing.gait._kernels` (same name, same inputs and
outputs) but is written the obvious vectorised way with library routines (``scipy.signal``,
``np.correlate``, ``cumulative_trapezoid``). Slow, simple, independent of Numba.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal as sps
from scipy.integrate import cumulative_trapezoid

from processing.gait import _kernels as k

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def butter2_lowpass(cutoff_hz: float, fs_hz: float) -> FloatArray:
    b, a = sps.butter(2, cutoff_hz, fs=fs_hz)
    return np.array([b[0], b[1], b[2], a[1], a[2]])


def filtfilt(x: FloatArray, c: FloatArray) -> FloatArray:
    return np.asarray(sps.filtfilt(c[:3], np.array([1.0, c[3], c[4]]), x), dtype=np.float64)


def filtfilt_padded(x: FloatArray, c: FloatArray, pad: int) -> FloatArray:
    return np.asarray(
        sps.filtfilt(c[:3], np.array([1.0, c[3], c[4]]), x, padlen=min(pad, x.size - 1)), dtype=np.float64
    )


def vertical_and_yaw(acc: FloatArray, gyr: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    c = butter2_lowpass(min(k.GRAVITY_LOWPASS_HZ, 0.4 * fs_hz), fs_hz)
    pad = min(int(3.0 * fs_hz), acc.shape[0] - 1)
    up = np.asarray(sps.filtfilt(c[:3], np.array([1.0, c[3], c[4]]), acc, axis=0, padlen=pad))
    up /= np.linalg.norm(up, axis=1)[:, None]
    yaw = np.einsum("ij,ij->i", gyr, up) if gyr.shape[0] == acc.shape[0] else np.empty(0)
    return np.einsum("ij,ij->i", acc, up), yaw


def autocorrelation(x: FloatArray, lag_from: int, lag_to: int) -> FloatArray:
    y = x - x.mean()
    n = y.size
    full = np.correlate(y, y, mode="full")[n - 1 :]
    energy = full[0] / n
    lags = np.arange(lag_from, lag_to + 1)
    out = np.zeros(lags.size)
    if energy <= 0.0:
        return out
    valid = lags < n
    out[valid] = full[lags[valid]] / (n - lags[valid]) / energy
    return out


def find_peaks(x: FloatArray, height: float, distance: int) -> IntArray:
    peaks, _ = sps.find_peaks(x, height=height, distance=max(1, distance))
    return peaks.astype(np.int64)


def step_period(vertical: FloatArray, fs_hz: float) -> float:
    q = max(1, int(fs_hz / k.COARSE_HZ))
    coarse = filtfilt(vertical, butter2_lowpass(min(5.0, 0.4 * fs_hz), fs_hz))[::q]
    fs_c = fs_hz / q
    lag_min = max(1, int(k.MIN_STEP_S * fs_c))
    lag_max = min(int(k.MAX_LAG_S * fs_c), int(0.75 * coarse.size))
    if lag_max <= lag_min + 2:
        return 0.0
    ac = autocorrelation(coarse, 0, lag_max)
    peaks, _ = sps.find_peaks(ac)
    eligible = peaks[peaks >= lag_min]
    if eligible.size == 0:
        return 0.0
    best = int(eligible[np.argmax(ac[eligible])])
    if ac[best] < 0.1:
        return 0.0
    while True:
        floor = max(0.15, k.HALF_PEAK_SHARE * ac[best])
        near_half = eligible[(eligible >= 0.35 * best) & (eligible <= 0.65 * best) & (ac[eligible] >= floor)]
        if near_half.size == 0:
            return best / fs_c if best / fs_c <= k.MAX_STEP_S else 0.0
        best = int(near_half[np.argmax(ac[near_half])])


def bounce_displacement(vertical: FloatArray, fs_hz: float) -> FloatArray:
    c = butter2_lowpass(0.3, fs_hz)
    velocity = np.cumsum(vertical - vertical.mean()) / fs_hz
    velocity = velocity - filtfilt(velocity, c)
    displacement = np.cumsum(velocity) / fs_hz
    return displacement - filtfilt(displacement, c)


def harmonic_guard(vertical: FloatArray, fs_hz: float, period_s: float) -> float:
    if 2.0 * period_s > k.MAX_STEP_S:
        return period_s
    q = max(1, int(fs_hz / k.COARSE_HZ))
    coarse = bounce_displacement(vertical, fs_hz)[::q]
    lag = int(period_s * fs_hz / q + 0.5)
    if 2 * lag >= int(0.75 * coarse.size):
        return period_s
    ac = autocorrelation(coarse, lag, 2 * lag)
    return 2.0 * period_s if ac[0] < 0.0 and ac[lag] > 0.3 else period_s


def initial_contacts(signal: FloatArray, fs_hz: float, period_s: float) -> IntArray:
    f_step = 1.0 / period_s
    upper = filtfilt(signal, butter2_lowpass(min(1.5 * f_step, 0.45 * fs_hz), fs_hz))
    band = upper - filtfilt(signal, butter2_lowpass(0.4 * f_step, fs_hz))
    peaks = find_peaks(band, k.PEAK_FLOOR_MPS2, int(k.MIN_STEP_SPACING * period_s * fs_hz))
    if peaks.size == 0:
        return peaks
    threshold = max(k.PEAK_FLOOR_MPS2, k.RELATIVE_PEAK * float(np.median(band[peaks])))
    return peaks[band[peaks] >= threshold]


def walking_bouts(contacts: IntArray, fs_hz: float) -> IntArray:
    bout = np.full(contacts.size, -1, dtype=np.int64)
    if contacts.size == 0:
        return bout
    breaks = np.flatnonzero(np.diff(contacts) > k.MAX_PAUSE_S * fs_hz) + 1
    number = 0
    for run in np.split(np.arange(contacts.size), breaks):
        if run.size >= k.MIN_CONTACTS:
            bout[run] = number
            number += 1
    return bout


def step_excursion(vertical: FloatArray, start: int, stop: int, fs_hz: float) -> float:
    a = vertical[start : stop + 1]
    ramp = np.linspace(0.0, 1.0, a.size)
    velocity = cumulative_trapezoid(a, dx=1.0 / fs_hz, initial=0.0)
    velocity = velocity - velocity[-1] * ramp
    velocity -= velocity.mean()
    position = cumulative_trapezoid(velocity, dx=1.0 / fs_hz, initial=0.0)
    position = position - position[-1] * ramp
    return float(position.max() - position.min())


def pendulum_step_length(excursion_m: float, pendulum_m: float, gain: float) -> float:
    h = min(excursion_m, pendulum_m)
    return float(gain * 2.0 * np.sqrt(max(2.0 * pendulum_m * h - h * h, 0.0)))


def turning_mask(yaw_dps: FloatArray, fs_hz: float) -> tuple[BoolArray, int]:
    smooth = filtfilt(yaw_dps, butter2_lowpass(min(1.5, 0.4 * fs_hz), fs_hz))
    fast = np.abs(smooth) > k.TURN_RATE_DPS
    edges = np.diff(np.concatenate([[0], fast.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    mask = np.zeros(smooth.size, dtype=bool)
    turns = 0
    for i, j in zip(starts, stops, strict=True):
        if abs(smooth[i:j].sum() / fs_hz) >= k.TURN_ANGLE_DEG:
            mask[i:j] = True
            turns += 1
    return mask, turns


def regularity(vertical: FloatArray, start: int, stop: int, step_samples: float) -> tuple[float, float]:
    segment = vertical[start : stop + 1]
    hi = int(2.5 * step_samples)
    if hi >= segment.size - 1:
        return float("nan"), float("nan")
    lo = max(1, int(0.75 * step_samples))
    lags = np.arange(lo, hi + 1)
    ac = autocorrelation(segment, lo, hi)
    return float(ac[lags <= 1.25 * step_samples].max()), float(ac[lags >= 1.5 * step_samples].max())


def heading_deg(yaw_dps: FloatArray, fs_hz: float) -> FloatArray:
    return np.cumsum(filtfilt(yaw_dps, butter2_lowpass(min(1.5, 0.4 * fs_hz), fs_hz)) / fs_hz)


def turning_step_factor(heading_change_deg: FloatArray) -> FloatArray:
    return np.maximum(k.MIN_TURN_FACTOR, 1.0 - np.abs(heading_change_deg) / k.PIVOT_DEG)


def cap_paused_steps(lengths: FloatArray, contacts: IntArray, bout: IntArray) -> FloatArray:
    out = lengths.copy()
    samples = np.diff(contacts)
    for b in range(int(bout.max()) + 1):
        steps = np.flatnonzero((bout[:-1] == b) & (bout[1:] == b))
        if steps.size < 3:
            continue
        paused = steps[samples[steps] > k.PAUSED_STEP * np.median(samples[steps])]
        out[paused] = np.minimum(out[paused], np.median(lengths[steps]))
    return out


def cv_pct(values: FloatArray) -> float:
    return float(100.0 * values.std(ddof=1) / values.mean()) if values.size >= 2 else float("nan")


def gait_reference(
    vertical: FloatArray, yaw_dps: FloatArray, fs_hz: float, pendulum_m: float, gain: float
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, BoolArray]:
    """Same contract as :func:`processing.gait._kernels.gait_kernel`."""
    features = np.full(k.N_FEATURES, np.nan)
    features[k.F_N_CONTACTS] = 0.0
    features[k.F_RECORDING_S] = vertical.size / fs_hz
    signal = vertical - vertical.mean()
    if fs_hz > 50.0:
        signal = filtfilt(signal, butter2_lowpass(20.0, fs_hz))
    period = step_period(signal, fs_hz)
    if period > 0.0:
        period = harmonic_guard(signal, fs_hz, period)
    features[k.F_STEP_PERIOD_S] = period
    if period <= 0.0:
        empty = np.empty(0, dtype=np.int64)
        return features, empty, empty, np.empty(0), np.empty(0, dtype=bool)
    contacts = initial_contacts(signal, fs_hz, period)
    bout = walking_bouts(contacts, fs_hz)
    n = contacts.size
    features[k.F_N_CONTACTS] = float((bout >= 0).sum())
    turning = np.zeros(max(n - 1, 0), dtype=bool)
    heading_change = np.zeros(max(n - 1, 0))
    lengths = np.full(max(n - 1, 0), np.nan)
    if features[k.F_N_CONTACTS] == 0:
        return features, contacts, bout, lengths, turning
    if yaw_dps.size == vertical.size:
        mask, turns = turning_mask(yaw_dps, fs_hz)
        features[k.F_N_TURNS] = turns
        turning = mask[(contacts[:-1] + contacts[1:]) // 2]
        heading = heading_deg(yaw_dps, fs_hz)
        heading_change = heading[contacts[1:]] - heading[contacts[:-1]]
    in_bout = (bout[:-1] >= 0) & (bout[:-1] == bout[1:])
    steps = np.flatnonzero(in_bout)
    half = (contacts[steps + 1] - contacts[steps]) // 2
    starts = np.maximum(0, contacts[steps] - half)
    stops = np.minimum(signal.size - 1, starts + contacts[steps + 1] - contacts[steps])
    bounce = filtfilt(signal, butter2_lowpass(min(k.BOUNCE_HARMONICS / period, 0.45 * fs_hz), fs_hz))
    excursions = np.array([step_excursion(bounce, a, b, fs_hz) for a, b in zip(starts, stops, strict=True)])
    pendulum = np.array([pendulum_step_length(h, pendulum_m, gain) for h in excursions])
    lengths[steps] = pendulum * turning_step_factor(heading_change[steps])
    lengths = cap_paused_steps(lengths, contacts, bout)
    samples = (contacts[1:] - contacts[:-1])[steps]
    step_t = samples / fs_hz
    features[k.F_N_BOUTS] = bout.max() + 1
    features[k.F_DURATION_S] = samples.sum() / fs_hz
    features[k.F_TURNING_S] = samples[turning[steps]].sum() / fs_hz
    features[k.F_STEP_TIME_S] = samples.mean() / fs_hz
    features[k.F_STEP_LENGTH_M] = lengths[steps].mean()
    features[k.F_EXCURSION_M] = excursions.mean()
    features[k.F_TURNING_STEPS] = turning[steps].sum()
    straight_steps = step_t[~turning[steps]]
    features[k.F_STEP_TIME_CV_PCT] = cv_pct(straight_steps if straight_steps.size >= 3 else step_t)
    features[k.F_PERIOD_AGREEMENT] = np.median(step_t) / period
    strides = np.flatnonzero((bout[:-2] >= 0) & (bout[:-2] == bout[2:]))
    features[k.F_N_STRIDES] = strides.size
    stride_t = (contacts[strides + 2] - contacts[strides]) / fs_hz
    stride_len = lengths[strides] + lengths[strides + 1]
    features[k.F_STRIDE_TIME_S] = stride_t.mean()
    features[k.F_STRIDE_LENGTH_M] = stride_len.mean()
    features[k.F_CADENCE_SPM] = (120.0 / stride_t).mean()
    features[k.F_SPEED_MPS] = (stride_len / stride_t).mean()
    straight = ~(turning[strides] | turning[strides + 1])
    if straight.any():
        features[k.F_STRAIGHT_SPEED_MPS] = (stride_len[straight] / stride_t[straight]).mean()
    chosen = stride_t[straight]
    features[k.F_STRIDE_CV_PCT] = cv_pct(chosen if chosen.size >= 3 else stride_t)
    for exclude_turns in (True, False):
        usable = in_bout & ~turning if exclude_turns else in_bout
        weights, ad1s, ad2s = [], [], []
        # Runs of consecutive usable steps that stay in one bout.
        edges = np.diff(np.concatenate([[0], usable.astype(np.int8), [0]]))
        for first, last in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True):
            for run in np.split(
                np.arange(first, last + 1), np.flatnonzero(np.diff(bout[first : last + 1])) + 1
            ):
                start, stop = contacts[run[0]], contacts[run[-1] + 1]
                ad1, ad2 = regularity(signal, int(start), int(stop), (stop - start) / run.size)
                if not np.isnan(ad1):
                    weights.append(float(stop - start))
                    ad1s.append(ad1)
                    ad2s.append(ad2)
        if weights:
            features[k.F_STEP_REGULARITY] = np.average(ad1s, weights=weights)
            features[k.F_STRIDE_REGULARITY] = np.average(ad2s, weights=weights)
            break
    return features, contacts, bout, lengths, turning


def analyze_gait_reference(
    acc: FloatArray, fs_hz: float, gyr: FloatArray | None = None, pendulum_m: float = 0.95
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, BoolArray]:
    """The whole public analysis in NumPy (orientation as :func:`vertical_and_yaw`)."""
    vertical, yaw = vertical_and_yaw(acc, gyr if gyr is not None else np.empty((0, 3)), fs_hz)
    return gait_reference(vertical, yaw, fs_hz, pendulum_m, 1.25)
