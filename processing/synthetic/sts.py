"""Synthetic lower-back IMU recordings of repeated sit-to-stand with known truth.

Each stand-up (sit-to-stand) and sit-down (stand-to-sit) moves the sensor, a point on the
trunk near the pelvis, along smooth minimum-jerk paths (Flash & Hogan 1985, "The coordination of
arm movements", J Neurosci 5:1688) while the trunk flexes forward and re-extends, as described
for the phases of the instrumented chair-stand test (Millor et al. 2013, "An evaluation of the
30-s chair stand test in older adults", J NeuroEng Rehabil 10:86, Fig. 2; Zijlstra et al. 2010,
"A body-fixed-sensor-based analysis of power during sit-to-stand movements", Gait Posture
31:272–278):

- stand-up of duration ``D``: trunk flexion ``flexion_deg · sin²(π u)`` over the whole
  transition (u = 0..1), forward shift of the pelvis over u = 0..0.8, rise over u = 0.3..1
  (seat-off after the flexion-momentum phase);
- sit-down: descent over u = 0..0.7, backward shift over u = 0.2..1, the same flexion hump;
- seated, the trunk leans ``seated_lean_deg`` forward of its standing angle.

Truth times are where movement starts and ends: ``rise_start_s`` (first motion of a stand-up),
``rise_end_s`` (standing still), ``sit_start_s`` and ``sit_end_s``. The specific force is
``a + g`` in the world, rotated into the flexed trunk and then into the sensor, which may be
mounted any way round (``sensor_orientation_deg``). Body axes: x forward, y left, z up.

NumPy only: the edge simulators import this module, so it must never import Numba or SciPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from processing.synthetic.gait import _rotation

FloatArray = npt.NDArray[np.float64]
GRAVITY = 9.80665


class StsTruth(BaseModel):
    """What the simulated participant does in a repeated chair-stand test."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_reps: int = Field(5, ge=0, le=1000, description="stand-ups")
    rise_s: float = Field(1.4, ge=0.5, le=5.0, description="duration of one stand-up")
    sit_s: float = Field(1.6, ge=0.5, le=5.0, description="duration of one sit-down")
    stand_pause_s: float = Field(0.3, ge=0.0, le=10.0, description="standing still between rise and sit")
    sit_pause_s: float = Field(0.2, ge=0.0, le=10.0, description="seated still between sit and next rise")
    jitter_pct: float = Field(8.0, ge=0.0, le=30.0, description="random spread of durations and pauses")
    ends_standing: bool = Field(
        False, description="stop after the last stand-up (5-times test) instead of sitting down (30-s test)"
    )
    sitting_s: float = Field(2.0, ge=0.0, le=60.0, description="quiet sitting before the first stand-up")
    after_s: float = Field(2.0, ge=0.0, le=60.0, description="quiet sitting or standing at the end")
    rise_height_m: float = Field(0.35, gt=0.05, le=0.7, description="sensor rise from seated to standing")
    forward_shift_m: float = Field(0.2, ge=0.0, le=0.5, description="pelvis forward shift while standing")
    flexion_deg: float = Field(35.0, ge=0.0, le=80.0, description="peak extra trunk flexion")
    seated_lean_deg: float = Field(5.0, ge=-30.0, le=30.0, description="trunk lean seated vs standing")
    sensor_orientation_deg: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="roll, pitch, yaw of the sensor on the body (any mounting)"
    )
    noise_mps2: float = Field(0.05, ge=0.0, le=5.0, description="accelerometer white noise, one sigma")
    gyro_noise_dps: float = Field(0.5, ge=0.0, le=50.0, description="gyroscope white noise, one sigma")


