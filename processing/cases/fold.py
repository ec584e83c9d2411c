"""Cases as a fold of the append-only case-event log, and the actions people take on them.

:func:`fold` turns a log (as read back: any order, the same event_id possibly twice) into the
current :class:`~processing.cases.model.Case` of every case id. Events count once by event_id and
are applied in log order (processed_at, then event_id). The fold never refuses a stored log — two
replicas and a counsellor may have raced — so its rules do not depend on order where they need
not: the state is ``resolved`` once any resolved event exists, else ``acknowledged`` once any
action says so (acknowledging, or any other action: a person has looked at the case), else
``open``; severity is the highest any detection gave; the first
resolved event is the one that counts (it names the next episode, see
:mod:`processing.cases.identity`). Detections that arrive after the resolution change nothing.

The action constructors (:func:`acknowledge`, :func:`assign`, :func:`prescribe`,
:func:`set_follow_up`, :func:`resolve`) are where rules *are* enforced: each validates the step
against the folded case and raises :class:`~processing.cases.model.CaseTransitionError` (resolving
a resolved case, acknowledging twice, acting on a resolved case, a follow-up date in the past or
more than two years ahead — the same rules and codes as the station page's ``edge.case_actions``).
Every action on an open case acknowledges it. Each returns one new
:class:`telemetry.cases.CaseEvent` with a fresh event id (made once, by whoever acts) for the
caller to append. Free text is checked for identifiers by the wire model.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from processing.cases.identity import log_order
from processing.cases.model import Case, CaseTransitionError, to_ms
from telemetry.cases import (
    DETECTIONS,
    SEVERITY_RANK,
    CaseEvent,
    CaseEventKind,
    CaseState,
    ResolveReason,
    SocialPrescription,
)

MAX_FOLLOW_UP_DAYS = 730  # as the station page (edge.case_actions)


def fold(log: Iterable[CaseEvent]) -> dict[str, Case]:
    """The current state of every case in ``log``, by case id (see module docstring)."""
    by_case: dict[str, list[CaseEvent]] = {}
    for event in log_order(log):
        by_case.setdefault(event.case_id, []).append(event)
    return {cid: _fold_case(events) for cid, events in by_case.items()}


def _fold_case(events: list[CaseEvent]) -> Case:
    first = events[0]
    opened = next((e for e in events if e.event is CaseEventKind.OPENED), None)
    trigger = opened or next((e for e in events if e.event in DETECTIONS), first)
    resolved = next((e for e in events if e.event is CaseEventKind.RESOLVED), None)
    live = events if resolved is None else [e for e in events if _before_or_is(e, resolved)]
    acknowledged = next(
        (e for e in live if e.event not in DETECTIONS and e.state is CaseState.ACKNOWLEDGED), None
    )
    detections = [e for e in live if e.event in DETECTIONS]
    severity = max((e.severity for e in detections or live), key=lambda s: SEVERITY_RANK[s])
    state = (
        CaseState.RESOLVED
        if resolved is not None
        else (CaseState.ACKNOWLEDGED if acknowledged is not None else CaseState.OPEN)
    )
    assigned = [e for e in live if e.event is CaseEventKind.ASSIGNED]
    follow_ups = [e for e in live if e.event is CaseEventKind.FOLLOW_UP_SET]
    suggestions = [e for e in live if e.event is CaseEventKind.CLOSE_SUGGESTED]
    return Case(
        case_id=first.case_id,
        participant=first.participant,
        domain=first.domain,
        state=state,
        severity=severity,
        opened_at=opened.processed_at if opened else None,
        at=trigger.at if trigger.event in DETECTIONS else None,
        station_id=trigger.station_id,
        visit_id=trigger.visit_id,
        evidence=opened.evidence if opened else None,
        latest_evidence=detections[-1].evidence if detections else None,
        acknowledged_at=acknowledged.at if acknowledged else None,
        acknowledged_by=acknowledged.actor if acknowledged else None,
        assignee=assigned[-1].assignee if assigned else None,
        prescriptions=tuple(e.prescription for e in live if e.prescription is not None),
        follow_up_on=follow_ups[-1].follow_up_on if follow_ups else None,
        close_suggested_at=max((e.at for e in suggestions), default=None),
        resolved_at=resolved.at if resolved else None,
        resolved_by=resolved.actor if resolved else None,
        reason=resolved.reason if resolved else None,
        resolution_event_id=resolved.event_id if resolved else None,
        notes=tuple(e.note for e in live if e.note),
        events=len(events),
        last_processed_at=events[-1].processed_at,
    )


def _before_or_is(event: CaseEvent, resolved: CaseEvent) -> bool:
    return (event.processed_at, event.event_id) <= (resolved.processed_at, resolved.event_id)


# --- actions ---------------------------------------------------------------------------------------


def _refuse_if_resolved(case: Case, what: str) -> None:
    if case.state is CaseState.RESOLVED:
        reason = case.reason.value if case.reason else "?"
        raise CaseTransitionError(
            "case_resolved", f"cannot {what} case {case.case_id}: it was resolved ({reason})"
        )


def _action(
    case: Case,
    kind: CaseEventKind,
    state: CaseState,
    *,
    actor: str,
    at: datetime,
    station_id: str | None,
    note: str | None,
    event_id: str | None,
    processed_at: datetime | None,
    **fields: Any,
) -> CaseEvent:
    at = to_ms(at)
    return CaseEvent(
        event_id=event_id or secrets.token_hex(12),
        case_id=case.case_id,
        participant=case.participant,
        domain=case.domain,
        event=kind,
        state=state,
        severity=case.severity,
        at=at,
        processed_at=to_ms(processed_at) if processed_at is not None else at,
        station_id=station_id or case.station_id,
        actor=actor,
        note=note,
        **fields,
    )


def acknowledge(
    case: Case,
    *,
    actor: str,
    at: datetime,
    station_id: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    processed_at: datetime | None = None,
) -> CaseEvent:
    """A counsellor has seen the case (open → acknowledged). Refused on a resolved or an already
    acknowledged case."""
    _refuse_if_resolved(case, "acknowledge")
    if case.state is CaseState.ACKNOWLEDGED:
        raise CaseTransitionError(
            "already_acknowledged", f"case {case.case_id} was already acknowledged by {case.acknowledged_by}"
        )
    return _action(
        case,
        CaseEventKind.ACKNOWLEDGED,
        CaseState.ACKNOWLEDGED,
        actor=actor,
        at=at,
        station_id=station_id,
        note=note,
        event_id=event_id,
        processed_at=processed_at,
    )


def assign(
    case: Case,
    *,
    actor: str,
    assignee: str,
    at: datetime,
    station_id: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    processed_at: datetime | None = None,
) -> CaseEvent:
    """Name the staff member who follows the case up (acknowledges an open case). Refused on a
    resolved case."""
    _refuse_if_resolved(case, "assign")
    return _action(
        case,
        CaseEventKind.ASSIGNED,
        CaseState.ACKNOWLEDGED,
        actor=actor,
        at=at,
        station_id=station_id,
        note=note,
        event_id=event_id,
        processed_at=processed_at,
        assignee=assignee,
    )


def prescribe(
    case: Case,
    *,
    actor: str,
    prescription: SocialPrescription,
    at: datetime,
    station_id: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    processed_at: datetime | None = None,
) -> CaseEvent:
    """Record a social prescription for the case (acknowledges an open case). Refused on a resolved
    case."""
    _refuse_if_resolved(case, "prescribe for")
    return _action(
        case,
        CaseEventKind.PRESCRIBED,
        CaseState.ACKNOWLEDGED,
        actor=actor,
        at=at,
        station_id=station_id,
        note=note,
        event_id=event_id,
        processed_at=processed_at,
        prescription=prescription,
    )


def set_follow_up(
    case: Case,
    *,
    actor: str,
    on: dt.date,
    at: datetime,
    station_id: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    processed_at: datetime | None = None,
) -> CaseEvent:
    """Set the follow-up date (acknowledges an open case). Refused on a resolved case, and for a date
    before ``at``'s day or more than :data:`MAX_FOLLOW_UP_DAYS` after it."""
    _refuse_if_resolved(case, "set a follow-up on")
    today = at.astimezone(UTC).date()
    if on < today:
        raise CaseTransitionError("date_in_past", f"follow-up date {on} is before {today}")
    if (on - today).days > MAX_FOLLOW_UP_DAYS:
        raise CaseTransitionError("date_too_far", f"a follow-up is at most {MAX_FOLLOW_UP_DAYS} days ahead")
    return _action(
        case,
        CaseEventKind.FOLLOW_UP_SET,
        CaseState.ACKNOWLEDGED,
        actor=actor,
        at=at,
        station_id=station_id,
        note=note,
        event_id=event_id,
        processed_at=processed_at,
        follow_up_on=on,
    )


def resolve(
    case: Case,
    *,
    actor: str,
    reason: ResolveReason,
    at: datetime,
    station_id: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    processed_at: datetime | None = None,
) -> CaseEvent:
    """Close the case with a reason; the next visit starts a new episode. Refused on a resolved case.

    What the next episode compares with (see :mod:`processing.cases.detect`): after
    ``confirmed_referred`` the post-decline level, after any other reason the old baseline."""
    _refuse_if_resolved(case, "resolve")
    return _action(
        case,
        CaseEventKind.RESOLVED,
        CaseState.RESOLVED,
        actor=actor,
        at=at,
        station_id=station_id,
        note=note,
        event_id=event_id,
        processed_at=processed_at,
        reason=reason,
    )
