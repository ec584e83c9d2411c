"""Synthetic centre-of-pressure (CoP) sway with known truth: RMS per axis, ellipse area, speed.

Quiet-standing sway is band-limited noise concentrated below ~1 Hz (Prieto et al. 1996,
"Measures of postural steadiness: differences between healthy young and elderly adults", IEEE
TBME 43(9):956–966, Sect. III-B: mean and 50 % power frequencies of a few tenths of a hertz).
Each axis here is a sum of sinusoids whose frequencies scatter around ``dominant_freq_hz``
(log-normal, ``bandwidth_octaves`` wide) with random phases. The sampled trace is then made to
hit the truth exactly: the mean is removed, the medio-lateral (ML) axis is made uncorrelated with
the antero-posterior (AP) axis, and each axis is scaled to its RMS. So, before measurement noise
and filtering, ``rms_ap_mm``/``rms_ml_mm`` are exact and the 95 % ellipse area is
``2π·F(0.05; 2, n−2)·rms_ap·rms_ml``. The true mean speed is the continuous curve's, from the
analytic derivative of the sinusoids on a dense grid, not from the sampled trace.

Axes follow :mod:`processing`: column 0 = x = ML, column 1 = y = AP, millimetres.

NumPy (and pydantic) only: the edge simulators import this module, so it must never import
Numba or SciPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

FloatArray = npt.NDArray[np.float64]
FrailtyLevel = Literal["robust", "pre_frail", "frail"]
Eyes = Literal["open", "closed"]

#: Highest component frequency: keeps the sway well inside the analysis's 5 Hz low-pass.
MAX_COMPONENT_HZ = 2.5
#: Grid rate on which the continuous curve's mean speed is evaluated.
DENSE_HZ = 2000.0

# Illustrative profiles (orders of magnitude from Prieto et al. 1996, Table I, for healthy young
# and elderly adults, eyes open/closed): sway and its speed grow with age and frailty and when
# vision is removed. They make simulated cohorts plausible; they are not normative values.
_PROFILE_SCALE: dict[FrailtyLevel, float] = {"robust": 1.0, "pre_frail": 1.4, "frail": 2.0}
EYES_CLOSED_RMS = 1.3  # eyes closed: RMS sway of the eyes-open stander times this
EYES_CLOSED_FREQ = 1.2  # eyes closed: its sway frequency times this
_EYES_CLOSED_RMS = EYES_CLOSED_RMS
_EYES_CLOSED_FREQ = EYES_CLOSED_FREQ


class SwayTruth(BaseModel):
    """What the simulated stander does; the analysis's outputs have known true values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rms_ap_mm: float = Field(5.0, gt=0.0, le=60.0, description="antero-posterior RMS distance")
    rms_ml_mm: float = Field(3.0, gt=0.0, le=60.0, description="medio-lateral RMS distance")
    dominant_freq_hz: float = Field(0.4, ge=0.05, le=1.5, description="centre of the sway spectrum")
    bandwidth_octaves: float = Field(0.6, ge=0.0, le=1.5, description="spread of component frequencies")
    duration_s: float = Field(30.0, ge=1.0, le=600.0)
    n_components: int = Field(24, ge=1, le=200, description="sinusoids per axis")
    noise_mm: float = Field(0.0, ge=0.0, le=5.0, description="white measurement noise, one sigma")
    offset_mm: tuple[float, float] = Field((0.0, 40.0), description="mean CoP on the plate (x, y)")

    @property
    def rms_mm(self) -> float:
        """RMS resultant distance: the axes are uncorrelated, so their mean squares add."""
        return float(np.hypot(self.rms_ap_mm, self.rms_ml_mm))

    def ellipse95_area_mm2(self, n_samples: int) -> float:
        """Prieto's AREA-CE for exactly these RMS values and zero AP/ML covariance."""
        return 2.0 * np.pi * f_upper_quantile_2(0.05, n_samples - 2) * self.rms_ap_mm * self.rms_ml_mm

    @classmethod
    def profile(cls, level: FrailtyLevel = "robust", eyes: Eyes = "open", **overrides: float) -> SwayTruth:
        """A plausible stander: more and faster sway when frail and with eyes closed."""
        scale = _PROFILE_SCALE[level] * (_EYES_CLOSED_RMS if eyes == "closed" else 1.0)
        freq = 0.3 * (1.0 + 0.25 * (_PROFILE_SCALE[level] - 1.0))
        freq *= _EYES_CLOSED_FREQ if eyes == "closed" else 1.0
        values: dict[str, float] = {
            "rms_ap_mm": 4.0 * scale,
            "rms_ml_mm": 2.5 * scale,
            "dominant_freq_hz": freq,
        }
        values.update(overrides)
        return cls.model_validate(values)


