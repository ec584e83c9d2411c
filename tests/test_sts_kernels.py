"""Sit-to-stand and TUG Numba kernels against their NumPy/SciPy twins (processing.sts.reference,
processing.tug.reference): identical event samples, values to 1e-9, on synthetic recordings of
every kind and on noise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.imu import vertical_axis
from processing.sts import _kernels as kernels
from processing.sts import reference
from processing.synthetic.sts import StsTruth, simulate_sts
from processing.synthetic.tug import TugTruth, simulate_tug
from processing.tug import _kernels as tug_kernels
from processing.tug import reference as tug_reference

NO_GYRO = np.empty((0, 3))


def _compare(acc: np.ndarray, gyr: np.ndarray, fs: float) -> None:
    got = kernels.transitions(acc, gyr, fs)
    want = reference.transitions(acc, gyr, fs)
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_allclose(got[3], want[3], rtol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 2000), fs=st.sampled_from([50.0, 100.0, 200.0]))
@settings(max_examples=40, deadline=None)
def test_movement_signals_match_on_random_input(seed: int, n: int, fs: float) -> None:
    rng = np.random.default_rng(seed)
    acc = rng.normal(0.0, 1.0, (n, 3)).cumsum(axis=0) * 0.05 + np.array([0.0, 0.0, 9.81])
    for gyr in (NO_GYRO, rng.normal(0.0, 20.0, (n, 3))):
        got = kernels.movement_signals(acc, gyr, fs)
        want = reference.movement_signals(acc, gyr, fs)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-7, atol=1e-9)


@given(
    n_reps=st.integers(0, 8),
    rise=st.floats(0.6, 3.0),
    sit=st.floats(0.6, 3.0),
    pause=st.floats(0.0, 1.5),
    flexion=st.floats(0.0, 60.0),
    ends_standing=st.booleans(),
    noise=st.floats(0.0, 0.4),
    fs=st.sampled_from([50.0, 100.0, 128.0, 200.0]),
    seed=st.integers(0, 1000),
    gyro=st.booleans(),
)
@settings(max_examples=25, deadline=None)
def test_transitions_match_the_reference_on_any_chair_stand(
    n_reps: int,
    rise: float,
    sit: float,
    pause: float,
    flexion: float,
    ends_standing: bool,
    noise: float,
    fs: float,
    seed: int,
    gyro: bool,
) -> None:
    truth = StsTruth(
        n_reps=n_reps,
        rise_s=rise,
        sit_s=sit,
        stand_pause_s=pause,
        sit_pause_s=pause,
        flexion_deg=flexion,
        ends_standing=ends_standing,
        noise_mps2=noise,
        sensor_orientation_deg=(seed % 360, 30.0, 0.0),
    )
    sts = simulate_sts(truth, fs, seed)
    _compare(sts.acc, sts.gyr if gyro else NO_GYRO, fs)


@pytest.mark.parametrize("scale", [0.01, 0.3, 2.0])
def test_transitions_match_on_noise(scale: float) -> None:
    rng = np.random.default_rng(1)
    acc = rng.normal(0, scale, (2000, 3)) + np.array([0.0, 0.0, 9.81])
    _compare(acc, rng.normal(0, 5.0, (2000, 3)), 100.0)
    _compare(acc, NO_GYRO, 100.0)


@given(
    cadence=st.floats(60.0, 130.0),
    final_turn=st.floats(1.0, 4.0),
    fs=st.sampled_from([50.0, 100.0, 200.0]),
    seed=st.integers(0, 1000),
)
@settings(max_examples=15, deadline=None)
def test_turns_and_transitions_match_the_reference_on_any_tug(
    cadence: float, final_turn: float, fs: float, seed: int
) -> None:
    tug = simulate_tug(TugTruth(cadence_spm=cadence, final_turn_s=final_turn, noise_mps2=0.1), fs, seed)
    _compare(tug.acc, tug.gyr, fs)
    yaw = np.ascontiguousarray(tug.gyr @ vertical_axis(tug.acc))
    got, want = tug_kernels.turns(yaw, fs), tug_reference.turns(yaw, fs)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 1500), scale=st.floats(1.0, 200.0))
@settings(max_examples=60, deadline=None)
def test_turns_match_on_random_yaw(seed: int, n: int, scale: float) -> None:
    yaw = np.random.default_rng(seed).normal(0.0, scale, n).cumsum() * 0.1
    got, want = tug_kernels.turns(yaw, 50.0), tug_reference.turns(yaw, 50.0)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9)
