"""Repeated sit-to-stand (chair-stand test) from one lower-back IMU recording.

Stand-ups and sit-downs come from :func:`processing.sts._kernels.transitions`: vertical velocity
from the norm of the acceleration (no axis order or mounting assumed), widened to where trunk
activity settles. Definitions (docs/sts_tug.md):

- a *repetition* is one stand-up; ``n_reps`` counts stand-ups (completed stands);
- a repetition lasts from the first motion of its stand-up to the end of the sit-down that
  follows (seated still), or to standing still when the recording ends standing;
- ``five_rep_time_s``: first motion of the first stand-up to standing still at the fifth, the
  end point of the SPPB chair-stand item (Guralnik et al. 1994, J Gerontol 49:M85–M94: timed
  from the initial sitting position to the final standing position at the fifth stand), with
  the start at movement onset as in instrumented tests (van Lummel et al. 2016,
  "The Instrumented Sit-to-Stand Test (iSTS) Has Greater Clinical Relevance than the Manually
  Recorded Sit-to-Stand Test in Older Adults", PLoS One 11:e0157968);
- ``count_30s``: stand-ups more than halfway up within 30 s of the first one's start, the
  30-s chair-stand rule (Jones, Rikli & Beam 1999, Res Q Exerc Sport 70:113–119); None when the
  recording ends earlier than that (a 5-times test is not a 30-s test).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.errors import SignalError
from processing.imu import check_imu
from processing.sts import _kernels as k

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_RECORDING_S = 3.0
COUNT_WINDOW_S = 30.0


class StsResult(BaseModel):
    """A repeated chair-stand recording: repetitions, 5-times time, 30-s count, phase times."""

    model_config = ConfigDict(frozen=True)

    n_reps: int = Field(description="stand-ups (completed stands)")
    five_rep_time_s: float | None = Field(description="start of 1st stand-up to standing at the 5th")
    rep_durations_s: tuple[float, ...] = Field(
        description="per stand-up: its start to the end of its sit-down"
    )
    mean_rep_time_s: float = Field(description="mean of rep_durations_s")
    count_30s: int | None = Field(description="stands more than halfway up within 30 s; None if shorter")
    rise_durations_s: tuple[float, ...] = Field(description="per stand-up: sit-to-stand transition time")
    sit_durations_s: tuple[float, ...] = Field(description="per sit-down: stand-to-sit transition time")
    rep_start_s: tuple[float, ...] = Field(description="first motion of each stand-up (from recording start)")
    stand_s: tuple[float, ...] = Field(description="standing still after each stand-up")
    rep_end_s: tuple[float, ...] = Field(
        description="end of each repetition (seated, or standing at the end)"
    )
    rise_height_m: float = Field(description="median vertical rise of the lower back per stand-up")
    duration_s: float = Field(
        description="first motion of the first stand-up to the end of the last repetition"
    )
    ends_standing: bool = Field(
        description="the recording ends standing (no sit-down after the last stand-up)"
    )
    unpaired_stand_ups: int = Field(
        description="stand-ups followed by another stand-up with no sit-down found between (too slow or "
        "small to detect); their repetition ends at standing"
    )
    activity_source: str = Field(description="'gyroscope' or 'accelerometer': what timed movement onsets")


class StsInput(BaseModel):
    """One recording for :func:`processing.sts.analyze_sts_batch`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    acc: npt.NDArray[np.float64] | list[list[float]]
    fs_hz: float
    gyr: npt.NDArray[np.float64] | list[list[float]] | None = None


def analyze_sts(acc: npt.ArrayLike, gyr: npt.ArrayLike | None, fs_hz: float) -> StsResult:
    """Chair-stand test from ``acc`` (n, 3) m/s² including gravity (any orientation), ``gyr``
    (n, 3) deg/s or None, at ``fs_hz``. Raises :class:`SignalError` (``too_short``,
    ``not_finite``, ``bad_shape``, ``bad_units``, ``bad_sampling_rate``, ``no_repetitions``)."""
    accel, gyro = check_recording(acc, gyr, fs_hz)
    found = k.transitions(accel, gyro if gyro is not None else np.empty((0, 3)), float(fs_hz))
    return result_from_transitions(*found, float(fs_hz), accel.shape[0], gyro is not None)


def check_recording(
    acc: npt.ArrayLike, gyr: npt.ArrayLike | None, fs_hz: float
) -> tuple[FloatArray, FloatArray | None]:
    """Validated contiguous accelerometer and gyroscope (or None); SignalError otherwise."""
    accel = np.ascontiguousarray(check_imu(acc, fs_hz, min_seconds=MIN_RECORDING_S))
    if gyr is None:
        return accel, None
    gyro = np.asarray(gyr, dtype=np.float64)
    if gyro.shape != accel.shape:
        raise SignalError(
            "bad_shape", f"gyroscope must be {accel.shape} like the accelerometer, got {gyro.shape}"
        )
    if not np.isfinite(gyro).all():
        raise SignalError("not_finite", "gyroscope contains NaN or infinity")
    return accel, np.ascontiguousarray(gyro)


def result_from_transitions(
    starts: IntArray,
    ends: IntArray,
    signs: IntArray,
    rise_m: FloatArray,
    fs_hz: float,
    n_samples: int,
    has_gyroscope: bool,
) -> StsResult:
    """Pair each stand-up with the sit-down after it and derive the test's numbers."""
    ups = np.flatnonzero(signs > 0)
    if ups.size == 0:
        raise SignalError(
            "no_repetitions",
            "no stand-up found (no upward trunk movement of at least 0.15 m at 0.15 m/s or faster)",
        )
    start = starts[ups] / fs_hz
    stand = ends[ups] / fs_hz
    follows = np.array([u + 1 < signs.size and signs[u + 1] < 0 for u in ups])
    sit_of = ups[follows] + 1
    rep_end = stand.copy()
    rep_end[follows] = ends[sit_of] / fs_hz
    durations = rep_end - start
    five = float(stand[4] - start[0]) if ups.size >= 5 else None
    count: int | None = None
    if n_samples / fs_hz >= start[0] + COUNT_WINDOW_S:
        count = int(np.sum(0.5 * (start + stand) <= start[0] + COUNT_WINDOW_S))
    return StsResult(
        n_reps=int(ups.size),
        five_rep_time_s=five,
        rep_durations_s=_seconds(durations),
        mean_rep_time_s=float(durations.mean()),
        count_30s=count,
        rise_durations_s=_seconds(stand - start),
        sit_durations_s=_seconds((ends[sit_of] - starts[sit_of]) / fs_hz),
        rep_start_s=_seconds(start),
        stand_s=_seconds(stand),
        rep_end_s=_seconds(rep_end),
        rise_height_m=float(np.median(rise_m[ups])),
        duration_s=float(rep_end[-1] - start[0]),
        ends_standing=not bool(follows[-1]),
        unpaired_stand_ups=int(np.sum(~follows[:-1])),
        activity_source="gyroscope" if has_gyroscope else "accelerometer",
    )


def _seconds(values: FloatArray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
