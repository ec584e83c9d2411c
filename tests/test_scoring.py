"""Frailty and sarcopenia scoring: every published cut-off at the boundary and just either side of
it (docs/scoring.md), partial-input rules, and whole visits through score_visit."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from processing.scoring import VisitInputs, score_awgs, score_fried, score_kfrail, score_visit
from processing.scoring.fried import slow_15ft_s, walk_15ft_s, weak_grip_kg
from processing.scoring.sppb import balance_points, chair_points, gait_points, score_sppb

EPS = 0.001  # well below any stopwatch resolution; the bands' gaps are 0.01 s

# --- SPPB (Guralnik 1994) -----------------------------------------------------------------------

GAIT_4M = [
    (0.5, 4),
    (4.82 - EPS, 4),
    (4.82, 3),
    (4.82 + EPS, 3),
    (6.20 - EPS, 3),
    (6.20, 3),
    (6.205, 2),  # inside the printed gap: above 6.20 is the next band
    (6.21, 2),
    (6.21 + EPS, 2),
    (8.70 - EPS, 2),
    (8.70, 2),
    (8.70 + EPS, 1),
    (45.0, 1),
]
GAIT_3M = [
    (3.62 - EPS, 4),
    (3.62, 3),
    (3.62 + EPS, 3),
    (4.65, 3),
    (4.655, 2),
    (4.66, 2),
    (6.52 - EPS, 2),
    (6.52, 2),
    (6.52 + EPS, 1),
]
CHAIR = [
    (5.0, 4),
    (11.19 - EPS, 4),
    (11.19, 4),
    (11.195, 3),
    (11.20, 3),
    (13.69, 3),
    (13.695, 2),
    (13.70, 2),
    (16.69, 2),
    (16.695, 1),
    (16.70, 1),
    (60.0 - EPS, 1),
    (60.0, 1),
    (60.0 + EPS, 0),
]


@pytest.mark.parametrize(("time_s", "points"), GAIT_4M)
def test_sppb_gait_4m_bands(time_s: float, points: int) -> None:
    assert gait_points(4.0, time_s).points == points


@pytest.mark.parametrize(("time_s", "points"), GAIT_3M)
def test_sppb_gait_3m_bands(time_s: float, points: int) -> None:
    assert gait_points(3.0, time_s).points == points


def test_sppb_gait_same_time_scores_differently_on_3m_and_4m() -> None:
    assert gait_points(4.0, 4.0).points == 4
    assert gait_points(3.0, 4.0).points == 3


@pytest.mark.parametrize(("time_s", "points"), CHAIR)
def test_sppb_chair_bands(time_s: float, points: int) -> None:
    assert chair_points(time_s).points == points


def test_sppb_unable_scores_zero_without_a_time() -> None:
    assert chair_points(None, unable=True).points == 0
    assert gait_points(None, None, unable=True).points == 0


@pytest.mark.parametrize(
    ("side", "semi", "tandem", "points"),
    [
        (10.0 - EPS, None, None, 0),  # failed the first stand: the test stops, nothing else needed
        (10.0 - EPS, 10.0, 10.0, 0),  # a later stand the protocol would not have reached is ignored
        (10.0, 10.0 - EPS, None, 1),
        (10.0, 10.0, 0.0, 2),
        (10.0, 10.0, 3.0 - EPS, 2),
        (10.0, 10.0, 3.0, 3),
        (10.0, 10.0, 10.0 - EPS, 3),
        (10.0, 10.0, 10.0, 4),
        (30.0, 30.0, 30.0, 4),  # held longer than required
    ],
)
def test_sppb_balance_hierarchy_and_tandem_bands(
    side: float, semi: float | None, tandem: float | None, points: int
) -> None:
    assert balance_points(side, semi, tandem).points == points


@pytest.mark.parametrize(
    ("side", "semi", "tandem", "missing"),
    [
        (None, None, None, ("side_by_side_s",)),
        (10.0, None, None, ("semi_tandem_s",)),
        (10.0, 10.0, None, ("tandem_s",)),
    ],
)
def test_sppb_balance_missing_stand_is_named(
    side: float | None, semi: float | None, tandem: float | None, missing: tuple[str, ...]
) -> None:
    part = balance_points(side, semi, tandem)
    assert part.points is None
    assert part.missing == missing


def test_sppb_total_and_walk_distance_kept() -> None:
    score, missing = score_sppb(
        side_by_side_s=10,
        semi_tandem_s=10,
        tandem_s=5,
        walk_distance_m=3.0,
        walk_time_s=4.0,
        chair_stand_5x_s=12.0,
    )
    assert missing == ()
    assert score is not None
    assert (score.balance, score.gait, score.chair, score.total) == (3, 3, 3, 9)
    assert score.walk_distance_m == 3.0


def test_sppb_needs_all_three_parts() -> None:
    score, missing = score_sppb(
        side_by_side_s=10,
        semi_tandem_s=10,
        tandem_s=10,
        walk_distance_m=4.0,
        walk_time_s=None,
        chair_stand_5x_s=None,
    )
    assert score is None
    assert missing == ("walk_time_s", "chair_stand_5x_s")


@pytest.mark.parametrize("distance", [2.5, 3.5, 6.0, 10.0])
def test_sppb_walk_without_published_bands_is_not_scored(distance: float) -> None:
    part = gait_points(distance, 4.0)
    assert part.points is None
    assert "3 m or 4 m" in part.missing[0]


def test_sppb_all_zero_when_unable_to_do_anything() -> None:
    score, _ = score_sppb(
        side_by_side_s=0,
        semi_tandem_s=None,
        tandem_s=None,
        walk_distance_m=None,
        walk_time_s=None,
        chair_stand_5x_s=None,
        walk_unable=True,
        chair_stand_unable=True,
    )
    assert score is not None
    assert score.total == 0
    assert score.walk_distance_m is None  # not invented


# --- AWGS 2019 (Chen et al. 2020) ---------------------------------------------------------------


def _awgs(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "sex": "male",
        "grip_max_kg": 40.0,
        "gait_speed_mps": 1.2,
        "chair_stand_5x_s": 9.0,
        "sppb_total": 12,
        "asmi_kg_m2": 8.0,
    }
    args.update(kw)
    result, _ = score_awgs(**args)
    return result


@pytest.mark.parametrize(
    ("sex", "grip", "low"),
    [
        ("male", 28.0 - EPS, True),
        ("male", 28.0, False),
        ("male", 28.0 + EPS, False),
        ("female", 18.0 - EPS, True),
        ("female", 18.0, False),
        ("female", 18.0 + EPS, False),
    ],
)
def test_awgs_grip_cutoffs(sex: str, grip: float, low: bool) -> None:
    assert _awgs(sex=sex, grip_max_kg=grip, asmi_kg_m2=9.0).low_muscle_strength is low


@pytest.mark.parametrize(
    ("field", "value", "low"),
    [
        ("gait_speed_mps", 1.0 - EPS, True),
        ("gait_speed_mps", 1.0, False),
        ("gait_speed_mps", 1.0 + EPS, False),
        ("chair_stand_5x_s", 12.0 - EPS, False),
        ("chair_stand_5x_s", 12.0, True),
        ("chair_stand_5x_s", 12.0 + EPS, True),
        ("sppb_total", 9, True),
        ("sppb_total", 10, False),
    ],
)
def test_awgs_performance_cutoffs(field: str, value: float, low: bool) -> None:
    assert _awgs(**{field: value}).low_physical_performance is low


@pytest.mark.parametrize(
    ("sex", "asmi", "low"),
    [
        ("male", 7.0 - EPS, True),
        ("male", 7.0, False),
        ("male", 7.0 + EPS, False),
        ("female", 5.7 - EPS, True),
        ("female", 5.7, False),
        ("female", 5.7 + EPS, False),
    ],
)
def test_awgs_muscle_mass_cutoffs(sex: str, asmi: float, low: bool) -> None:
    assert _awgs(sex=sex, asmi_kg_m2=asmi).low_muscle_mass is low


@pytest.mark.parametrize(
    ("kw", "status", "level"),
    [
        ({}, "none", 0),
        ({"grip_max_kg": 20.0}, "possible_sarcopenia", 1),  # low grip, normal mass (FrailWatch choice)
        ({"chair_stand_5x_s": 12.0}, "possible_sarcopenia", 1),
        ({"gait_speed_mps": 0.9}, "none", 0),  # slow gait alone is not the community criterion
        ({"asmi_kg_m2": 6.5}, "none", 0),  # low mass alone
        ({"asmi_kg_m2": 6.5, "gait_speed_mps": 0.9}, "sarcopenia", 2),
        ({"asmi_kg_m2": 6.5, "grip_max_kg": 20.0}, "sarcopenia", 2),
        ({"asmi_kg_m2": 6.5, "grip_max_kg": 20.0, "sppb_total": 9}, "severe_sarcopenia", 3),
        ({"asmi_kg_m2": 6.5, "grip_max_kg": 20.0, "chair_stand_5x_s": 15.0}, "severe_sarcopenia", 3),
    ],
)
def test_awgs_status(kw: dict[str, Any], status: str, level: int) -> None:
    result = _awgs(**kw)
    assert (result.status, result.level, result.complete) == (status, level, True)


def test_awgs_without_bia_stops_at_possible_and_says_so() -> None:
    result = _awgs(grip_max_kg=20.0, asmi_kg_m2=None)
    assert result.status == "possible_sarcopenia"
    assert result.low_muscle_mass is None
    assert not result.complete
    assert result.missing == ("asmi_kg_m2",)


def test_awgs_normal_strength_and_performance_need_no_bia() -> None:
    result = _awgs(asmi_kg_m2=None)
    assert (result.status, result.complete) == ("none", True)


def test_awgs_unknown_performance_is_listed() -> None:
    result = _awgs(gait_speed_mps=None, sppb_total=None, chair_stand_5x_s=None, asmi_kg_m2=6.5)
    # grip normal; performance unknown could still make it sarcopenia
    assert (result.status, result.complete) == ("none", False)
    assert result.missing == ("gait_speed_mps", "chair_stand_5x_s", "sppb")


def test_awgs_chair_unable_counts_as_slow() -> None:
    assert _awgs(chair_stand_5x_s=None, chair_stand_unable=True).status == "possible_sarcopenia"


def test_awgs_none_without_grip_or_chair() -> None:
    result, missing = score_awgs(
        sex="female",
        grip_max_kg=None,
        gait_speed_mps=0.5,
        chair_stand_5x_s=None,
        sppb_total=3,
        asmi_kg_m2=4.0,
    )
    assert result is None
    assert missing == ("grip_max_kg", "chair_stand_5x_s")


# --- K-FRAIL / FRAIL (Morley 2012; Jung 2016) ---------------------------------------------------


def _kfrail(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "fatigue": False,
        "resistance": False,
        "ambulation": False,
        "illness_count": 0,
        "weight_loss_pct_year": 0.0,
    }
    args.update(kw)
    return score_kfrail(**args)


@pytest.mark.parametrize(("count", "item"), [(4, False), (5, True), (6, True)])
def test_kfrail_illness_cutoff(count: int, item: bool) -> None:
    result, _ = _kfrail(illness_count=count)
    assert result.illness is item
    assert result.score == int(item)


@pytest.mark.parametrize(("pct", "item"), [(5.0 - EPS, False), (5.0, True), (5.0 + EPS, True), (-3.0, False)])
def test_kfrail_weight_loss_cutoff(pct: float, item: bool) -> None:
    result, _ = _kfrail(weight_loss_pct_year=pct)
    assert result.loss_of_weight is item


def test_kfrail_weight_loss_from_kilograms() -> None:
    # 5 kg lost, 95 kg today: 5 % of last year's 100 kg
    result, _ = _kfrail(weight_loss_pct_year=None, weight_loss_kg_year=5.0, weight_kg=95.0)
    assert result.loss_of_weight is True
    assert result.weight_loss_pct_year == pytest.approx(5.0)
    result, _ = _kfrail(weight_loss_pct_year=None, weight_loss_kg_year=4.9, weight_kg=95.1)
    assert result.loss_of_weight is False


@pytest.mark.parametrize(
    ("items", "category", "level"),
    [
        (0, "robust", 0),
        (1, "pre_frail", 1),
        (2, "pre_frail", 1),
        (3, "frail", 2),
        (4, "frail", 2),
        (5, "frail", 2),
    ],
)
def test_kfrail_categories(items: int, category: str, level: int) -> None:
    flags = [i < items for i in range(5)]
    result, _ = _kfrail(
        fatigue=flags[0],
        resistance=flags[1],
        ambulation=flags[2],
        illness_count=5 if flags[3] else 1,
        weight_loss_pct_year=6.0 if flags[4] else 0.0,
    )
    assert (result.score, result.category, result.level) == (items, category, level)


def test_kfrail_needs_all_items() -> None:
    result, missing = _kfrail(ambulation=None, weight_loss_pct_year=None)
    assert result is None
    assert missing[0] == "ambulation"
    assert missing[1].startswith("weight_loss_pct_year")


# --- Fried phenotype (Fried 2001) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "height", "limit"),
    [
        ("male", 173.0 - EPS, 7.0),
        ("male", 173.0, 7.0),
        ("male", 173.0 + EPS, 6.0),
        ("female", 159.0 - EPS, 7.0),
        ("female", 159.0, 7.0),
        ("female", 159.0 + EPS, 6.0),
    ],
)
def test_fried_slowness_height_strata(sex: Any, height: float, limit: float) -> None:
    assert slow_15ft_s(sex, height) == limit


@pytest.mark.parametrize(
    ("sex", "bmi", "limit"),
    [
        ("male", 24.0, 29.0),
        ("male", 24.0 + EPS, 30.0),
        ("male", 24.1, 30.0),
        ("male", 26.0, 30.0),
        ("male", 26.0 + EPS, 31.0),
        ("male", 28.0, 31.0),
        ("male", 28.0 + EPS, 32.0),
        ("male", 40.0, 32.0),
        ("female", 23.0, 17.0),
        ("female", 23.0 + EPS, 17.3),
        ("female", 26.0, 17.3),
        ("female", 26.0 + EPS, 18.0),
        ("female", 29.0, 18.0),
        ("female", 29.0 + EPS, 21.0),
        ("female", 15.0, 17.0),
    ],
)
def test_fried_grip_bmi_strata(sex: Any, bmi: float, limit: float) -> None:
    assert weak_grip_kg(sex, bmi) == limit


def _fried(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "sex": "male",
        "height_cm": 170.0,
        "weight_kg": None,
        "bmi_kg_m2": 23.0,
        "grip_max_kg": 40.0,
        "walk_distance_m": None,
        "walk_time_s": None,
        "gait_speed_mps": 1.2,
        "weight_loss_kg_year": 0.0,
        "weight_loss_pct_year": 0.0,
        "exhaustion_days_per_week": 0,
        "activity_kcal_week": 1000.0,
    }
    args.update(kw)
    result, _ = score_fried(**args)
    return result


@pytest.mark.parametrize(
    ("kw", "criterion", "met"),
    [
        ({"weight_loss_kg_year": 4.5}, "weight_loss", False),
        ({"weight_loss_kg_year": 4.5 + EPS}, "weight_loss", True),
        ({"weight_loss_pct_year": 5.0 - EPS}, "weight_loss", False),
        ({"weight_loss_pct_year": 5.0}, "weight_loss", True),
        ({"exhaustion_days_per_week": 2}, "exhaustion", False),
        ({"exhaustion_days_per_week": 3}, "exhaustion", True),
        ({"activity_kcal_week": 383.0 - EPS}, "low_activity", True),
        ({"activity_kcal_week": 383.0}, "low_activity", False),
        ({"sex": "female", "height_cm": 155.0, "activity_kcal_week": 270.0 - EPS}, "low_activity", True),
        ({"sex": "female", "height_cm": 155.0, "activity_kcal_week": 270.0}, "low_activity", False),
        ({"grip_max_kg": 29.0}, "weakness", True),
        ({"grip_max_kg": 29.0 + EPS}, "weakness", False),
        ({"sex": "female", "height_cm": 155.0, "bmi_kg_m2": 24.0, "grip_max_kg": 17.3}, "weakness", True),
        ({"sex": "female", "height_cm": 155.0, "bmi_kg_m2": 24.0, "grip_max_kg": 17.31}, "weakness", False),
        # 15 ft from a 4 m walk at the same speed: 4 m in t s -> 15 ft in 4.572 t / 4 s
        ({"walk_distance_m": 4.0, "walk_time_s": 7.0 * 4 / 4.572}, "slowness", True),
        ({"walk_distance_m": 4.0, "walk_time_s": (7.0 - EPS) * 4 / 4.572}, "slowness", False),
        ({"height_cm": 180.0, "walk_distance_m": 4.0, "walk_time_s": 6.0 * 4 / 4.572}, "slowness", True),
        ({"height_cm": 180.0, "walk_distance_m": 4.0, "walk_time_s": 5.99 * 4 / 4.572}, "slowness", False),
        ({"height_cm": 180.0, "gait_speed_mps": 4.572 / 6.0}, "slowness", True),
        ({"height_cm": 180.0, "gait_speed_mps": 4.572 / 5.99}, "slowness", False),
    ],
)
def test_fried_criteria_at_cutoffs(kw: dict[str, Any], criterion: str, met: bool) -> None:
    assert getattr(_fried(**kw), criterion) is met


def test_fried_walk_conversion_prefers_the_timed_walk() -> None:
    assert walk_15ft_s(4.0, 4.0, 2.0) == (4.572, "timed_walk")
    assert walk_15ft_s(None, None, 0.762) == (6.0, "gait_speed")
    assert walk_15ft_s(None, 4.0, None) is None


def test_fried_bmi_from_weight_and_height() -> None:
    result = _fried(bmi_kg_m2=None, weight_kg=72.25, height_cm=170.0)
    assert result.bmi_kg_m2 == pytest.approx(25.0)
    assert result.weakness is False  # 40 kg > 30 kg


@pytest.mark.parametrize(
    ("positives", "category"), [(0, "robust"), (1, "pre_frail"), (2, "pre_frail"), (3, "frail"), (5, "frail")]
)
def test_fried_categories(positives: int, category: str) -> None:
    kw: list[dict[str, Any]] = [
        {"weight_loss_kg_year": 6.0},
        {"exhaustion_days_per_week": 5},
        {"activity_kcal_week": 100.0},
        {"gait_speed_mps": 0.5},
        {"grip_max_kg": 20.0},
    ]
    merged: dict[str, Any] = {}
    for item in kw[:positives]:
        merged.update(item)
    result = _fried(**merged)
    assert (result.count, result.category) == (positives, category)


def test_fried_weight_loss_needs_both_measures_to_say_no() -> None:
    # 3 kg lost but weight unknown: could be >= 5 % for a light person
    assert _fried(weight_loss_pct_year=None, weight_loss_kg_year=3.0) is None
    assert _fried(weight_loss_pct_year=None, weight_loss_kg_year=3.0, weight_kg=80.0).weight_loss is False
    assert _fried(weight_loss_pct_year=None, weight_loss_kg_year=3.0, weight_kg=50.0).weight_loss is True
    assert _fried(weight_loss_pct_year=None, weight_loss_kg_year=5.0).weight_loss is True  # > 4.5 kg


def test_fried_missing_inputs_named() -> None:
    result, missing = score_fried(
        sex="female",
        height_cm=None,
        weight_kg=None,
        bmi_kg_m2=None,
        grip_max_kg=15.0,
        walk_distance_m=None,
        walk_time_s=None,
        gait_speed_mps=None,
        weight_loss_kg_year=None,
        weight_loss_pct_year=None,
        exhaustion_days_per_week=4,
        activity_kcal_week=None,
    )
    assert result is None
    assert missing[:2] == ("height_cm", "bmi_kg_m2 (or weight_kg with height_cm)")
    assert "activity_kcal_week" in missing


# --- score_visit ---------------------------------------------------------------------------------

FULL_VISIT: dict[str, Any] = {
    "sex": "female",
    "age_years": 81,
    "height_cm": 152.0,
    "weight_kg": 48.0,
    "asmi_kg_m2": 5.2,
    "grip_max_kg": 15.5,
    "gait_speed_mps": 0.72,
    "walk_distance_m": 4.0,
    "walk_time_s": 6.5,
    "chair_stand_5x_s": 14.1,
    "side_by_side_s": 10.0,
    "semi_tandem_s": 10.0,
    "tandem_s": 2.1,
    "fatigue": True,
    "resistance": True,
    "ambulation": False,
    "illness_count": 3,
    "weight_loss_pct_year": 2.0,
    "weight_loss_kg_year": 1.0,
    "exhaustion_days_per_week": 4,
    "activity_kcal_week": 150.0,
}


def test_full_visit_scores_every_instrument() -> None:
    scores = score_visit(VisitInputs.model_validate(FULL_VISIT))
    assert scores.missing == {}
    assert scores.sppb is not None and scores.awgs is not None
    assert scores.kfrail is not None and scores.fried is not None
    assert (scores.sppb.balance, scores.sppb.gait, scores.sppb.chair, scores.sppb.total) == (2, 2, 2, 6)
    assert (scores.awgs.status, scores.awgs.level) == ("severe_sarcopenia", 3)
    assert (scores.kfrail.score, scores.kfrail.category, scores.kfrail.level) == (2, "pre_frail", 1)
    # exhaustion, low activity, slow (6.5 s over 4 m = 7.43 s over 15 ft, short stratum), weak (15.5 <= 17)
    assert (scores.fried.count, scores.fried.category, scores.fried.level) == (4, "frail", 2)
    assert scores.fried.walk_15ft_s == pytest.approx(6.5 * 4.572 / 4)


def test_empty_visit_scores_nothing_and_names_everything() -> None:
    scores = score_visit(VisitInputs())
    assert (scores.sppb, scores.awgs, scores.kfrail, scores.fried) == (None, None, None, None)
    assert set(scores.missing) == {"sppb", "awgs", "kfrail", "fried"}
    assert "side_by_side_s" in scores.missing["sppb"]


def test_awgs_uses_the_visit_sppb() -> None:
    visit = {k: FULL_VISIT[k] for k in ("sex", "grip_max_kg", "side_by_side_s", "semi_tandem_s", "tandem_s")}
    visit |= {"grip_max_kg": 25.0, "walk_distance_m": 4.0, "walk_time_s": 4.0, "chair_stand_5x_s": 11.0}
    visit |= {"asmi_kg_m2": 5.0}
    scores = score_visit(VisitInputs.model_validate(visit))
    assert scores.sppb is not None and scores.sppb.total == 2 + 4 + 4  # <= 9 is not reached: 10
    assert scores.awgs is not None and scores.awgs.status == "none"
    scores = score_visit(VisitInputs.model_validate(visit | {"tandem_s": 0.0, "semi_tandem_s": 5.0}))
    assert scores.sppb is not None and scores.sppb.total == 9
    assert scores.awgs is not None and scores.awgs.status == "sarcopenia"


@pytest.mark.parametrize(
    "bad",
    [
        {"grip_max_kg": -1.0},
        {"grip_max_kg": math.nan},
        {"walk_time_s": 0.0},
        {"sex": "m"},
        {"illness_count": 2.5},
        {"exhaustion_days_per_week": 8},
        {"grip": 20.0},  # unknown key: a typo must not be silently ignored
    ],
)
def test_visit_inputs_refuse_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VisitInputs.model_validate(bad)


# --- properties ------------------------------------------------------------------------------------

times = st.floats(0.1, 120.0)


@settings(max_examples=200, deadline=None)
@given(course=st.sampled_from([3.0, 4.0]), a=times, b=times)
def test_sppb_slower_never_scores_more(course: float, a: float, b: float) -> None:
    fast, slow = sorted((a, b))
    assert gait_points(course, fast).points >= gait_points(course, slow).points  # type: ignore[operator]
    assert chair_points(fast).points >= chair_points(slow).points  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(
    holds=st.lists(st.floats(0.0, 30.0), min_size=3, max_size=3),
    extra=st.floats(0.0, 10.0),
    which=st.integers(0, 2),
)
def test_sppb_holding_longer_never_scores_less(holds: list[float], extra: float, which: int) -> None:
    longer = list(holds)
    longer[which] += extra
    assert balance_points(*longer).points >= balance_points(*holds).points  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(
    sex=st.sampled_from(["male", "female"]),
    grip=st.floats(5.0, 60.0),
    gait=st.floats(0.2, 2.0),
    chair=st.floats(5.0, 40.0),
    sppb=st.integers(0, 12),
    asmi=st.floats(3.0, 10.0),
    worse=st.floats(0.0, 1.0),
)
def test_awgs_worse_measurements_never_lower_the_level(
    sex: str, grip: float, gait: float, chair: float, sppb: int, asmi: float, worse: float
) -> None:
    better = _awgs(
        sex=sex,
        grip_max_kg=grip,
        gait_speed_mps=gait,
        chair_stand_5x_s=chair,
        sppb_total=sppb,
        asmi_kg_m2=asmi,
    )
    poorer = _awgs(
        sex=sex,
        grip_max_kg=grip * (1 - worse / 2),
        gait_speed_mps=gait * (1 - worse / 2),
        chair_stand_5x_s=chair * (1 + worse),
        sppb_total=max(0, sppb - round(4 * worse)),
        asmi_kg_m2=asmi * (1 - worse / 2),
    )
    assert poorer.level >= better.level


def test_awgs_chair_alone_needs_no_sex() -> None:
    result, _ = score_awgs(
        sex=None,
        grip_max_kg=None,
        gait_speed_mps=None,
        chair_stand_5x_s=12.0,
        sppb_total=None,
        asmi_kg_m2=None,
    )
    assert result is not None
    assert (result.status, result.complete) == ("possible_sarcopenia", False)
    assert result.missing == ("sex", "grip_max_kg", "asmi_kg_m2")


def test_fried_falls_back_to_gait_speed_without_a_walk_time() -> None:
    assert walk_15ft_s(4.0, None, 0.762) == (6.0, "gait_speed")


def test_tug_fall_risk_cut_off_is_a_parameter_with_the_published_default() -> None:
    from processing.scoring import TUG_FALL_RISK_S, TUG_FALL_RISK_STEADI_S, VisitInputs, score_tug

    assert (TUG_FALL_RISK_S, TUG_FALL_RISK_STEADI_S) == (13.5, 12.0)
    for cutoff in (TUG_FALL_RISK_S, TUG_FALL_RISK_STEADI_S):
        for eps, raised in ((-1e-9, False), (0.0, True), (1e-9, True)):
            tug, missing = score_tug(cutoff + eps, cutoff)
            assert tug is not None and tug.raised is raised and missing == ()
    assert score_tug(None) == (None, ("tug_time_s",))
    between = VisitInputs(tug_time_s=12.8)
    assert score_visit(between).tug.raised is False  # type: ignore[union-attr]
    assert score_visit(between, tug_fall_risk_s=12.0).tug.raised is True  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="outside 5–30 s"):
        score_visit(between, tug_fall_risk_s=45.0)
