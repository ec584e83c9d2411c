"""The balance computations in plain NumPy/SciPy: the oracle the Numba kernels are tested against.

Each function mirrors one kernel in :mod:`processing.balance._kernels` (same name, same inputs
and outputs) but is written the obvious vectorised way with library routines
(``scipy.signal.butter``/``filtfilt``, ``scipy.stats.f.ppf``, ``np.cumsum``). Slow, simple,
independent of Numba.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal as sps
from scipy import stats

from processing.balance import _kernels as k

FloatArray = npt.NDArray[np.float64]


def f_upper_quantile_2(alpha: float, dof2: float) -> float:
    return float(stats.f.ppf(1.0 - alpha, 2, dof2))


def remove_mean(x: FloatArray) -> FloatArray:
    return np.asarray(x - x.mean(), dtype=np.float64)


def prepare(x: FloatArray, fs_hz: float, lowpass_hz: float) -> FloatArray:
    y = remove_mean(x)
    if lowpass_hz > 0.0:
        b, a = sps.butter(2, lowpass_hz, fs=fs_hz)
        y = remove_mean(np.asarray(sps.filtfilt(b, a, y), dtype=np.float64))
    return y


def resultant_distance(ap: FloatArray, ml: FloatArray) -> FloatArray:
    return np.asarray(np.hypot(ap, ml), dtype=np.float64)


def sway_features(ap: FloatArray, ml: FloatArray, fs_hz: float) -> FloatArray:
    n = ap.size
    duration = (n - 1) / fs_hz
    d_ap, d_ml = np.diff(ap), np.diff(ml)
    rd = resultant_distance(ap, ml)
    cov = np.cov(np.vstack([ap, ml]), bias=True)  # 1/N moments, as Prieto et al.
    out = np.empty(k.N_FEATURES)
    out[k.F_PATH] = np.hypot(d_ap, d_ml).sum()
    out[k.F_PATH_AP] = np.abs(d_ap).sum()
    out[k.F_PATH_ML] = np.abs(d_ml).sum()
    out[[k.F_MVELO, k.F_MVELO_AP, k.F_MVELO_ML]] = out[[k.F_PATH, k.F_PATH_AP, k.F_PATH_ML]] / duration
    out[k.F_MDIST] = rd.mean()
    out[k.F_MDIST_AP] = np.abs(ap).mean()
    out[k.F_MDIST_ML] = np.abs(ml).mean()
    out[k.F_RDIST] = np.sqrt(np.mean(rd**2))
    out[k.F_RDIST_AP] = np.sqrt(np.mean(ap**2))
    out[k.F_RDIST_ML] = np.sqrt(np.mean(ml**2))
    out[k.F_COV_APML] = np.mean(ap * ml)
    det = max(0.0, float(np.linalg.det(cov)))
    out[k.F_AREA_CE] = 2.0 * np.pi * f_upper_quantile_2(k.ELLIPSE_ALPHA, n - 2) * np.sqrt(det)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[k.F_MFREQ] = _ratio(out[k.F_PATH], 2.0 * np.pi * out[k.F_MDIST] * duration)
        out[k.F_MFREQ_AP] = _ratio(out[k.F_PATH_AP], 4.0 * np.sqrt(2.0) * out[k.F_MDIST_AP] * duration)
        out[k.F_MFREQ_ML] = _ratio(out[k.F_PATH_ML], 4.0 * np.sqrt(2.0) * out[k.F_MDIST_ML] * duration)
    out[k.F_DURATION_S] = duration
    out[k.F_MAX_DISTANCE] = rd.max(initial=0.0)
    return out


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0.0 else float("nan")


def balance_kernel(
    ml_raw: FloatArray, ap_raw: FloatArray, fs_hz: float, lowpass_hz: float
) -> tuple[FloatArray, FloatArray]:
    ap = prepare(ap_raw, fs_hz, lowpass_hz)
    ml = prepare(ml_raw, fs_hz, lowpass_hz)
    return sway_features(ap, ml, fs_hz), resultant_distance(ap, ml)


def power_frequency(
    freqs: FloatArray, psd: FloatArray, lo_hz: float, hi_hz: float, fraction: float, min_power: float
) -> float:
    band = np.flatnonzero((freqs >= lo_hz) & (freqs <= hi_hz))
    if band.size < 2:
        return float("nan")
    f, p = freqs[band], psd[band]
    if p.sum() * (f[1] - f[0]) < min_power:
        return float("nan")
    cumulative = np.cumsum(p)
    target = fraction * cumulative[-1]
    i = min(int(np.searchsorted(cumulative, target, side="left")), f.size - 1)
    if i == 0 or p[i] <= 0.0:
        return float(f[i])
    return float(f[i - 1] + (target - cumulative[i - 1]) / p[i] * (f[i] - f[i - 1]))


def welch_psd(rd: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    from processing.balance.analysis import WELCH_SEGMENT_S

    nperseg = min(rd.size, round(WELCH_SEGMENT_S * fs_hz))
    freqs, psd = sps.welch(rd, fs=fs_hz, window="hann", nperseg=nperseg, noverlap=nperseg // 2)
    return np.asarray(freqs, dtype=np.float64), np.asarray(psd, dtype=np.float64)


def analyze_balance_reference(
    cop_mm: FloatArray, fs_hz: float, lowpass_hz: float = 5.0
) -> tuple[FloatArray, float, float]:
    """The whole public analysis in NumPy/SciPy, no validation: ``(features, f50_hz, f95_hz)``."""
    from processing.balance.analysis import MIN_BAND_POWER_MM2, POWER_BAND_HZ

    features, rd = balance_kernel(cop_mm[:, 0].copy(), cop_mm[:, 1].copy(), fs_hz, lowpass_hz)
    freqs, psd = welch_psd(rd, fs_hz)
    lo, hi = POWER_BAND_HZ
    f50 = power_frequency(freqs, psd, lo, hi, 0.5, MIN_BAND_POWER_MM2)
    f95 = power_frequency(freqs, psd, lo, hi, 0.95, MIN_BAND_POWER_MM2)
    return features, f50, f95
