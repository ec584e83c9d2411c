"""Each balance Numba kernel against its NumPy/SciPy twin (processing.balance.reference), on
random traces (hypothesis) and synthetic sway; the closed-form F quantile against scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.balance import _kernels as kernels
from processing.balance import reference
from processing.balance.analysis import MIN_BAND_POWER_MM2, POWER_BAND_HZ, welch_psd
from processing.synthetic.balance import SwayTruth, f_upper_quantile_2, simulate_sway


@given(dof2=st.floats(1.0, 1e6), alpha=st.floats(0.001, 0.5))
@settings(max_examples=100, deadline=None)
def test_closed_form_f_quantile_matches_scipy(dof2: float, alpha: float) -> None:
    want = reference.f_upper_quantile_2(alpha, dof2)
    assert kernels.f_upper_quantile_2(alpha, dof2) == pytest.approx(want, rel=1e-8)
    assert f_upper_quantile_2(alpha, int(dof2)) == pytest.approx(
        reference.f_upper_quantile_2(alpha, int(dof2)), rel=1e-8
    )


def _trace(seed: int, n: int, scale_ap: float, scale_ml: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ap = rng.normal(0.0, 1.0, n).cumsum() * scale_ap + 30.0
    ml = rng.normal(0.0, 1.0, n).cumsum() * scale_ml - 12.0
    return ap, ml


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 4000),
    scale_ap=st.one_of(st.just(0.0), st.floats(0.01, 5.0)),
    scale_ml=st.one_of(st.just(0.0), st.floats(0.01, 5.0)),
    fs=st.sampled_from([25.0, 50.0, 100.0, 128.0, 1000.0]),
)
@settings(max_examples=80, deadline=None)
def test_sway_features_match_numpy(seed: int, n: int, scale_ap: float, scale_ml: float, fs: float) -> None:
    ap, ml = _trace(seed, n, scale_ap, scale_ml)
    ap, ml = reference.remove_mean(ap), reference.remove_mean(ml)
    got = kernels.sway_features(ap, ml, fs)
    want = reference.sway_features(ap, ml, fs)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(12, 4000),
    lowpass=st.sampled_from([0.0, 1.0, 5.0, 10.0]),
    fs=st.sampled_from([50.0, 100.0, 1000.0]),
)
@settings(max_examples=60, deadline=None)
def test_whole_kernel_matches_numpy(seed: int, n: int, lowpass: float, fs: float) -> None:
    ap, ml = _trace(seed, n, 1.0, 0.6)
    got_f, got_rd = kernels.balance_kernel(ml, ap, fs, lowpass)
    want_f, want_rd = reference.balance_kernel(ml, ap, fs, lowpass)
    np.testing.assert_allclose(got_f, want_f, rtol=1e-8, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(got_rd, want_rd, rtol=1e-8, atol=1e-9)


@given(
    seed=st.integers(0, 2**32 - 1),
    n_bins=st.integers(2, 300),
    zeros=st.floats(0.0, 0.8),
    fraction=st.floats(0.01, 0.99),
    lo=st.floats(0.0, 1.0),
    hi=st.floats(0.5, 10.0),
)
@settings(max_examples=150, deadline=None)
def test_power_frequency_matches_numpy(
    seed: int, n_bins: int, zeros: float, fraction: float, lo: float, hi: float
) -> None:
    rng = np.random.default_rng(seed)
    freqs = np.asarray(np.arange(n_bins) * 0.05, dtype=np.float64)
    gaps = rng.uniform(size=n_bins) > zeros  # bins of zero power
    psd = np.where(gaps, rng.exponential(1.0, n_bins), 0.0)
    got = kernels.power_frequency(freqs, psd, lo, hi, fraction, 1e-8)
    want = reference.power_frequency(freqs, psd, lo, hi, fraction, 1e-8)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_power_frequency_by_hand() -> None:
    freqs = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 6.0])
    psd = np.array([9.0, 1.0, 1.0, 1.0, 1.0, 9.0])  # only 0.5–2 Hz is in the 0.15–5 Hz band
    # total 4; half (2) is reached at the 1.0 Hz bin: 0.5 + (2 − 1)/1 · 0.5 = 1.0
    assert kernels.power_frequency(freqs, psd, 0.15, 5.0, 0.5, 0.0) == pytest.approx(1.0)
    # 95 % = 3.8: 1.5 + (3.8 − 3)/1 · 0.5 = 1.9
    assert kernels.power_frequency(freqs, psd, 0.15, 5.0, 0.95, 0.0) == pytest.approx(1.9)
    assert np.isnan(kernels.power_frequency(freqs, np.zeros(6), 0.15, 5.0, 0.5, 1e-8))


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 9000),
    fs=st.sampled_from([25.0, 50.0, 100.0, 128.0, 333.0]),
)
@settings(max_examples=60, deadline=None)
def test_numpy_welch_matches_scipy(seed: int, n: int, fs: float) -> None:
    rd = np.abs(np.random.default_rng(seed).normal(0.0, 3.0, n).cumsum())
    got_f, got_p = welch_psd(rd, fs)
    want_f, want_p = reference.welch_psd(rd, fs)
    np.testing.assert_allclose(got_f, want_f, rtol=1e-12)
    np.testing.assert_allclose(got_p, want_p, rtol=1e-8, atol=1e-12 * float(want_p.max(initial=0.0)))


@pytest.mark.parametrize("fs", [50.0, 100.0, 1000.0])
def test_kernel_and_reference_agree_on_synthetic_sway(fs: float) -> None:
    sway = simulate_sway(SwayTruth(noise_mm=0.05, duration_s=30.0), fs, seed=3)
    ml, ap = sway.cop_mm[:, 0].copy(), sway.cop_mm[:, 1].copy()
    got_f, got_rd = kernels.balance_kernel(ml, ap, fs, 5.0)
    want_f, f50, f95 = reference.analyze_balance_reference(sway.cop_mm, fs, 5.0)
    np.testing.assert_allclose(got_f, want_f, rtol=1e-9)
    freqs, psd = welch_psd(got_rd, fs)
    lo, hi = POWER_BAND_HZ
    assert kernels.power_frequency(freqs, psd, lo, hi, 0.5, MIN_BAND_POWER_MM2) == pytest.approx(
        f50, rel=1e-9
    )
    assert kernels.power_frequency(freqs, psd, lo, hi, 0.95, MIN_BAND_POWER_MM2) == pytest.approx(
        f95, rel=1e-9
    )
