"""Frailty and sarcopenia scoring for one visit: SPPB (Guralnik 1994), AWGS 2019 (Chen 2020),
K-FRAIL (Morley 2012; Jung 2016), the Fried phenotype (Fried 2001) and TUG fall risk (cut-off
configurable: 13.5 s, Shumway-Cook 2000; 12 s, CDC STEADI). Pure Python, no I/O, no
Numba. Public API: :func:`score_visit`, :class:`VisitInputs`, :class:`VisitScores` and the
result models; cut-offs and partial-input rules in docs/scoring.md.
"""

from __future__ import annotations

from processing.scoring.awgs import AWGS_STATUSES, AwgsResult, AwgsStatus, score_awgs
from processing.scoring.fried import FriedResult, score_fried
from processing.scoring.kfrail import KFrailResult, score_kfrail
from processing.scoring.sppb import SppbScore, score_sppb
from processing.scoring.tug import TUG_FALL_RISK_S, TUG_FALL_RISK_STEADI_S, TugFallRisk, score_tug
from processing.scoring.visit import VisitInputs, VisitScores, score_visit

__all__ = [
    "AWGS_STATUSES",
    "TUG_FALL_RISK_S",
    "TUG_FALL_RISK_STEADI_S",
    "AwgsResult",
    "AwgsStatus",
    "FriedResult",
    "KFrailResult",
    "SppbScore",
    "TugFallRisk",
    "VisitInputs",
    "VisitScores",
    "score_awgs",
    "score_fried",
    "score_kfrail",
    "score_sppb",
    "score_tug",
    "score_visit",
]
