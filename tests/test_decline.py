"""Decline rules across visits: properties (order of history, noise, declines, redelivery,
improvement) with hypothesis, and worked examples with known baseline/current/change."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.decline import (
    DECLINE_RULES,
    DeclineEvent,
    MetricRule,
    Observation,
    UnknownMetric,
    detect_decline,
    rules_markdown,
    theil_sen,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
INTERFACE_METRICS = {
    "gait_speed_mps",
    "grip_max_kg",
    "chair_stand_5x_s",
    "tug_time_s",
    "sppb_total",
    "kfrail_score",
    "frailty_level",
    "awgs_level",
    "sway_ellipse95_area_mm2",
    # rows the case detector (processing/cases) judges too; the gateway feeds detect_decline neither
    "sway_mean_velocity_mm_s",
    "fried_count",
}
CONTINUOUS = sorted(m for m, r in DECLINE_RULES.items() if r.kind == "continuous")
ABSOLUTE = sorted(m for m in CONTINUOUS if not DECLINE_RULES[m].relative)
TRENDED = sorted(m for m, r in DECLINE_RULES.items() if r.trend_per_year is not None)
TYPICAL = {
    "gait_speed_mps": 1.0,
    "grip_max_kg": 25.0,
    "chair_stand_5x_s": 12.0,
    "tug_time_s": 11.0,
    "sppb_total": 9.0,
    "kfrail_score": 2.0,
    "sway_ellipse95_area_mm2": 300.0,
    "sway_mean_velocity_mm_s": 12.0,
    "fried_count": 2.0,
}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def obs(days: float, value: float, station: str = "st-01") -> Observation:
    return Observation(at=T0 + days * DAY, station_id=station, value=value)


def series(values: Sequence[float], every_days: float = 180.0) -> list[Observation]:
    return [obs(i * every_days, v, f"st-{i % 3:02d}") for i, v in enumerate(values)]


def rules_of(events: list[DeclineEvent]) -> list[str]:
    return [e.rule for e in events]


def worse_sign(metric: str) -> float:
    return -1.0 if DECLINE_RULES[metric].worse == "lower" else 1.0


# --- the table ----------------------------------------------------------------------------------


def test_table_covers_the_interface_metrics_each_with_a_citation() -> None:
    assert set(DECLINE_RULES) == INTERFACE_METRICS
    for name, rule in DECLINE_RULES.items():
        assert rule.metric == name
        assert len(rule.citation) > 40
    assert DECLINE_RULES["gait_speed_mps"].meaningful_change == 0.05
    assert DECLINE_RULES["gait_speed_mps"].substantial_change == 0.10
    assert DECLINE_RULES["sppb_total"].meaningful_change == 0.5
    assert DECLINE_RULES["sppb_total"].substantial_change == 1.0
    assert DECLINE_RULES["grip_max_kg"].meaningful_change == 5.0
    assert "Perera" in DECLINE_RULES["gait_speed_mps"].citation
    assert "Bohannon" in DECLINE_RULES["grip_max_kg"].citation
    assert "FrailWatch choice" in DECLINE_RULES["sway_ellipse95_area_mm2"].citation


def test_docs_show_the_table_generated_from_the_rules() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "scoring.md").read_text(encoding="utf-8")
    assert rules_markdown() in doc, "docs/scoring.md is stale: paste processing.decline.rules_markdown()"


def test_inconsistent_rule_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="substantial_change"):
        MetricRule(
            metric="x",
            worse="lower",
            meaningful_change=1.0,
            substantial_change=0.5,
            relative=False,
            trend_per_year=None,
            kind="continuous",
            citation="-",
        )


def test_unknown_metric_is_a_clear_error() -> None:
    with pytest.raises(UnknownMetric, match="cadence_spm"):
        detect_decline("cadence_spm", [obs(0, 1.0)], obs(10, 1.0))


def test_nan_value_is_refused() -> None:
    with pytest.raises(ValueError):
        Observation(at=T0, station_id="s", value=float("nan"))


# --- baseline_change ----------------------------------------------------------------------------


def test_no_history_no_event() -> None:
    assert detect_decline("gait_speed_mps", [], obs(0, 0.3)) == []


@pytest.mark.parametrize(
    ("new", "severity"),
    [(0.951, None), (0.95, "warning"), (0.91, "warning"), (0.90, "critical"), (0.60, "critical")],
)
def test_gait_speed_thresholds_from_baseline(new: float, severity: str | None) -> None:
    history = series([1.0, 0.99, 1.01])  # baseline 1.00
    events = [
        e for e in detect_decline("gait_speed_mps", history, obs(600, new)) if e.rule == "baseline_change"
    ]
    if severity is None:
        assert events == []
        return
    (event,) = events
    assert (event.baseline, event.current, event.severity) == (1.0, new, severity)
    assert event.change == pytest.approx(new - 1.0)
    assert event.metric == "gait_speed_mps"
    assert event.at == T0 + 600 * DAY
    assert event.station_id == "st-01"


def test_threshold_equality_survives_floating_point() -> None:
    # 0.90 - 0.95 is -0.04999999999999993 in binary floating point; it is still 0.05
    (event,) = detect_decline("gait_speed_mps", [obs(0, 0.95)], obs(100, 0.90))
    assert event.severity == "warning"


@pytest.mark.parametrize(("new", "severity"), [(13.6, None), (13.7, "warning"), (14.3, "critical")])
def test_higher_is_worse_for_timed_tests(new: float, severity: str | None) -> None:
    events = detect_decline("chair_stand_5x_s", series([12.0, 11.8, 12.2]), obs(600, new))
    assert [e.severity for e in events] == ([] if severity is None else [severity])


@pytest.mark.parametrize(
    ("new", "severity"), [(149.0, None), (150.0, "warning"), (199.0, "warning"), (200.0, "critical")]
)
def test_sway_area_is_judged_relative_to_baseline(new: float, severity: str | None) -> None:
    events = detect_decline("sway_ellipse95_area_mm2", series([90.0, 100.0, 110.0]), obs(600, new))
    assert [e.severity for e in events] == ([] if severity is None else [severity])
    if events:
        assert events[0].change == pytest.approx(new - 100.0)  # change in mm², the detail gives the %


def test_baseline_is_the_median_of_all_earlier_visits_any_station() -> None:
    history = [obs(0, 30.0, "a"), obs(100, 31.0, "b"), obs(200, 29.0, "c"), obs(300, 20.0, "d")]
    (event,) = detect_decline("grip_max_kg", history, obs(400, 24.0, "e"))
    assert event.baseline == pytest.approx(29.5)  # median of 30, 31, 29, 20
    assert event.change == pytest.approx(-5.5)
    assert event.station_id == "e"


def test_observations_after_the_new_one_are_not_its_baseline() -> None:
    # a visit delivered late is judged against what came before it, not against later visits
    history = [obs(0, 1.0), obs(300, 0.6)]
    assert detect_decline("gait_speed_mps", history, obs(100, 0.98)) == []


# --- sppb_drop ------------------------------------------------------------------------------------


def test_sppb_drop_against_the_previous_visit() -> None:
    events = detect_decline("sppb_total", series([10, 10, 10]), obs(600, 9))
    assert rules_of(events) == ["baseline_change", "sppb_drop"]
    drop = events[1]
    assert (drop.baseline, drop.current, drop.change, drop.severity) == (10.0, 9.0, -1.0, "critical")


def test_sppb_drop_uses_time_order_not_list_order() -> None:
    history = [obs(300, 8), obs(0, 12), obs(100, 11)]  # previous visit (day 300) scored 8
    events = detect_decline("sppb_total", history, obs(400, 9))
    assert "sppb_drop" not in rules_of(events)
    (change,) = events
    assert (change.rule, change.baseline) == ("baseline_change", 11.0)


def test_sppb_half_point_is_a_small_change_from_a_half_point_baseline() -> None:
    # median of 9 and 10 is 9.5; a 9 is 0.5 below it (Perera: small), and not a drop from the previous 9
    events = detect_decline("sppb_total", [obs(0, 10), obs(100, 9)], obs(200, 9))
    assert [(e.rule, e.severity) for e in events] == [("baseline_change", "warning")]


# --- category_worsening ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "levels", "new", "severity"),
    [
        ("frailty_level", [0, 0, 0], 1, "warning"),
        ("frailty_level", [0, 1, 1], 2, "critical"),  # reached frail
        ("frailty_level", [1, 1, 2], 2, None),  # still frail: not a new worsening
        ("frailty_level", [2, 2, 2], 1, None),  # improvement
        ("awgs_level", [0, 0], 1, "warning"),
        ("awgs_level", [1, 1], 2, "warning"),
        ("awgs_level", [0, 0], 2, "critical"),  # two levels at once
        ("awgs_level", [2, 2], 3, "critical"),  # severe sarcopenia
        ("awgs_level", [3], 0, None),
    ],
)
def test_ordinal_worsening_vs_previous_visit(
    metric: str, levels: list[int], new: int, severity: str | None
) -> None:
    events = detect_decline(metric, series(levels), obs(1000, new))
    if severity is None:
        assert events == []
        return
    (event,) = events
    assert (event.rule, event.severity, event.baseline, event.current) == (
        "category_worsening",
        severity,
        float(levels[-1]),
        float(new),
    )
    assert event.change == new - levels[-1]
    names = DECLINE_RULES[metric].levels
    assert names[levels[-1]] in event.detail and names[new] in event.detail


# --- trend ----------------------------------------------------------------------------------------


def test_declining_series_gives_baseline_and_trend_events() -> None:
    history = series([1.00, 0.95, 0.90, 0.85], every_days=182.625)  # half-yearly, -0.10 m/s a year
    new = obs(4 * 182.625, 0.80, "st-09")
    events = detect_decline("gait_speed_mps", history, new)
    assert rules_of(events) == ["baseline_change", "trend"]
    change, trend = events
    assert change.baseline == pytest.approx(0.925)
    assert change.change == pytest.approx(-0.125)
    assert change.severity == "critical"
    assert trend.baseline == pytest.approx(0.925)
    assert trend.current == 0.80
    assert trend.change == pytest.approx(-0.20)  # fitted: -0.10 m/s/year over 2 years
    assert trend.severity == "warning"
    assert "-0.1 m/s/year" in trend.detail


def test_trend_needs_five_visits() -> None:
    history = series([1.00, 0.95, 0.90], every_days=182.625)
    events = detect_decline("gait_speed_mps", history, obs(3 * 182.625, 0.85))
    assert rules_of(events) == ["baseline_change"]


def test_slow_steady_decline_below_the_trend_threshold_is_no_trend() -> None:
    values = [1.0 - 0.03 * i for i in range(6)]  # -0.03 m/s a year < 0.05
    events = detect_decline("gait_speed_mps", series(values[:-1], 365.25), obs(5 * 365.25, values[-1]))
    assert "trend" not in rules_of(events)


def test_early_dip_then_plateau_is_not_an_ongoing_trend() -> None:
    # four visits falling within three months, then two years flat: the Theil–Sen slope is still
    # negative, but the new value is within noise of the baseline (0.98), so no trend event
    history = [obs(0, 1.10), obs(30, 1.05), obs(60, 1.00), obs(90, 0.95), obs(500, 0.96), obs(700, 0.95)]
    assert detect_decline("gait_speed_mps", history, obs(800, 0.97)) == []
    # the same history with a new value clearly below the baseline is an ongoing decline
    assert "trend" in rules_of(detect_decline("gait_speed_mps", history, obs(800, 0.92)))


def test_bunched_visits_do_not_make_a_yearly_trend_out_of_noise() -> None:
    # five visits in two weeks, 0.03 m/s apart: a per-year slope of about -0.8, but the fitted change
    # over the span is tiny and the last value is within noise of the baseline
    history = [obs(i * 3, 1.0 - 0.006 * i) for i in range(5)]
    assert detect_decline("gait_speed_mps", history, obs(15, 0.97)) == []


# --- properties -------------------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn, metric: str) -> tuple[list[Observation], Observation]:
    n = draw(st.integers(0, 9))
    gaps = draw(st.lists(st.floats(0.01, 400.0), min_size=n + 1, max_size=n + 1))
    scale = TYPICAL.get(metric, 1.0)
    values = draw(st.lists(st.floats(0.0, 3 * scale), min_size=n + 1, max_size=n + 1))
    if DECLINE_RULES[metric].kind == "ordinal":
        top = len(DECLINE_RULES[metric].levels) - 1
        values = [float(min(top, round(v))) for v in values]
    stations = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n + 1, max_size=n + 1))
    days = [sum(gaps[: i + 1]) for i in range(n + 1)]
    points = [obs(d, v, s) for d, v, s in zip(days, values, stations, strict=True)]
    return points[:-1], points[-1]


@SETTINGS
@given(data=st.data(), metric=st.sampled_from(sorted(DECLINE_RULES)), seed=st.integers(0, 2**32 - 1))
def test_history_order_does_not_change_events(data: st.DataObject, metric: str, seed: int) -> None:
    history, new = data.draw(histories(metric))
    shuffled = list(history)
    random.Random(seed).shuffle(shuffled)
    assert detect_decline(metric, shuffled, new) == detect_decline(metric, history, new)


@SETTINGS
@given(data=st.data(), metric=st.sampled_from(sorted(DECLINE_RULES)), echo=st.floats(0.0, 100.0))
def test_redelivered_observation_is_ignored(data: st.DataObject, metric: str, echo: float) -> None:
    history, new = data.draw(histories(metric))
    expected = detect_decline(metric, history, new)
    same_instant = new.at.astimezone(timezone(timedelta(hours=9)))  # same instant, Korean local time
    again = [new, Observation(at=same_instant, station_id="other", value=echo), *history]
    assert detect_decline(metric, again, new) == expected
    assert detect_decline(metric, [*history, *history], new) == expected  # exact duplicates count once


@SETTINGS
@given(
    metric=st.sampled_from(CONTINUOUS),
    level=st.floats(0.5, 2.0),
    noise=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=12),
    gaps=st.lists(st.floats(0.04, 730.0), min_size=12, max_size=12),
)
def test_stable_participant_with_noise_below_thresholds_raises_nothing(
    metric: str, level: float, noise: list[float], gaps: list[float]
) -> None:
    rule = DECLINE_RULES[metric]
    centre = TYPICAL[metric] * level
    # noise within a quarter of the small meaningful change each side: any two visits differ by < half
    amplitude = (0.1 * centre) if rule.relative else rule.meaningful_change / 4 * 0.999
    days = [sum(gaps[: i + 1]) for i in range(len(noise))]
    points = [obs(d, centre + amplitude * e) for d, e in zip(days, noise, strict=False)]
    assert detect_decline(metric, points[:-1], points[-1]) == []


@SETTINGS
@given(
    metric=st.sampled_from(TRENDED),
    n=st.integers(5, 9),
    rate=st.floats(3.0, 6.0),
    every_days=st.floats(120.0, 365.0),
    noise=st.lists(st.floats(-1.0, 1.0), min_size=9, max_size=9),
)
def test_declining_series_raises_baseline_change_and_trend(
    metric: str, n: int, rate: float, every_days: float, noise: list[float]
) -> None:
    rule = DECLINE_RULES[metric]
    assert rule.trend_per_year is not None
    per_year = rate * rule.trend_per_year  # 3-6 times the trend threshold
    step = per_year * every_days / 365.25
    amplitude = step / 6  # small enough that consecutive visits always move the worse way
    start = TYPICAL[metric] + 10 * rule.meaningful_change
    values = [start + worse_sign(metric) * step * i + amplitude * noise[i] for i in range(n)]
    points = [obs(i * every_days, v) for i, v in enumerate(values)]
    events = detect_decline(metric, points[:-1], points[-1])
    assert {"baseline_change", "trend"} <= set(rules_of(events))
    change = next(e for e in events if e.rule == "baseline_change")
    baseline = statistics.median(values[:-1])
    assert change.baseline == pytest.approx(baseline)
    assert change.current == values[-1]
    assert change.change == pytest.approx(values[-1] - baseline)
    trend = next(e for e in events if e.rule == "trend")
    assert worse_sign(metric) * (trend.change or 0.0) >= rule.meaningful_change


@SETTINGS
@given(
    metric=st.sampled_from(CONTINUOUS),
    n=st.integers(2, 9),
    per_step=st.floats(0.0, 3.0),
    every_days=st.floats(1.0, 365.0),
)
def test_improvement_raises_nothing(metric: str, n: int, per_step: float, every_days: float) -> None:
    rule = DECLINE_RULES[metric]
    start = TYPICAL[metric] + 10 * rule.meaningful_change
    values = [start - worse_sign(metric) * per_step * rule.meaningful_change * i for i in range(n)]
    points = [obs(i * every_days, v) for i, v in enumerate(values)]
    assert detect_decline(metric, points[:-1], points[-1]) == []


@SETTINGS
@given(
    metric=st.sampled_from(["frailty_level", "awgs_level"]),
    levels=st.lists(st.integers(0, 3), min_size=1, max_size=8),
    new_level=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_ordinal_event_iff_worse_than_the_previous_visit(
    metric: str, levels: list[int], new_level: int, seed: int
) -> None:
    top = len(DECLINE_RULES[metric].levels) - 1
    levels = [min(level, top) for level in levels]
    new_level = min(new_level, top)
    history = series(levels, every_days=90)
    random.Random(seed).shuffle(history)
    events = detect_decline(metric, history, obs(90 * len(levels), new_level))
    assert rules_of(events) == (["category_worsening"] if new_level > levels[-1] else [])
    for event in events:
        assert (event.baseline, event.current) == (levels[-1], new_level)
        assert event.severity == (
            "critical" if new_level == top or new_level - levels[-1] >= 2 else "warning"
        )


@SETTINGS
@given(
    x=st.lists(st.integers(0, 12).map(float), min_size=2, max_size=14),
    y=st.lists(st.integers(-5, 5).map(lambda v: v / 4), min_size=14, max_size=14),
    confidence=st.sampled_from([0.8, 0.9, 0.95]),
)
def test_theil_sen_matches_scipy(x: list[float], y: list[float], confidence: float) -> None:
    # small integer grids so ties in x and in y (Sen's correction) are common
    import warnings

    from scipy.stats import theilslopes

    y = y[: len(x)]
    ours = theil_sen(x, y, confidence)
    if len(set(x)) < 2:
        assert ours is None
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's sqrt of a negative variance
        fit = theilslopes(y, x, alpha=confidence)
    assert ours is not None
    expected = (fit.slope, fit.low_slope, fit.high_slope)
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=True)
