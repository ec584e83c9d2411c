"""Private Numba kernels for centre-of-pressure (CoP) sway measures. No validation here: the
public module checks input and explains errors; these assume finite float64 arrays of sane length.

All time-domain measures follow Prieto, Myklebust, Hoffmann, Lovett & Myklebust 1996, "Measures
of postural steadiness: differences between healthy young and elderly adults", IEEE TBME
43(9):956–966, "time-domain measures" (the AP, ML and RD series, MDIST, RDIST, TOTEX, MVELO,
AREA-CE, MFREQ; names as in the paper). Every kernel has a plain NumPy/SciPy twin in
:mod:`processing.balance.reference` that the tests compare it with. All are
``@njit(cache=True, nogil=True)``: the batch entry point runs them on threads.

The optional zero-phase low-pass is the gait package's (second-order Butterworth run forward
and back, i.e. fourth-order magnitude, zero phase); reused, not copied.
"""

from __future__ import annotations

import numpy as np

from processing.compiled import njit
from processing.gait._kernels import butter2_lowpass, filtfilt

# Feature vector layout returned by :func:`sway_features` / :func:`balance_kernel` (indices).
F_PATH = 0  # TOTEX, mm
F_PATH_AP = 1
F_PATH_ML = 2
F_MVELO = 3  # mm/s
F_MVELO_AP = 4
F_MVELO_ML = 5
F_MDIST = 6  # mm
F_MDIST_AP = 7
F_MDIST_ML = 8
F_RDIST = 9  # mm
F_RDIST_AP = 10
F_RDIST_ML = 11
F_COV_APML = 12  # mm²
F_AREA_CE = 13  # mm²
F_MFREQ = 14  # Hz
F_MFREQ_AP = 15
F_MFREQ_ML = 16
F_DURATION_S = 17
F_MAX_DISTANCE = 18  # largest RD, mm (not a Prieto measure: a plausibility check on units)
N_FEATURES = 19

ELLIPSE_ALPHA = 0.05  # 95 % confidence ellipse


@njit(cache=True, nogil=True)
def f_upper_quantile_2(alpha: float, dof2: float) -> float:
    """Upper-``alpha`` point of the F(2, dof2) distribution, closed form: the survival function
    of F(2, m) is ``(1 + 2x/m)^(−m/2)`` (the F(0.05; 2, n−2) in Prieto et al. 1996's AREA-CE)."""
    return 0.5 * dof2 * (alpha ** (-2.0 / dof2) - 1.0)


@njit(cache=True, nogil=True)
def remove_mean(x: np.ndarray) -> np.ndarray:
    """``x − mean(x)``: Prieto et al. 1996 work on AP[n] = AP0[n] − mean(AP0), likewise ML."""
    s = 0.0
    for i in range(x.size):
        s += x[i]
    mean = s / x.size
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = x[i] - mean
    return out


@njit(cache=True, nogil=True)
def prepare(x: np.ndarray, fs_hz: float, lowpass_hz: float) -> np.ndarray:
    """Mean-removed trace, low-passed (zero phase) first when ``lowpass_hz > 0``."""
    y = remove_mean(x)
    if lowpass_hz > 0.0:
        y = remove_mean(filtfilt(y, butter2_lowpass(lowpass_hz, fs_hz)))
    return y


@njit(cache=True, nogil=True)
def resultant_distance(ap: np.ndarray, ml: np.ndarray) -> np.ndarray:
    """RD[n] = sqrt(AP[n]² + ML[n]²), the resultant distance of Prieto et al. 1996."""
    out = np.empty_like(ap)
    for i in range(ap.size):
        out[i] = np.sqrt(ap[i] * ap[i] + ml[i] * ml[i])
    return out


