"""Synthetic lower-back IMU recordings of the timed up-and-go (TUG) with known phase boundaries.

The test (Podsiadlo & Richardson 1991, "The timed 'Up & Go'", J Am Geriatr Soc 39:142–148):
stand up from a chair, walk 3 m, turn, walk back, turn and sit down. The phases are those of the
instrumented TUG (Salarian et al. 2010, "iTUG, a sensitive and reliable measure of mobility",
IEEE TNSRE 18:303–310): sit-to-stand, walk out, turn, walk back, turn-to-sit.

Built from the two other simulators: the stand-up and sit-down of :mod:`processing.synthetic.sts`
and the out-and-back walk with a 180° turn of :mod:`processing.synthetic.gait`. The final turn
is a raised-cosine heading change in place; the sit-down starts ``sit_overlap_s`` before that
turn ends (people sit while still turning). Truth boundaries:

- ``start_s`` first motion of the stand-up; ``stand_s`` standing still (end of sit-to-stand);
- ``turn_start_s``/``turn_end_s`` the mid turn (first to last contact of the turning steps);
- ``final_turn_start_s`` last contact of the walk back = start of turn-to-sit;
- ``end_s`` seated still (end of the sit-down) = end of the test.

NumPy only: the edge simulators import this module, so it must never import Numba or SciPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.synthetic.gait import WalkTruth, simulate_walk
from processing.synthetic.sts import GRAVITY, BodyMotion, StsTruth, _to_sensor

FloatArray = npt.NDArray[np.float64]


class TugTruth(BaseModel):
    """What the simulated participant does in one timed up-and-go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sitting_s: float = Field(2.0, ge=0.0, le=60.0, description="quiet sitting before the stand-up")
    rise_s: float = Field(1.4, ge=0.5, le=5.0, description="sit-to-stand duration")
    pause_s: float = Field(0.3, ge=0.0, le=5.0, description="standing before the first step")
    distance_m: float = Field(3.0, ge=1.0, le=10.0, description="walk out (and back) distance")
    cadence_spm: float = Field(100.0, ge=40.0, le=160.0, description="steps per minute")
    step_length_m: float = Field(0.55, ge=0.15, le=0.9, description="straight-walking step length")
    turn_steps: int = Field(4, ge=2, le=12, description="steps taken in the mid turn")
    final_turn_s: float = Field(2.0, ge=0.8, le=8.0, description="duration of the turn before sitting")
    sit_s: float = Field(1.6, ge=0.5, le=5.0, description="stand-to-sit duration")
    sit_overlap_s: float = Field(
        0.5, ge=0.0, le=2.0, description="sit-down starts this long before the turn ends"
    )
    after_s: float = Field(2.0, ge=0.0, le=60.0, description="quiet sitting at the end")
    rise_height_m: float = Field(0.35, gt=0.05, le=0.7)
    flexion_deg: float = Field(35.0, ge=0.0, le=80.0)
    sensor_orientation_deg: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="roll, pitch, yaw of the sensor on the body (any mounting)"
    )
    noise_mps2: float = Field(0.05, ge=0.0, le=5.0)
    gyro_noise_dps: float = Field(0.5, ge=0.0, le=50.0)

    def walk(self) -> WalkTruth:
        """The out-and-back walk: ``m`` straight steps, the turning steps, ``m`` back."""
        straight = max(1, math.floor(self.distance_m / self.step_length_m + 1e-9))
        return WalkTruth(
            cadence_spm=self.cadence_spm,
            step_length_m=self.step_length_m,
            n_steps=2 * straight + self.turn_steps + 1,
            turn_every_m=self.distance_m,
            turn_steps=self.turn_steps,
            standing_s=0.0,
            stride_time_cv_pct=2.0,
            noise_mps2=0.0,
            gyro_noise_dps=0.0,
        )

    def sts(self) -> StsTruth:
        return StsTruth(rise_height_m=self.rise_height_m, flexion_deg=self.flexion_deg, seated_lean_deg=0.0)


@dataclass(frozen=True)
class SyntheticTug:
    """A simulated TUG recording and its phase boundaries (seconds from the recording start)."""

    acc: FloatArray
    gyr: FloatArray
    fs_hz: float
    start_s: float
    stand_s: float
    turn_start_s: float
    turn_end_s: float
    final_turn_start_s: float
    sit_start_s: float
    end_s: float

    @property
    def phases_s(self) -> dict[str, float]:
        """The iTUG phases (Salarian et al. 2010) and the total, as the analysis names them."""
        return {
            "total_time_s": self.end_s - self.start_s,
            "sit_to_stand_s": self.stand_s - self.start_s,
            "walk_out_s": self.turn_start_s - self.stand_s,
            "turn_s": self.turn_end_s - self.turn_start_s,
            "walk_back_s": self.final_turn_start_s - self.turn_end_s,
            "turn_to_sit_s": self.end_s - self.final_turn_start_s,
        }


def synthesize_tug(truth: TugTruth, fs_hz: float = 100.0, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Accelerometer (n, 3) m/s² including gravity and gyroscope (n, 3) deg/s, sensor frame."""
    tug = simulate_tug(truth, fs_hz, seed)
    return tug.acc, tug.gyr


def simulate_tug(truth: TugTruth, fs_hz: float = 100.0, seed: int = 0) -> SyntheticTug:
    """The recording plus its truth phase boundaries."""
    if not 10.0 <= fs_hz <= 2000.0:
        raise ValueError(f"sampling rate {fs_hz} Hz is outside 10–2000 Hz")
    rng = np.random.default_rng(seed)
    walk = simulate_walk(truth.walk(), fs_hz, seed)
    start = truth.sitting_s
    stand = start + truth.rise_s
    first = int(np.ceil((stand + truth.pause_s) * fs_hz))  # walk starts on a sample
    walk_start = first / fs_hz
    contacts = walk_start + walk.initial_contacts_s
    turning = np.flatnonzero(walk.turning)
    final_start = float(contacts[-1])
    sit_start = final_start + truth.final_turn_s - truth.sit_overlap_s
    end = sit_start + truth.sit_s
    t = np.arange(int(np.ceil((end + truth.after_s) * fs_hz))) / fs_hz
    motion = BodyMotion.still(t, lean_deg=0.0)
    sts = truth.sts()
    motion.add_stand_up(start, truth.rise_s, sts)
    motion.add_turn(final_start, truth.final_turn_s, 180.0)
    motion.add_sit_down(sit_start, truth.sit_s, sts)
    # Walking signals come from the gait simulator in the body frame, without its gravity.
    n_walk = int(np.round(walk.initial_contacts_s[-1] * fs_hz))
    window = slice(first, first + n_walk)
    motion.extra_acc[window] = walk.acc[:n_walk] - np.array([0.0, 0.0, GRAVITY])
    motion.extra_gyr[window] = walk.gyr[:n_walk]
    acc_body, gyr_body = motion.imu()
    acc, gyr = _to_sensor(
        acc_body, gyr_body, truth.sensor_orientation_deg, truth.noise_mps2, truth.gyro_noise_dps, rng
    )
    return SyntheticTug(
        acc=acc,
        gyr=gyr,
        fs_hz=fs_hz,
        start_s=start,
        stand_s=stand,
        turn_start_s=float(contacts[turning[0]]),
        turn_end_s=float(contacts[turning[-1] + 1]),
        final_turn_start_s=final_start,
        sit_start_s=sit_start,
        end_s=end,
    )
