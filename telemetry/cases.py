"""Decline cases on the wire: the entries of the case-event log.

A case is one participant's decline in one *domain* (mobility, strength, balance, self-report,
frailty category), with a life cycle open → acknowledged → resolved (with a reason). A case is
never a row that changes: every step is a :class:`CaseEvent` appended to a log — the gateway's
detections (opened, updated, escalated, close suggested) and people's actions (acknowledged,
assigned, prescribed, follow-up set, resolved). A case's current state is the fold of its events,
so any gateway replica can extend any case.

Where the events travel: ``fw/v1/alerts/cases/<station>`` (gateway → ops and clinical tools),
``fw/v1/<station>/cases`` (a station's counsellor actions → gateway), and the InfluxDB measurement
``case_event``. ``event_id`` identifies an event: a detection's id is derived from its case and what
triggered it, so a redelivered message or a second replica computes the same event again and the
log reader counts it once; an action's id is made once by whoever acts.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from telemetry.envelope import FreeText, MessageId, Pseudonym, StationId, WireModel, _no_identifier

CASE_ID_PATTERN = r"^case-[0-9a-f]{20}$"
EVENT_ID_PATTERN = r"^[0-9a-f]{24}$"
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$"
DETECTOR = "frailwatch"  # the actor of every detection event


class Domain(StrEnum):
    """What declines: each domain has at most one open case per participant."""

    MOBILITY = "mobility"  # gait speed, SPPB, 5x chair stand, TUG
    STRENGTH = "strength"  # grip
    BALANCE = "balance"  # centre-of-pressure sway
    SELF_REPORT = "self_report"  # K-FRAIL / Fried questionnaire items
    FRAILTY_CATEGORY = "frailty_category"  # robust → pre-frail → frail


class CaseEventKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"  # new evidence for an open case (no notification)
    ESCALATED = "escalated"  # higher severity than before (notifies)
    CLOSE_SUGGESTED = "close_suggested"  # back within measurement error for several visits
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    PRESCRIBED = "prescribed"  # a social prescription recorded
    FOLLOW_UP_SET = "follow_up_set"
    RESOLVED = "resolved"


DETECTIONS = frozenset(
    {CaseEventKind.OPENED, CaseEventKind.UPDATED, CaseEventKind.ESCALATED, CaseEventKind.CLOSE_SUGGESTED}
)
ACTIONS = frozenset(set(CaseEventKind) - DETECTIONS)
NOTIFYING = frozenset({CaseEventKind.OPENED, CaseEventKind.ESCALATED})


class CaseState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ResolveReason(StrEnum):
    CONFIRMED_REFERRED = "confirmed_referred"  # decline confirmed, person referred / prescribed
    NOT_CONFIRMED = "not_confirmed"  # a retest or call did not confirm it
    EXPLAINED = "explained"  # a known, temporary cause (injury, illness, a bad day)
    RECOVERED = "recovered"  # back within measurement error of the baseline


Severity = Literal["warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"warning": 1, "critical": 2}

CaseId = Annotated[str, Field(pattern=CASE_ID_PATTERN)]
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
StaffId = Annotated[str, Field(pattern=STAFF_ID_PATTERN), AfterValidator(_no_identifier)]
MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Values = Annotated[dict[MetricName, Annotated[float, Field(allow_inf_nan=False)]], Field(max_length=16)]


class EvidenceVisit(WireModel):
    """One visit the decision rests on."""

    visit_id: MessageId | None = None
    at: AwareDatetime
    station_id: StationId
    values: Values = Field(default_factory=dict)


class Evidence(WireModel):
    """Why the detector decided: the rule, its statistic against its threshold, the personal
    baseline, the current values and their change, and the visits involved."""

    rule: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_:]{0,63}$")]
    statistic: Annotated[float, Field(allow_inf_nan=False)] | None = None
    threshold: Annotated[float, Field(allow_inf_nan=False)] | None = None
    baseline: Values = Field(default_factory=dict)
    current: Values = Field(default_factory=dict)
    change: Values = Field(default_factory=dict)
    visits: Annotated[list[EvidenceVisit], Field(max_length=12)] = Field(default_factory=list)
    detail: Annotated[str, Field(max_length=512)] = ""


class SocialPrescription(WireModel):
    """What a counsellor linked the participant to."""

    programme: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = Field(
        description="a programme key from the station's configured list"
    )
    health_activist: bool = Field(default=False, description="matched with a health activist")
    note: FreeText | None = None


class CaseEvent(WireModel):
    """One entry of the case-event log."""

    message_type: Literal["case_event"] = "case_event"
    schema_version: Literal[1] = 1
    event_id: EventId
    case_id: CaseId
    participant: Pseudonym
    domain: Domain
    event: CaseEventKind
    state: CaseState = Field(description="the case's state after this event")
    severity: Severity
    at: AwareDatetime = Field(description="the triggering visit's time; for an action, when it was taken")
    processed_at: AwareDatetime = Field(description="when the gateway raised it or the action was recorded")
    station_id: StationId = Field(description="the triggering visit's station, or the acting station")
    visit_id: MessageId | None = None
    actor: StaffId = Field(default=DETECTOR, description="staff id, or 'frailwatch' for a detection")
    evidence: Evidence | None = None
    assignee: StaffId | None = None
    reason: ResolveReason | None = None
    note: FreeText | None = None
    prescription: SocialPrescription | None = None
    follow_up_on: dt.date | None = None

    @model_validator(mode="after")
    def _fields_fit_the_event(self) -> Self:
        kind = self.event
        if kind in DETECTIONS and self.evidence is None:
            raise ValueError(f"a {kind.value} event carries its evidence")
        if (kind is CaseEventKind.RESOLVED) != (self.reason is not None):
            raise ValueError("a reason belongs to, and only to, a resolved event")
        if (kind is CaseEventKind.RESOLVED) != (self.state is CaseState.RESOLVED):
            raise ValueError("only a resolved event leaves the case resolved")
        if kind is CaseEventKind.ASSIGNED and self.assignee is None:
            raise ValueError("an assigned event names the assignee")
        if (kind is CaseEventKind.PRESCRIBED) != (self.prescription is not None):
            raise ValueError("a prescription belongs to, and only to, a prescribed event")
        if kind is CaseEventKind.FOLLOW_UP_SET and self.follow_up_on is None:
            raise ValueError("a follow_up_set event carries the date")
        return self
