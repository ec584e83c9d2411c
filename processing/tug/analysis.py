"""Timed up-and-go from one lower-back IMU recording: total time and the iTUG phases.

Phases as in the instrumented TUG (Salarian et al. 2010, "iTUG, a sensitive and reliable measure
of mobility", IEEE TNSRE 18:303–310; with a single lower-back sensor: Weiss et al. 2013, "Using a
body-fixed sensor to identify subclinical gait difficulties in older adults with IADL
disability: maximizing the output of the Timed Up and Go", PLoS One 8:e68885): sit-to-stand,
walk out, turn, walk back, turn-to-sit, with

- the test from the first motion of the stand-up to seated still after the sit-down (the manual
  test, Podsiadlo & Richardson 1991, runs from "go" to seated: the instrumented total leaves out
  the reaction time);
- stand-up and sit-down from :func:`processing.sts._kernels.transitions` (first upward and last
  downward postural transition);
- turns from the gyroscope's rate about vertical (:func:`processing.tug._kernels.turns`): the
  *final* turn is the last turn of ≥ 90° that ends no earlier than 1 s before the sit-down
  starts (people turn while sitting); the *mid* turn is the largest turn of ≥ 90° between the
  stand-up and the final turn;
- walk out = end of stand-up → mid turn; walk back = mid turn → final turn; turn-to-sit = final
  turn start → seated (the final turn and the sit-down together).

Without a gyroscope turns cannot be told from acceleration reliably, so the result is reduced
(documented choice): total time, sit-to-stand and stand-to-sit are given, the walking and
turning phases are None. With a gyroscope but no mid turn the recording is refused (``no_turn``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.errors import SignalError
from processing.imu import vertical_axis
from processing.sts import _kernels as sts_kernels
from processing.sts.analysis import check_recording
from processing.tug import _kernels as k

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MIN_TURN_DEG = 90.0  # the TUG turns are ~180°; smaller heading changes are path wobble
FINAL_TURN_LEAD_S = 1.0  # the final turn may end this long before the sit-down starts


class TugResult(BaseModel):
    """One timed up-and-go: total time, iTUG phases (None without a gyroscope), boundaries."""

    model_config = ConfigDict(frozen=True)

    total_time_s: float = Field(description="first motion of the stand-up to seated still")
    sit_to_stand_s: float
    walk_out_s: float | None = Field(description="standing to the start of the mid turn")
    turn_s: float | None = Field(description="the mid (180°) turn")
    walk_back_s: float | None = Field(description="end of the mid turn to the start of the final turn")
    turn_to_sit_s: float | None = Field(description="start of the final turn (or sit-down) to seated")
    stand_to_sit_s: float = Field(description="the sit-down transition alone")
    turn_angle_deg: float | None = Field(description="|heading change| of the mid turn")
    final_turn_angle_deg: float | None = Field(description="|heading change| of the final turn; None if none")
    start_s: float = Field(description="first motion (from the recording start)")
    stand_s: float
    turn_start_s: float | None
    turn_end_s: float | None
    final_turn_start_s: float | None
    sit_start_s: float
    end_s: float
    has_gyroscope: bool


class TugInput(BaseModel):
    """One recording for :func:`processing.tug.analyze_tug_batch`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    acc: npt.NDArray[np.float64] | list[list[float]]
    fs_hz: float
    gyr: npt.NDArray[np.float64] | list[list[float]] | None = None


def analyze_tug(acc: npt.ArrayLike, gyr: npt.ArrayLike | None, fs_hz: float) -> TugResult:
    """TUG from ``acc`` (n, 3) m/s² including gravity (any orientation), ``gyr`` (n, 3) deg/s or
    None, at ``fs_hz``. Raises :class:`SignalError` (``too_short``, ``not_finite``,
    ``bad_shape``, ``bad_units``, ``bad_sampling_rate``, ``no_sit_to_stand``,
    ``no_stand_to_sit``, ``no_turn``)."""
    accel, gyro = check_recording(acc, gyr, fs_hz)
    fs = float(fs_hz)
    found = sts_kernels.transitions(accel, gyro if gyro is not None else np.empty((0, 3)), fs)
    turns = None
    if gyro is not None:
        turns = k.turns(np.ascontiguousarray(gyro @ vertical_axis(accel)), fs)
    return result_from_events(*found, turns, fs)


def result_from_events(
    starts: IntArray,
    ends: IntArray,
    signs: IntArray,
    rise_m: FloatArray,
    turns: tuple[IntArray, IntArray, FloatArray] | None,
    fs_hz: float,
) -> TugResult:
    """Pick the stand-up, the sit-down and the two turns, and time the phases."""
    ups = np.flatnonzero(signs > 0)
    if ups.size == 0:
        raise SignalError("no_sit_to_stand", "no stand-up found (no upward trunk movement of ≥ 0.15 m)")
    up = int(ups[0])
    downs = np.flatnonzero(signs[up:] < 0)
    if downs.size == 0:
        raise SignalError(
            "no_stand_to_sit", "no sit-down found after the stand-up: the test never ended seated"
        )
    down = up + int(downs[-1])
    start, stand = starts[up] / fs_hz, ends[up] / fs_hz
    sit_start, end = starts[down] / fs_hz, ends[down] / fs_hz
    common = {
        "total_time_s": end - start,
        "sit_to_stand_s": stand - start,
        "stand_to_sit_s": end - sit_start,
        "start_s": start,
        "stand_s": stand,
        "sit_start_s": sit_start,
        "end_s": end,
    }
    if turns is None:
        return TugResult(
            **common,
            walk_out_s=None,
            turn_s=None,
            walk_back_s=None,
            turn_to_sit_s=None,
            turn_angle_deg=None,
            final_turn_angle_deg=None,
            turn_start_s=None,
            turn_end_s=None,
            final_turn_start_s=None,
            has_gyroscope=False,
        )
    t_start, t_end = turns[0] / fs_hz, turns[1] / fs_hz
    angle = np.abs(turns[2])
    big = (angle >= MIN_TURN_DEG) & (t_end > start) & (t_start < end)
    final_candidates = np.flatnonzero(big & (t_end >= sit_start - FINAL_TURN_LEAD_S))
    final = int(final_candidates[-1]) if final_candidates.size else -1
    final_start = float(t_start[final]) if final >= 0 else sit_start
    mid_candidates = np.flatnonzero(big & (t_end <= final_start) & (t_start >= stand - 0.5))
    if mid_candidates.size == 0:
        raise SignalError(
            "no_turn",
            f"no turn of ≥ {MIN_TURN_DEG:.0f}° about vertical between the stand-up and the sit-down",
        )
    mid = int(mid_candidates[np.argmax(angle[mid_candidates])])
    return TugResult(
        **common,
        walk_out_s=max(0.0, float(t_start[mid]) - stand),
        turn_s=float(t_end[mid] - t_start[mid]),
        walk_back_s=final_start - float(t_end[mid]),
        turn_to_sit_s=end - final_start,
        turn_angle_deg=float(angle[mid]),
        final_turn_angle_deg=float(angle[final]) if final >= 0 else None,
        turn_start_s=float(t_start[mid]),
        turn_end_s=float(t_end[mid]),
        final_turn_start_s=final_start,
        has_gyroscope=True,
    )
