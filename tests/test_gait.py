"""Gait on synthetic walks with known truth: accuracy, orientation, turns, frail walking, errors,
and the batch entry point. The truth is the realised walk (contact times and step lengths after
random variability), not the nominal parameters."""

from __future__ import annotations

import numpy as np
import pytest

from processing.errors import SignalError
from processing.gait import GaitInput, GaitResult, analyze_gait, analyze_gait_batch
from processing.synthetic.gait import GRAVITY, SyntheticWalk, WalkTruth, simulate_walk

FS = 100.0


def _analyse(walk: SyntheticWalk, truth: WalkTruth, gyro: bool = True) -> GaitResult:
    return analyze_gait(
        walk.acc, walk.fs_hz, gyr=walk.gyr if gyro else None, sensor_height_m=truth.sensor_height_m
    )


WALKS = {
    "usual": WalkTruth(),
    "slow frail": WalkTruth(cadence_spm=78, step_length_m=0.35, n_steps=24, stride_time_cv_pct=6.0),
    "very slow shuffle": WalkTruth(cadence_spm=60, step_length_m=0.25, n_steps=16, stride_time_cv_pct=4.0),
    "brisk": WalkTruth(cadence_spm=125, step_length_m=0.78, n_steps=40),
    "asymmetric": WalkTruth(step_asymmetry_pct=20.0, n_steps=30),
    "4 m out and back": WalkTruth(n_steps=26, turn_every_m=4.0),
    "frail 4 m out and back": WalkTruth(
        cadence_spm=80, step_length_m=0.4, n_steps=30, turn_every_m=4.0, stride_time_cv_pct=5.0
    ),
    "short indoor bout": WalkTruth(n_steps=7, standing_s=1.5),
    "tilted upside down": WalkTruth(sensor_orientation_deg=(180.0, 25.0, 70.0)),
    "noisy": WalkTruth(noise_mps2=0.3, gyro_noise_dps=3.0, n_steps=30),
    "long standing around a walk": WalkTruth(n_steps=14, standing_s=20.0),
}


@pytest.mark.parametrize("name", list(WALKS))
@pytest.mark.parametrize("fs", [50.0, 100.0, 200.0])
def test_gait_matches_the_known_truth(name: str, fs: float) -> None:
    truth = WALKS[name]
    walk = simulate_walk(truth, fs, seed=3)
    result = _analyse(walk, truth)
    # At 60 steps/min and 50 Hz the first step out of standing of the very slow shuffle tilts the
    # 0.3 Hz gravity estimate enough to hide its contact (measured; docs/gait.md): ±2 there.
    slack = 2 if walk.walking_speed_mps < 0.3 and fs <= 50.0 else 1
    assert abs(result.n_steps - truth.n_steps) <= slack
    assert result.cadence_spm == pytest.approx(walk.cadence_spm, rel=0.03)
    # Below ~0.3 m/s the trunk rises ~5 mm per step and the heel-strike transient's own
    # displacement is a sizeable share of it (measured: +16 % step length; docs/gait.md).
    tolerance = 0.20 if walk.walking_speed_mps < 0.3 else 0.08
    assert result.step_length_m == pytest.approx(walk.step_length_m, rel=tolerance)
    assert result.walking_speed_mps == pytest.approx(walk.walking_speed_mps, rel=tolerance)
    assert result.stride_length_m == pytest.approx(walk.stride_length_m, rel=tolerance)
    assert result.duration_s == pytest.approx(walk.duration_s, abs=2.5 * truth.step_time_s)
    assert result.n_bouts == 1
    if result.n_strides >= 6:
        assert result.stride_time_cv_pct is not None
        assert result.stride_time_cv_pct == pytest.approx(walk.stride_time_cv_pct, abs=1.5)
    assert result.n_turns == walk.n_turns