@dataclass(frozen=True)
class SyntheticSway:
    """A simulated trace and the truth of its noise-free curve."""

    cop_mm: FloatArray  # (n, 2): x = ML, y = AP, mm, including offset and noise
    fs_hz: float
    truth: SwayTruth
    mean_velocity_mm_s: float  # continuous curve, analytic derivative
    mean_velocity_ap_mm_s: float
    mean_velocity_ml_mm_s: float

    @property
    def n_samples(self) -> int:
        return int(self.cop_mm.shape[0])

    @property
    def ellipse95_area_mm2(self) -> float:
        return self.truth.ellipse95_area_mm2(self.n_samples)


def f_upper_quantile_2(alpha: float, dof2: int) -> float:
    """Upper-``alpha`` point of the F distribution with (2, dof2) degrees of freedom, in closed
    form: its survival function is ``(1 + 2x/dof2)^(−dof2/2)``."""
    return 0.5 * dof2 * (alpha ** (-2.0 / dof2) - 1.0)


def synthesize_sway(truth: SwayTruth, fs_hz: float, seed: int = 0) -> FloatArray:
    """``(n, 2)`` CoP in mm (x = ML, y = AP) with exactly ``truth``'s RMS per axis (before noise)."""
    return simulate_sway(truth, fs_hz, seed).cop_mm


def simulate_sway(truth: SwayTruth, fs_hz: float, seed: int = 0) -> SyntheticSway:
    """The trace and its realised truth (continuous mean speeds)."""
    if not 10.0 <= fs_hz <= 5000.0:
        raise ValueError(f"fs_hz {fs_hz} outside 10–5000 Hz")
    rng = np.random.default_rng(seed)
    n = round(truth.duration_s * fs_hz)
    t = np.arange(n) / fs_hz
    ap_parts = _components(truth, fs_hz, rng)
    ml_parts = _components(truth, fs_hz, rng)
    ap_raw, ml_raw = _evaluate(ap_parts, t), _evaluate(ml_parts, t)
    ap_raw -= ap_raw.mean()
    ml_raw -= ml_raw.mean()
    # Decorrelate ML from AP on the sampled trace (one Gram–Schmidt step), then scale each axis
    # to its exact RMS. Both are linear in the sinusoids, so the derivative follows exactly.
    leak = float(ml_raw @ ap_raw) / float(ap_raw @ ap_raw)
    ml_raw -= leak * ap_raw
    gain_ap = truth.rms_ap_mm / float(np.sqrt(np.mean(ap_raw**2)))
    gain_ml = truth.rms_ml_mm / float(np.sqrt(np.mean(ml_raw**2)))
    ap, ml = gain_ap * ap_raw, gain_ml * ml_raw
    cop = np.column_stack([ml + truth.offset_mm[0], ap + truth.offset_mm[1]])
    if truth.noise_mm > 0.0:
        cop += rng.normal(0.0, truth.noise_mm, cop.shape)
    speed_ap, speed_ml, speed = _true_speeds(ap_parts, ml_parts, gain_ap, gain_ml, leak, t[-1])
    return SyntheticSway(cop, fs_hz, truth, speed, speed_ap, speed_ml)


def _components(truth: SwayTruth, fs_hz: float, rng: np.random.Generator) -> FloatArray:
    """Rows of (frequency Hz, amplitude, phase rad)."""
    octaves = np.clip(rng.normal(0.0, 1.0, truth.n_components), -2.5, 2.5) * truth.bandwidth_octaves
    freqs = truth.dominant_freq_hz * 2.0**octaves
    freqs = np.clip(freqs, 0.02, min(MAX_COMPONENT_HZ, fs_hz / 8.0))
    amps = rng.rayleigh(1.0, truth.n_components)
    phases = rng.uniform(0.0, 2.0 * np.pi, truth.n_components)
    return np.column_stack([freqs, amps, phases])


def _evaluate(parts: FloatArray, t: FloatArray) -> FloatArray:
    out = np.zeros_like(t)
    for freq, amp, phase in parts:
        out += amp * np.sin(2.0 * np.pi * freq * t + phase)
    return out


def _derivative(parts: FloatArray, t: FloatArray) -> FloatArray:
    out = np.zeros_like(t)
    for freq, amp, phase in parts:
        out += amp * 2.0 * np.pi * freq * np.cos(2.0 * np.pi * freq * t + phase)
    return out


def _true_speeds(
    ap_parts: FloatArray, ml_parts: FloatArray, gain_ap: float, gain_ml: float, leak: float, end_s: float
) -> tuple[float, float, float]:
    """Mean |d/dt| of the continuous curve over the recording (trapezoid on a dense grid)."""
    dense = np.linspace(0.0, end_s, max(2, int(end_s * DENSE_HZ) + 1))
    d_ap_raw = _derivative(ap_parts, dense)
    d_ap = gain_ap * d_ap_raw
    d_ml = gain_ml * (_derivative(ml_parts, dense) - leak * d_ap_raw)
    speed = np.hypot(d_ap, d_ml)
    return _time_mean(np.abs(d_ap)), _time_mean(np.abs(d_ml)), _time_mean(speed)


def _time_mean(values: FloatArray) -> float:
    return float((values[1:] + values[:-1]).sum() / (2.0 * (values.size - 1)))