@dataclass(frozen=True)
class SyntheticSts:
    """A simulated chair-stand recording and its realised truth (after jitter)."""

    acc: FloatArray  # (n, 3) m/s² including gravity, sensor frame
    gyr: FloatArray  # (n, 3) deg/s, sensor frame
    fs_hz: float
    rise_start_s: FloatArray  # (n_reps,)
    rise_end_s: FloatArray  # (n_reps,)
    sit_start_s: FloatArray  # (n_sits,) n_reps, or n_reps - 1 when ending standing
    sit_end_s: FloatArray

    @property
    def n_reps(self) -> int:
        return int(self.rise_start_s.size)

    @property
    def rep_durations_s(self) -> FloatArray:
        """Start of each stand-up to the end of its sit-down (to standing when none follows)."""
        ends = self.rise_end_s.copy()
        ends[: self.sit_end_s.size] = self.sit_end_s
        return ends - self.rise_start_s

    @property
    def five_rep_time_s(self) -> float | None:
        """Start of the first stand-up to standing at the fifth (Guralnik et al. 1994)."""
        return float(self.rise_end_s[4] - self.rise_start_s[0]) if self.n_reps >= 5 else None

    def count_within(self, seconds: float) -> int:
        """Stand-ups more than halfway up within ``seconds`` of the first one's start."""
        if self.n_reps == 0:
            return 0
        halfway = 0.5 * (self.rise_start_s + self.rise_end_s)
        return int(np.sum(halfway <= self.rise_start_s[0] + seconds))