def test_contacts_are_found_where_the_feet_land() -> None:
    truth = WalkTruth(n_steps=30, stride_time_cv_pct=4.0, turn_every_m=5.0)
    walk = simulate_walk(truth, FS, seed=11)
    found = np.array(_analyse(walk, truth).initial_contacts_s)
    nearest = np.abs(found[:, None] - walk.initial_contacts_s[None, :]).min(axis=1)
    # One peak per step, at double support: within 60 ms of the true contact.
    assert np.all(nearest < 0.06)
    assert (
        np.unique(np.abs(found[:, None] - walk.initial_contacts_s[None, :]).argmin(axis=1)).size == found.size
    )


@pytest.mark.parametrize(
    "orientation",
    [(0.0, 0.0, 0.0), (90.0, 0.0, 0.0), (0.0, -90.0, 0.0), (30.0, 40.0, 200.0), (180.0, 0.0, 90.0)],
)
def test_any_sensor_orientation_gives_the_same_gait(orientation: tuple[float, float, float]) -> None:
    base = WalkTruth(n_steps=24, turn_every_m=4.0)
    upright = _analyse(simulate_walk(base, FS, seed=5), base)
    turned = base.model_copy(update={"sensor_orientation_deg": orientation})
    result = _analyse(simulate_walk(turned, FS, seed=5), turned)
    assert result.n_steps == upright.n_steps
    assert result.cadence_spm == pytest.approx(upright.cadence_spm, rel=1e-3)
    # Trunk pitch/roll leak gravity differently into the estimated vertical per orientation.
    assert result.step_length_m == pytest.approx(upright.step_length_m, rel=0.03)
    assert result.n_turns == upright.n_turns == 2


def test_asymmetry_and_variability_show_in_symmetry_regularity_and_cv() -> None:
    even = WalkTruth(n_steps=40, stride_time_cv_pct=1.0)
    limping = even.model_copy(update={"step_asymmetry_pct": 25.0})
    erratic = even.model_copy(update={"stride_time_cv_pct": 8.0})
    r_even, r_limp, r_err = (_analyse(simulate_walk(t, FS, seed=2), t) for t in (even, limping, erratic))
    assert r_even.step_symmetry is not None and r_limp.step_symmetry is not None
    assert r_limp.step_symmetry < r_even.step_symmetry - 0.1
    assert r_limp.step_regularity is not None and r_even.step_regularity is not None
    assert r_limp.step_regularity < r_even.step_regularity
    assert r_err.stride_time_cv_pct is not None and r_even.stride_time_cv_pct is not None
    assert r_err.stride_time_cv_pct > 4 * r_even.stride_time_cv_pct
    assert r_err.stride_regularity is not None and r_even.stride_regularity is not None
    assert r_err.stride_regularity < r_even.stride_regularity


def test_turning_steps_are_flagged_and_left_out_of_variability() -> None:
    truth = WalkTruth(n_steps=40, turn_every_m=4.0, stride_time_cv_pct=2.0)
    walk = simulate_walk(truth, FS, seed=4)
    with_gyro = _analyse(walk, truth)
    without = _analyse(walk, truth, gyro=False)
    assert with_gyro.n_turns == walk.n_turns == 3
    assert abs(with_gyro.turning_steps - int(walk.turning.sum())) <= 2
    assert without.n_turns is None and without.turning_steps == 0
    # Same steps either way; the gyroscope only changes which strides count for variability.
    assert without.initial_contacts_s == with_gyro.initial_contacts_s


def test_step_length_uses_sensor_height_then_body_height_then_a_flagged_default() -> None:
    truth = WalkTruth(n_steps=20)
    acc, gyr = simulate_walk(truth, FS).acc, simulate_walk(truth, FS).gyr
    by_sensor = analyze_gait(acc, FS, gyr=gyr, sensor_height_m=0.95)
    by_body = analyze_gait(acc, FS, gyr=gyr, height_m=1.90)
    default = analyze_gait(acc, FS, gyr=gyr)
    assert by_sensor.pendulum_source == "sensor_height" and by_sensor.pendulum_length_m == 0.95
    assert by_body.pendulum_source == "body_height"
    assert by_body.pendulum_length_m == pytest.approx(0.53 * 1.90)
    assert default.pendulum_source == "default_height"
    # Same excursion, longer pendulum: longer steps (L ∝ sqrt(2lh − h²)).
    assert by_body.step_length_m > default.step_length_m
    assert by_sensor.cadence_spm == by_body.cadence_spm == default.cadence_spm
    with pytest.raises(SignalError) as error:
        analyze_gait(acc, FS, sensor_height_m=95.0)
    assert error.value.reason == "bad_height"


