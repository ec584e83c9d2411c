"""Raw recordings for the simulated cohort, with the truth they were made from.

Each visit's performance tests get a realistic raw signal from the NumPy-only signal models in
:mod:`processing.synthetic` (never Numba: the station box stays light), shaped by what the
cohort simulated for that participant at that visit — the values the visit *measured* (true level,
station offset and the day's error; :mod:`edge.simulate.measurement`), so an analysis of the
recording finds the noisy day, as in the field:

- gait: a lower-back IMU (acc + gyro, 100 Hz) during a ~26 s out-and-back walk in a 10 m
  corridor with 2 s standing before and after (~30 s). Straight-walking speed is the visit's
  gait speed; cadence follows speed and body height
  (``(70 + 35·v)·sqrt(160 / height_cm)`` steps/min, a plausible older-adult relation), step
  length = speed / step frequency; stride-time variability grows as speed falls (and a little
  during a mobility decline); the sensor sits at 0.53 × body height, the pendulum length the
  analysis assumes (Zijlstra & Hof 2003), and is sent as ``sensor_height_m``.
- balance: 30 s of centre of pressure (cop_x = ML, cop_y = AP, mm) in a side-by-side stance,
  eyes open and again eyes closed; sway grows with age, and the visit's amplitude and speed
  factors (platform gain and filtering, the day's sway) scale it. The eyes-closed trial is the
  same stander's sway pattern (same random components), wider and faster by the synthetic model's
  eyes-closed factors (:mod:`processing.synthetic.balance`: RMS × 1.3, frequency × 1.2, orders of
  magnitude from Prieto et al. 1996): a Romberg ratio of mean velocity (eyes closed / eyes open)
  of about 1.5 (1.3 × 1.2 before the few components clipped at the model's top frequency),
  stated per visit in the truth.
- sit-to-stand: a lower-back IMU during five chair stands whose five-times time is the visit's.
- TUG: a lower-back IMU during a timed up-and-go whose total time is the visit's (within the
  limits of the model; the realised time is in the truth).

The truth written for each recording is the *realised* one (after the models' random
variability), as an analysis of the recording should find it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.synthetic.balance import EYES_CLOSED_FREQ, EYES_CLOSED_RMS, SwayTruth, simulate_sway
from processing.synthetic.gait import WalkTruth, simulate_walk
from processing.synthetic.sts import StsTruth, simulate_sts
from processing.synthetic.tug import TugTruth, simulate_tug
from telemetry.recording import COP_CHANNELS, COP_UNITS, IMU_CHANNELS, IMU_UNITS, Recording

WALK_S = 26.0  # walking time of the gait recording; plus 2 s standing either side ≈ 30 s
CORRIDOR_M = 10.0  # out-and-back: a 180° turn every 10 m
SWAY_S = 30.0
SENSOR_HEIGHT_RATIO = 0.53  # lower-back sensor / pendulum length as a share of body height


@dataclass(frozen=True)
class SimulatedRecording:
    """One recording for a device payload, the payload fields that go with it, and its truth."""

    recording: Recording
    payload: dict[str, Any]  # extra payload fields (e.g. sensor_height_m)
    truth: dict[str, Any]  # realised truth, JSON-ready

    def payload_json(self) -> dict[str, Any]:
        """The payload fields as a device sends them (samples base64, per the contract)."""
        return {**self.payload, "recording": self.recording.model_dump(mode="json")}


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _imu(acc: npt.NDArray[np.float64], gyr: npt.NDArray[np.float64], fs_hz: float) -> Recording:
    return Recording.from_array(np.hstack([acc, gyr]), fs_hz, IMU_CHANNELS, IMU_UNITS)


def mounting(rng: np.random.Generator) -> tuple[float, float, float]:
    """How the belt sensor sits this visit: a few degrees of roll, pitch and yaw."""
    return (
        _r(rng.uniform(-5, 5), 1),
        _r(rng.uniform(-15, 15), 1),
        _r(rng.uniform(-10, 10), 1),
    )


def walk_truth(
    gait_speed_mps: float, height_cm: float, mount: tuple[float, float, float], declining: bool
) -> WalkTruth:
    cadence = float(np.clip((70.0 + 35.0 * gait_speed_mps) * math.sqrt(160.0 / height_cm), 50.0, 140.0))
    return WalkTruth(
        cadence_spm=cadence,
        step_length_m=60.0 * gait_speed_mps / cadence,
        n_steps=round(WALK_S * cadence / 60.0) + 1,
        # Slower walkers vary more from stride to stride (≈ 2 % healthy, 4–6 % frail).
        stride_time_cv_pct=float(np.clip(2.0 + 5.0 * max(0.0, 1.0 - gait_speed_mps), 1.5, 8.0))
        + (0.5 if declining else 0.0),
        turn_every_m=CORRIDOR_M,
        standing_s=2.0,
        sensor_height_m=SENSOR_HEIGHT_RATIO * height_cm / 100.0,
        height_m=height_cm / 100.0,
        sensor_orientation_deg=mount,
    )


def gait(
    gait_speed_mps: float,
    height_cm: float,
    declining: bool,
    fs_hz: float,
    rng: np.random.Generator,
) -> SimulatedRecording:
    truth = walk_truth(gait_speed_mps, height_cm, mounting(rng), declining)
    walk = simulate_walk(truth, fs_hz, seed=int(rng.integers(1 << 31)))
    realised = {
        "fs_hz": fs_hz,
        "n_samples": int(walk.acc.shape[0]),
        "straight_speed_mps": _r(truth.walking_speed_mps),
        "cadence_spm": _r(walk.cadence_spm, 2),
        "step_length_m": _r(walk.step_length_m),
        "stride_length_m": _r(walk.stride_length_m),
        "walking_speed_mps": _r(walk.walking_speed_mps),
        "stride_time_cv_pct": _r(walk.stride_time_cv_pct, 2),
        "n_steps": int(walk.initial_contacts_s.size),
        "n_turns": walk.n_turns,
        "walking_s": _r(walk.duration_s, 3),
        "sensor_height_m": _r(truth.sensor_height_m, 3),
    }
    return SimulatedRecording(
        _imu(walk.acc, walk.gyr, fs_hz), {"sensor_height_m": round(truth.sensor_height_m, 3)}, realised
    )


def sway_truth(age: int, eyes: str = "open", amplitude: float = 1.0, speed: float = 1.0) -> SwayTruth:
    """Quiet standing, eyes open: ~4 mm AP / 2.5 mm ML RMS at 65 (Prieto et al. 1996 orders of
    magnitude), more with age. ``amplitude`` and ``speed`` are the visit's measurement factors
    (:mod:`edge.simulate.measurement`: the platform's gain and the day's sway scale the RMS, its
    filtering the frequency). Eyes closed: the synthetic model's eyes-closed factors on top."""
    scale = 1.0 + 0.015 * max(0, age - 65)
    frequency = min(1.5, 0.3 * (1.0 + 0.25 * (scale - 1.0)) * speed)
    scale *= amplitude
    if eyes == "closed":
        scale *= EYES_CLOSED_RMS
        frequency = min(1.5, frequency * EYES_CLOSED_FREQ)
    elif eyes != "open":
        raise ValueError(f"eyes must be 'open' or 'closed', not {eyes!r}")
    return SwayTruth(
        rms_ap_mm=min(60.0, 4.0 * scale),
        rms_ml_mm=min(60.0, 2.5 * scale),
        dominant_freq_hz=frequency,
        duration_s=SWAY_S,
        noise_mm=0.05,
    )


def balance(
    age: int, fs_hz: float, seed: int, eyes: str = "open", amplitude: float = 1.0, speed: float = 1.0
) -> SimulatedRecording:
    """A 30 s side-by-side trial; ``seed`` fixes the stander's sway pattern (the same for both
    eyes states of one visit)."""
    truth = sway_truth(age, eyes, amplitude, speed)
    sway = simulate_sway(truth, fs_hz, seed=seed)
    realised = {
        "fs_hz": fs_hz,
        "n_samples": sway.n_samples,
        "stance": "side_by_side",
        "eyes": eyes,
        "rms_ap_mm": _r(truth.rms_ap_mm),
        "rms_ml_mm": _r(truth.rms_ml_mm),
        "rms_mm": _r(truth.rms_mm),
        "ellipse95_area_mm2": _r(sway.ellipse95_area_mm2, 3),
        "mean_velocity_mm_s": _r(sway.mean_velocity_mm_s),
        "dominant_freq_hz": _r(truth.dominant_freq_hz),
        "noise_mm": truth.noise_mm,
    }
    recording = Recording.from_array(sway.cop_mm, fs_hz, COP_CHANNELS, COP_UNITS)
    return SimulatedRecording(recording, {}, realised)


def romberg(eyes_open: dict[str, Any], eyes_closed: dict[str, Any]) -> dict[str, float]:
    """Romberg ratios (eyes closed / eyes open) of two realised balance truths: mean velocity
    (equal durations: also the path length's) and 95 % ellipse area."""
    return {
        "romberg_mean_velocity": _r(eyes_closed["mean_velocity_mm_s"] / eyes_open["mean_velocity_mm_s"]),
        "romberg_ellipse95_area": _r(eyes_closed["ellipse95_area_mm2"] / eyes_open["ellipse95_area_mm2"]),
    }


def sts_truth(five_rep_s: float, mount: tuple[float, float, float]) -> StsTruth:
    """Five stand-ups ending standing whose nominal five-times time is ``five_rep_s``: durations
    scale from a 15.4 s template (rise 1.4 s, sit 1.6 s, pauses 0.3/0.2 s); what the 0.5–5 s
    limits of a single rise or sit cannot absorb goes into the pauses."""
    k = five_rep_s / 15.4
    rise = float(np.clip(1.4 * k, 0.5, 5.0))
    sit = float(np.clip(1.6 * k, 0.5, 5.0))
    pauses = max(0.0, five_rep_s - 5 * rise - 4 * sit) / 4
    return StsTruth(
        n_reps=5,
        rise_s=rise,
        sit_s=sit,
        stand_pause_s=min(10.0, 0.6 * pauses),
        sit_pause_s=min(10.0, 0.4 * pauses),
        jitter_pct=4.0,
        ends_standing=True,
        sensor_orientation_deg=mount,
    )


def sit_to_stand(five_rep_s: float, fs_hz: float, rng: np.random.Generator) -> SimulatedRecording:
    truth = sts_truth(five_rep_s, mounting(rng))
    sts = simulate_sts(truth, fs_hz, seed=int(rng.integers(1 << 31)))
    five = sts.five_rep_time_s
    realised = {
        "fs_hz": fs_hz,
        "n_samples": int(sts.acc.shape[0]),
        "n_reps": sts.n_reps,
        "five_rep_time_s": None if five is None else _r(five, 3),
        "rise_start_s": [_r(x, 3) for x in sts.rise_start_s],
        "rise_end_s": [_r(x, 3) for x in sts.rise_end_s],
        "mean_rise_s": _r(float(np.mean(sts.rise_end_s - sts.rise_start_s)), 3),
    }
    return SimulatedRecording(_imu(sts.acc, sts.gyr, fs_hz), {}, realised)


def tug_truth(
    tug_s: float, gait_speed_mps: float, height_cm: float, mount: tuple[float, float, float]
) -> TugTruth:
    """A 3 m TUG of nominal total ``tug_s``: about 65 % of it walking (steps a little shorter
    than the usual walk's), the rest the stand-up, pause, final turn and sit-down scaled from a
    4.8 s template; cadence set so the walk fills its share (limited to 40–160 steps/min, so the
    realised total can differ at the extremes — the truth has the realised one)."""
    cadence_walk = (70.0 + 35.0 * gait_speed_mps) * math.sqrt(160.0 / height_cm)
    step = float(np.clip(0.9 * 60.0 * gait_speed_mps / cadence_walk, 0.15, 0.9))
    k = 0.35 * tug_s / 4.8
    turn_steps = 4
    n_steps = 2 * max(1, math.floor(3.0 / step + 1e-9)) + turn_steps + 1
    cadence = float(np.clip(60.0 * (n_steps - 1) / (0.65 * tug_s), 40.0, 160.0))
    return TugTruth(
        rise_s=float(np.clip(1.4 * k, 0.5, 5.0)),
        pause_s=float(np.clip(0.3 * k, 0.0, 5.0)),
        cadence_spm=cadence,
        step_length_m=step,
        turn_steps=turn_steps,
        final_turn_s=float(np.clip(2.0 * k, 0.8, 8.0)),
        sit_s=float(np.clip(1.6 * k, 0.5, 5.0)),
        sit_overlap_s=float(np.clip(0.5 * k, 0.0, 2.0)),
        sensor_orientation_deg=mount,
    )


def tug(
    tug_s: float, gait_speed_mps: float, height_cm: float, fs_hz: float, rng: np.random.Generator
) -> SimulatedRecording:
    truth = tug_truth(tug_s, gait_speed_mps, height_cm, mounting(rng))
    test = simulate_tug(truth, fs_hz, seed=int(rng.integers(1 << 31)))
    realised = {
        "fs_hz": fs_hz,
        "n_samples": int(test.acc.shape[0]),
        **{name: _r(value, 3) for name, value in test.phases_s.items()},
        "cadence_spm": _r(truth.cadence_spm, 2),
        "step_length_m": _r(truth.step_length_m),
    }
    return SimulatedRecording(_imu(test.acc, test.gyr, fs_hz), {}, realised)
