"""Shared pieces of the scoring models: one config, and the frailty categories both frailty
instruments use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FrailtyCategory = Literal["robust", "pre_frail", "frail"]
FRAILTY_CATEGORIES: tuple[FrailtyCategory, ...] = ("robust", "pre_frail", "frail")


class ScoreModel(BaseModel):
    """Immutable result; unknown keys are refused so a typo in an input file is an error, not a
    silently ignored value."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def frailty_category(count: int) -> FrailtyCategory:
    """0 robust, 1–2 pre-frail, ≥ 3 frail: the same bands for the FRAIL/K-FRAIL scale (Morley et
    al. 2012; Jung et al. 2016) and the Fried phenotype (Fried et al. 2001)."""
    if count <= 0:
        return "robust"
    return "pre_frail" if count <= 2 else "frail"
