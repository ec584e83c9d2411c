"""One visit's scores from whatever was measured: SPPB, AWGS 2019, K-FRAIL, Fried and TUG fall risk.

:func:`score_visit` is what the gateway calls. A part is None when its inputs are missing, and
``VisitScores.missing`` names those inputs per part; no value is ever made up (partial-input
rules per instrument are in each module's docstring and docs/scoring.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from processing.scoring._common import ScoreModel
from processing.scoring.awgs import AwgsResult, score_awgs
from processing.scoring.fried import FriedResult, score_fried
from processing.scoring.kfrail import KFrailResult, score_kfrail
from processing.scoring.sppb import SppbScore, score_sppb
from processing.scoring.tug import TUG_FALL_RISK_S, TugFallRisk, score_tug

Seconds = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class VisitInputs(ScoreModel):
    """Every field optional: None = not measured at this visit. Units are in the names."""

    sex: Literal["male", "female"] | None = None
    age_years: Annotated[float, Field(ge=0, le=130)] | None = None
    height_cm: Annotated[float, Field(gt=50, lt=260)] | None = None
    weight_kg: Annotated[float, Field(gt=10, lt=400)] | None = None
    bmi_kg_m2: Annotated[float, Field(gt=5, lt=100)] | None = None
    asmi_kg_m2: Annotated[float, Field(gt=0, lt=30)] | None = None
    grip_max_kg: Annotated[float, Field(ge=0, lt=150)] | None = None
    gait_speed_mps: Annotated[float, Field(gt=0, lt=5)] | None = None
    # SPPB gait item: the course length decides the bands (3 m or 4 m), so it is stored with the time.
    walk_distance_m: Positive | None = None
    walk_time_s: Positive | None = None
    walk_unable: bool = Field(default=False, description="could not do the SPPB walk (scores 0)")
    chair_stand_5x_s: Positive | None = None
    chair_stand_unable: bool = False
    tug_time_s: Positive | None = Field(default=None, description="timed up-and-go (fall risk)")
    # Balance hold times (s); a stand the protocol never reached stays None.
    side_by_side_s: Seconds | None = None
    semi_tandem_s: Seconds | None = None
    tandem_s: Seconds | None = None
    # Questionnaire (K-FRAIL items and Fried's self-reported criteria).
    fatigue: bool | None = None
    resistance: bool | None = None
    ambulation: bool | None = None
    illness_count: Annotated[int, Field(ge=0, le=50)] | None = None
    weight_loss_pct_year: Annotated[float, Field(gt=-100, lt=100)] | None = Field(
        default=None, description="% of last year's weight lost (negative = gained)"
    )
    weight_loss_kg_year: Annotated[float, Field(gt=-200, lt=200)] | None = Field(
        default=None, description="kg lost in the past year (negative = gained)"
    )
    exhaustion_days_per_week: Annotated[int, Field(ge=0, le=7)] | None = None
    activity_kcal_week: Annotated[float, Field(ge=0)] | None = None


class VisitScores(ScoreModel):
    """A part is None when its inputs are missing; ``missing`` says which, per part."""

    sppb: SppbScore | None
    awgs: AwgsResult | None
    kfrail: KFrailResult | None
    fried: FriedResult | None
    tug: TugFallRisk | None = Field(default=None, description="fall risk; None when no TUG was timed")
    missing: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="part -> inputs it lacked (an incomplete AWGS appears too)"
    )


def score_visit(inputs: VisitInputs, *, tug_fall_risk_s: float = TUG_FALL_RISK_S) -> VisitScores:
    """All four instruments and the TUG fall risk (at ``tug_fall_risk_s``, see
    :mod:`processing.scoring.tug`) for one visit; pure, never raises for missing values (a
    cut-off outside 5–30 s is a ValueError)."""
    i = inputs
    tug, _ = score_tug(i.tug_time_s, tug_fall_risk_s)  # None without a TUG: not a missing input
    sppb, sppb_missing = score_sppb(
        side_by_side_s=i.side_by_side_s,
        semi_tandem_s=i.semi_tandem_s,
        tandem_s=i.tandem_s,
        walk_distance_m=i.walk_distance_m,
        walk_time_s=i.walk_time_s,
        chair_stand_5x_s=i.chair_stand_5x_s,
        walk_unable=i.walk_unable,
        chair_stand_unable=i.chair_stand_unable,
    )
    awgs, awgs_missing = score_awgs(
        sex=i.sex,
        grip_max_kg=i.grip_max_kg,
        gait_speed_mps=i.gait_speed_mps,
        chair_stand_5x_s=i.chair_stand_5x_s,
        chair_stand_unable=i.chair_stand_unable,
        sppb_total=None if sppb is None else sppb.total,
        asmi_kg_m2=i.asmi_kg_m2,
    )
    kfrail, kfrail_missing = score_kfrail(
        fatigue=i.fatigue,
        resistance=i.resistance,
        ambulation=i.ambulation,
        illness_count=i.illness_count,
        weight_loss_pct_year=i.weight_loss_pct_year,
        weight_loss_kg_year=i.weight_loss_kg_year,
        weight_kg=i.weight_kg,
    )
    fried, fried_missing = score_fried(
        sex=i.sex,
        height_cm=i.height_cm,
        weight_kg=i.weight_kg,
        bmi_kg_m2=i.bmi_kg_m2,
        grip_max_kg=i.grip_max_kg,
        walk_distance_m=i.walk_distance_m,
        walk_time_s=i.walk_time_s,
        gait_speed_mps=i.gait_speed_mps,
        weight_loss_kg_year=i.weight_loss_kg_year,
        weight_loss_pct_year=i.weight_loss_pct_year,
        exhaustion_days_per_week=i.exhaustion_days_per_week,
        activity_kcal_week=i.activity_kcal_week,
    )
    parts = {
        "sppb": sppb_missing,
        "awgs": awgs_missing,
        "kfrail": kfrail_missing,
        "fried": fried_missing,
    }
    return VisitScores(
        sppb=sppb,
        awgs=awgs,
        kfrail=kfrail,
        fried=fried,
        tug=tug,
        missing={part: names for part, names in parts.items() if names},
    )
