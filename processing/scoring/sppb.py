"""Short Physical Performance Battery (Guralnik et al. 1994, J Gerontol 49(2):M85–M94), 0–12.

Bands as in docs/scoring.md (the published scoring sheet). Times are continuous here:
each band's upper bound is inclusive and the next band starts strictly above it, so the gaps of
the printed sheet (6.20/6.21, 11.19/11.20, ...) close without rounding: 6.20 s scores 3 and
6.205 s scores 2, exactly as "> 8.70 s = 1" and "> 60 s = 0" read.

- Balance (hierarchical, the protocol stops at the first failed stand): side-by-side held 10 s = 1
  (else 0 and stop); semi-tandem held 10 s = 1 (else stop); tandem ≥ 10 s = 2, 3–9.99 s = 1,
  < 3 s = 0. A stand the protocol never reached needs no hold time.
- Gait, 4 m usual pace: < 4.82 s = 4, 4.82–6.20 = 3, 6.21–8.70 = 2, > 8.70 = 1, unable = 0.
  3 m version: < 3.62 = 4, 3.62–4.65 = 3, 4.66–6.52 = 2, > 6.52 = 1. Any other distance has no
  published bands and is not scored (the walk distance is stored with the score).
- Five chair stands: ≤ 11.19 s = 4, 11.20–13.69 = 3, 13.70–16.69 = 2, 16.70–60 = 1,
  > 60 s or unable = 0.

Partial input: the total needs all three parts; each part reports the inputs it lacked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from processing.scoring._common import ScoreModel

HOLD_S = 10.0  # every stand is timed to 10 s (Guralnik 1994)
TANDEM_PARTIAL_S = 3.0  # tandem 3–9.99 s = 1 point

# (upper bound, points): first band whose bound the time does not exceed; strict for the 4-point band.
GAIT_BANDS: dict[float, tuple[float, float, float]] = {
    4.0: (4.82, 6.20, 8.70),  # 4-point band is "< 4.82", then ≤ 6.20, ≤ 8.70, else 1
    3.0: (3.62, 4.65, 6.52),
}
WALK_DISTANCE_TOLERANCE_M = 0.01  # a course laid out as 4 m is stored as 4.0; allow float noise only
CHAIR_BANDS = ((11.19, 4), (13.69, 3), (16.69, 2), (60.0, 1))


class SppbScore(ScoreModel):
    """Total and parts, with the walk distance the gait part was scored for."""

    total: Annotated[int, Field(ge=0, le=12)]
    balance: Annotated[int, Field(ge=0, le=4)]
    gait: Annotated[int, Field(ge=0, le=4)]
    chair: Annotated[int, Field(ge=0, le=4)]
    walk_distance_m: float | None = Field(
        description="course the gait part was scored for (3 or 4 m); None only if the walk was "
        "impossible and no course length was recorded"
    )


class PartScore(ScoreModel):
    """One part's points, or None with the inputs it lacked."""

    points: int | None
    missing: tuple[str, ...] = ()


def balance_points(
    side_by_side_s: float | None, semi_tandem_s: float | None, tandem_s: float | None
) -> PartScore:
    """Guralnik 1994 balance tests, hierarchical: a failed stand ends the test."""
    if side_by_side_s is None:
        return PartScore(points=None, missing=("side_by_side_s",))
    if side_by_side_s < HOLD_S:
        return PartScore(points=0)
    if semi_tandem_s is None:
        return PartScore(points=None, missing=("semi_tandem_s",))
    if semi_tandem_s < HOLD_S:
        return PartScore(points=1)
    if tandem_s is None:
        return PartScore(points=None, missing=("tandem_s",))
    tandem = 2 if tandem_s >= HOLD_S else 1 if tandem_s >= TANDEM_PARTIAL_S else 0
    return PartScore(points=2 + tandem)


def walk_bands(distance_m: float) -> tuple[float, float, float] | None:
    """The band bounds for a 4 m or 3 m course; None for any other distance."""
    for course, bands in GAIT_BANDS.items():
        if abs(distance_m - course) <= WALK_DISTANCE_TOLERANCE_M:
            return bands
    return None


def gait_points(walk_distance_m: float | None, walk_time_s: float | None, unable: bool = False) -> PartScore:
    """Guralnik 1994 usual-pace walk (the faster of two trials is the caller's to pick)."""
    if unable:
        return PartScore(points=0)
    named = (("walk_distance_m", walk_distance_m), ("walk_time_s", walk_time_s))
    missing = tuple(name for name, value in named if value is None)
    if walk_distance_m is None or walk_time_s is None:
        return PartScore(points=None, missing=missing)
    bands = walk_bands(walk_distance_m)
    if bands is None:
        return PartScore(points=None, missing=("walk_distance_m (3 m or 4 m course)",))
    fastest, middle, slow = bands
    if walk_time_s < fastest:
        return PartScore(points=4)
    if walk_time_s <= middle:
        return PartScore(points=3)
    return PartScore(points=2 if walk_time_s <= slow else 1)


def chair_points(chair_stand_5x_s: float | None, unable: bool = False) -> PartScore:
    """Guralnik 1994 five chair stands without using the arms."""
    if unable:
        return PartScore(points=0)
    if chair_stand_5x_s is None:
        return PartScore(points=None, missing=("chair_stand_5x_s",))
    for upper, points in CHAIR_BANDS:
        if chair_stand_5x_s <= upper:
            return PartScore(points=points)
    return PartScore(points=0)


def score_sppb(
    *,
    side_by_side_s: float | None,
    semi_tandem_s: float | None,
    tandem_s: float | None,
    walk_distance_m: float | None,
    walk_time_s: float | None,
    chair_stand_5x_s: float | None,
    walk_unable: bool = False,
    chair_stand_unable: bool = False,
) -> tuple[SppbScore | None, tuple[str, ...]]:
    """The SPPB, or None and the inputs that were missing (all three parts are needed)."""
    balance = balance_points(side_by_side_s, semi_tandem_s, tandem_s)
    gait = gait_points(walk_distance_m, walk_time_s, walk_unable)
    chair = chair_points(chair_stand_5x_s, chair_stand_unable)
    missing = balance.missing + gait.missing + chair.missing
    if balance.points is None or gait.points is None or chair.points is None:
        return None, missing
    score = SppbScore(
        total=balance.points + gait.points + chair.points,
        balance=balance.points,
        gait=gait.points,
        chair=chair.points,
        walk_distance_m=walk_distance_m,
    )
    return score, ()
