"""FRAIL scale (Morley, Malmstrom & Miller 2012, J Nutr Health Aging 16(7):601–608) in its Korean
version K-FRAIL (Jung H-W et al. 2016, Korean J Intern Med 31(3):594–600), 0–5:

- Fatigue, Resistance (climbing one flight of stairs), Ambulation (walking one block / 300 m):
  yes/no answers from the questionnaire;
- Illnesses: 5 or more of the 11 listed conditions (K-FRAIL and the FrailWatch design: "≥ 5"; some English
  summaries of FRAIL say "more than 5");
- Loss of weight: 5 % or more in the past year.

0 robust, 1–2 pre-frail, 3–5 frail. All five items are needed for a score (a missing item could
change the category either way); the weight-loss percentage is derived from kilograms lost and
today's weight when only those were asked: loss / (weight + loss), i.e. relative to last year.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from processing.scoring._common import FRAILTY_CATEGORIES, FrailtyCategory, ScoreModel, frailty_category

ILLNESSES_MIN = 5
WEIGHT_LOSS_MIN_PCT = 5.0


class KFrailResult(ScoreModel):
    score: Annotated[int, Field(ge=0, le=5)]
    category: FrailtyCategory
    level: Annotated[int, Field(ge=0, le=2)]
    fatigue: bool
    resistance: bool
    ambulation: bool
    illness: bool
    loss_of_weight: bool
    weight_loss_pct_year: float = Field(description="the percentage judged (given or derived)")
    missing: tuple[str, ...] = ()


def weight_loss_pct(
    weight_loss_pct_year: float | None, weight_loss_kg_year: float | None, weight_kg: float | None
) -> float | None:
    """The year's weight loss in % of last year's weight, as given or derived from kilograms."""
    if weight_loss_pct_year is not None:
        return weight_loss_pct_year
    if weight_loss_kg_year is None or weight_kg is None:
        return None
    before = weight_kg + weight_loss_kg_year
    # Rounded to 1e-6 so floating-point noise cannot cross the 5 % cut-off (5/100 → 5.000000001).
    return round(100.0 * weight_loss_kg_year / before, 6) if before > 0 else None


def score_kfrail(
    *,
    fatigue: bool | None,
    resistance: bool | None,
    ambulation: bool | None,
    illness_count: int | None,
    weight_loss_pct_year: float | None,
    weight_loss_kg_year: float | None = None,
    weight_kg: float | None = None,
) -> tuple[KFrailResult | None, tuple[str, ...]]:
    loss_pct = weight_loss_pct(weight_loss_pct_year, weight_loss_kg_year, weight_kg)
    named: tuple[tuple[str, object], ...] = (
        ("fatigue", fatigue),
        ("resistance", resistance),
        ("ambulation", ambulation),
        ("illness_count", illness_count),
        ("weight_loss_pct_year (or weight_loss_kg_year with weight_kg)", loss_pct),
    )
    missing = tuple(name for name, value in named if value is None)
    if missing or fatigue is None or resistance is None or ambulation is None or illness_count is None:
        return None, missing
    assert loss_pct is not None  # listed in missing otherwise
    illness = illness_count >= ILLNESSES_MIN
    lost = loss_pct >= WEIGHT_LOSS_MIN_PCT
    score = sum((fatigue, resistance, ambulation, illness, lost))
    category = frailty_category(score)
    result = KFrailResult(
        score=score,
        category=category,
        level=FRAILTY_CATEGORIES.index(category),
        fatigue=fatigue,
        resistance=resistance,
        ambulation=ambulation,
        illness=illness,
        loss_of_weight=lost,
        weight_loss_pct_year=loss_pct,
    )
    return result, ()
