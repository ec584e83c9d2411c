"""Standing balance from a centre-of-pressure (CoP) trace: validate, run the kernel, explain.

Measures are those of Prieto et al. 1996 ("Measures of postural steadiness: differences between
healthy young and elderly adults", IEEE TBME 43(9):956–966) on the mean-removed trace, x = ML,
y = AP, in mm. Time-domain measures come from the Numba kernel; the power spectrum of the
resultant distance is Welch's estimate (Hann windows of 20 s, half overlap, one window when the
trace is shorter; NumPy, checked against SciPy's), read off over Prieto's 0.15–5 Hz band. By
default the trace is low-passed at 5 Hz (zero phase) first, so path length and velocity do not
grow with the platform's sampling rate and noise floor; pass ``lowpass_hz=None`` for the raw
trace. Details, constants and measured accuracy: docs/balance.md.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.balance import _kernels as k
from processing.errors import SignalError

FloatArray = npt.NDArray[np.float64]
Condition = Literal["eyes_open", "eyes_closed"]
CONDITIONS: tuple[Condition, ...] = ("eyes_open", "eyes_closed")

MIN_FS_HZ = 25.0
MAX_FS_HZ = 2000.0
#: Shortest trace analysed. Protocols ask for 10–60 s; 5 s still gives stable RMS and velocity
#: (frequency measures are coarse below ~20 s, see docs/balance.md).
MIN_DURATION_S = 5.0
#: Default zero-phase low-pass: the top of Prieto et al.'s 0.15–5 Hz band.
DEFAULT_LOWPASS_HZ: float | None = 5.0
#: RMS distance below this is no sway: an empty plate, a stuck sensor, or data in metres.
NO_SWAY_RMS_MM = 0.05
#: A CoP that wanders further than this from its mean is off any platform: not millimetres.
MAX_EXCURSION_MM = 400.0
POWER_BAND_HZ = (0.15, 5.0)
WELCH_SEGMENT_S = 20.0
#: Resultant-distance power in the band below this (mm²) means no power frequency exists.
MIN_BAND_POWER_MM2 = 1e-8


class BalanceResult(BaseModel):
    """Prieto et al. 1996 sway measures of one stance (mean-removed CoP, x = ML, y = AP)."""

    model_config = ConfigDict(frozen=True)

    condition: Condition | None = Field(description="eyes_open, eyes_closed, or not stated")
    path_length_mm: float = Field(description="TOTEX: total CoP excursion")
    path_length_ap_mm: float
    path_length_ml_mm: float
    mean_velocity_mm_s: float = Field(description="MVELO = path length / duration")
    mean_velocity_ap_mm_s: float
    mean_velocity_ml_mm_s: float
    mean_distance_mm: float = Field(description="MDIST: mean distance from the mean CoP")
    mean_distance_ap_mm: float
    mean_distance_ml_mm: float
    rms_mm: float = Field(description="RDIST: RMS distance from the mean CoP")
    rms_ap_mm: float
    rms_ml_mm: float
    covariance_ap_ml_mm2: float
    ellipse95_area_mm2: float = Field(description="AREA-CE: 95 % confidence ellipse")
    mean_freq_hz: float = Field(description="MFREQ = TOTEX / (2π·MDIST·T)")
    mean_freq_ap_hz: float | None = Field(description="Prieto's MFREQ-AP; None without AP sway")
    mean_freq_ml_hz: float | None = Field(description="Prieto's MFREQ-ML; None without ML sway")
    f50_hz: float | None = Field(description="50 % power frequency of RD, 0.15–5 Hz; None: no power")
    f95_hz: float | None = Field(description="95 % power frequency of RD, 0.15–5 Hz; None: no power")
    duration_s: float = Field(description="(n − 1) / fs: time spanned by the samples")
    n_samples: int
    fs_hz: float
    lowpass_hz: float | None = Field(description="zero-phase low-pass applied first; None = raw")


class BalanceInput(BaseModel):
    """One trace for :func:`analyze_balance_batch` (same meaning as analyze_balance's arguments)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    cop_mm: npt.NDArray[np.float64] | list[list[float]]
    fs_hz: float
    condition: Condition | None = None
    lowpass_hz: float | None = DEFAULT_LOWPASS_HZ


def analyze_balance(
    cop_mm: npt.ArrayLike,
    fs_hz: float,
    *,
    condition: Condition | None = None,
    lowpass_hz: float | None = DEFAULT_LOWPASS_HZ,
) -> BalanceResult:
    """Sway measures of one stance. ``cop_mm`` (n, 2): column 0 = x = medio-lateral, column 1 =
    y = antero-posterior, mm; 25–2000 Hz, ≥ 5 s. Raises :class:`SignalError` (``bad_shape``,
    ``not_finite``, ``bad_sampling_rate``, ``too_short``, ``bad_lowpass``, ``bad_condition``,
    ``bad_units``, ``no_sway``) instead of returning a number made up from a dead trace."""
    if condition is not None and condition not in CONDITIONS:
        raise SignalError("bad_condition", f"condition {condition!r} is not eyes_open or eyes_closed")
    cop = check_cop(cop_mm, fs_hz)
    cutoff = _check_lowpass(lowpass_hz, fs_hz)
    features, rd = k.balance_kernel(
        np.ascontiguousarray(cop[:, 0]), np.ascontiguousarray(cop[:, 1]), float(fs_hz), cutoff
    )
    _check_sway(features)
    freqs, psd = welch_psd(rd, float(fs_hz))
    lo, hi = POWER_BAND_HZ
    f50 = k.power_frequency(freqs, psd, lo, hi, 0.5, MIN_BAND_POWER_MM2)
    f95 = k.power_frequency(freqs, psd, lo, hi, 0.95, MIN_BAND_POWER_MM2)
    return _result(features, f50, f95, cop.shape[0], float(fs_hz), condition, lowpass_hz)


def check_cop(cop_mm: npt.ArrayLike, fs_hz: float) -> FloatArray:
    """``cop_mm`` as a finite ``(n, 2)`` float64 array of at least 5 s, or a SignalError."""
    try:
        fs_ok = bool(np.isfinite(fs_hz)) and MIN_FS_HZ <= fs_hz <= MAX_FS_HZ
    except TypeError:
        fs_ok = False
    if not fs_ok:
        raise SignalError(
            "bad_sampling_rate", f"sampling rate {fs_hz!r} Hz is outside {MIN_FS_HZ:g}–{MAX_FS_HZ:g} Hz"
        )
    try:
        array = np.asarray(cop_mm, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SignalError("bad_shape", f"centre of pressure is not a numeric (n, 2) array ({exc})") from None
    if array.ndim != 2 or array.shape[1] != 2:
        hint = " (transposed? rows are samples)" if array.ndim == 2 and array.shape[0] == 2 else ""
        raise SignalError(
            "bad_shape", f"centre of pressure must be (n, 2) = (x ML, y AP), got {array.shape}{hint}"
        )
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise SignalError("not_finite", f"centre of pressure has NaN or infinity in {bad} sample(s)")
    if array.shape[0] < MIN_DURATION_S * fs_hz:
        raise SignalError(
            "too_short",
            f"{array.shape[0]} samples = {array.shape[0] / fs_hz:.2f} s, need {MIN_DURATION_S:g} s",
        )
    return array


def welch_psd(rd: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    """One-sided PSD (mm²/Hz) of the resultant distance by Welch's method (Welch 1967, IEEE Trans
    Audio Electroacoust 15:70–73): periodic Hann windows of 20 s (the whole trace when shorter),
    half overlap, each segment's mean removed, averaged; density scaling. The same estimate as
    ``scipy.signal.welch`` with those settings (the reference and tests use SciPy's), written in
    NumPy so a gateway replica does not import scipy.signal (seconds of cold start)."""
    n = rd.size
    nperseg = min(n, round(WELCH_SEGMENT_S * fs_hz))
    step = nperseg - nperseg // 2
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    starts = np.arange(0, n - nperseg + 1, step)
    segments = np.lib.stride_tricks.sliding_window_view(rd, nperseg)[starts]  # a copy: fancy index
    segments -= segments.mean(axis=1, keepdims=True)
    segments *= window
    spectrum = np.fft.rfft(segments, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    psd = power.mean(axis=0) / (fs_hz * float(window @ window))
    psd[1 : psd.size - (1 if nperseg % 2 == 0 else 0)] *= 2.0  # one-sided: fold negative freqs
    freqs = np.fft.rfftfreq(nperseg, 1.0 / fs_hz)
    return np.asarray(freqs, dtype=np.float64), np.asarray(psd, dtype=np.float64)


def romberg_ratio(open: BalanceResult, closed: BalanceResult) -> dict[str, float]:
    """Romberg quotients, eyes closed / eyes open, for each sway measure both results have (the
    posturographic form of Romberg's test: > 1 means vision was helping to stand still).
    Raises SignalError ``bad_condition`` when the conditions are swapped or the two stances
    were filtered differently (their values would not be comparable)."""
    if open.condition == "eyes_closed" or closed.condition == "eyes_open":
        raise SignalError("bad_condition", "romberg_ratio(open, closed): the stances are swapped")
    if open.lowpass_hz != closed.lowpass_hz:
        raise SignalError("bad_condition", "the two stances were low-passed differently")
    ratios: dict[str, float] = {}
    for name in ROMBERG_FIELDS:
        a, b = getattr(open, name), getattr(closed, name)
        if a is not None and b is not None and a > 0.0:
            ratios[name] = float(b / a)
    return ratios


ROMBERG_FIELDS = (
    "path_length_mm",
    "mean_velocity_mm_s",
    "mean_velocity_ap_mm_s",
    "mean_velocity_ml_mm_s",
    "mean_distance_mm",
    "rms_mm",
    "rms_ap_mm",
    "rms_ml_mm",
    "ellipse95_area_mm2",
    "mean_freq_hz",
    "f50_hz",
    "f95_hz",
)


def _check_lowpass(lowpass_hz: float | None, fs_hz: float) -> float:
    if lowpass_hz is None:
        return 0.0
    if not (np.isfinite(lowpass_hz) and 0.5 <= lowpass_hz < 0.45 * fs_hz):
        raise SignalError(
            "bad_lowpass",
            f"low-pass {lowpass_hz} Hz must be ≥ 0.5 Hz and below 0.45 × fs ({0.45 * fs_hz:g} Hz)",
        )
    return float(lowpass_hz)


def _check_sway(features: FloatArray) -> None:
    rms = float(features[k.F_RDIST])
    if rms < NO_SWAY_RMS_MM:
        raise SignalError(
            "no_sway",
            f"RMS sway {rms:.3g} mm: no sway (empty plate, stuck sensor, or data in metres, not mm)",
        )
    excursion = float(features[k.F_MAX_DISTANCE])
    if excursion > MAX_EXCURSION_MM:
        raise SignalError(
            "bad_units", f"CoP moves {excursion:.0f} mm from its mean: beyond any platform, expected mm"
        )


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _result(
    f: FloatArray,
    f50: float,
    f95: float,
    n: int,
    fs_hz: float,
    condition: Condition | None,
    lowpass_hz: float | None,
) -> BalanceResult:
    return BalanceResult(
        condition=condition,
        path_length_mm=f[k.F_PATH],
        path_length_ap_mm=f[k.F_PATH_AP],
        path_length_ml_mm=f[k.F_PATH_ML],
        mean_velocity_mm_s=f[k.F_MVELO],
        mean_velocity_ap_mm_s=f[k.F_MVELO_AP],
        mean_velocity_ml_mm_s=f[k.F_MVELO_ML],
        mean_distance_mm=f[k.F_MDIST],
        mean_distance_ap_mm=f[k.F_MDIST_AP],
        mean_distance_ml_mm=f[k.F_MDIST_ML],
        rms_mm=f[k.F_RDIST],
        rms_ap_mm=f[k.F_RDIST_AP],
        rms_ml_mm=f[k.F_RDIST_ML],
        covariance_ap_ml_mm2=f[k.F_COV_APML],
        ellipse95_area_mm2=f[k.F_AREA_CE],
        mean_freq_hz=f[k.F_MFREQ],
        mean_freq_ap_hz=_optional(f[k.F_MFREQ_AP]),
        mean_freq_ml_hz=_optional(f[k.F_MFREQ_ML]),
        f50_hz=_optional(f50),
        f95_hz=_optional(f95),
        duration_s=f[k.F_DURATION_S],
        n_samples=n,
        fs_hz=fs_hz,
        lowpass_hz=lowpass_hz,
    )
