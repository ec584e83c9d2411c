"""Timed up-and-go fall-risk cut-off (DESIGN.md "Domain facts").

Community-dwelling older adults taking 13.5 s or longer have a raised risk of falls
(Shumway-Cook A, Brauer S, Woollacott M. Predicting the probability for falls in community-dwelling
older adults using the Timed Up & Go Test. Phys Ther 2000;80(9):896–903). Some guidelines use
12 s (CDC STEADI, Stevens & Phelan 2013), so the cut-off is a parameter with 13.5 s as default.
"""

from __future__ import annotations

TUG_FALL_RISK_S = 13.5  # at or above: raised fall risk (Shumway-Cook 2000)
TUG_FALL_RISK_STEADI_S = 12.0  # the stricter alternative some guidelines use


def tug_fall_risk(total_time_s: float, cutoff_s: float = TUG_FALL_RISK_S) -> bool:
    """True when the TUG time is at or above the fall-risk cut-off."""
    return total_time_s >= cutoff_s
