"""Synthetic lower-back IMU walks with known truth: cadence, step length, variability, turns.

The trunk is modelled as riding an inverted pendulum (Zijlstra & Hof 2003, "Assessment of
spatio-temporal gait parameters from trunk accelerations during human walking", Gait & Posture
18:1–10): during each step the centre of mass rises by ``h`` and falls back, with
``step_length = K · 2·sqrt(2·l·h − h²)`` where ``l`` is the pendulum (sensor) height and ``K`` the
empirical gain by which real steps exceed the compass-gait chord (1.25 in that paper). The
simulated walker inverts that relation to set ``h``; the analysis uses the published gain
independently, so a synthetic walk checks the signal processing (events, integration, drift
removal), not the empirical model, which only real walks can check.

On top of the vertical bounce: a heel-strike transient after each initial contact, a
forward-velocity oscillation per step, a medio-lateral sway per stride, small trunk pitch/roll
oscillations (gravity leaking into the horizontal axes, as on a real trunk), 180° turns with
centripetal acceleration and shortened steps (the trunk bouncing as on a straight step, as it
does on real turns), gait initiation and termination, quiet standing
before and after, a sensor mounted in any orientation, white noise, and optionally a second
harmonic of the bounce (a double bump per step, which tempts a detector into double cadence).
Axes of the body frame: x forward, y left, z up; the sensor frame is the body frame rotated by
``sensor_orientation_deg``.

NumPy only: the edge simulators import this module, so it must never import Numba.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = npt.NDArray[np.float64]
GRAVITY = 9.80665
INITIATION_STEP_RATIO = 0.75


class WalkTruth(BaseModel):
    """What the simulated walker does; every analysis output has a known true value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cadence_spm: float = Field(105.0, ge=30.0, le=200.0, description="steps per minute")
    step_length_m: float = Field(0.65, gt=0.05, le=1.2, description="straight-walking step length")
    n_steps: int = Field(20, ge=2, le=100_000, description="initial contacts (foot strikes) in the walk")
    stride_time_cv_pct: float = Field(2.0, ge=0.0, le=30.0, description="stride-to-stride time variability")
    step_asymmetry_pct: float = Field(
        0.0, ge=0.0, le=60.0, description="left step time exceeds right by this % of the mean step time"
    )
    turn_every_m: float | None = Field(
        None, gt=0.5, description="out-and-back walk: a 180° turn each time this distance is covered"
    )
    turn_steps: int = Field(4, ge=2, le=12, description="steps taken while turning")
    turn_step_ratio: float = Field(0.5, gt=0.1, le=1.0, description="turning step length / straight step")
    standing_s: float = Field(2.0, ge=0.0, le=600.0, description="quiet standing before and after")
    sensor_height_m: float = Field(0.95, gt=0.4, lt=1.5, description="sensor height above the ground")
    height_m: float | None = Field(None, gt=1.0, lt=2.3, description="body height (informational)")
    pendulum_gain: float = Field(1.25, gt=0.8, lt=2.0, description="K in step = K·2·sqrt(2lh − h²)")
    sensor_orientation_deg: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="roll, pitch, yaw of the sensor on the body (any mounting)"
    )
    heel_strike_mps2: float = Field(1.5, ge=0.0, le=20.0, description="impact transient after each contact")
    bounce_harmonic: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="second harmonic of the vertical bounce / its fundamental (a double bump)",
    )
    noise_mps2: float = Field(0.05, ge=0.0, le=5.0, description="accelerometer white noise, one sigma")
    gyro_noise_dps: float = Field(0.5, ge=0.0, le=50.0, description="gyroscope white noise, one sigma")

    @model_validator(mode="after")
    def _pendulum_possible(self) -> WalkTruth:
        if self.step_length_m / (2 * self.pendulum_gain) >= self.sensor_height_m:
            raise ValueError("step length too long for the pendulum (sensor) height")
        return self

    @property
    def step_time_s(self) -> float:
        return 60.0 / self.cadence_spm

    @property
    def walking_speed_mps(self) -> float:
        """Nominal straight-walking speed (turning steps are shorter: see SyntheticWalk)."""
        return self.step_length_m * self.cadence_spm / 60.0

    @property
    def stride_length_m(self) -> float:
        return 2.0 * self.step_length_m


