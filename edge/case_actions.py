"""Counsellor actions on cases at the station: the case as the station knows it, and the checked
step from that state to a new :class:`telemetry.cases.CaseEvent`.

The station knows a case from two sources: the latest snapshot the gateway sent in a
:class:`telemetry.results.VisitResult` (an :class:`~telemetry.results.OpenCase`, or its absence:
the case was resolved elsewhere), and the actions taken here since that snapshot. :func:`fold`
combines them into a :class:`LocalCase`; :func:`act` validates one action against it and builds
the event. ``act`` is the one place the transition rules live, so the shared case operations
(``processing.cases``) can replace it without touching the page:

- a resolved case takes no more actions;
- acknowledge: only an open case;
- prescribe (a social prescription), set a follow-up date, resolve (with a reason): an open or
  acknowledged case; acting on an open case acknowledges it (a person has looked at it);
- a follow-up date is today or later (station-local), within two years.

An action's ``event_id`` is derived from the form it was made on (``form_nonce``), so a form
sent twice (a double click, a browser re-sending a POST) is one event, here and centrally.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from telemetry.cases import (
    CaseEvent,
    CaseEventKind,
    CaseState,
    Domain,
    Evidence,
    ResolveReason,
    Severity,
    SocialPrescription,
)
from telemetry.results import OpenCase

MAX_FOLLOW_UP_DAYS = 730


class ActionRefused(ValueError):
    """The action does not fit the case's state, or its fields are wrong. ``code`` is a stable key
    the page words in the reader's language; ``field`` names the form field at fault."""

    def __init__(self, code: str, detail: str, field: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class LocalCase:
    """A case as this station knows it now."""

    case_id: str
    participant: str
    domain: Domain
    state: CaseState
    severity: Severity
    opened_at: dt.datetime
    updated_at: dt.datetime
    evidence: Evidence | None = None
    prescription: SocialPrescription | None = None
    prescribed_at: dt.datetime | None = None
    follow_up_on: dt.date | None = None
    follow_up_set_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    reason: ResolveReason | None = None

    @property
    def open(self) -> bool:
        return self.state is not CaseState.RESOLVED


def from_snapshot(participant: str, case: OpenCase) -> LocalCase:
    return LocalCase(
        case_id=case.case_id,
        participant=participant,
        domain=case.domain,
        state=CaseState(case.state),
        severity=case.severity,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        evidence=case.evidence,
        prescription=case.prescription,
        prescribed_at=case.prescribed_at,
        follow_up_on=case.follow_up_on,
        follow_up_set_at=case.follow_up_set_at,
    )


def fold(base: LocalCase, actions: Iterable[CaseEvent], closed_at: dt.datetime | None = None) -> LocalCase:
    """``base`` (the gateway's snapshot) with the station's own later actions applied in order;
    ``closed_at``: when a newer result no longer listed the case as open (resolved elsewhere)."""
    case = base
    for event in sorted(actions, key=lambda e: (e.processed_at, e.event_id)):
        if event.processed_at <= base.updated_at:
            continue  # the snapshot already includes it
        case = apply(case, event)
    if closed_at is not None and case.open and closed_at > case.updated_at:
        case = replace(case, state=CaseState.RESOLVED, resolved_at=closed_at)
    return case


def apply(case: LocalCase, event: CaseEvent) -> LocalCase:
    """The case after one of its events."""
    changes: dict[str, Any] = {"state": event.state, "updated_at": event.processed_at}
    if event.event is CaseEventKind.PRESCRIBED:
        changes.update(prescription=event.prescription, prescribed_at=event.processed_at)
    elif event.event is CaseEventKind.FOLLOW_UP_SET:
        changes.update(follow_up_on=event.follow_up_on, follow_up_set_at=event.processed_at)
    elif event.event is CaseEventKind.RESOLVED:
        changes.update(resolved_at=event.processed_at, reason=event.reason)
    return replace(case, **changes)


def event_id_for(station_id: str, case_id: str, kind: CaseEventKind, form_nonce: str) -> str:
    digest = hashlib.sha256(f"{station_id}\n{case_id}\n{kind.value}\n{form_nonce}".encode()).hexdigest()
    return digest[:24]


def act(
    case: LocalCase,
    kind: CaseEventKind,
    *,
    actor: str,
    station_id: str,
    now: dt.datetime,
    today: dt.date,
    form_nonce: str,
    reason: ResolveReason | None = None,
    note: str | None = None,
    prescription: SocialPrescription | None = None,
    follow_up_on: dt.date | None = None,
) -> CaseEvent:
    """The event for a counsellor's action on ``case``, or :class:`ActionRefused`."""
    if not case.open:
        raise ActionRefused("case_resolved", f"case {case.case_id} is already resolved")
    if kind is CaseEventKind.ACKNOWLEDGED and case.state is not CaseState.OPEN:
        raise ActionRefused("already_acknowledged", f"case {case.case_id} is already acknowledged")
    if kind is CaseEventKind.RESOLVED and reason is None:
        raise ActionRefused("reason_required", "resolving a case needs a reason", "reason")
    if kind is CaseEventKind.PRESCRIBED and prescription is None:
        raise ActionRefused("programme_required", "a social prescription needs a programme", "programme")
    if kind is CaseEventKind.FOLLOW_UP_SET:
        if follow_up_on is None:
            raise ActionRefused("date_required", "a follow-up needs a date", "follow_up_on")
        if follow_up_on < today:
            raise ActionRefused(
                "date_in_past", f"follow-up date {follow_up_on} is in the past", "follow_up_on"
            )
        if (follow_up_on - today).days > MAX_FOLLOW_UP_DAYS:
            raise ActionRefused("date_too_far", "a follow-up is at most two years ahead", "follow_up_on")
    if kind not in (
        CaseEventKind.ACKNOWLEDGED,
        CaseEventKind.PRESCRIBED,
        CaseEventKind.FOLLOW_UP_SET,
        CaseEventKind.RESOLVED,
    ):
        raise ActionRefused("not_an_action", f"{kind.value} is not a station action")
    state = CaseState.RESOLVED if kind is CaseEventKind.RESOLVED else CaseState.ACKNOWLEDGED
    try:
        return CaseEvent(
            event_id=event_id_for(station_id, case.case_id, kind, form_nonce),
            case_id=case.case_id,
            participant=case.participant,
            domain=case.domain,
            event=kind,
            state=state,
            severity=case.severity,
            at=now,
            processed_at=now,
            station_id=station_id,
            actor=actor,
            reason=reason if kind is CaseEventKind.RESOLVED else None,
            note=note or None,
            prescription=prescription if kind is CaseEventKind.PRESCRIBED else None,
            follow_up_on=follow_up_on if kind is CaseEventKind.FOLLOW_UP_SET else None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        code = "identifier_in_text" if first["type"] == "identifier_in_text" else "invalid"
        raise ActionRefused(code, f"{where}: {first['msg']}", where) from None


def prescription_from_form(programme: str, health_activist: bool, note: str | None) -> SocialPrescription:
    """A SocialPrescription from form fields; :class:`ActionRefused` names the field at fault."""
    try:
        return SocialPrescription(programme=programme, health_activist=health_activist, note=note or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "programme"
        code = "identifier_in_text" if first["type"] == "identifier_in_text" else "invalid"
        raise ActionRefused(code, f"{field}: {first['msg']}", field) from None
