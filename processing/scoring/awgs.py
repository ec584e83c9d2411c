"""Sarcopenia by the Asian Working Group for Sarcopenia 2019 (Chen et al. 2020, J Am Med Dir
Assoc 21(3):300–307.e2), cut-offs as in docs/scoring.md:

- low muscle strength: handgrip < 28 kg (men) / < 18 kg (women);
- low physical performance: 6 m gait speed < 1.0 m/s, or five chair stands ≥ 12 s, or SPPB ≤ 9;
- low muscle mass (BIA): ASMI < 7.0 kg/m² (men) / < 5.7 kg/m² (women);
- sarcopenia = low mass + (low strength or low performance); severe = all three;
- possible sarcopenia (community / primary-care pathway) = low grip or chair stand ≥ 12 s.

FrailWatch choices (documented in docs/scoring.md):
- Gait speed is ``gait_speed_mps`` as the station measured it; the SPPB walk time is not turned
  into a speed because a 3–4 m walk from a standing start is slower than AWGS's 6 m walk.
- When BIA shows normal muscle mass, AWGS rules out sarcopenia, but the station is a community
  setting where AWGS recommends acting on *possible* sarcopenia; the status then stays
  ``possible_sarcopenia`` if its criteria hold (``low_muscle_mass`` False says BIA did not confirm).
- Missing inputs: each criterion is True, False or unknown. The status is the highest level the
  known criteria establish; ``missing`` lists the inputs that could have raised it and
  ``complete`` is False. No result at all when neither grip (with sex) nor chair stand is known,
  the minimum for the community pathway.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from processing.scoring._common import ScoreModel

Sex = Literal["male", "female"]
AwgsStatus = Literal["none", "possible_sarcopenia", "sarcopenia", "severe_sarcopenia"]
AWGS_STATUSES: tuple[AwgsStatus, ...] = ("none", "possible_sarcopenia", "sarcopenia", "severe_sarcopenia")

LOW_GRIP_KG: dict[Sex, float] = {"male": 28.0, "female": 18.0}  # strictly below is low
LOW_ASMI_KG_M2: dict[Sex, float] = {"male": 7.0, "female": 5.7}  # BIA; strictly below is low
SLOW_GAIT_MPS = 1.0  # 6 m usual pace; strictly below is low performance
SLOW_CHAIR_S = 12.0  # five chair stands; at or above is low performance
LOW_SPPB = 9  # at or below is low performance


class AwgsResult(ScoreModel):
    status: AwgsStatus
    level: Annotated[int, Field(ge=0, le=3)]
    low_muscle_strength: bool | None
    low_physical_performance: bool | None
    low_muscle_mass: bool | None
    complete: bool = Field(description="False when a missing input could have given a higher level")
    missing: tuple[str, ...] = ()


def _any(*values: bool | None) -> bool | None:
    """Kleene OR: True if any is True, False if all are False, else unknown."""
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def _all(*values: bool | None) -> bool | None:
    """Kleene AND."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def score_awgs(
    *,
    sex: Sex | None,
    grip_max_kg: float | None,
    gait_speed_mps: float | None,
    chair_stand_5x_s: float | None,
    chair_stand_unable: bool = False,
    sppb_total: int | None,
    asmi_kg_m2: float | None,
) -> tuple[AwgsResult | None, tuple[str, ...]]:
    """AWGS 2019 status, or None with what was missing for even the community pathway."""
    low_grip = None if sex is None or grip_max_kg is None else grip_max_kg < LOW_GRIP_KG[sex]
    # Unable to rise five times is slower than any time (Guralnik's "unable" scores below > 60 s).
    slow_chair = (
        True if chair_stand_unable else None if chair_stand_5x_s is None else chair_stand_5x_s >= SLOW_CHAIR_S
    )
    slow_gait = None if gait_speed_mps is None else gait_speed_mps < SLOW_GAIT_MPS
    low_sppb = None if sppb_total is None else sppb_total <= LOW_SPPB
    low_mass = None if sex is None or asmi_kg_m2 is None else asmi_kg_m2 < LOW_ASMI_KG_M2[sex]
    low_performance = _any(slow_gait, slow_chair, low_sppb)

    inputs = (sex, grip_max_kg, gait_speed_mps, slow_chair, sppb_total, asmi_kg_m2)
    if low_grip is None and slow_chair is None:
        named = (("sex", sex), ("grip_max_kg", grip_max_kg), ("chair_stand_5x_s", chair_stand_5x_s))
        return None, tuple(name for name, value in named if value is None)

    severe = _all(low_mass, low_grip, low_performance)
    sarcopenia = _all(low_mass, _any(low_grip, low_performance))
    possible = _any(low_grip, slow_chair)
    levels = (possible, sarcopenia, severe)
    level = max((i + 1 for i, established in enumerate(levels) if established is True), default=0)
    complete = all(v is not None for v in levels[level:])  # nothing above could still turn True
    result = AwgsResult(
        status=AWGS_STATUSES[level],
        level=level,
        low_muscle_strength=low_grip,
        low_physical_performance=low_performance,
        low_muscle_mass=low_mass,
        complete=complete,
        missing=() if complete else _missing(inputs, (low_grip, low_performance, low_mass)),
    )
    return result, result.missing


def _missing(
    inputs: tuple[Sex | None, float | None, float | None, bool | None, int | None, float | None],
    known: tuple[bool | None, bool | None, bool | None],
) -> tuple[str, ...]:
    """The absent inputs of the criteria still unknown (strength, performance, mass)."""
    sex, grip, gait, slow_chair, sppb, asmi = inputs
    strength, performance, mass = (flag is None for flag in known)
    named = (
        ("sex", sex, strength or mass),
        ("grip_max_kg", grip, strength),
        ("gait_speed_mps", gait, performance),
        ("chair_stand_5x_s", slow_chair, performance or strength),
        ("sppb", sppb, performance),
        ("asmi_kg_m2", asmi, mass),
    )
    return tuple(name for name, value, needed in named if value is None and needed)
