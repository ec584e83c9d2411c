"""analyze_balance: hand-computed values on small traces (a square, a circle, a sinusoid), known
truth recovered from synthetic sway, refusals with specific reasons, the batch, Romberg ratios."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from processing.balance import BalanceInput, analyze_balance, analyze_balance_batch, romberg_ratio
from processing.balance.analysis import BalanceResult
from processing.errors import SignalError
from processing.synthetic.balance import SwayTruth, f_upper_quantile_2, simulate_sway, synthesize_sway

FS = 100.0


def _square(side_mm: float = 10.0, speed_mm_s: float = 20.0, laps: int = 5) -> np.ndarray:
    """CoP walking round a square at constant speed; every corner falls on a sample."""
    per_side = round(side_mm / speed_mm_s * FS)  # 50 samples per side
    step = side_mm / per_side
    k = np.arange(per_side) * step
    lap = np.concatenate(
        [
            np.column_stack([k, np.zeros(per_side)]),  # bottom, left to right
            np.column_stack([np.full(per_side, side_mm), k]),  # right, upwards
            np.column_stack([side_mm - k, np.full(per_side, side_mm)]),  # top, right to left
            np.column_stack([np.zeros(per_side), side_mm - k]),  # left, downwards
        ]
    )
    return np.tile(lap, (laps, 1)) + np.array([100.0, -40.0])  # anywhere on the plate


def test_square_path_by_hand() -> None:
    cop = _square()
    r = analyze_balance(cop, FS, lowpass_hz=None)
    n = cop.shape[0]  # 1000 samples, 999 steps of 0.2 mm
    assert n == 1000
    assert r.duration_s == pytest.approx(9.99)
    assert r.path_length_mm == pytest.approx(999 * 0.2, rel=1e-12)
    assert r.mean_velocity_mm_s == pytest.approx(20.0, rel=1e-12)  # constant speed
    assert r.path_length_ap_mm + r.path_length_ml_mm == pytest.approx(r.path_length_mm, rel=1e-12)
    # Full laps: the mean is the centre. Variance per axis: two sides at ±5 mm (25 mm²) and two
    # sides sampled at −5, −4.8, …, 4.8 mm: 0.04·(Σ_{j=1..25} j² + Σ_{j=1..24} j²)/50 = 8.34 mm².
    var = (25.0 + 25.0 + 8.34 + 8.34) / 4.0
    assert r.rms_ap_mm == pytest.approx(math.sqrt(var), rel=1e-12)
    assert r.rms_ml_mm == pytest.approx(math.sqrt(var), rel=1e-12)
    assert r.rms_mm == pytest.approx(math.sqrt(2 * var), rel=1e-12)
    assert r.covariance_ap_ml_mm2 == pytest.approx(0.0, abs=1e-12)
    f = f_upper_quantile_2(0.05, n - 2)
    assert f == pytest.approx(3.0047, abs=1e-4)  # F(0.05; 2, 998); → 2.996 (χ²₂ / 2) as n → ∞
    assert r.ellipse95_area_mm2 == pytest.approx(2 * math.pi * f * var, rel=1e-12)
    # Two sides at exactly 5 mm and two averaging |−5..4.8| = 0.2·(325 + 300)/50 = 2.5 mm.
    assert r.mean_distance_ap_mm == pytest.approx((5 + 5 + 2.5 + 2.5) / 4, rel=1e-12)


def test_circle_by_hand() -> None:
    radius, freq, n = 10.0, 0.5, 2000  # 10 whole turns
    phase = 2 * np.pi * freq * np.arange(n) / FS
    cop = np.column_stack([radius * np.cos(phase), radius * np.sin(phase)])
    r = analyze_balance(cop, FS, lowpass_hz=None, condition="eyes_open")
    chord = 2 * radius * math.sin(math.pi * freq / FS)
    assert r.path_length_mm == pytest.approx((n - 1) * chord, rel=1e-9)
    assert r.mean_velocity_mm_s == pytest.approx(chord * FS, rel=1e-9)  # → 2πRf = 31.4 mm/s
    assert r.mean_velocity_mm_s == pytest.approx(2 * math.pi * radius * freq, rel=1e-4)
    assert r.mean_distance_mm == pytest.approx(radius, rel=1e-9)
    assert r.rms_mm == pytest.approx(radius, rel=1e-9)
    assert r.rms_ap_mm == pytest.approx(radius / math.sqrt(2), rel=1e-9)
    assert r.rms_ml_mm == pytest.approx(radius / math.sqrt(2), rel=1e-9)
    # MFREQ: the revolutions per second of a circle of radius MDIST: exactly the turn rate.
    assert r.mean_freq_hz == pytest.approx(freq, rel=1e-4)
    assert r.ellipse95_area_mm2 == pytest.approx(
        math.pi * f_upper_quantile_2(0.05, n - 2) * radius**2, rel=1e-9
    )
    # The resultant distance never changes: it has no power spectrum to read frequencies from.
    assert r.f50_hz is None and r.f95_hz is None
    assert r.condition == "eyes_open"


def test_pure_sinusoid_by_hand() -> None:
    amp, freq, n = 5.0, 0.5, 2000  # AP only; the peaks fall on samples (200 samples per cycle)
    ap = amp * np.sin(2 * np.pi * freq * np.arange(n) / FS)
    cop = np.column_stack([np.zeros(n), ap])
    r = analyze_balance(cop, FS, lowpass_hz=None)
    assert r.rms_ap_mm == pytest.approx(amp / math.sqrt(2), rel=1e-9)
    assert r.rms_ml_mm == 0.0
    assert r.ellipse95_area_mm2 == 0.0  # a line has no area
    assert r.mean_velocity_ap_mm_s == pytest.approx(4 * amp * freq, rel=1e-3)  # 4A per cycle
    assert r.mean_velocity_mm_s == pytest.approx(r.mean_velocity_ap_mm_s, rel=1e-12)
    assert r.mean_distance_ap_mm == pytest.approx(2 * amp / math.pi, rel=1e-4)
    # Prieto's MFREQ = TOTEX/(2π·MDIST·T) gives f for a 1-D sinusoid; his MFREQ-AP (4√2 in the
    # denominator) gives π f/(2√2) ≈ 1.11 f; with no ML sway MFREQ-ML does not exist.
    assert r.mean_freq_hz == pytest.approx(freq, rel=1e-3)
    assert r.mean_freq_ap_hz == pytest.approx(math.pi * freq / (2 * math.sqrt(2)), rel=1e-3)
    assert r.mean_freq_ml_hz is None
    # The resultant distance |A sin| oscillates at 2f: the median power sits in that bin (0.05 Hz).
    assert r.f50_hz == pytest.approx(2 * freq, abs=0.05)
    assert r.f50_hz is not None and r.f95_hz is not None and r.f50_hz <= r.f95_hz <= 5.0


def test_lowpass_leaves_slow_sway_alone_and_removes_fast_noise() -> None:
    amp, freq, fs = 5.0, 0.5, 1000.0
    t = np.arange(int(20 * fs)) / fs
    clean = np.column_stack([np.zeros_like(t), amp * np.sin(2 * np.pi * freq * t)])
    noisy = clean + np.random.default_rng(0).normal(0.0, 0.1, clean.shape)
    filtered = analyze_balance(noisy, fs)  # default 5 Hz
    raw = analyze_balance(noisy, fs, lowpass_hz=None)
    assert filtered.lowpass_hz == 5.0 and raw.lowpass_hz is None
    assert filtered.rms_ap_mm == pytest.approx(amp / math.sqrt(2), rel=0.01)
    assert filtered.mean_velocity_ap_mm_s == pytest.approx(4 * amp * freq, rel=0.03)
    assert raw.mean_velocity_mm_s > 5 * filtered.mean_velocity_mm_s  # 0.1 mm noise at 1 kHz


@pytest.mark.parametrize(
    ("fs", "seed", "level", "eyes"),
    [(50.0, 1, "robust", "open"), (100.0, 2, "pre_frail", "closed"), (1000.0, 3, "frail", "open")],
)
def test_synthetic_truth_is_recovered(fs: float, seed: int, level: str, eyes: str) -> None:
    truth = SwayTruth.profile(level, eyes)  # type: ignore[arg-type]
    sway = simulate_sway(truth, fs, seed)
    r = analyze_balance(sway.cop_mm, fs)
    assert r.n_samples == sway.n_samples
    assert r.rms_ap_mm == pytest.approx(truth.rms_ap_mm, rel=0.01)
    assert r.rms_ml_mm == pytest.approx(truth.rms_ml_mm, rel=0.01)
    assert r.rms_mm == pytest.approx(truth.rms_mm, rel=0.01)
    assert r.ellipse95_area_mm2 == pytest.approx(sway.ellipse95_area_mm2, rel=0.02)
    assert r.mean_velocity_mm_s == pytest.approx(sway.mean_velocity_mm_s, rel=0.02)
    assert r.mean_velocity_ap_mm_s == pytest.approx(sway.mean_velocity_ap_mm_s, rel=0.02)
    assert r.mean_velocity_ml_mm_s == pytest.approx(sway.mean_velocity_ml_mm_s, rel=0.02)
    assert r.f50_hz is not None and r.f95_hz is not None
    assert 0.15 <= r.f50_hz <= r.f95_hz <= 5.0


def test_measurement_noise_is_tolerated_with_the_default_filter() -> None:
    truth = SwayTruth(noise_mm=0.2)
    sway = simulate_sway(truth, 1000.0, seed=5)
    r = analyze_balance(sway.cop_mm, 1000.0)
    assert r.rms_mm == pytest.approx(truth.rms_mm, rel=0.02)
    assert r.mean_velocity_mm_s == pytest.approx(sway.mean_velocity_mm_s, rel=0.05)


def test_frequency_measures_follow_the_sway_frequency() -> None:
    slow = analyze_balance(
        synthesize_sway(SwayTruth(dominant_freq_hz=0.25, bandwidth_octaves=0.2), FS, 4), FS
    )
    fast = analyze_balance(
        synthesize_sway(SwayTruth(dominant_freq_hz=0.75, bandwidth_octaves=0.2), FS, 4), FS
    )
    assert fast.mean_freq_hz / slow.mean_freq_hz == pytest.approx(3.0, rel=0.15)
    assert fast.mean_velocity_mm_s / slow.mean_velocity_mm_s == pytest.approx(3.0, rel=0.15)
    assert slow.f50_hz is not None and fast.f50_hz is not None
    assert fast.f50_hz > 2.0 * slow.f50_hz


def test_frail_and_eyes_closed_sway_more_and_romberg_says_so() -> None:
    results: dict[tuple[str, str], BalanceResult] = {}
    for level in ("robust", "frail"):
        for eyes in ("open", "closed"):
            cop = synthesize_sway(SwayTruth.profile(level, eyes), FS, seed=11)
            results[level, eyes] = analyze_balance(cop, FS, condition=f"eyes_{eyes}")  # type: ignore[arg-type]
    assert results["frail", "open"].mean_velocity_mm_s > 1.5 * results["robust", "open"].mean_velocity_mm_s
    assert results["frail", "open"].ellipse95_area_mm2 > 3 * results["robust", "open"].ellipse95_area_mm2
    ratios = romberg_ratio(results["robust", "open"], results["robust", "closed"])
    assert ratios["rms_mm"] == pytest.approx(1.3, rel=0.02)  # the profile's eyes-closed factor
    assert ratios["ellipse95_area_mm2"] == pytest.approx(1.3**2, rel=0.04)
    assert ratios["mean_velocity_mm_s"] > 1.3
    assert set(ratios) >= {"path_length_mm", "mean_velocity_mm_s", "rms_mm", "f50_hz", "mean_freq_hz"}


def test_romberg_refuses_swapped_or_incomparable_stances() -> None:
    cop = synthesize_sway(SwayTruth(), FS, 1)
    open_ = analyze_balance(cop, FS, condition="eyes_open")
    closed = analyze_balance(cop, FS, condition="eyes_closed")
    assert romberg_ratio(open_, closed)["rms_mm"] == pytest.approx(1.0)
    with pytest.raises(SignalError) as swapped:
        romberg_ratio(closed, open_)
    assert swapped.value.reason == "bad_condition"
    with pytest.raises(SignalError, match="low-passed differently"):
        romberg_ratio(open_, analyze_balance(cop, FS, condition="eyes_closed", lowpass_hz=None))


GOOD = synthesize_sway(SwayTruth(duration_s=10.0), FS, 0)


@pytest.mark.parametrize(
    ("cop", "fs", "reason"),
    [
        (np.where(np.arange(1000)[:, None] == 500, np.nan, GOOD), FS, "not_finite"),
        (np.where(np.arange(1000)[:, None] == 3, np.inf, GOOD), FS, "not_finite"),
        (np.full((1000, 2), 12.5), FS, "no_sway"),
        (np.zeros((3000, 2)), FS, "no_sway"),
        (GOOD / 1000.0, FS, "no_sway"),  # metres, not mm
        (GOOD * 1000.0, FS, "bad_units"),  # micrometres
        (GOOD[:400], FS, "too_short"),  # 4 s
        (np.empty((0, 2)), FS, "too_short"),
        (GOOD, 0.0, "bad_sampling_rate"),
        (GOOD, float("nan"), "bad_sampling_rate"),
        (GOOD, 10.0, "bad_sampling_rate"),
        (GOOD, 1e6, "bad_sampling_rate"),
        (GOOD.T, FS, "bad_shape"),
        (GOOD[:, 0], FS, "bad_shape"),
        (np.column_stack([GOOD, GOOD[:, :1]]), FS, "bad_shape"),
        ([["a", "b"]] * 1000, FS, "bad_shape"),
    ],
)
def test_unusable_input_is_refused_with_a_specific_reason(cop: object, fs: float, reason: str) -> None:
    with pytest.raises(SignalError) as error:
        analyze_balance(cop, fs)  # type: ignore[arg-type]
    assert error.value.reason == reason
    assert error.value.detail


def test_bad_options_are_refused() -> None:
    with pytest.raises(SignalError) as error:
        analyze_balance(GOOD, FS, lowpass_hz=60.0)
    assert error.value.reason == "bad_lowpass"
    with pytest.raises(SignalError) as error:
        analyze_balance(GOOD, FS, condition="eyes_half")  # type: ignore[arg-type]
    assert error.value.reason == "bad_condition"


def test_batch_keeps_order_and_isolates_bad_traces() -> None:
    traces = [synthesize_sway(SwayTruth(duration_s=20.0), FS, seed) for seed in range(6)]
    items = [BalanceInput(cop_mm=cop, fs_hz=FS, condition="eyes_open") for cop in traces]
    items.insert(2, BalanceInput(cop_mm=np.zeros((2000, 2)), fs_hz=FS))
    items.insert(5, BalanceInput(cop_mm=traces[0][:100], fs_hz=FS))
    results = analyze_balance_batch(items, max_workers=4)
    assert [type(r).__name__ for r in results] == [
        "BalanceResult",
        "BalanceResult",
        "SignalError",
        "BalanceResult",
        "BalanceResult",
        "SignalError",
        "BalanceResult",
        "BalanceResult",
    ]
    assert isinstance(results[2], SignalError) and results[2].reason == "no_sway"
    assert isinstance(results[5], SignalError) and results[5].reason == "too_short"
    good = [r for r in results if isinstance(r, BalanceResult)]
    assert good == [analyze_balance(cop, FS, condition="eyes_open") for cop in traces]
    assert analyze_balance_batch([]) == []


def test_synthetic_module_and_cli_stay_light() -> None:
    """The edge simulators import the synthetic module and `frailwatch --help` the CLI: neither
    may pull in Numba (or SciPy)."""
    code = (
        "import sys, processing.synthetic.balance, processing.balance.cli; "
        "heavy = [m for m in ('numba', 'scipy') if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
