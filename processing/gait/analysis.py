"""Gait from one lower-back IMU recording: validate, orient, run the kernel, explain the result,
and say how far to trust it.

The sensor may be worn any way round: vertical is the direction of gravity, followed through
slow posture changes (the accelerometer low-passed at 0.3 Hz), turning is the gyroscope's rate
about that vertical. The recording is segmented into walking bouts (standing and pauses over
3 s left out) whose steps are straight or turning; steps come from the vertical bounce of the
trunk (one peak per step), step length from the inverted-pendulum model (Zijlstra & Hof 2003)
with the pendulum length taken as the sensor height, shortened on turning steps; regularity and
symmetry from the unbiased autocorrelation (Moe-Nilssen & Helbostad 2004). Every result carries
its quality: the walking and turning shares, how well the steps found agree with the signal's
periodicity, and ``uncertain`` with the reasons. Details, constants and measured accuracy:
docs/gait.md.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.errors import SignalError
from processing.gait import _kernels as k
from processing.imu import check_imu

FloatArray = npt.NDArray[np.float64]

#: Zijlstra & Hof 2003 (Sect. 3.2): real steps are 1.25 × the compass-gait chord.
PENDULUM_GAIN = 1.25
#: Greater-trochanter height / body height (Winter, Biomechanics and Motor Control of Human
#: Movement, 4th ed., Fig. 4.1): the pendulum length when only body height is known.
SENSOR_HEIGHT_PER_BODY_HEIGHT = 0.53
#: Used, and flagged in the result, when neither sensor nor body height is given.
DEFAULT_BODY_HEIGHT_M = 1.60
MIN_RECORDING_S = 2.0

PendulumSource = Literal["sensor_height", "body_height", "default_height"]

# When a result is flagged uncertain (docs/gait.md, "Quality"). Reason codes, in this order:
#: fewer strides than this: cadence and speed rest on too few steps
MIN_CONFIDENT_STRIDES = 3
#: less of the recording than this was walking: the steps found may be other movement
MIN_WALKING_SHARE = 0.2
#: step regularity (Ad1) below this: steps too irregular for the periodicity-based method
MIN_STEP_REGULARITY = 0.25
#: straight step-time CV above this (%): steps missed or extra ones found
MAX_STEP_TIME_CV_PCT = 30.0
#: median step time / autocorrelation step period outside this range: half or double cadence
PERIOD_AGREEMENT = (0.75, 1.33)
#: more of the walking time than this was turning: step lengths there are the weakest estimate
MAX_TURNING_SHARE = 0.5
UNCERTAIN_REASONS = (
    "few_strides",
    "little_walking",
    "irregular_steps",
    "cadence_ambiguous",
    "mostly_turning",
)


class GaitResult(BaseModel):
    """Gait of one recording, over its walking bouts (standing before and after is excluded)."""

    model_config = ConfigDict(frozen=True)

    cadence_spm: float = Field(description="steps per minute: mean over strides of 120 / stride time")
    walking_speed_mps: float = Field(description="mean over strides of stride length / stride time")
    straight_walking_speed_mps: float | None = Field(
        description="the same over straight strides only (turns left out); None if every stride turned"
    )
    step_length_m: float
    stride_length_m: float
    step_time_s: float
    stride_time_s: float
    stride_time_cv_pct: float | None = Field(description="None with fewer than two strides")
    step_regularity: float | None = Field(description="Ad1; None when no stretch is long enough")
    stride_regularity: float | None = Field(description="Ad2; None when no stretch is long enough")
    step_symmetry: float | None = Field(description="Ad1 / Ad2; 1 is symmetric")
    n_steps: int = Field(description="initial contacts in walking bouts")
    n_strides: int
    n_bouts: int
    n_turns: int | None = Field(description="turns of ≥ 45°; None without a gyroscope")
    turning_steps: int
    duration_s: float = Field(description="walking time, first to last contact of each bout")
    vertical_excursion_m: float = Field(description="mean rise and fall of the trunk per step")
    pendulum_length_m: float = Field(description="sensor height used for step length")
    pendulum_source: PendulumSource
    initial_contacts_s: tuple[float, ...] = Field(description="contact times in walking bouts")
    # Quality of this result.
    recording_s: float = Field(description="length of the whole recording")
    walking_share: float = Field(description="share of the recording in walking bouts (0–1)")
    turning_share: float | None = Field(
        description="share of walking time on turning steps; None without gyroscope"
    )
    step_time_cv_pct: float | None = Field(description="step-time variability of straight steps (%)")
    period_agreement: float = Field(
        description="median step time / the signal's autocorrelation step period; ≈1 when consistent"
    )
    uncertain: bool = Field(description="true when any uncertain_reason applies: do not act on it alone")
    uncertain_reason: str | None = Field(
        description="comma-separated codes: few_strides, little_walking, irregular_steps, "
        "cadence_ambiguous, mostly_turning; None when certain"
    )


class GaitInput(BaseModel):
    """One recording for :func:`analyze_gait_batch` (same meaning as analyze_gait's arguments)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    acc: npt.NDArray[np.float64] | list[list[float]]
    fs_hz: float
    gyr: npt.NDArray[np.float64] | list[list[float]] | None = None
    sensor_height_m: float | None = None
    height_m: float | None = None


def analyze_gait(
    acc: npt.ArrayLike,
    fs_hz: float,
    *,
    gyr: npt.ArrayLike | None = None,
    sensor_height_m: float | None = None,
    height_m: float | None = None,
) -> GaitResult:
    """Gait of one recording. ``acc`` (n, 3) m/s² including gravity, any orientation; ``gyr``
    (n, 3) deg/s or None; heights in metres. Raises :class:`SignalError` (``too_short``,
    ``not_finite``, ``bad_shape``, ``bad_units``, ``bad_sampling_rate``, ``no_walking``,
    ``bad_height``) instead of returning a number made up from noise."""
    accel = check_imu(acc, fs_hz, min_seconds=MIN_RECORDING_S)
    gyro = _check_gyroscope(gyr, accel.shape[0])
    pendulum, source = pendulum_length(sensor_height_m, height_m)
    vertical, yaw = k.vertical_and_yaw(accel, gyro if gyro is not None else np.empty((0, 3)), float(fs_hz))
    features, contacts, bout, _, _ = k.gait_kernel(vertical, yaw, float(fs_hz), pendulum, PENDULUM_GAIN)
    return _result(features, contacts, bout, float(fs_hz), pendulum, source)


def pendulum_length(sensor_height_m: float | None, height_m: float | None) -> tuple[float, PendulumSource]:
    """Inverted-pendulum length: the sensor height, else 0.53 × body height, else a default."""
    if sensor_height_m is not None:
        if not 0.4 <= sensor_height_m <= 1.5:
            raise SignalError("bad_height", f"sensor height {sensor_height_m} m is outside 0.4–1.5 m")
        return float(sensor_height_m), "sensor_height"
    if height_m is not None:
        if not 1.0 <= height_m <= 2.3:
            raise SignalError("bad_height", f"body height {height_m} m is outside 1.0–2.3 m")
        return SENSOR_HEIGHT_PER_BODY_HEIGHT * float(height_m), "body_height"
    return SENSOR_HEIGHT_PER_BODY_HEIGHT * DEFAULT_BODY_HEIGHT_M, "default_height"


def _check_gyroscope(gyr: npt.ArrayLike | None, n: int) -> FloatArray | None:
    if gyr is None:
        return None
    array = np.asarray(gyr, dtype=np.float64)
    if array.shape != (n, 3):
        raise SignalError(
            "bad_shape", f"gyroscope must be ({n}, 3) like the accelerometer, got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise SignalError("not_finite", "gyroscope contains NaN or infinity")
    return array


def _result(
    f: FloatArray,
    contacts: npt.NDArray[np.int64],
    bout: npt.NDArray[np.int64],
    fs_hz: float,
    pendulum: float,
    source: PendulumSource,
) -> GaitResult:
    n_steps = int(f[k.F_N_CONTACTS])
    if f[k.F_STEP_PERIOD_S] <= 0.0:
        raise SignalError("no_walking", "no periodic trunk movement in the walking range (40–200 steps/min)")
    if n_steps < k.MIN_CONTACTS:
        raise SignalError(
            "no_walking", f"no walking bout of at least {k.MIN_CONTACTS} consecutive steps was found"
        )
    ad1, ad2 = _optional(f[k.F_STEP_REGULARITY]), _optional(f[k.F_STRIDE_REGULARITY])
    has_gyro = not np.isnan(f[k.F_N_TURNS])
    quality = {
        "recording_s": f[k.F_RECORDING_S],
        "walking_share": min(1.0, f[k.F_DURATION_S] / f[k.F_RECORDING_S]),
        "turning_share": f[k.F_TURNING_S] / f[k.F_DURATION_S] if has_gyro else None,
        "step_time_cv_pct": _optional(f[k.F_STEP_TIME_CV_PCT]),
        "period_agreement": f[k.F_PERIOD_AGREEMENT],
    }
    reasons = uncertain_reasons(int(f[k.F_N_STRIDES]), ad1, **quality)
    return GaitResult(
        cadence_spm=f[k.F_CADENCE_SPM],
        walking_speed_mps=f[k.F_SPEED_MPS],
        straight_walking_speed_mps=_optional(f[k.F_STRAIGHT_SPEED_MPS]),
        step_length_m=f[k.F_STEP_LENGTH_M],
        stride_length_m=f[k.F_STRIDE_LENGTH_M],
        step_time_s=f[k.F_STEP_TIME_S],
        stride_time_s=f[k.F_STRIDE_TIME_S],
        stride_time_cv_pct=_optional(f[k.F_STRIDE_CV_PCT]),
        step_regularity=ad1,
        stride_regularity=ad2,
        step_symmetry=ad1 / ad2 if ad1 is not None and ad2 is not None and ad2 > 0 else None,
        n_steps=n_steps,
        n_strides=int(f[k.F_N_STRIDES]),
        n_bouts=int(f[k.F_N_BOUTS]),
        n_turns=None if np.isnan(f[k.F_N_TURNS]) else int(f[k.F_N_TURNS]),
        turning_steps=int(f[k.F_TURNING_STEPS]),
        duration_s=f[k.F_DURATION_S],
        vertical_excursion_m=f[k.F_EXCURSION_M],
        pendulum_length_m=pendulum,
        pendulum_source=source,
        initial_contacts_s=tuple((contacts[bout >= 0] / fs_hz).tolist()),
        **quality,
        uncertain=bool(reasons),
        uncertain_reason=",".join(reasons) or None,
    )


def uncertain_reasons(
    n_strides: int,
    step_regularity: float | None,
    *,
    walking_share: float,
    turning_share: float | None,
    step_time_cv_pct: float | None,
    period_agreement: float,
    recording_s: float = 0.0,
) -> tuple[str, ...]:
    """The codes of :data:`UNCERTAIN_REASONS` that apply, in that order (empty: certain)."""
    found = {
        "few_strides": n_strides < MIN_CONFIDENT_STRIDES,
        "little_walking": walking_share < MIN_WALKING_SHARE,
        "irregular_steps": (step_regularity is not None and step_regularity < MIN_STEP_REGULARITY)
        or (step_time_cv_pct is not None and step_time_cv_pct > MAX_STEP_TIME_CV_PCT),
        "cadence_ambiguous": not PERIOD_AGREEMENT[0] <= period_agreement <= PERIOD_AGREEMENT[1],
        "mostly_turning": turning_share is not None and turning_share > MAX_TURNING_SHARE,
    }
    return tuple(code for code in UNCERTAIN_REASONS if found[code])


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
