"""Gait on synthetic real-world walks with known truth: stops between bouts, short bouts,
harmonic-rich bounces, limping, any sensor orientation — and the quality result on each."""

from __future__ import annotations

import numpy as np
import pytest

from processing.gait import GaitResult, analyze_gait
from processing.gait.analysis import UNCERTAIN_REASONS
from processing.synthetic.gait import WalkTruth, simulate_walk

FS = 100.0


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _stride_cadence(contacts: np.ndarray) -> np.ndarray:
    return 120.0 / (contacts[2:] - contacts[:-2])


@pytest.mark.parametrize("harmonic", [1.5, 2.5, 4.0])
@pytest.mark.parametrize("asymmetry", [0.0, 30.0])
def test_a_double_bump_per_step_does_not_double_the_cadence(harmonic: float, asymmetry: float) -> None:
    truth = WalkTruth(n_steps=30, bounce_harmonic=harmonic, step_asymmetry_pct=asymmetry)
    walk = simulate_walk(truth, FS, seed=2)
    result = analyze_gait(walk.acc, FS, gyr=walk.gyr, sensor_height_m=0.95)
    assert result.cadence_spm == pytest.approx(walk.cadence_spm, rel=0.03)
    assert abs(result.n_steps - truth.n_steps) <= 1
    assert not result.uncertain


def test_a_limp_does_not_halve_the_cadence() -> None:
    truth = WalkTruth(n_steps=40, step_asymmetry_pct=45.0, stride_time_cv_pct=3.0)
    walk = simulate_walk(truth, FS, seed=6)
    result = analyze_gait(walk.acc, FS, gyr=walk.gyr, sensor_height_m=0.95)
    assert result.cadence_spm == pytest.approx(walk.cadence_spm, rel=0.03)
    assert result.step_symmetry is not None and result.step_symmetry < 0.9


def test_a_stop_between_two_walks_gives_two_bouts_and_leaves_the_standing_out() -> None:
    first = simulate_walk(WalkTruth(n_steps=14, standing_s=2.5), FS, seed=1)
    second = simulate_walk(WalkTruth(n_steps=12, cadence_spm=95.0, standing_s=2.5), FS, seed=2)
    acc = np.vstack([first.acc, second.acc])
    gyr = np.vstack([first.gyr, second.gyr])
    rotation = _rotation(3)
    result = analyze_gait(acc @ rotation, FS, gyr=gyr @ rotation, sensor_height_m=0.95)
    offset = first.acc.shape[0] / FS
    contacts = [first.initial_contacts_s, second.initial_contacts_s + offset]
    assert result.n_bouts == 2
    assert abs(result.n_steps - 26) <= 2
    want = np.concatenate([_stride_cadence(c) for c in contacts]).mean()
    assert result.cadence_spm == pytest.approx(want, rel=0.03)
    walking = first.duration_s + second.duration_s
    assert result.duration_s == pytest.approx(walking, abs=1.5)
    assert result.walking_share == pytest.approx(walking / result.recording_s, abs=0.1)
    lengths = np.concatenate([first.step_lengths_m, second.step_lengths_m])
    assert result.step_length_m == pytest.approx(lengths.mean(), rel=0.08)


def test_turns_shorten_steps_and_show_in_the_turning_share() -> None:
    truth = WalkTruth(n_steps=40, turn_every_m=3.0)
    walk = simulate_walk(truth, FS, seed=8)
    result = analyze_gait(walk.acc, FS, gyr=walk.gyr, sensor_height_m=0.95)
    assert result.turning_share is not None
    true_share = np.diff(walk.initial_contacts_s)[walk.turning].sum() / walk.duration_s
    assert result.turning_share == pytest.approx(true_share, abs=0.12)
    assert result.walking_speed_mps == pytest.approx(walk.walking_speed_mps, rel=0.1)
    assert result.straight_walking_speed_mps is not None
    assert result.straight_walking_speed_mps > result.walking_speed_mps
    no_gyro = analyze_gait(walk.acc, FS, sensor_height_m=0.95)
    assert no_gyro.turning_share is None and no_gyro.n_turns is None


def test_a_short_bout_is_analysed_but_flagged_uncertain() -> None:
    truth = WalkTruth(n_steps=4, standing_s=1.5)
    walk = simulate_walk(truth, FS, seed=1)
    result = analyze_gait(walk.acc, FS, gyr=walk.gyr, sensor_height_m=0.95)
    assert result.n_strides == 2
    assert result.uncertain and result.uncertain_reason is not None
    assert "few_strides" in result.uncertain_reason.split(",")


def test_a_clean_walk_is_certain_and_a_mostly_standing_one_is_not() -> None:
    clean = simulate_walk(WalkTruth(n_steps=30), FS, seed=1)
    result = analyze_gait(clean.acc, FS, gyr=clean.gyr, sensor_height_m=0.95)
    assert not result.uncertain and result.uncertain_reason is None
    assert 0.9 < result.period_agreement < 1.1
    standing = simulate_walk(WalkTruth(n_steps=8, standing_s=20.0), FS, seed=1)
    mostly = analyze_gait(standing.acc, FS, gyr=standing.gyr, sensor_height_m=0.95)
    assert mostly.walking_share < 0.2
    assert mostly.uncertain_reason is not None and "little_walking" in mostly.uncertain_reason


def test_uncertain_reasons_are_known_codes_in_order() -> None:
    from processing.gait.analysis import uncertain_reasons

    every = uncertain_reasons(
        1, 0.1, walking_share=0.05, turning_share=0.9, step_time_cv_pct=50.0, period_agreement=2.0
    )
    assert every == UNCERTAIN_REASONS
    assert (
        uncertain_reasons(
            10, 0.8, walking_share=0.8, turning_share=0.1, step_time_cv_pct=3.0, period_agreement=1.0
        )
        == ()
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_any_random_rotation_gives_the_same_result(seed: int) -> None:
    walk = simulate_walk(WalkTruth(n_steps=24, turn_every_m=4.0, stride_time_cv_pct=3.0), FS, seed=5)
    upright: GaitResult = analyze_gait(walk.acc, FS, gyr=walk.gyr, sensor_height_m=0.95)
    rotation = _rotation(seed)
    turned = analyze_gait(walk.acc @ rotation, FS, gyr=walk.gyr @ rotation, sensor_height_m=0.95)
    assert turned.initial_contacts_s == upright.initial_contacts_s
    assert turned.walking_speed_mps == pytest.approx(upright.walking_speed_mps, rel=1e-6)
    assert turned.uncertain_reason == upright.uncertain_reason