def _standing(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    sway = 0.05 * np.sin(2 * np.pi * 0.3 * np.arange(n) / FS)
    return np.column_stack([sway, np.zeros(n), np.full(n, GRAVITY)]) + rng.normal(0, 0.05, (n, 3))


@pytest.mark.parametrize(
    ("acc", "reason"),
    [
        (_standing(30.0), "no_walking"),
        (_standing(1.0), "too_short"),
        (np.column_stack([np.zeros(500), np.zeros(500), np.full(500, 1.0)]), "bad_units"),
        (np.zeros((500, 2)), "bad_shape"),
        (np.where(np.arange(3000)[:, None] == 100, np.nan, _standing(30.0)), "not_finite"),
    ],
    ids=["standing still", "one second", "in g not m/s2", "two axes", "a NaN"],
)
def test_unusable_recordings_raise_a_specific_error(acc: np.ndarray, reason: str) -> None:
    with pytest.raises(SignalError) as error:
        analyze_gait(acc, FS)
    assert error.value.reason == reason
    assert error.value.detail


def test_shaking_without_walking_rhythm_is_not_walking() -> None:
    rng = np.random.default_rng(9)
    acc = _standing(20.0) + rng.normal(0.0, 1.5, (2000, 3))  # rough handling, no step rhythm
    with pytest.raises(SignalError) as error:
        analyze_gait(acc, FS)
    assert error.value.reason == "no_walking"


def test_a_gyroscope_of_the_wrong_length_is_refused() -> None:
    walk = simulate_walk(WalkTruth(), FS)
    with pytest.raises(SignalError) as error:
        analyze_gait(walk.acc, FS, gyr=walk.gyr[:-5])
    assert error.value.reason == "bad_shape"


def test_batch_keeps_order_puts_errors_in_place_and_matches_single_calls() -> None:
    truths = [WalkTruth(cadence_spm=c, n_steps=16) for c in (80.0, 100.0, 120.0)]
    walks = [simulate_walk(t, FS, seed=i) for i, t in enumerate(truths)]
    inputs = [GaitInput(acc=w.acc, fs_hz=FS, gyr=w.gyr, sensor_height_m=0.95) for w in walks]
    inputs.insert(1, GaitInput(acc=_standing(10.0), fs_hz=FS))
    inputs.append(GaitInput(acc=walks[0].acc[:50], fs_hz=FS))
    results = analyze_gait_batch(inputs * 4, max_workers=4)
    assert len(results) == 20
    for i, item in enumerate(inputs * 4):
        got = results[i]
        if i % 5 in (1, 4):
            assert isinstance(got, SignalError)
            assert got.reason == ("no_walking" if i % 5 == 1 else "too_short")
        else:
            assert isinstance(got, GaitResult)
            assert got == analyze_gait(item.acc, FS, gyr=item.gyr, sensor_height_m=0.95)
    cadences = [r.cadence_spm for r in results[:5] if isinstance(r, GaitResult)]
    assert cadences == sorted(cadences)


def test_batch_keeps_input_order_and_isolates_a_crashing_analysis() -> None:
    """processing.parallel.analyze_many: a SignalError or even a bug in one item leaves the others."""
    from processing.errors import SignalError
    from processing.parallel import analyze_many

    def analyse(x: int) -> int:
        if x == 2:
            raise SignalError("too_short", "two is too short")
        if x == 3:
            raise ZeroDivisionError("a bug")
        return x * 10

    out = analyze_many(analyse, [1, 2, 3, 4, 5], "test", max_workers=2)
    assert out[0] == 10 and out[3] == 40 and out[4] == 50
    assert isinstance(out[1], SignalError) and out[1].reason == "too_short"
    assert isinstance(out[2], SignalError) and out[2].reason == "analysis_failed"
    assert analyze_many(analyse, [1, 2], "test", max_workers=1)[0] == 10
