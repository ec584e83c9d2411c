"""Private Numba kernels for gait from a lower-back accelerometer. No validation here: the public
module checks input and explains errors; these assume finite float64 arrays of sane length.

Every kernel has a plain NumPy/SciPy twin in :mod:`processing.gait.reference` that the tests
compare it with. All are ``@njit(cache=True, nogil=True)``: the batch entry point runs them on
threads, and a warm on-disk cache keeps a gateway replica's cold start short.
"""

from __future__ import annotations

import numpy as np

from processing.compiled import njit

# Feature vector layout returned by :func:`gait_kernel` (indices).
F_N_CONTACTS = 0
F_N_BOUTS = 1
F_DURATION_S = 2
F_STEP_TIME_S = 3
F_STRIDE_TIME_S = 4
F_STRIDE_CV_PCT = 5
F_N_STRIDES = 6
F_STEP_REGULARITY = 7
F_STRIDE_REGULARITY = 8
F_STEP_LENGTH_M = 9
F_STRIDE_LENGTH_M = 10
F_SPEED_MPS = 11
F_EXCURSION_M = 12
F_N_TURNS = 13
F_TURNING_STEPS = 14
F_STEP_PERIOD_S = 15
F_CADENCE_SPM = 16
F_STRAIGHT_SPEED_MPS = 17
F_TURNING_S = 18
F_STEP_TIME_CV_PCT = 19
F_PERIOD_AGREEMENT = 20
F_RECORDING_S = 21
N_FEATURES = 22

# Detection constants (documented in docs/gait.md).
MIN_STEP_S = 0.3  # 200 steps/min
MAX_STEP_S = 1.5  # 40 steps/min: slower than this is not walking
MAX_LAG_S = 3.0  # longest lag searched for the step period (a slow stride is ~2.5 s)
COARSE_HZ = 20.0  # rate of the coarse signal used to find the step period
PEAK_FLOOR_MPS2 = 0.05  # a step bounce smaller than this is sensor noise, not walking
RELATIVE_PEAK = 0.15  # a step peak must reach this share of the median step peak (turning steps are small)
MIN_STEP_SPACING = 0.6  # contacts closer than this share of the step period are one step
MAX_PAUSE_S = 3.0  # Mobilise-D walking-bout rule: a pause longer than this between contacts ends a bout
BOUNCE_HARMONICS = 3.0  # low-pass for step excursion, in multiples of the step frequency
MIN_CONTACTS = 4  # fewer contacts than this in a row is not a walking bout
TURN_RATE_DPS = 15.0  # El-Gohary et al. 2014: turning when yaw rate exceeds 15 deg/s ...
TURN_ANGLE_DEG = 45.0  # ... and the turn sweeps at least 45 degrees
PIVOT_DEG = 90.0  # a step that turns the body this far makes no forward progress (see turning_step_factor)
MIN_TURN_FACTOR = 0.3  # ... but a turning foot still travels: turning steps keep at least this share
PAUSED_STEP = 1.5  # a step longer than this many median steps holds a pause: not one pendulum swing
GRAVITY_LOWPASS_HZ = 0.3  # posture changes slower than this are tilt, faster ones are walking
HALF_PEAK_SHARE = 0.3  # a half-lag autocorrelation peak must reach this share of the full one to halve


@njit(cache=True, nogil=True)
def butter2_lowpass(cutoff_hz: float, fs_hz: float) -> np.ndarray:
    """Second-order Butterworth low-pass ``[b0, b1, b2, a1, a2]`` (a0 = 1) by the bilinear
    transform with frequency pre-warping (Butterworth 1930; the same design as
    ``scipy.signal.butter(2, cutoff, fs=fs)``)."""
    k = np.tan(np.pi * cutoff_hz / fs_hz)
    norm = 1.0 / (1.0 + np.sqrt(2.0) * k + k * k)
    b0 = k * k * norm
    out = np.empty(5)
    out[0] = b0
    out[1] = 2.0 * b0
    out[2] = b0
    out[3] = 2.0 * (k * k - 1.0) * norm
    out[4] = (1.0 - np.sqrt(2.0) * k + k * k) * norm
    return out