@dataclass(frozen=True)
class SyntheticWalk:
    """A simulated recording and its realised truth (after random variability and turns)."""

    acc: FloatArray  # (n, 3) m/s² including gravity, sensor frame
    gyr: FloatArray  # (n, 3) deg/s, sensor frame
    fs_hz: float
    initial_contacts_s: FloatArray  # (n_steps,)
    step_lengths_m: FloatArray  # (n_steps - 1,) between consecutive contacts
    turning: npt.NDArray[np.bool_]  # (n_steps - 1,) step taken while turning
    n_turns: int

    @property
    def step_times_s(self) -> FloatArray:
        return np.diff(self.initial_contacts_s)

    @property
    def stride_times_s(self) -> FloatArray:
        return self.initial_contacts_s[2:] - self.initial_contacts_s[:-2]

    @property
    def duration_s(self) -> float:
        return float(self.initial_contacts_s[-1] - self.initial_contacts_s[0])

    @property
    def cadence_spm(self) -> float:
        return 60.0 / float(self.step_times_s.mean())

    @property
    def step_length_m(self) -> float:
        return float(self.step_lengths_m.mean())

    @property
    def stride_length_m(self) -> float:
        return float((self.step_lengths_m[1:] + self.step_lengths_m[:-1]).mean())

    @property
    def walking_speed_mps(self) -> float:
        return float(self.step_lengths_m.sum() / self.duration_s)

    @property
    def stride_time_cv_pct(self) -> float:
        strides = self.stride_times_s[~(self.turning[1:] | self.turning[:-1])]
        strides = strides if strides.size >= 3 else self.stride_times_s
        return float(100.0 * strides.std(ddof=1) / strides.mean()) if strides.size >= 2 else 0.0


