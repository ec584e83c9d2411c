"""What the case core takes in and gives back: one visit's measures, and a case's folded state.

:class:`VisitMeasures` is one visit of one participant as the gateway (or ``frailwatch cases
replay``) assembles it: where and when, the participant's sex (for sex-specific cut-offs), the
visit's frailty-relevant values and which of them a quality check flagged as uncertain.
:class:`Case` is what the log says about one case after :func:`processing.cases.fold`.
Times are UTC at millisecond precision everywhere in this package: the case-event log stores
milliseconds, so a visit and an event read back from InfluxDB compare equal to the ones written.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from telemetry.cases import (
    CaseId,
    CaseState,
    Domain,
    EventId,
    Evidence,
    ResolveReason,
    Severity,
    SocialPrescription,
    StaffId,
)
from telemetry.envelope import MessageId, Pseudonym, StationId
from telemetry.errors import Reason

#: The measures a visit may carry (units in the names, as on the wire).
MEASURE_NAMES: frozenset[str] = frozenset(
    {
        "gait_speed_mps",
        "sppb_total",
        "grip_max_kg",
        "chair_stand_5x_s",
        "tug_time_s",
        "kfrail_score",
        "sway_mean_velocity_mm_s",
        "sway_ellipse95_area_mm2",
        "frailty_level",
        "fried_count",
    }
)
# Plausible ranges: a value outside is a unit or entry error, refused rather than judged.
MEASURE_RANGES: dict[str, tuple[float, float]] = {
    "gait_speed_mps": (0.0, 4.0),
    "sppb_total": (0.0, 12.0),
    "grip_max_kg": (0.0, 120.0),
    "chair_stand_5x_s": (0.0, 300.0),
    "tug_time_s": (0.0, 300.0),
    "kfrail_score": (0.0, 5.0),
    "sway_mean_velocity_mm_s": (0.0, 1000.0),
    "sway_ellipse95_area_mm2": (0.0, 100_000.0),
    "frailty_level": (0.0, 2.0),
    "fried_count": (0.0, 5.0),
}


def to_ms(at: datetime) -> datetime:
    """``at`` in UTC, truncated to whole milliseconds (what the case-event log keeps)."""
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class VisitMeasures(BaseModel):
    """One visit of one participant: the values the decline detector judges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    participant: Pseudonym
    station_id: StationId
    visit_id: MessageId
    at: AwareDatetime = Field(description="when the visit was measured (UTC; kept to the millisecond)")
    sex: Literal["male", "female"] | None = None
    measures: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(default_factory=dict)
    uncertain: frozenset[str] = Field(
        default=frozenset(), description="measures a quality check flagged; never open a case on their own"
    )

    @field_validator("at")
    @classmethod
    def _utc_ms(cls, value: datetime) -> datetime:
        return to_ms(value)

    @model_validator(mode="after")
    def _known_measures(self) -> VisitMeasures:
        for name, value in self.measures.items():
            if name not in MEASURE_NAMES:
                raise ValueError(f"unknown measure {name!r}; known: {', '.join(sorted(MEASURE_NAMES))}")
            low, high = MEASURE_RANGES[name]
            if not low <= value <= high:
                raise ValueError(f"{name} {value:g} is outside {low:g}–{high:g}")
        unknown = self.uncertain - MEASURE_NAMES
        if unknown:
            raise ValueError(f"unknown uncertain measure(s): {', '.join(sorted(unknown))}")
        return self

    def certain(self, name: str) -> float | None:
        """The value of ``name`` if the visit has it and no quality check flagged it, else None."""
        if name in self.uncertain:
            return None
        return self.measures.get(name)


class Case(BaseModel):
    """One case as its events say it is now (the result of :func:`processing.cases.fold`)."""

    model_config = ConfigDict(frozen=True)

    case_id: CaseId
    participant: Pseudonym
    domain: Domain
    state: CaseState
    severity: Severity
    opened_at: AwareDatetime | None = Field(description="processing time of the opened event")
    at: AwareDatetime | None = Field(description="the triggering visit's time")
    station_id: StationId = Field(description="the triggering visit's station")
    visit_id: MessageId | None = None
    evidence: Evidence | None = Field(default=None, description="why it was opened")
    latest_evidence: Evidence | None = Field(default=None, description="the newest detection's evidence")
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: StaffId | None = None
    assignee: StaffId | None = None
    prescriptions: tuple[SocialPrescription, ...] = ()
    follow_up_on: dt.date | None = None
    close_suggested_at: AwareDatetime | None = Field(
        default=None, description="visit time of the newest close suggestion"
    )
    resolved_at: AwareDatetime | None = None
    resolved_by: StaffId | None = None
    reason: ResolveReason | None = None
    resolution_event_id: EventId | None = Field(
        default=None, description="the resolved event that ended this case (the next episode's marker)"
    )
    notes: tuple[str, ...] = ()
    events: int = Field(description="distinct events in the log for this case")
    last_processed_at: AwareDatetime


class CaseTransitionError(ValueError):
    """An action the case's current state does not allow (e.g. resolving a resolved case).

    ``reason`` is :attr:`telemetry.errors.Reason.CASE_TRANSITION` (the dead-letter reason when a
    station sends such an action); ``code`` says which rule (the station page's codes): ``case_resolved``,
    ``already_acknowledged``, ``date_in_past``, ``date_too_far``, ``unknown_case``.
    """

    def __init__(self, code: str, detail: str) -> None:
        self.reason = Reason.CASE_TRANSITION
        self.code = code
        self.detail = detail
        super().__init__(f"{self.reason.value} ({code}): {detail}")
