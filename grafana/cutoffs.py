"""Clinical cut-offs drawn on panels, from docs/scoring.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cutoff:
    value: float
    below_is_bad: bool  # True: values under the cut-off are the concern (gait speed, grip, SPPB)


# AWGS 2019 (Chen et al., JAMDA 2020): low physical performance = 6 m gait speed < 1.0 m/s,
# 5-times chair stand >= 12 s, or SPPB <= 9; low grip < 28 kg men / < 18 kg women.
GAIT_SPEED_MPS = Cutoff(1.0, below_is_bad=True)
CHAIR_STAND_S = Cutoff(12.0, below_is_bad=False)
SPPB_TOTAL = Cutoff(10.0, below_is_bad=True)  # <= 9 is low, so 10 is the first good score
GRIP_MEN_KG = Cutoff(28.0, below_is_bad=True)
GRIP_WOMEN_KG = Cutoff(18.0, below_is_bad=True)
# K-FRAIL / FRAIL scale (Morley 2012): 0 robust, 1-2 pre-frail, 3-5 frail.
KFRAIL_PREFRAIL = 1.0
KFRAIL_FRAIL = 3.0
