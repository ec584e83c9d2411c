"""Each Numba kernel against its NumPy/SciPy twin (processing.gait.reference), on random signals
and on synthetic walks of every kind. Identical contacts and bouts, features to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.gait import _kernels as kernels
from processing.gait import reference
from processing.imu import vertical_axis
from processing.synthetic.gait import WalkTruth, simulate_walk


@pytest.mark.parametrize(("cutoff", "fs"), [(20.0, 100.0), (1.5, 50.0), (0.3, 200.0), (5.0, 1000.0)])
def test_butterworth_design_matches_scipy(cutoff: float, fs: float) -> None:
    np.testing.assert_allclose(
        kernels.butter2_lowpass(cutoff, fs), reference.butter2_lowpass(cutoff, fs), rtol=1e-10, atol=1e-14
    )


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(12, 3000),
    cutoff=st.floats(0.2, 40.0),
)
@settings(max_examples=60, deadline=None)
def test_filtfilt_matches_scipy(seed: int, n: int, cutoff: float) -> None:
    x = np.random.default_rng(seed).normal(size=n).cumsum()
    c = kernels.butter2_lowpass(cutoff, 100.0)
    np.testing.assert_allclose(kernels.filtfilt(x, c), reference.filtfilt(x, c), rtol=1e-8, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 800), lag_to=st.integers(0, 900))
@settings(max_examples=60, deadline=None)
def test_autocorrelation_matches_numpy(seed: int, n: int, lag_to: int) -> None:
    x = np.random.default_rng(seed).normal(size=n)
    np.testing.assert_allclose(
        kernels.autocorrelation(x, 0, lag_to), reference.autocorrelation(x, 0, lag_to), atol=1e-9
    )


def test_autocorrelation_of_a_constant_is_zero_not_nan() -> None:
    assert np.all(kernels.autocorrelation(np.full(50, 3.0), 0, 10) == 0.0)


@given(
    values=st.lists(st.integers(-3, 3), min_size=3, max_size=300),  # small ints: many flat tops
    height=st.floats(-2.0, 2.0),
    distance=st.integers(1, 40),
)
@settings(max_examples=200, deadline=None)
def test_find_peaks_matches_scipy(values: list[int], height: float, distance: int) -> None:
    x = np.asarray(values, dtype=np.float64) + np.linspace(0, 1e-6, len(values))  # break ties
    np.testing.assert_array_equal(
        kernels.find_peaks(x, height, distance), reference.find_peaks(x, height, distance)
    )


def test_local_maxima_counts_a_flat_top_once_at_its_middle() -> None:
    x = np.array([0.0, 1.0, 2.0, 2.0, 2.0, 1.0, 0.0, 3.0, 3.0, 0.0])
    np.testing.assert_array_equal(kernels.local_maxima(x), [3, 7])


def _compare(walk_acc: np.ndarray, walk_gyr: np.ndarray | None, fs: float) -> None:
    up = vertical_axis(walk_acc)
    vertical = walk_acc @ up
    yaw = walk_gyr @ up if walk_gyr is not None else np.empty(0)
    got = kernels.gait_kernel(vertical, yaw, fs, 0.93, 1.25)
    want = reference.gait_reference(vertical, yaw, fs, 0.93, 1.25)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[3], want[3], rtol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(got[4], want[4])


@given(
    cadence=st.floats(50.0, 150.0),
    step=st.floats(0.2, 0.85),
    n_steps=st.integers(3, 40),
    cv=st.floats(0.0, 12.0),
    asymmetry=st.floats(0.0, 30.0),
    turn_every=st.one_of(st.none(), st.floats(2.0, 8.0)),
    noise=st.floats(0.0, 0.5),
    fs=st.sampled_from([50.0, 100.0, 128.0, 200.0]),
    seed=st.integers(0, 1000),
    gyro=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_whole_kernel_matches_the_reference_on_any_walk(
    cadence: float,
    step: float,
    n_steps: int,
    cv: float,
    asymmetry: float,
    turn_every: float | None,
    noise: float,
    fs: float,
    seed: int,
    gyro: bool,
) -> None:
    truth = WalkTruth(
        cadence_spm=cadence,
        step_length_m=step,
        n_steps=n_steps,
        stride_time_cv_pct=cv,
        step_asymmetry_pct=asymmetry,
        turn_every_m=turn_every,
        noise_mps2=noise,
        standing_s=1.0,
    )
    walk = simulate_walk(truth, fs, seed)
    _compare(walk.acc, walk.gyr if gyro else None, fs)


def test_whole_kernel_matches_the_reference_on_noise_and_standing() -> None:
    rng = np.random.default_rng(0)
    for scale in (0.01, 0.3, 2.0):
        acc = rng.normal(0, scale, (1500, 3)) + np.array([0.0, 0.0, 9.81])
        _compare(acc, rng.normal(0, 5.0, (1500, 3)), 100.0)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 2000), pad=st.integers(1, 400))
@settings(max_examples=40, deadline=None)
def test_filtfilt_with_long_padding_matches_scipy(seed: int, n: int, pad: int) -> None:
    x = np.random.default_rng(seed).normal(size=n).cumsum()
    c = kernels.butter2_lowpass(0.3, 100.0)
    np.testing.assert_allclose(
        kernels.filtfilt_padded(x, c, pad), reference.filtfilt_padded(x, c, pad), rtol=1e-8, atol=1e-9
    )


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


@pytest.mark.parametrize("gyro", [True, False])
def test_vertical_and_yaw_match_numpy_and_ignore_how_the_sensor_is_worn(gyro: bool) -> None:
    walk = simulate_walk(WalkTruth(n_steps=20, turn_every_m=3.0, sensor_orientation_deg=(20, 60, 10)), 100.0)
    gyr = walk.gyr if gyro else np.empty((0, 3))
    got = kernels.vertical_and_yaw(walk.acc, gyr, 100.0)
    want = reference.vertical_and_yaw(walk.acc, gyr, 100.0)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-9)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-9)
    assert got[1].size == (walk.acc.shape[0] if gyro else 0)
    rotation = _rotation(4)
    turned = kernels.vertical_and_yaw(walk.acc @ rotation, walk.gyr @ rotation if gyro else gyr, 100.0)
    np.testing.assert_allclose(turned[0], got[0], atol=1e-9)
    np.testing.assert_allclose(turned[1], got[1], atol=1e-9)
    # Vertical keeps gravity plus the bounce: its mean is g whichever way the sensor points.
    assert got[0].mean() == pytest.approx(9.81, abs=0.05)


def test_heading_turn_factor_and_displacement_match_numpy() -> None:
    walk = simulate_walk(WalkTruth(n_steps=30, turn_every_m=4.0), 100.0, seed=2)
    up = vertical_axis(walk.acc)
    yaw = walk.gyr @ up
    np.testing.assert_allclose(kernels.heading_deg(yaw, 100.0), reference.heading_deg(yaw, 100.0), atol=1e-8)
    vertical = walk.acc @ up
    np.testing.assert_allclose(
        kernels.bounce_displacement(vertical, 100.0),
        reference.bounce_displacement(vertical, 100.0),
        atol=1e-9,
    )
    for change in (-120.0, -45.0, 0.0, 10.0, 89.0, 200.0):
        assert kernels.turning_step_factor(change) == pytest.approx(
            float(reference.turning_step_factor(np.array([change]))[0])
        )
    # Two 180° out-and-back turns: heading ends near 0 or ±360°.
    assert (
        abs(abs(kernels.heading_deg(yaw, 100.0)[-1]) - 360.0) < 20.0
        or abs(kernels.heading_deg(yaw, 100.0)[-1]) < 20.0
    )


@given(steps=st.lists(st.floats(0.2, 5.0), min_size=0, max_size=40))
@settings(max_examples=100, deadline=None)
def test_walking_bouts_split_at_a_3_s_pause_like_numpy(steps: list[float]) -> None:
    contacts = np.round(np.concatenate([[0.0], np.cumsum(steps)]) * 100.0).astype(np.int64)
    got = kernels.walking_bouts(contacts, 100.0)
    np.testing.assert_array_equal(got, reference.walking_bouts(contacts, 100.0))
    for i in range(1, contacts.size):
        if got[i] >= 0 and got[i] == got[i - 1]:
            assert contacts[i] - contacts[i - 1] <= 300
