"""Timed up-and-go fall risk: a TUG time at or above the cut-off means a raised risk of falling.

The cut-off is a choice of the programme, so it is a parameter with 13.5 s as default
(:func:`processing.scoring.score_visit`'s ``tug_fall_risk_s``, :func:`processing.results`'s
``tug_fall_risk_s``, ``frailwatch score --tug-fall-risk-s``):

- 13.5 s: Shumway-Cook A, Brauer S, Woollacott M. Predicting the probability for falls in
  community-dwelling older adults using the Timed Up & Go Test. Phys Ther 2000;80(9):896–903
  (community-dwelling older adults taking ≥ 13.5 s were classified as fallers).
- 12 s in some guidelines: CDC STEADI (Stopping Elderly Accidents, Deaths & Injuries; Stevens &
  Phelan 2013), "Assessment: Timed Up & Go (TUG)": ≥ 12 s is at risk for falling.

docs/scoring.md: ≥ 13.5 s raised fall risk, ≥ 12 s in some guidelines, configurable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from processing.scoring._common import ScoreModel

TUG_FALL_RISK_S = 13.5  # at or above: raised fall risk (Shumway-Cook 2000)
TUG_FALL_RISK_STEADI_S = 12.0  # the stricter alternative some guidelines use (CDC STEADI)
#: Cut-offs a programme may choose; outside them the number is surely a typing error (seconds).
CUTOFF_RANGE_S = (5.0, 30.0)


def tug_fall_risk(total_time_s: float, cutoff_s: float = TUG_FALL_RISK_S) -> bool:
    """True when the TUG time is at or above the fall-risk cut-off."""
    return total_time_s >= cutoff_s


class TugFallRisk(ScoreModel):
    """One TUG time judged against the cut-off in force."""

    tug_time_s: Annotated[float, Field(gt=0)]
    cutoff_s: float
    raised: bool = Field(description="tug_time_s >= cutoff_s: raised fall risk")


def check_cutoff(cutoff_s: float) -> float:
    """``cutoff_s`` if plausible; ValueError naming the range otherwise."""
    low, high = CUTOFF_RANGE_S
    if not low <= cutoff_s <= high:
        raise ValueError(f"TUG fall-risk cut-off {cutoff_s} s is outside {low:g}–{high:g} s")
    return cutoff_s


def score_tug(
    tug_time_s: float | None, cutoff_s: float = TUG_FALL_RISK_S
) -> tuple[TugFallRisk | None, tuple[str, ...]]:
    """(the judgement, missing inputs): None and ``("tug_time_s",)`` without a TUG time."""
    check_cutoff(cutoff_s)
    if tug_time_s is None:
        return None, ("tug_time_s",)
    return TugFallRisk(
        tug_time_s=tug_time_s, cutoff_s=cutoff_s, raised=tug_fall_risk(tug_time_s, cutoff_s)
    ), ()
