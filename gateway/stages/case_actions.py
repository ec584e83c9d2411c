"""Stage: a station's counsellor action on a case — checked against the case-event log, appended.

A :class:`telemetry.cases.CaseEvent` on ``fw/v1/<station>/cases`` reaches this stage after the
router decoded it strictly and found the payload's station to be the topic's (else
``impersonation``). Two statements, read with the batch's other jobs: whether the station has a
visit of the participant (a score point there), and the participant's case-event log. The checks,
in order, each refusal a dead letter with its own reason:

1. an action, not a detection, and not by the detector's actor (``frailwatch``) — ``impersonation``;
2. an event id already in the log: the same action again (a station's re-send) is acknowledged
   without a second point — its alert is published again, for at-least-once; a *different*
   event under that id is ``duplicate``;
3. the station serves the participant: it has a visit of them in InfluxDB — ``not_served``;
4. the case exists in the participant's log, in the event's domain — ``case_transition``
   (``unknown_case``, ``wrong_domain``);
5. ``at`` and ``processed_at`` no further than ``clock_skew_s`` in the future, nor before the case
   opened (less the same skew) — ``bad_timestamp``;
6. the transition, by :mod:`processing.cases`' action constructors (the one place the rules
   are; acknowledging twice, acting on a resolved case, a follow-up date in the past or more
   than two years ahead) — ``case_transition`` with the rule's code;
7. the event the constructor makes — state and severity from the log, the station's event id,
   actor, times and fields — carries everything the station sent; a field the action does not
   have (evidence, a visit id, an assignee on an acknowledgement) is ``invalid``.

An accepted action is written to ``case_event`` (:func:`gateway.influx.case_log.event_point`) and
published on ``fw/v1/alerts/cases/<station>``; its message is acknowledged once both are durable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import influx_schema
from gateway.dead_letters import Refusal
from gateway.followup import Effects, FollowUp, Subject
from gateway.influx import case_log
from gateway.influx.influxql import equals, identifier
from gateway.influx.reader import Row
from gateway.stages.cases import log_events
from processing.cases import (
    Case,
    CaseTransitionError,
    acknowledge,
    assign,
    fold,
    prescribe,
    resolve,
    set_follow_up,
)
from processing.cases.model import to_ms
from telemetry import codec, topics
from telemetry.cases import DETECTIONS, DETECTOR, CaseEvent, CaseEventKind
from telemetry.errors import Reason

CLOCK_SKEW_S = 300.0
_SAME_ACTION = ("case_id", "event", "actor", "station_id")


def serves_statement(participant: str, station: str) -> str:
    """One score point of ``participant`` at ``station``, if the station ever served them."""
    who = equals(influx_schema.PARTICIPANT_TAG, participant)
    where = equals(influx_schema.STATION_TAG, station)
    return f'SELECT "inputs" FROM {identifier(influx_schema.FRAILTY.name)} WHERE {who} AND {where} LIMIT 1'


def _build(case: Case, event: CaseEvent) -> CaseEvent:
    """The action as :mod:`processing.cases` makes it from the folded case (raises
    CaseTransitionError for a step the case's state does not allow)."""
    common: dict[str, Any] = {
        "actor": event.actor,
        "at": event.at,
        "station_id": event.station_id,
        "note": event.note,
        "event_id": event.event_id,
        "processed_at": event.processed_at,
    }
    kind = event.event
    if kind is CaseEventKind.ACKNOWLEDGED:
        return acknowledge(case, **common)
    if kind is CaseEventKind.ASSIGNED:
        assert event.assignee is not None  # the wire model requires it
        return assign(case, assignee=event.assignee, **common)
    if kind is CaseEventKind.PRESCRIBED:
        assert event.prescription is not None
        return prescribe(case, prescription=event.prescription, **common)
    if kind is CaseEventKind.FOLLOW_UP_SET:
        assert event.follow_up_on is not None
        return set_follow_up(case, on=event.follow_up_on, **common)
    if kind is CaseEventKind.RESOLVED:
        assert event.reason is not None
        return resolve(case, reason=event.reason, **common)
    raise CaseTransitionError("not_an_action", f"{kind.value} is not an action")


def _extra_fields(sent: CaseEvent, built: CaseEvent) -> list[str]:
    """Fields the station sent that the action, as built, does not carry (or carries otherwise)."""
    normalised = sent.model_copy(update={"at": to_ms(sent.at), "processed_at": to_ms(sent.processed_at)})
    mine = normalised.model_dump(exclude={"state", "severity"})
    theirs = built.model_dump(exclude={"state", "severity"})
    return sorted(name for name in mine if mine[name] != theirs[name])


class CaseActionStage:
    name = "case actions"

    def __init__(
        self, clock: Callable[[], datetime] | None = None, clock_skew_s: float = CLOCK_SKEW_S
    ) -> None:
        self._now = clock or (lambda: datetime.now(UTC))
        self.skew = timedelta(seconds=clock_skew_s)

    def applies(self, message: Subject) -> bool:
        return isinstance(message, CaseEvent)

    def statements(self, item: FollowUp[Subject]) -> list[str]:
        event = item.message
        if not isinstance(event, CaseEvent):
            return []
        return [
            serves_statement(event.participant, event.station_id),
            case_log.query(participant=event.participant),
        ]

    def run(self, item: FollowUp[Subject], answers: list[list[Row]]) -> Effects:
        event = item.message
        if not isinstance(event, CaseEvent):
            return Effects()
        serving, log_rows = answers
        log = log_events(log_rows)
        outcome = self._judge(event, bool(serving), log)
        if isinstance(outcome, Refusal):
            return Effects(refusals=[outcome])
        accepted, repeat = outcome
        alert = (topics.case_alert(accepted.station_id), codec.encode(accepted))
        if repeat:
            return Effects(alerts=[alert])  # the same action again: no second point
        return Effects(points=[case_log.event_point(accepted)], alerts=[alert])

    def _judge(
        self, event: CaseEvent, serving: bool, log: list[CaseEvent]
    ) -> tuple[CaseEvent, bool] | Refusal:
        """The event to append and False — or the stored one and True, for a repeat — or why the
        action is refused."""

        def refuse(reason: Reason, detail: str, path: str = "") -> Refusal:
            return Refusal(reason, detail, path, message_id=event.event_id)

        if event.event in DETECTIONS:
            return refuse(
                Reason.IMPERSONATION,
                f"a station sends counsellor actions; {event.event.value} is a detection (the gateway's)",
                "event",
            )
        if event.actor == DETECTOR:
            return refuse(Reason.IMPERSONATION, f"actor {DETECTOR!r} is the detector, not a person", "actor")
        stored = next((e for e in log if e.event_id == event.event_id), None)
        if stored is not None:
            same = all(getattr(stored, f) == getattr(event, f) for f in _SAME_ACTION)
            if same and stored.processed_at == to_ms(event.processed_at):
                return stored, True
            return refuse(
                Reason.DUPLICATE,
                f"event id {event.event_id} is already in the log for another event ({stored.event.value}"
                f" on {stored.case_id} by {stored.actor} at {stored.station_id})",
                "event_id",
            )
        if not serving:
            return refuse(
                Reason.NOT_SERVED,
                f"station {event.station_id} has no visit of this participant; it cannot act on their cases",
                "participant",
            )
        case = fold(log).get(event.case_id)
        if case is None:
            return refuse(
                Reason.CASE_TRANSITION,
                f"unknown_case: no case {event.case_id} for this participant",
                "case_id",
            )
        if case.domain is not event.domain:
            return refuse(
                Reason.CASE_TRANSITION,
                f"wrong_domain: case {event.case_id} is a {case.domain.value} case, not {event.domain.value}",
                "domain",
            )
        opened = case.opened_at or min(e.processed_at for e in log if e.case_id == case.case_id)
        now = self._now()
        for name in ("processed_at", "at"):
            when: datetime = getattr(event, name)
            if when > now + self.skew:
                return refuse(Reason.BAD_TIMESTAMP, f"{name} {when.isoformat()} is in the future", name)
            if when < opened - self.skew:
                return refuse(
                    Reason.BAD_TIMESTAMP,
                    f"{name} {when.isoformat()} is before the case opened ({opened.isoformat()})",
                    name,
                )
        try:
            built = _build(case, event)
        except CaseTransitionError as error:
            return refuse(Reason.CASE_TRANSITION, f"{error.code}: {error.detail}", "event")
        except ValueError as error:  # the event the rules make does not validate: kept, never lost
            return refuse(Reason.INVALID, f"the action does not make a valid event: {error}"[:500], "event")
        extra = _extra_fields(event, built)
        if extra:
            return refuse(
                Reason.INVALID,
                f"a {event.event.value} action does not carry {', '.join(extra)} as sent",
                extra[0],
            )
        return built, False
