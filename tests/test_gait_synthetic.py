"""The synthetic walker: NumPy only, and its realised truth is what it says."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from processing.synthetic.gait import GRAVITY, WalkTruth, simulate_walk, synthesize_walk


def test_the_synthetic_walker_never_imports_numba() -> None:
    probe = (
        "import sys; from processing.synthetic.gait import WalkTruth, synthesize_walk; "
        "synthesize_walk(WalkTruth()); print('numba' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_realised_walk_follows_the_requested_truth() -> None:
    truth = WalkTruth(cadence_spm=90.0, step_length_m=0.55, n_steps=400, stride_time_cv_pct=5.0)
    walk = simulate_walk(truth, 100.0, seed=3)
    assert walk.initial_contacts_s.size == 400
    assert walk.cadence_spm == pytest.approx(90.0, rel=0.01)
    assert walk.stride_time_cv_pct == pytest.approx(5.0, rel=0.15)
    assert walk.step_lengths_m[1:-1] == pytest.approx(0.55)
    assert walk.walking_speed_mps == pytest.approx(truth.walking_speed_mps, rel=0.01)


def test_out_and_back_turns_every_leg_with_shorter_steps() -> None:
    truth = WalkTruth(n_steps=40, step_length_m=0.5, turn_every_m=4.0, turn_steps=4)
    walk = simulate_walk(truth, 100.0)
    assert walk.n_turns == 3
    assert walk.turning.sum() == 12
    assert np.all(walk.step_lengths_m[walk.turning] == pytest.approx(0.25))
    # Each turn sweeps 180° about the body's vertical (z) axis.
    yaw = walk.gyr[:, 2]
    assert np.abs(yaw.sum() / 100.0) == pytest.approx(3 * 180.0, rel=0.05)


def test_sensor_orientation_rotates_gravity_but_not_its_size() -> None:
    upright = synthesize_walk(WalkTruth(noise_mps2=0.0), 100.0)[0]
    turned = synthesize_walk(WalkTruth(noise_mps2=0.0, sensor_orientation_deg=(90.0, 0.0, 0.0)), 100.0)[0]
    assert upright.mean(axis=0) == pytest.approx([0.0, 0.0, GRAVITY], abs=0.2)
    assert turned.mean(axis=0) == pytest.approx([0.0, GRAVITY, 0.0], abs=0.2)
    np.testing.assert_allclose(np.linalg.norm(upright, axis=1), np.linalg.norm(turned, axis=1), atol=1e-9)


def test_impossible_walks_are_refused() -> None:
    with pytest.raises(ValidationError):
        WalkTruth(step_length_m=1.2, sensor_height_m=0.45)
    with pytest.raises(ValidationError):
        WalkTruth(cadence_spm=0.0)