@njit(cache=True, nogil=True)
def sway_features(ap: np.ndarray, ml: np.ndarray, fs_hz: float) -> np.ndarray:
    """Time-domain measures of mean-removed AP and ML series (Prieto et al. 1996):

    MDIST = mean RD, MDIST_AP = mean |AP|; RDIST = sqrt(mean RD²), RDIST_AP = sqrt(mean AP²);
    TOTEX = Σ sqrt(ΔAP² + ΔML²), TOTEX_AP = Σ |ΔAP|; MVELO = TOTEX / T; AREA-CE =
    2π F(0.05; 2, n−2) sqrt(s_AP² s_ML² − s_APML²) with 1/N moments; MFREQ = TOTEX /
    (2π MDIST T) (a circle of radius MDIST travelled TOTEX in T) and MFREQ_AP = TOTEX_AP /
    (4√2 MDIST_AP T) as the paper defines it (a pure sinusoid of frequency f gives π f/(2√2)
    ≈ 1.11 f on one axis; kept as published so values compare with the literature).
    T = (n − 1)/fs, the time the samples span, so a CoP moving at constant speed v has
    MVELO = v exactly (Prieto's T = n/fs differs by 1/n).
    A measure whose denominator is zero (an axis with no sway) is NaN.
    """
    n = ap.size
    out = np.empty(N_FEATURES)
    duration = (n - 1) / fs_hz
    path = 0.0
    path_ap = 0.0
    path_ml = 0.0
    for i in range(1, n):
        dap = ap[i] - ap[i - 1]
        dml = ml[i] - ml[i - 1]
        path += np.sqrt(dap * dap + dml * dml)
        path_ap += abs(dap)
        path_ml += abs(dml)
    max_rd = 0.0
    mdist = 0.0
    mdist_ap = 0.0
    mdist_ml = 0.0
    ss_ap = 0.0
    ss_ml = 0.0
    s_apml = 0.0
    for i in range(n):
        rd = np.sqrt(ap[i] * ap[i] + ml[i] * ml[i])
        mdist += rd
        max_rd = max(max_rd, rd)
        mdist_ap += abs(ap[i])
        mdist_ml += abs(ml[i])
        ss_ap += ap[i] * ap[i]
        ss_ml += ml[i] * ml[i]
        s_apml += ap[i] * ml[i]
    mdist /= n
    mdist_ap /= n
    mdist_ml /= n
    var_ap = ss_ap / n
    var_ml = ss_ml / n
    cov = s_apml / n
    out[F_PATH] = path
    out[F_PATH_AP] = path_ap
    out[F_PATH_ML] = path_ml
    out[F_MVELO] = path / duration
    out[F_MVELO_AP] = path_ap / duration
    out[F_MVELO_ML] = path_ml / duration
    out[F_MDIST] = mdist
    out[F_MDIST_AP] = mdist_ap
    out[F_MDIST_ML] = mdist_ml
    out[F_RDIST] = np.sqrt(var_ap + var_ml)
    out[F_RDIST_AP] = np.sqrt(var_ap)
    out[F_RDIST_ML] = np.sqrt(var_ml)
    out[F_COV_APML] = cov
    det = max(0.0, var_ap * var_ml - cov * cov)  # ≥ 0 in exact arithmetic (Cauchy–Schwarz)
    out[F_AREA_CE] = 2.0 * np.pi * f_upper_quantile_2(ELLIPSE_ALPHA, n - 2.0) * np.sqrt(det)
    out[F_MFREQ] = path / (2.0 * np.pi * mdist * duration) if mdist > 0.0 else np.nan
    root32 = 4.0 * np.sqrt(2.0)
    out[F_MFREQ_AP] = path_ap / (root32 * mdist_ap * duration) if mdist_ap > 0.0 else np.nan
    out[F_MFREQ_ML] = path_ml / (root32 * mdist_ml * duration) if mdist_ml > 0.0 else np.nan
    out[F_DURATION_S] = duration
    out[F_MAX_DISTANCE] = max_rd
    return out


@njit(cache=True, nogil=True)
def balance_kernel(
    ml_raw: np.ndarray, ap_raw: np.ndarray, fs_hz: float, lowpass_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """The whole time-domain analysis: ``(features, rd)`` where ``rd`` is the resultant-distance
    series the public layer takes the power spectrum of."""
    ap = prepare(ap_raw, fs_hz, lowpass_hz)
    ml = prepare(ml_raw, fs_hz, lowpass_hz)
    return sway_features(ap, ml, fs_hz), resultant_distance(ap, ml)


@njit(cache=True, nogil=True)
def power_frequency(
    freqs: np.ndarray, psd: np.ndarray, lo_hz: float, hi_hz: float, fraction: float, min_power: float
) -> float:
    """Frequency below which ``fraction`` of the power in ``[lo_hz, hi_hz]`` lies (Prieto et al.
    1996, frequency-domain measures: 50 % and 95 % power frequency over 0.15–5 Hz). The cumulative power is
    interpolated linearly between bins. NaN when the band holds less than ``min_power`` (mm²,
    the integral of the PSD): a resultant distance that does not fluctuate has no such frequency.
    """
    total = 0.0
    first = -1
    last = -1
    for i in range(freqs.size):
        if lo_hz <= freqs[i] <= hi_hz:
            if first < 0:
                first = i
            last = i
            total += psd[i]
    if first < 0 or last == first:
        return np.nan
    df = freqs[first + 1] - freqs[first]
    if total * df < min_power:
        return np.nan
    target = fraction * total
    cumulative = 0.0
    for i in range(first, last + 1):
        previous = cumulative
        cumulative += psd[i]
        if cumulative >= target:
            if i == first or psd[i] <= 0.0:
                return freqs[i]
            return freqs[i - 1] + (target - previous) / psd[i] * (freqs[i] - freqs[i - 1])
    return freqs[last]