def synthesize_sts(truth: StsTruth, fs_hz: float = 100.0, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Accelerometer (n, 3) m/s² including gravity and gyroscope (n, 3) deg/s, sensor frame."""
    sts = simulate_sts(truth, fs_hz, seed)
    return sts.acc, sts.gyr


def simulate_sts(truth: StsTruth, fs_hz: float = 100.0, seed: int = 0) -> SyntheticSts:
    """The recording plus its truth: start and end of every stand-up and sit-down."""
    if not 10.0 <= fs_hz <= 2000.0:
        raise ValueError(f"sampling rate {fs_hz} Hz is outside 10–2000 Hz")
    rng = np.random.default_rng(seed)
    rises, sits, total_s = _schedule(truth, rng)
    t = np.arange(int(np.ceil(total_s * fs_hz))) / fs_hz
    motion = BodyMotion.still(t, lean_deg=truth.seated_lean_deg)
    for start, duration in rises:
        motion.add_stand_up(start, duration, truth)
    for start, duration in sits:
        motion.add_sit_down(start, duration, truth)
    acc_body, gyr_body = motion.imu()
    return SyntheticSts(
        *_to_sensor(
            acc_body, gyr_body, truth.sensor_orientation_deg, truth.noise_mps2, truth.gyro_noise_dps, rng
        ),
        fs_hz=fs_hz,
        rise_start_s=np.array([s for s, _ in rises]),
        rise_end_s=np.array([s + d for s, d in rises]),
        sit_start_s=np.array([s for s, _ in sits]),
        sit_end_s=np.array([s + d for s, d in sits]),
    )


def _schedule(
    truth: StsTruth, rng: np.random.Generator
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], float]:
    """(start, duration) of every stand-up and sit-down, and the recording length."""

    def jittered(value: float) -> float:
        return float(value * np.clip(1.0 + rng.normal(0.0, truth.jitter_pct / 100.0), 0.6, 1.4))

    rises: list[tuple[float, float]] = []
    sits: list[tuple[float, float]] = []
    now = truth.sitting_s
    for rep in range(truth.n_reps):
        rise = jittered(truth.rise_s)
        rises.append((now, rise))
        now += rise
        if truth.ends_standing and rep == truth.n_reps - 1:
            break
        now += jittered(truth.stand_pause_s)
        sit = jittered(truth.sit_s)
        sits.append((now, sit))
        now += sit
        if rep < truth.n_reps - 1:
            now += jittered(truth.sit_pause_s)
    return rises, sits, now + truth.after_s


def min_jerk(u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Minimum-jerk position, velocity and acceleration for u in [0, 1] (clipped outside)."""
    v = np.clip(u, 0.0, 1.0)
    inside = (u > 0.0) & (u < 1.0)
    pos = 10 * v**3 - 15 * v**4 + 6 * v**5
    vel = np.where(inside, 30 * v**2 - 60 * v**3 + 30 * v**4, 0.0)
    acc = np.where(inside, 60 * v - 180 * v**2 + 120 * v**3, 0.0)
    return pos, vel, acc


class BodyMotion:
    """World-frame trunk motion sampled at ``t``: forward and vertical acceleration (m/s²), trunk
    flexion (rad) and its rate (rad/s), heading rate (rad/s). Movements add on top of each other;
    :meth:`imu` turns the sum into what a trunk-fixed IMU reads (body frame)."""

    def __init__(self, t: FloatArray, lean_rad: FloatArray) -> None:
        self.t = t
        self.ax = np.zeros(t.size)
        self.az = np.zeros(t.size)
        self.pitch = lean_rad
        self.pitch_rate = np.zeros(t.size)
        self.yaw_rate = np.zeros(t.size)
        self.extra_acc = np.zeros((t.size, 3))  # trunk-frame additions (walking), m/s²
        self.extra_gyr = np.zeros((t.size, 3))  # trunk-frame additions (walking), deg/s

    @classmethod
    def still(cls, t: FloatArray, lean_deg: float) -> BodyMotion:
        return cls(t, np.full(t.size, np.deg2rad(lean_deg)))

    def _path(self, start: float, duration: float, frm: float, to: float) -> tuple[FloatArray, ...]:
        """u, and the minimum-jerk shape over the fraction ``frm..to`` of the movement."""
        u = (self.t - start) / duration
        span = (to - frm) * duration
        pos, vel, acc = min_jerk((u - frm) / (to - frm))
        return u, pos, vel / span, acc / span**2

    def _flex(
        self, start: float, duration: float, flexion_deg: float, lean_deg: float, sitting: bool
    ) -> None:
        u, s, ds, _ = self._path(start, duration, 0.0, 1.0)
        inside = (u > 0.0) & (u < 1.0)
        flex = np.deg2rad(flexion_deg)
        lean = np.deg2rad(lean_deg)
        # The seated lean is released while standing up and taken up again while sitting down.
        sign = 1.0 if sitting else -1.0
        self.pitch[inside] += flex * np.sin(np.pi * u[inside]) ** 2
        self.pitch += sign * lean * s
        self.pitch_rate[inside] += flex * np.pi / duration * np.sin(2 * np.pi * u[inside])
        self.pitch_rate += sign * lean * ds

    def add_stand_up(self, start: float, duration: float, truth: StsTruth) -> None:
        self._flex(start, duration, truth.flexion_deg, truth.seated_lean_deg, sitting=False)
        self.ax += truth.forward_shift_m * self._path(start, duration, 0.0, 0.8)[3]
        self.az += truth.rise_height_m * self._path(start, duration, 0.3, 1.0)[3]

    def add_sit_down(self, start: float, duration: float, truth: StsTruth) -> None:
        self._flex(start, duration, truth.flexion_deg, truth.seated_lean_deg, sitting=True)
        self.az -= truth.rise_height_m * self._path(start, duration, 0.0, 0.7)[3]
        self.ax -= truth.forward_shift_m * self._path(start, duration, 0.2, 1.0)[3]

    def add_turn(self, start: float, duration: float, angle_deg: float) -> None:
        """Heading change with a raised-cosine rate profile (as the gait simulator's turns)."""
        u = (self.t - start) / duration
        inside = (u > 0.0) & (u < 1.0)
        self.yaw_rate[inside] += np.deg2rad(angle_deg) / duration * (1.0 - np.cos(2 * np.pi * u[inside]))

    def imu(self) -> tuple[FloatArray, FloatArray]:
        """Specific force and angular rate in the (flexed) trunk frame: f_trunk = R_y(θ)ᵀ (a + g)."""
        c, s = np.cos(self.pitch), np.sin(self.pitch)
        fz = self.az + GRAVITY
        acc = np.column_stack([c * self.ax - s * fz, np.zeros(self.t.size), s * self.ax + c * fz])
        # Heading rate is about world vertical; in the flexed trunk it splits between x and z.
        gyr = np.rad2deg(np.column_stack([-s * self.yaw_rate, self.pitch_rate, c * self.yaw_rate]))
        return acc + self.extra_acc, gyr + self.extra_gyr


def _to_sensor(
    acc_body: FloatArray,
    gyr_body: FloatArray,
    orientation_deg: tuple[float, float, float],
    noise_mps2: float,
    gyro_noise_dps: float,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Rotate body-frame signals into a sensor mounted any way round and add white noise."""
    rotation = _rotation(*orientation_deg)
    acc = acc_body @ rotation + rng.normal(0.0, noise_mps2, acc_body.shape)
    gyr = gyr_body @ rotation + rng.normal(0.0, gyro_noise_dps, gyr_body.shape)
    return acc, gyr
