"""Fried frailty phenotype (Fried et al. 2001, J Gerontol A 56(3):M146–M156, Table 1), 0–5, with
the cut-offs of docs/scoring.md:

- weight loss: > 4.5 kg (Fried: "> 10 lbs") or ≥ 5 % of body weight in the past year;
- exhaustion: either CES-D item ("everything I did was an effort", "I could not get going")
  on ≥ 3 days a week (Fried: "a moderate amount of the time (3–4 days) or most of the time");
- low activity: < 383 kcal/week (men) / < 270 kcal/week (women) (Minnesota Leisure Time Activity);
- slowness: time to walk 15 ft (4.572 m) ≥ 7 s if height ≤ 173 cm (men) / ≤ 159 cm (women),
  else ≥ 6 s;
- weakness: grip (kg) by BMI stratum — men ≤ 29 / 30 / 31 / 32 for BMI ≤ 24 / 24.1–26 /
  26.1–28 / > 28; women ≤ 17 / 17.3 / 18 / 21 for BMI ≤ 23 / 23.1–26 / 26.1–29 / > 29.

0 robust, 1–2 pre-frail, ≥ 3 frail. All five criteria are needed for a count (a missing one could
move the category either way).

Walk conversion (FrailWatch, stated in docs/scoring.md): the station does not walk 15 ft. The
15 ft time is the measured walk scaled to 4.572 m at the same mean speed — from the timed walk
(``walk_distance_m``/``walk_time_s``: usually the SPPB 3–4 m usual-pace walk from a standing start,
the protocol closest to Fried's) when present, else from ``gait_speed_mps``: t₁₅ = 4.572 m / speed.
Constant speed is assumed; a standing start over a shorter course makes the estimate slightly slow
(the cautious side), a long walk with a flying start slightly fast.

Strata bounds: each stratum's upper bound is inclusive and the next starts strictly above it
(BMI 24.05 is in the 24.1–26 stratum), the same rule as the SPPB bands.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from processing.scoring._common import FRAILTY_CATEGORIES, FrailtyCategory, ScoreModel, frailty_category

Sex = Literal["male", "female"]

FIFTEEN_FEET_M = 4.572
# Derived values are rounded to 1e-6 so floating-point noise (4.572 · 7 / 4.572 = 6.999…) cannot
# move a value across a published cut-off; no measurement is that precise.
_DIGITS = 6
WEIGHT_LOSS_KG = 4.5  # strictly more
WEIGHT_LOSS_PCT = 5.0  # at least
EXHAUSTION_DAYS = 3  # at least, days per week
LOW_ACTIVITY_KCAL: dict[Sex, float] = {"male": 383.0, "female": 270.0}  # strictly below
SHORT_HEIGHT_CM: dict[Sex, float] = {"male": 173.0, "female": 159.0}  # at or below: the 7 s stratum
SLOW_15FT_S = {True: 7.0, False: 6.0}  # keyed by "short"; at or above is slow
# (BMI upper bound inclusive, grip at or below which is weak); last row has no upper bound.
WEAK_GRIP_BY_BMI: dict[Sex, tuple[tuple[float, float], ...]] = {
    "male": ((24.0, 29.0), (26.0, 30.0), (28.0, 31.0), (float("inf"), 32.0)),
    "female": ((23.0, 17.0), (26.0, 17.3), (29.0, 18.0), (float("inf"), 21.0)),
}


class FriedResult(ScoreModel):
    count: Annotated[int, Field(ge=0, le=5)]
    category: FrailtyCategory
    level: Annotated[int, Field(ge=0, le=2)]
    weight_loss: bool
    exhaustion: bool
    low_activity: bool
    slowness: bool
    weakness: bool
    walk_15ft_s: float = Field(description="15 ft walk time judged, scaled from the walk measured")
    walk_source: Literal["timed_walk", "gait_speed"]
    bmi_kg_m2: float = Field(description="BMI used for the grip stratum (given or from weight and height)")
    missing: tuple[str, ...] = ()


def walk_15ft_s(
    walk_distance_m: float | None, walk_time_s: float | None, gait_speed_mps: float | None
) -> tuple[float, Literal["timed_walk", "gait_speed"]] | None:
    """15 ft time at the measured mean speed; see the module docstring."""
    if walk_distance_m is not None and walk_time_s is not None and walk_distance_m > 0:
        return round(FIFTEEN_FEET_M * walk_time_s / walk_distance_m, _DIGITS), "timed_walk"
    if gait_speed_mps is not None and gait_speed_mps > 0:
        return round(FIFTEEN_FEET_M / gait_speed_mps, _DIGITS), "gait_speed"
    return None


def body_mass_index(
    bmi_kg_m2: float | None, weight_kg: float | None, height_cm: float | None
) -> float | None:
    if bmi_kg_m2 is not None:
        return bmi_kg_m2
    if weight_kg is None or height_cm is None or height_cm <= 0:
        return None
    return round(weight_kg / (height_cm / 100.0) ** 2, _DIGITS)


def weak_grip_kg(sex: Sex, bmi: float) -> float:
    """Fried 2001 Table 1: the grip at or below which a person of this sex and BMI is weak."""
    for upper, grip in WEAK_GRIP_BY_BMI[sex]:
        if bmi <= upper:
            return grip
    raise AssertionError("the last stratum is unbounded")  # pragma: no cover


def slow_15ft_s(sex: Sex, height_cm: float) -> float:
    """Fried 2001 Table 1: the 15 ft time at or above which a person of this sex and height is slow."""
    return SLOW_15FT_S[height_cm <= SHORT_HEIGHT_CM[sex]]


def score_fried(
    *,
    sex: Sex | None,
    height_cm: float | None,
    weight_kg: float | None,
    bmi_kg_m2: float | None,
    grip_max_kg: float | None,
    walk_distance_m: float | None,
    walk_time_s: float | None,
    gait_speed_mps: float | None,
    weight_loss_kg_year: float | None,
    weight_loss_pct_year: float | None,
    exhaustion_days_per_week: int | None,
    activity_kcal_week: float | None,
) -> tuple[FriedResult | None, tuple[str, ...]]:
    walk = walk_15ft_s(walk_distance_m, walk_time_s, gait_speed_mps)
    bmi = body_mass_index(bmi_kg_m2, weight_kg, height_cm)
    weight_loss = _weight_loss(weight_loss_kg_year, weight_loss_pct_year, weight_kg)

    named: tuple[tuple[str, object], ...] = (
        ("sex", sex),
        ("height_cm", height_cm),
        ("grip_max_kg", grip_max_kg),
        ("bmi_kg_m2 (or weight_kg with height_cm)", bmi),
        ("walk_time_s with walk_distance_m (or gait_speed_mps)", walk),
        ("weight_loss_kg_year and weight_loss_pct_year (or one with weight_kg)", weight_loss),
        ("exhaustion_days_per_week", exhaustion_days_per_week),
        ("activity_kcal_week", activity_kcal_week),
    )
    missing = tuple(name for name, value in named if value is None)
    if (
        sex is None
        or height_cm is None
        or grip_max_kg is None
        or bmi is None
        or walk is None
        or weight_loss is None
        or exhaustion_days_per_week is None
        or activity_kcal_week is None
    ):
        return None, missing

    walk_s, source = walk
    flags = {
        "weight_loss": weight_loss,
        "exhaustion": exhaustion_days_per_week >= EXHAUSTION_DAYS,
        "low_activity": activity_kcal_week < LOW_ACTIVITY_KCAL[sex],
        "slowness": walk_s >= slow_15ft_s(sex, height_cm),
        "weakness": grip_max_kg <= weak_grip_kg(sex, bmi),
    }
    count = sum(flags.values())
    category = frailty_category(count)
    result = FriedResult(
        count=count,
        category=category,
        level=FRAILTY_CATEGORIES.index(category),
        walk_15ft_s=walk_s,
        walk_source=source,
        bmi_kg_m2=bmi,
        **flags,
    )
    return result, ()


def _weight_loss(kg: float | None, pct: float | None, weight_kg: float | None) -> bool | None:
    """> 4.5 kg or ≥ 5 % of last year's weight. Either criterion met is enough; to say no, both
    must be known (one is derived from the other with today's weight when only one was asked)."""
    if kg is None and pct is not None and weight_kg is not None and pct < 100.0:
        kg = round(weight_kg * pct / (100.0 - pct), _DIGITS)  # pct of last year's weight (weight + kg)
    if pct is None and kg is not None and weight_kg is not None and weight_kg + kg > 0:
        pct = round(100.0 * kg / (weight_kg + kg), _DIGITS)
    by_kg = None if kg is None else kg > WEIGHT_LOSS_KG
    by_pct = None if pct is None else pct >= WEIGHT_LOSS_PCT
    if by_kg or by_pct:
        return True
    return None if by_kg is None or by_pct is None else False