@njit(cache=True, nogil=True)
def _biquad(x: np.ndarray, c: np.ndarray, z0: float, z1: float) -> np.ndarray:
    """Transposed direct form II, one pass, initial state (z0, z1)."""
    y = np.empty_like(x)
    for i in range(x.size):
        xi = x[i]
        yi = c[0] * xi + z0
        z0 = c[1] * xi - c[3] * yi + z1
        z1 = c[2] * xi - c[4] * yi
        y[i] = yi
    return y


@njit(cache=True, nogil=True)
def filtfilt(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Zero-phase biquad filtering, forward then backward, with odd extension of 9 samples and
    steady-state initial conditions (Gustafsson 1996, "Determining the initial states in
    forward-backward filtering", IEEE TSP 44:988; matches ``scipy.signal.filtfilt`` defaults)."""
    return filtfilt_padded(x, c, 9)


@njit(cache=True, nogil=True)
def filtfilt_padded(x: np.ndarray, c: np.ndarray, pad: int) -> np.ndarray:
    """:func:`filtfilt` with an odd extension of ``pad`` samples (``scipy.signal.filtfilt``'s
    ``padlen``; at most ``x.size - 1``). Very low cut-offs need seconds of padding, not 9 samples."""
    n = x.size
    pad = min(pad, n - 1)
    ext = np.empty(n + 2 * pad)
    for i in range(pad):
        ext[i] = 2.0 * x[0] - x[pad - i]
        ext[n + pad + i] = 2.0 * x[n - 1] - x[n - 2 - i]
    ext[pad : pad + n] = x
    # Steady-state state for a unit step (scipy.signal.lfilter_zi solved for order 2).
    bb1 = c[1] - c[3] * c[0]
    bb2 = c[2] - c[4] * c[0]
    zi0 = (bb1 + bb2) / (1.0 + c[3] + c[4])
    zi1 = bb2 - c[4] * zi0
    forward = _biquad(ext, c, zi0 * ext[0], zi1 * ext[0])
    backward = _biquad(forward[::-1].copy(), c, zi0 * forward[-1], zi1 * forward[-1])
    return backward[::-1][pad : pad + n].copy()


@njit(cache=True, nogil=True)
def vertical_and_yaw(acc: np.ndarray, gyr: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Acceleration along, and rate of turn about, vertical in a gravity-aligned frame that
    follows slow posture changes: vertical at each sample is the direction of the accelerometer
    signal low-passed at 0.3 Hz (zero phase, 3 s padding), so a sensor worn any way round, or a
    trunk that leans into a turn or bends, still gives the vertical component (Moe-Nilssen 1998
    tilt correction, made time-varying). ``gyr`` may be empty (no gyroscope: empty yaw)."""
    n = acc.shape[0]
    c = butter2_lowpass(min(GRAVITY_LOWPASS_HZ, 0.4 * fs_hz), fs_hz)
    pad = int(3.0 * fs_hz)
    up = np.empty((n, 3))
    for j in range(3):
        up[:, j] = filtfilt_padded(np.ascontiguousarray(acc[:, j]), c, pad)
    vertical = np.empty(n)
    has_gyro = gyr.shape[0] == n
    yaw = np.empty(n if has_gyro else 0)
    for i in range(n):
        norm = np.sqrt(up[i, 0] ** 2 + up[i, 1] ** 2 + up[i, 2] ** 2)
        vertical[i] = (acc[i, 0] * up[i, 0] + acc[i, 1] * up[i, 1] + acc[i, 2] * up[i, 2]) / norm
        if has_gyro:
            yaw[i] = (gyr[i, 0] * up[i, 0] + gyr[i, 1] * up[i, 1] + gyr[i, 2] * up[i, 2]) / norm
    return vertical, yaw


@njit(cache=True, nogil=True)
def autocorrelation(x: np.ndarray, lag_from: int, lag_to: int) -> np.ndarray:
    """Unbiased autocorrelation normalised to lag 0 for lags ``lag_from..lag_to`` inclusive:
    ``Ad(m) = [Σ x_i x_{i+m} / (N − m)] / [Σ x_i² / N]`` of the mean-removed signal
    (Moe-Nilssen & Helbostad 2004, "Estimation of gait cycle characteristics by trunk
    accelerometry", J Biomech 37:121–126, Eq. 1–2)."""
    n = x.size
    mean = x.mean()
    y = x - mean
    energy = 0.0
    for i in range(n):
        energy += y[i] * y[i]
    out = np.zeros(lag_to - lag_from + 1)
    if energy <= 0.0:
        return out
    energy /= n
    for m in range(lag_from, lag_to + 1):
        if m >= n:
            break
        s = 0.0
        for i in range(n - m):
            s += y[i] * y[i + m]
        out[m - lag_from] = s / (n - m) / energy
    return out


@njit(cache=True, nogil=True)
def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of local maxima; a flat top counts once, at its middle (as scipy.signal)."""
    out = np.empty(x.size, dtype=np.int64)
    count = 0
    i = 1
    last = x.size - 1
    while i < last:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < last and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                out[count] = (i + ahead - 1) // 2
                count += 1
                i = ahead
        i += 1
    return out[:count]


@njit(cache=True, nogil=True)
def find_peaks(x: np.ndarray, height: float, distance: int) -> np.ndarray:
    """Local maxima at least ``height`` high, thinned so no two are closer than ``distance``
    samples, keeping the higher (the rule of ``scipy.signal.find_peaks``)."""
    candidates = local_maxima(x)
    tall = candidates[x[candidates] >= height]
    if distance <= 1 or tall.size < 2:
        return tall
    keep = np.ones(tall.size, dtype=np.bool_)
    order = np.argsort(x[tall])
    for r in range(tall.size - 1, -1, -1):
        j = order[r]
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and tall[j] - tall[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < tall.size and tall[k] - tall[j] < distance:
            keep[k] = False
            k += 1
    return tall[keep]


@njit(cache=True, nogil=True)
def step_period(vertical: np.ndarray, fs_hz: float) -> float:
    """Dominant step period (s) from the autocorrelation of vertical acceleration, or 0.0 when
    the signal has no periodicity in the walking range.

    The first dominant autocorrelation peak is the step, the second the stride (Moe-Nilssen &
    Helbostad 2004, Sect. 2.3). On a coarse 20 Hz copy, take the highest peak beyond 0.3 s; while
    a peak near half its lag reaches 0.15 and 30 % of it, halve (the highest peak may be a stride,
    or two). Near half a step lag a walking signal is anti-correlated, which ends the halving; the
    30 % share keeps a harmonic of a step (a double bump per step) from passing for a step.
    """
    q = max(1, int(fs_hz / COARSE_HZ))
    smooth = filtfilt(vertical, butter2_lowpass(min(5.0, 0.4 * fs_hz), fs_hz))
    coarse = smooth[::q].copy()
    fs_c = fs_hz / q
    lag_min = max(1, int(MIN_STEP_S * fs_c))
    lag_max = min(int(MAX_LAG_S * fs_c), int(0.75 * coarse.size))
    if lag_max <= lag_min + 2:
        return 0.0
    ac = autocorrelation(coarse, 0, lag_max)
    peaks = local_maxima(ac)
    best = -1
    for p in peaks:
        if p >= lag_min and (best < 0 or ac[p] > ac[best]):
            best = p
    if best < 0 or ac[best] < 0.1:
        return 0.0
    while True:
        half = -1
        floor = max(0.15, HALF_PEAK_SHARE * ac[best])
        for p in peaks:
            near_half = lag_min <= p and 0.35 * best <= p <= 0.65 * best and ac[p] >= floor
            if near_half and (half < 0 or ac[p] > ac[half]):
                half = p
        if half < 0:
            break
        best = half
    if best / fs_c > MAX_STEP_S:
        return 0.0
    return best / fs_c


@njit(cache=True, nogil=True)
def bounce_displacement(vertical: np.ndarray, fs_hz: float) -> np.ndarray:
    """Vertical displacement of the trunk up to a slow drift: the acceleration integrated twice,
    each integral high-passed at 0.3 Hz (its own low-pass subtracted). Integration divides a
    harmonic by its frequency squared, so a double bump per step in the acceleration is a quarter
    as strong in the displacement: one rise and fall per step is what is left."""
    c = butter2_lowpass(0.3, fs_hz)
    velocity = np.cumsum(vertical - vertical.mean()) / fs_hz
    velocity = velocity - filtfilt(velocity, c)
    displacement = np.cumsum(velocity) / fs_hz
    return displacement - filtfilt(displacement, c)


@njit(cache=True, nogil=True)
def harmonic_guard(vertical: np.ndarray, fs_hz: float, period_s: float) -> float:
    """The step period, doubled when the autocorrelation found a harmonic of the step.

    The trunk rises and falls once per step (Zijlstra & Hof 2003): at a true step lag its
    displacement is correlated with itself (autocorrelation > 0), at half a step lag it is
    anti-correlated. If the displacement is anti-correlated at the proposed lag and correlated
    at twice that lag, the proposed "step" was half a step (a double bump per step)."""
    doubled = 2.0 * period_s
    if doubled > MAX_STEP_S:
        return period_s
    q = max(1, int(fs_hz / COARSE_HZ))
    fs_c = fs_hz / q
    coarse = bounce_displacement(vertical, fs_hz)[::q].copy()
    lag = int(period_s * fs_c + 0.5)
    if 2 * lag >= int(0.75 * coarse.size):
        return period_s
    ac = autocorrelation(coarse, lag, 2 * lag)
    if ac[0] < 0.0 and ac[lag] > 0.3:
        return doubled
    return period_s


@njit(cache=True, nogil=True)
def initial_contacts(signal: np.ndarray, fs_hz: float, period_s: float) -> np.ndarray:
    """Sample indices of initial contacts: one peak of band-passed vertical acceleration per step.

    The trunk is lowest, and accelerating upward most, in double support just after initial
    contact (Zijlstra & Hof 2003, Sect. 2.3, inverted-pendulum phase). Band-pass around the step
    frequency (0.4–1.5 × f_step) leaves one peak per step; peaks below a noise floor or below
    15 % of the median step peak (turning steps bounce little) are not steps.
    """
    f_step = 1.0 / period_s
    nyquist_cap = 0.45 * fs_hz
    upper = filtfilt(signal, butter2_lowpass(min(1.5 * f_step, nyquist_cap), fs_hz))
    lower = filtfilt(signal, butter2_lowpass(0.4 * f_step, fs_hz))
    band = upper - lower
    distance = max(1, int(MIN_STEP_SPACING * period_s * fs_hz))
    peaks = find_peaks(band, PEAK_FLOOR_MPS2, distance)
    if peaks.size == 0:
        return peaks
    threshold = max(PEAK_FLOOR_MPS2, RELATIVE_PEAK * np.median(band[peaks]))
    return peaks[band[peaks] >= threshold]


@njit(cache=True, nogil=True)
def walking_bouts(contacts: np.ndarray, fs_hz: float) -> np.ndarray:
    """Bout number per contact (0, 1, ...; −1 for contacts not in a bout of ≥ 4 in a row).

    Consecutive contacts more than 3 s apart belong to different bouts (the Mobilise-D rule for
    a break between walking bouts, Kluge et al. 2021, "Consensus based framework for digital
    mobility monitoring", PLoS One 16:e0256541); a bout needs at least 4 contacts (3 steps)."""
    n = contacts.size
    bout = np.full(n, -1, dtype=np.int64)
    max_gap = MAX_PAUSE_S * fs_hz
    start = 0
    number = 0
    for i in range(1, n + 1):
        if i == n or contacts[i] - contacts[i - 1] > max_gap:
            if i - start >= MIN_CONTACTS:
                bout[start:i] = number
                number += 1
            start = i
    return bout


@njit(cache=True, nogil=True)
def step_excursion(vertical: np.ndarray, start: int, stop: int, fs_hz: float) -> float:
    """Vertical excursion h (m) of the trunk over one step, from ``start`` to ``stop`` samples.

    Double integration of vertical acceleration over the step, with the drift removed under the
    assumption that walking is periodic: velocity and position return to their starting values
    by the next contact (Zijlstra & Hof 2003, Sect. 2.4 integrate and high-pass instead; per-step
    drift removal works on bouts too short for a 0.1 Hz high-pass)."""
    n = stop - start + 1
    dt = 1.0 / fs_hz
    velocity = np.empty(n)
    velocity[0] = 0.0
    for i in range(1, n):
        velocity[i] = velocity[i - 1] + 0.5 * (vertical[start + i - 1] + vertical[start + i]) * dt
    end_v = velocity[n - 1]
    for i in range(n):
        velocity[i] -= end_v * i / (n - 1)
    velocity -= velocity.mean()
    position = 0.0
    end_p = 0.0
    for i in range(1, n):
        end_p += 0.5 * (velocity[i - 1] + velocity[i]) * dt
    lowest = 0.0
    highest = 0.0
    for i in range(1, n):
        position += 0.5 * (velocity[i - 1] + velocity[i]) * dt
        corrected = position - end_p * i / (n - 1)
        lowest = min(lowest, corrected)
        highest = max(highest, corrected)
    return highest - lowest


@njit(cache=True, nogil=True)
def _excursion_window(contact: int, next_contact: int, n: int) -> tuple[int, int]:
    """The step's window shifted back by half a step: mid-stance to mid-stance. The heel-strike
    transient then lies whole inside the window instead of straddling its edges, where
    per-step drift removal would turn it into spurious excursion."""
    half = (next_contact - contact) // 2
    start = max(0, contact - half)
    return start, min(n - 1, start + (next_contact - contact))


@njit(cache=True, nogil=True)
def pendulum_step_length(excursion_m: float, pendulum_m: float, gain: float) -> float:
    """Step length by the inverted-pendulum model, ``K · 2·sqrt(2·l·h − h²)`` (Zijlstra & Hof
    2003, Eq. 1 and Sect. 2.4; K = 1.25)."""
    h = min(excursion_m, pendulum_m)
    return gain * 2.0 * np.sqrt(max(2.0 * pendulum_m * h - h * h, 0.0))


@njit(cache=True, nogil=True)
def turning_mask(yaw_dps: np.ndarray, fs_hz: float) -> tuple[np.ndarray, int]:
    """Samples inside a turn, and the number of turns, from the yaw rate about vertical.

    El-Gohary et al. 2014 ("Continuous monitoring of turning in patients with movement
    disability", Sensors 14:356–369, Sect. 2.3): low-pass the yaw rate, a turn is a run above
    15 deg/s whose integrated angle reaches 45 degrees."""
    smooth = filtfilt(yaw_dps, butter2_lowpass(min(1.5, 0.4 * fs_hz), fs_hz))
    n = smooth.size
    mask = np.zeros(n, dtype=np.bool_)
    turns = 0
    i = 0
    while i < n:
        if abs(smooth[i]) <= TURN_RATE_DPS:
            i += 1
            continue
        j = i
        angle = 0.0
        while j < n and abs(smooth[j]) > TURN_RATE_DPS:
            angle += smooth[j] / fs_hz
            j += 1
        if abs(angle) >= TURN_ANGLE_DEG:
            mask[i:j] = True
            turns += 1
        i = j
    return mask, turns


@njit(cache=True, nogil=True)
def _regularity(vertical: np.ndarray, start: int, stop: int, step_samples: float) -> tuple[float, float]:
    """Step (Ad1) and stride (Ad2) regularity of one stretch of walking: the highest unbiased
    autocorrelation within ±25 % of one and of two step lags (Moe-Nilssen & Helbostad 2004,
    Sect. 2.3). NaN when the stretch is too short for the stride lag."""
    segment = vertical[start : stop + 1]
    hi = int(2.5 * step_samples)
    if hi >= segment.size - 1:
        return np.nan, np.nan
    lo = max(1, int(0.75 * step_samples))
    ac = autocorrelation(segment, lo, hi)
    ad1 = -np.inf
    ad2 = -np.inf
    for m in range(lo, hi + 1):
        value = ac[m - lo]
        if m <= 1.25 * step_samples:
            ad1 = max(ad1, value)
        if m >= 1.5 * step_samples:
            ad2 = max(ad2, value)
    return ad1, ad2


@njit(cache=True, nogil=True)
def heading_deg(yaw_dps: np.ndarray, fs_hz: float) -> np.ndarray:
    """Heading (deg) by integrating the yaw rate low-passed at 1.5 Hz (as :func:`turning_mask`)."""
    smooth = filtfilt(yaw_dps, butter2_lowpass(min(1.5, 0.4 * fs_hz), fs_hz))
    out = np.empty(smooth.size)
    total = 0.0
    for i in range(smooth.size):
        total += smooth[i] / fs_hz
        out[i] = total
    return out


@njit(cache=True, nogil=True)
def turning_step_factor(heading_change_deg: float) -> float:
    """Share of the pendulum step length that is progression on a step that turns the body.

    The trunk rises and falls on a turning step about as on a straight one, but the feet turn
    on the spot: a step that turns the body by 90° (a pivot) barely moves the pelvis forward.
    Linear in between, at least 30 %: ``max(0.3, 1 − |Δheading| / 90°)``. Measured on the
    development participant's daily-living walks (docs/gait.md), not a published constant."""
    return max(MIN_TURN_FACTOR, 1.0 - abs(heading_change_deg) / PIVOT_DEG)


@njit(cache=True, nogil=True)
def _cap_paused_steps(lengths: np.ndarray, contacts: np.ndarray, bout: np.ndarray, n_bouts: int) -> None:
    """Per bout, a step that lasts more than 1.5 median steps held a pause (a hesitation, a
    stop and go): its trunk excursion is not one pendulum swing, so its length is capped at
    the bout's median step length. In place."""
    n = contacts.size
    for b in range(n_bouts):
        count = 0
        for k in range(n - 1):
            if bout[k] == b and bout[k + 1] == b:
                count += 1
        if count < 3:
            continue
        times = np.empty(count)
        steps = np.empty(count)
        j = 0
        for k in range(n - 1):
            if bout[k] == b and bout[k + 1] == b:
                times[j] = contacts[k + 1] - contacts[k]
                steps[j] = lengths[k]
                j += 1
        median_time = np.median(times)
        median_length = np.median(steps)
        for k in range(n - 1):
            if (
                bout[k] == b
                and bout[k + 1] == b
                and contacts[k + 1] - contacts[k] > PAUSED_STEP * median_time
            ):
                lengths[k] = min(lengths[k], median_length)


@njit(cache=True, nogil=True)
def _cv_pct(values: np.ndarray) -> float:
    """Coefficient of variation (%, sample standard deviation); NaN for fewer than two values."""
    if values.size < 2:
        return np.nan
    return 100.0 * np.std(values) * np.sqrt(values.size / (values.size - 1.0)) / values.mean()


@njit(cache=True, nogil=True)
def gait_kernel(
    vertical: np.ndarray, yaw_dps: np.ndarray, fs_hz: float, pendulum_m: float, gain: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The whole analysis of one recording.

    ``vertical``: acceleration along vertical (m/s², with or without gravity), ``yaw_dps``: rate
    of turn about vertical (deg/s) or an empty array without a gyroscope (both from
    :func:`vertical_and_yaw`). Returns ``(features, contacts, bout, step_length_m, turning)``:
    the feature vector (layout ``F_*``), contact sample indices, bout number per contact (−1
    outside bouts), and per interval between consecutive contacts the step length (NaN across
    bouts) and whether it was a turning step.

    Cadence, stride length and walking speed are means over strides (contact k to k + 2 in one
    bout) as the Mobilise-D reference defines them: cadence = mean of 120 / stride time, speed =
    mean of stride length / stride time.
    """
    features = np.full(N_FEATURES, np.nan)
    features[F_N_CONTACTS] = 0.0
    features[F_RECORDING_S] = vertical.size / fs_hz
    empty_i = np.empty(0, dtype=np.int64)
    empty_f = np.empty(0)
    empty_b = np.empty(0, dtype=np.bool_)
    signal = vertical - vertical.mean()
    if fs_hz > 50.0:  # 20 Hz low-pass: keep the bounce, drop impact ringing and sensor noise
        signal = filtfilt(signal, butter2_lowpass(20.0, fs_hz))
    period = step_period(signal, fs_hz)
    if period > 0.0:
        period = harmonic_guard(signal, fs_hz, period)
    features[F_STEP_PERIOD_S] = period
    if period <= 0.0:
        return features, empty_i, empty_i, empty_f, empty_b
    contacts = initial_contacts(signal, fs_hz, period)
    bout = walking_bouts(contacts, fs_hz)
    n = contacts.size
    n_in = 0
    for i in range(n):
        if bout[i] >= 0:
            n_in += 1
    features[F_N_CONTACTS] = n_in
    if n_in == 0:
        return features, contacts, bout, np.full(max(n - 1, 0), np.nan), np.zeros(max(n - 1, 0), np.bool_)

    turning = np.zeros(n - 1, dtype=np.bool_)
    heading_change = np.zeros(n - 1)
    if yaw_dps.size == vertical.size:
        mask, turns = turning_mask(yaw_dps, fs_hz)
        heading = heading_deg(yaw_dps, fs_hz)
        features[F_N_TURNS] = turns
        for k in range(n - 1):
            turning[k] = mask[(contacts[k] + contacts[k + 1]) // 2]
            heading_change[k] = heading[contacts[k + 1]] - heading[contacts[k]]
    else:
        features[F_N_TURNS] = np.nan

    # The pendulum concerns the gross rise and fall of the trunk: keep the step frequency and its
    # first harmonics, drop heel-strike transients whose double integral is not a step's rise.
    bounce = filtfilt(signal, butter2_lowpass(min(BOUNCE_HARMONICS / period, 0.45 * fs_hz), fs_hz))
    lengths = np.full(n - 1, np.nan)
    n_bouts = bout.max() + 1
    n_steps = 0
    n_turning = 0
    total_samples = 0.0
    turning_samples = 0.0
    total_excursion = 0.0
    for k in range(n - 1):
        if bout[k] < 0 or bout[k] != bout[k + 1]:
            continue
        h = step_excursion(bounce, *_excursion_window(contacts[k], contacts[k + 1], signal.size), fs_hz)
        lengths[k] = pendulum_step_length(h, pendulum_m, gain) * turning_step_factor(heading_change[k])
        n_steps += 1
        total_samples += contacts[k + 1] - contacts[k]
        total_excursion += h
        if turning[k]:
            n_turning += 1
            turning_samples += contacts[k + 1] - contacts[k]
    _cap_paused_steps(lengths, contacts, bout, n_bouts)
    step_t = np.empty(n_steps)
    straight_step = np.empty(n_steps, dtype=np.bool_)
    total_length = 0.0
    j = 0
    for k in range(n - 1):
        if bout[k] >= 0 and bout[k] == bout[k + 1]:
            step_t[j] = (contacts[k + 1] - contacts[k]) / fs_hz
            straight_step[j] = not turning[k]
            total_length += lengths[k]
            j += 1
    features[F_N_BOUTS] = n_bouts
    features[F_DURATION_S] = total_samples / fs_hz
    features[F_TURNING_S] = turning_samples / fs_hz
    features[F_STEP_TIME_S] = total_samples / n_steps / fs_hz
    features[F_STEP_LENGTH_M] = total_length / n_steps
    features[F_EXCURSION_M] = total_excursion / n_steps
    features[F_TURNING_STEPS] = n_turning
    chosen_steps = step_t[straight_step]
    features[F_STEP_TIME_CV_PCT] = _cv_pct(chosen_steps if chosen_steps.size >= 3 else step_t)
    # Median step time / autocorrelation step period: ~1 when the contacts found agree with the
    # signal's periodicity; ~2 means every other step was missed, ~0.5 that harmonics were counted.
    features[F_PERIOD_AGREEMENT] = np.median(step_t) / period

    # Strides: contact k to k + 2 in one bout. Variability from straight strides when there are
    # at least three (turning strides are slower by design, not by instability).
    stride_t = np.empty(n)
    stride_len = np.empty(n)
    straight = np.empty(n, dtype=np.bool_)
    n_strides = 0
    for k in range(n - 2):
        if bout[k] >= 0 and bout[k] == bout[k + 2]:
            stride_t[n_strides] = (contacts[k + 2] - contacts[k]) / fs_hz
            stride_len[n_strides] = lengths[k] + lengths[k + 1]
            straight[n_strides] = not (turning[k] or turning[k + 1])
            n_strides += 1
    features[F_N_STRIDES] = n_strides
    times = stride_t[:n_strides]
    distances = stride_len[:n_strides]
    features[F_STRIDE_TIME_S] = times.mean()
    features[F_STRIDE_LENGTH_M] = distances.mean()
    features[F_CADENCE_SPM] = (120.0 / times).mean()
    features[F_SPEED_MPS] = (distances / times).mean()
    straight_strides = straight[:n_strides]
    if straight_strides.any():
        features[F_STRAIGHT_SPEED_MPS] = (distances[straight_strides] / times[straight_strides]).mean()
    chosen = times[straight_strides]
    features[F_STRIDE_CV_PCT] = _cv_pct(chosen if chosen.size >= 3 else times)

    # Regularity over straight stretches (runs of non-turning steps within a bout), weighted by
    # length; whole bouts when no straight stretch is long enough.
    for pass_ in range(2):
        weight = 0.0
        ad1_sum = 0.0
        ad2_sum = 0.0
        k = 0
        while k < n - 1:
            if bout[k] < 0 or bout[k] != bout[k + 1] or (pass_ == 0 and turning[k]):
                k += 1
                continue
            j = k
            while (
                j + 1 < n - 1
                and bout[j + 1] == bout[k]
                and bout[j + 2] == bout[k]
                and not (pass_ == 0 and turning[j + 1])
            ):
                j += 1
            start = contacts[k]
            stop = contacts[j + 1]
            step_samples = (stop - start) / (j + 1 - k)
            ad1, ad2 = _regularity(signal, start, stop, step_samples)
            if not np.isnan(ad1):
                w = float(stop - start)
                weight += w
                ad1_sum += w * ad1
                ad2_sum += w * ad2
            k = j + 1
        if weight > 0.0:
            features[F_STEP_REGULARITY] = ad1_sum / weight
            features[F_STRIDE_REGULARITY] = ad2_sum / weight
            break
    return features, contacts, bout, lengths, turning