def synthesize_walk(truth: WalkTruth, fs_hz: float = 100.0, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Accelerometer (n, 3) m/s² including gravity and gyroscope (n, 3) deg/s, sensor frame."""
    walk = simulate_walk(truth, fs_hz, seed)
    return walk.acc, walk.gyr


def simulate_walk(truth: WalkTruth, fs_hz: float = 100.0, seed: int = 0) -> SyntheticWalk:
    """The recording plus its realised truth: contact times, per-step lengths, turning steps."""
    if not 10.0 <= fs_hz <= 2000.0:
        raise ValueError(f"sampling rate {fs_hz} Hz is outside 10–2000 Hz")
    rng = np.random.default_rng(seed)
    step_times = _step_times(truth, rng)
    lengths, turning, turn_id = _step_plan(truth)
    contacts = truth.standing_s + np.concatenate([[0.0], np.cumsum(step_times)])
    total_s = contacts[-1] + step_times[-1] + truth.standing_s
    t = np.arange(int(np.ceil(total_s * fs_hz))) / fs_hz
    acc_body, gyr_body = _body_signals(truth, t, contacts, lengths, turning, turn_id)
    rotation = _rotation(*truth.sensor_orientation_deg)
    # Columns are row vectors: v_sensor = R^T v_body  <=>  rows @ R.
    acc = acc_body @ rotation + rng.normal(0.0, truth.noise_mps2, acc_body.shape)
    gyr = gyr_body @ rotation + rng.normal(0.0, truth.gyro_noise_dps, gyr_body.shape)
    return SyntheticWalk(
        acc=acc,
        gyr=gyr,
        fs_hz=fs_hz,
        initial_contacts_s=contacts,
        step_lengths_m=lengths,
        turning=turning,
        n_turns=int(turn_id.max()) if turn_id.size else 0,
    )


def _step_times(truth: WalkTruth, rng: np.random.Generator) -> FloatArray:
    """Step durations: alternating asymmetry plus iid jitter sized for the stride-time CV.

    A stride is two independent steps, so a step jitter of sigma (relative) gives a stride CV of
    sigma/sqrt(2): jitter = sqrt(2) · CV.
    """
    n = truth.n_steps - 1
    side = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    asymmetry = 1.0 + side * truth.step_asymmetry_pct / 200.0
    jitter = rng.normal(0.0, np.sqrt(2.0) * truth.stride_time_cv_pct / 100.0, n)
    return truth.step_time_s * asymmetry * np.clip(1.0 + jitter, 0.5, 1.5)


def _step_plan(truth: WalkTruth) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Per step: length, whether it is a turning step, and which turn (0 = none)."""
    n = truth.n_steps - 1
    lengths = np.full(n, truth.step_length_m)
    turning = np.zeros(n, dtype=bool)
    turn_id = np.zeros(n, dtype=np.int64)
    if truth.turn_every_m is None:
        _initiation(lengths)
        return lengths, turning, turn_id
    covered, i, turns = 0.0, 0, 0
    while i < n:
        if covered + truth.step_length_m > truth.turn_every_m + 1e-9 and n - i > truth.turn_steps:
            turns += 1
            stop = min(n, i + truth.turn_steps)
            lengths[i:stop] = truth.step_length_m * truth.turn_step_ratio
            turning[i:stop] = True
            turn_id[i:stop] = turns
            i, covered = stop, 0.0
            continue
        covered += truth.step_length_m
        i += 1
    _initiation(lengths)
    return lengths, turning, turn_id


def _initiation(lengths: FloatArray) -> None:
    """The first step out of standing and the last one into it are shorter (three quarters)."""
    lengths[0] *= INITIATION_STEP_RATIO
    if lengths.size > 1:
        lengths[-1] *= INITIATION_STEP_RATIO


def _excursion(step_length: FloatArray, height: float, gain: float) -> FloatArray:
    """Vertical rise h of the pendulum for a step length: inverse of L = K·2·sqrt(2lh − h²)."""
    half_chord = step_length / (2.0 * gain)
    return height - np.sqrt(height**2 - half_chord**2)


def _body_signals(
    truth: WalkTruth,
    t: FloatArray,
    contacts: FloatArray,
    lengths: FloatArray,
    turning: npt.NDArray[np.bool_],
    turn_id: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray]:
    n = t.size
    acc = np.zeros((n, 3))
    gyr = np.zeros((n, 3))
    acc[:, 2] = GRAVITY
    durations = np.diff(contacts)
    step = np.searchsorted(contacts, t, side="right") - 1  # step index per sample, -1 before walking
    walking = (step >= 0) & (step < durations.size)
    k = step[walking]
    tw = t[walking]
    period = durations[k]
    phase = (tw - contacts[k]) / period  # 0 at initial contact, 1 at the next
    omega = 2.0 * np.pi / period
    # On turning steps the feet turn on the spot but the trunk still rises and falls about as on a
    # straight step (seen on real daily-living walks): the bounce is a straight step's.
    bounce_lengths = np.where(turning, truth.step_length_m, lengths)
    h = _excursion(bounce_lengths, truth.sensor_height_m, truth.pendulum_gain)
    # Gait initiation and termination: the first and last steps are shorter (see _step_plan) and
    # the forward oscillation builds up and dies down over them.
    envelope = np.ones(durations.size)
    envelope[0] = envelope[-1] = 0.5
    amp = h[k]
    # z = h/2 (1 - cos 2πφ): lowest at contact (double support), highest at mid-stance.
    vertical = (
        0.5
        * amp
        * omega**2
        * (np.cos(2.0 * np.pi * phase) + truth.bounce_harmonic * np.cos(4.0 * np.pi * phase))
    )
    since_contact = tw - contacts[k]
    # Impact transient: a sharp positive peak with a wider negative lobe of equal area, so it
    # shakes the trunk without moving it (zero net velocity and displacement change).
    lag = since_contact - 0.03
    impact = truth.heel_strike_mps2 * (
        np.exp(-0.5 * (lag / 0.012) ** 2) - (0.012 / 0.05) * np.exp(-0.5 * (lag / 0.05) ** 2)
    )
    speed = lengths[k] / period
    forward = 0.1 * speed * omega * np.sin(2.0 * np.pi * phase) * envelope[k]
    # Start and stop: forward speed ramps up over the first step and down over the last.
    first, last = k == 0, k == durations.size - 1
    forward[first] += speed[first] / period[first] * np.sin(np.pi * phase[first]) * np.pi / 2
    forward[last] -= speed[last] / period[last] * np.sin(np.pi * phase[last]) * np.pi / 2
    # Medio-lateral sway at stride frequency: y = (w/2) sin(π·global phase).
    global_phase = k + phase
    sway = -0.02 * (np.pi / period) ** 2 * np.sin(np.pi * global_phase)
    # Trunk pitch (per step) and roll (per stride), radians; gravity leaks into x and y.
    pitch = np.deg2rad(1.5) * np.sin(2.0 * np.pi * phase) * envelope[k]
    roll = np.deg2rad(2.0) * np.sin(np.pi * global_phase)
    yaw_rate = _yaw_rate(turning, turn_id, k, phase, period)
    centripetal = speed * yaw_rate
    acc[walking, 0] = forward - GRAVITY * np.sin(pitch)
    acc[walking, 1] = sway + centripetal + GRAVITY * np.sin(roll)
    acc[walking, 2] = GRAVITY * np.cos(pitch) * np.cos(roll) + vertical + impact
    gyr[walking, 0] = np.rad2deg(np.deg2rad(2.0) * np.pi / period * np.cos(np.pi * global_phase))
    gyr[walking, 1] = np.rad2deg(np.deg2rad(1.5) * omega * np.cos(2.0 * np.pi * phase) * envelope[k])
    gyr[walking, 2] = np.rad2deg(yaw_rate)
    return acc, gyr


def _yaw_rate(
    turning: npt.NDArray[np.bool_],
    turn_id: npt.NDArray[np.int64],
    k: npt.NDArray[np.int64],
    phase: FloatArray,
    period: FloatArray,
) -> FloatArray:
    """rad/s: each turn sweeps π over its steps with a raised-cosine speed profile."""
    rate = np.zeros(k.size)
    if not turning.any():
        return rate
    steps_in_turn = np.bincount(turn_id)[turn_id]  # per step: how many steps its turn has
    position = np.zeros(turning.size)  # index of the step within its turn
    for turn in range(1, int(turn_id.max()) + 1):
        members = np.flatnonzero(turn_id == turn)
        position[members] = np.arange(members.size)
    on = turning[k]
    u = (position[k] + phase) / steps_in_turn[k]  # 0..1 through the turn
    turn_s = steps_in_turn[k] * period
    rate[on] = (np.pi / turn_s[on]) * (1.0 - np.cos(2.0 * np.pi * u[on]))
    return rate


def _rotation(roll_deg: float, pitch_deg: float, yaw_deg: float) -> FloatArray:
    """Sensor axes in body coordinates (columns), R = Rz(yaw) · Ry(pitch) · Rx(roll)."""
    r, p, y = np.deg2rad([roll_deg, pitch_deg, yaw_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx
