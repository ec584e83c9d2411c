"""What a simulated visit measures: the person's true level, plus a station's fixed offsets and
the day's between-day error, both drawn from the one cited table
:data:`processing.cases.measurement_error.MEASUREMENT_ERROR` (SEM and station spread per metric).

In this order:

- **Station offsets** (:func:`station_offsets`): per station and metric, drawn once from
  N(0, station spread), seeded by the station id alone (SHA-256 of it), so every simulator process
  and every cohort seed agrees on a station (docker-compose.yml runs one simulator per station).
  Gait speed: walkway length, timing, rater; grip: the dynamometer; chair stand: chair height and
  rater; TUG: course and rater. Sway: a platform gain scales the centre-of-pressure amplitude (area
  ∝ gain², velocity ∝ gain), its log-SD half the area's spread; a velocity-only factor (filtering,
  noise floor) brings the velocity's spread to the table's.
- **The day's errors** (:func:`day_errors`): gait speed, chair stand and TUG share a day effect
  (fatigue, pain, the rater) that makes every test *worse* on a bad day — slower gait, slower
  chair stands and TUG (:func:`bad_day_sign`) — their worsenings correlated
  :data:`processing.cases.detect.ERROR_CORRELATION` 0.3, the detector's assumption; the
  decline-rates benchmark takes its sign from here too. Grip is independent. (A day effect that
  raised every value made gait *faster* on a day chair stands were slower: the tests' errors then
  partly cancelled in the detector's composite, and steady people looked steadier than the stated
  error model says.)
  Sway: an amplitude factor exp(N(0, σ)); the sway model already varies from trial to trial (its
  random components: 9 % log-SD of mean velocity, :data:`SWAY_MODEL_VELOCITY_SD`, measured over 60
  trials), so σ = √(0.20² − 0.09²) makes the velocity's between-day SEM the table's 20 %; the area
  (exactly ∝ amplitude² in the model) then varies 2σ = 36 % (table: 40 %, itself a FrailWatch
  choice, "twice the velocity's").
- **SPPB balance holds** (FrailWatch choice): the table has no row for hold times; each person has a
  tandem-stance capacity (seconds they could stand, beyond the test's 10 s), semi-tandem three times
  it; on the day it is multiplied by exp(N(0, :data:`HOLD_DAY_SD`)). The SD was chosen so that the
  SPPB the station scores from holds, walk and chair times varies between visits of steady people
  by the table's SEM (0.6 point; tests/test_simulate.py measures it).
- **Questionnaire** (FrailWatch choice, no published item-level retest for K-FRAIL): each
  self-rated item (fatigue, resistance, ambulation) is answered against the person's true state
  with probability :data:`ITEM_FLIP` of the other answer; the illness count is recalled ±1 with
  probability :data:`ILLNESS_RECALL` (of 11 conditions); the weight change of the past year is
  recalled with an SD of :data:`WEIGHT_RECALL_SD_PCT` %. ITEM_FLIP = 0.14 makes the K-FRAIL score's
  between-visit SD the table's SEM, 0.6 item (3·q·(1 − q) ≈ 0.36; Dong 2018: FRAIL retest ICC
  0.708); tests/test_simulate.py measures it. Exhaustion days (±1 about a third of the time) and
  leisure activity (×exp(N(0, 0.3))) for the Fried phenotype likewise.

Without measurement error (``measurement_error=False`` on the cohort) every offset and error is
zero and every answer the true one: the visit measures the true level exactly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from processing.cases.detect import ERROR_CORRELATION
from processing.cases.measurement_error import MEASUREMENT_ERROR
from telemetry.cases import Domain

#: Metrics the simulator adds error to directly (additive, metric units).
TIMED = ("gait_speed_mps", "chair_stand_5x_s", "tug_time_s")
ADDITIVE = (*TIMED, "grip_max_kg")
#: Sway: log-scale amplitude (area and velocity) and velocity-only factors.
SWAY_AMPLITUDE = "sway_amplitude_log"
SWAY_VELOCITY = "sway_velocity_log"
SWAY_MODEL_VELOCITY_SD = 0.09
HOLD_DAY_SD = 0.1
ITEM_FLIP = 0.14
ILLNESS_RECALL = 0.2
WEIGHT_RECALL_SD_PCT = 1.5
EXHAUSTION_RECALL = 0.35  # chance the reported days per week are one off the true ones
ACTIVITY_RECALL_SD = 0.3  # log-SD of recalled leisure activity
_OFFSET_SALT = b"frailwatch-simulated-station-offsets-v1:"


def _sd(metric: str) -> float:
    return MEASUREMENT_ERROR[metric].sem


def _station_sd(metric: str) -> float:
    return MEASUREMENT_ERROR[metric].station_sd


def _sway_split(area: float, velocity: float) -> tuple[float, float]:
    """(amplitude log-SD, velocity-only log-SD) giving ``area`` and ``velocity`` log-SDs."""
    amplitude = area / 2.0
    return amplitude, math.sqrt(max(velocity**2 - amplitude**2, 0.0))


@lru_cache(maxsize=1024)
def station_offsets(station: str) -> dict[str, float]:
    """The station's fixed offsets: metric units for :data:`ADDITIVE`, log factors for sway."""
    digest = hashlib.sha256(_OFFSET_SALT + station.encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    out = {m: float(rng.normal(0.0, _station_sd(m))) for m in ADDITIVE}
    amplitude, velocity_only = _sway_split(
        _station_sd("sway_ellipse95_area_mm2"), _station_sd("sway_mean_velocity_mm_s")
    )
    out[SWAY_AMPLITUDE] = float(rng.normal(0.0, amplitude))
    out[SWAY_VELOCITY] = float(rng.normal(0.0, velocity_only))
    return out


@dataclass(frozen=True)
class DayErrors:
    """One visit's between-day errors: metric units for :data:`ADDITIVE`, log factors for sway
    and the balance holds."""

    values: dict[str, float]
    item_flips: tuple[bool, bool, bool]  # fatigue, resistance, ambulation answered the other way
    illness_step: int
    weight_recall_pct: float
    exhaustion_step: int
    activity_log: float


def bad_day_sign(metric: str) -> float:
    """The sign that turns a bad day (a positive day effect) into a worse value of ``metric``:
    −1 where lower is worse (gait speed, SPPB, grip), +1 where higher is worse (chair stand, TUG)."""
    return -1.0 if MEASUREMENT_ERROR[metric].worse == "lower" else 1.0


def day_errors(rng: np.random.Generator) -> DayErrors:
    """The errors of one visit (draws from ``rng`` in a fixed order)."""
    rho = ERROR_CORRELATION[Domain.MOBILITY]
    day = rng.normal()
    values = {
        m: _sd(m) * (bad_day_sign(m) * math.sqrt(rho) * day + math.sqrt(1.0 - rho) * rng.normal())
        for m in TIMED
    }
    values["grip_max_kg"] = _sd("grip_max_kg") * rng.normal()
    velocity = math.sqrt(_sd("sway_mean_velocity_mm_s") ** 2 - SWAY_MODEL_VELOCITY_SD**2)
    values[SWAY_AMPLITUDE] = velocity * rng.normal()
    values[SWAY_VELOCITY] = 0.0
    values["hold_log"] = HOLD_DAY_SD * rng.normal()
    flips = tuple(bool(x) for x in rng.random(3) < ITEM_FLIP)
    illness = int(rng.choice([-1, 0, 1], p=[ILLNESS_RECALL / 2, 1 - ILLNESS_RECALL, ILLNESS_RECALL / 2]))
    exhaustion = int(
        rng.choice([-1, 0, 1], p=[EXHAUSTION_RECALL / 2, 1 - EXHAUSTION_RECALL, EXHAUSTION_RECALL / 2])
    )
    return DayErrors(
        values=values,
        item_flips=(flips[0], flips[1], flips[2]),
        illness_step=illness,
        weight_recall_pct=float(WEIGHT_RECALL_SD_PCT * rng.normal()),
        exhaustion_step=exhaustion,
        activity_log=float(ACTIVITY_RECALL_SD * rng.normal()),
    )


NO_ERRORS = DayErrors(
    values={**dict.fromkeys(ADDITIVE, 0.0), SWAY_AMPLITUDE: 0.0, SWAY_VELOCITY: 0.0, "hold_log": 0.0},
    item_flips=(False, False, False),
    illness_step=0,
    weight_recall_pct=0.0,
    exhaustion_step=0,
    activity_log=0.0,
)
NO_OFFSETS: dict[str, float] = {**dict.fromkeys(ADDITIVE, 0.0), SWAY_AMPLITUDE: 0.0, SWAY_VELOCITY: 0.0}
