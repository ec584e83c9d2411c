"""The case-action stage against a real InfluxDB 1.x, without MQTT: a counsellor's action made the way
the station page makes it (``edge.case_actions.act`` on the case as the gateway's result described
it) is checked against the stored case-event log and appended; everything else is refused with its
own reason, and a re-sent action is acknowledged without a second point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from edge.case_actions import act, from_snapshot
from gateway import influx_schema
from gateway.followup import FollowUp
from gateway.influx import case_log
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import V1Transport
from gateway.readings import reading_points
from gateway.stages.case_actions import CaseActionStage
from gateway.stages.visit_scores import VisitScoresStage
from processing.cases import case_id, detection_event_id
from processing.results import open_cases
from telemetry import DeviceKind, decode_as, topics
from telemetry.cases import (
    CaseEvent,
    CaseEventKind,
    CaseState,
    Domain,
    Evidence,
    ResolveReason,
    SocialPrescription,
)
from telemetry.errors import Reason
from telemetry.examples import EXAMPLE_PSEUDONYM
from tests._gateway_support import run_stage, stage_message, write_points
from tests.conftest import InfluxTestDB

NOW = datetime.now(UTC).replace(microsecond=0)
OPENED_AT = NOW - timedelta(hours=2)
STAFF = "counsellor.kim"
CASE = case_id(EXAMPLE_PSEUDONYM, Domain.MOBILITY)


@pytest.fixture
def transport(influxdb: InfluxTestDB) -> V1Transport:
    return V1Transport(influxdb.url, influxdb.database)


@pytest.fixture
def reader(transport: V1Transport) -> InfluxReader:
    return InfluxReader(transport)


@pytest.fixture
def served(influxdb: InfluxTestDB, reader: InfluxReader, transport: V1Transport) -> CaseEvent:
    """The participant visited gj-01 (a score point there) and has an open mobility case."""
    grip = stage_message(DeviceKind.GRIP, OPENED_AT - timedelta(minutes=5), 1, station="gj-01")
    write_points(influxdb, reading_points(grip))
    write_points(influxdb, run_stage(VisitScoresStage(), reader, FollowUp(grip)).points)
    opened = CaseEvent(
        event_id=detection_event_id(CASE, CaseEventKind.OPENED),
        case_id=CASE,
        participant=EXAMPLE_PSEUDONYM,
        domain=Domain.MOBILITY,
        event=CaseEventKind.OPENED,
        state=CaseState.OPEN,
        severity="warning",
        at=OPENED_AT - timedelta(minutes=5),
        processed_at=OPENED_AT,
        station_id="gj-01",
        visit_id=grip.visit_id,
        evidence=Evidence(rule="cutoff:gait_speed_mps", statistic=0.82, threshold=1.0),
    )
    case_log.append(transport, [opened])
    return opened


def _stage() -> CaseActionStage:
    return CaseActionStage(clock=lambda: NOW)


def _station_action(
    transport: V1Transport,
    kind: CaseEventKind,
    nonce: str = "form-1",
    station: str = "gj-01",
    **fields: object,
) -> CaseEvent:
    """The action as the station page makes it, on the case as the gateway's latest result said."""
    (snapshot,) = open_cases(case_log.read(transport, participant=EXAMPLE_PSEUDONYM))
    return act(
        from_snapshot(EXAMPLE_PSEUDONYM, snapshot),
        kind,
        actor=STAFF,
        station_id=station,
        now=NOW - timedelta(minutes=1),
        today=NOW.date(),
        form_nonce=nonce,
        **fields,  # type: ignore[arg-type]
    )


def _run(reader: InfluxReader, event: CaseEvent) -> object:
    return run_stage(_stage(), reader, FollowUp(event))


def test_an_acknowledgement_is_appended_with_the_logs_severity_and_published(
    served: CaseEvent, reader: InfluxReader, transport: V1Transport, influxdb: InfluxTestDB
) -> None:
    sent = _station_action(transport, CaseEventKind.ACKNOWLEDGED).model_copy(update={"severity": "critical"})
    effects = _run(reader, sent)
    assert effects.refusals == []  # type: ignore[attr-defined]
    ((name, _at, tags, fields),) = effects.points  # type: ignore[attr-defined]
    assert (
        name == influx_schema.CASE_EVENT.name
        and tags["event"] == "acknowledged"
        and tags["severity"] == "warning"
    )
    assert (
        fields["event_id"] == sent.event_id and fields["actor"] == STAFF and fields["state"] == "acknowledged"
    )
    ((topic, payload),) = effects.alerts  # type: ignore[attr-defined]
    assert topic == topics.case_alert("gj-01")
    published = decode_as(CaseEvent, payload)
    assert published.severity == "warning" and published.processed_at == sent.processed_at.replace(
        microsecond=sent.processed_at.microsecond // 1000 * 1000
    )
    write_points(influxdb, effects.points)  # type: ignore[attr-defined]
    (case,) = open_cases(case_log.read(transport, participant=EXAMPLE_PSEUDONYM))
    assert case.state is CaseState.ACKNOWLEDGED and case.last_event is CaseEventKind.ACKNOWLEDGED
    # The station re-sends it (a lost PUBACK): acknowledged again, no second point, alert again.
    again = _run(reader, sent)
    assert again.points == [] and again.refusals == []  # type: ignore[attr-defined]
    assert [t for t, _ in again.alerts] == [topics.case_alert("gj-01")]  # type: ignore[attr-defined]
    # Acknowledging the acknowledged case (another form) is a transition the case does not allow.
    twice = _run(reader, sent.model_copy(update={"event_id": "b" * 24}))
    ((refusal,),) = [twice.refusals]  # type: ignore[attr-defined]
    assert refusal.reason is Reason.CASE_TRANSITION and refusal.detail.startswith("already_acknowledged")


def test_prescription_follow_up_and_resolution_fold_into_the_case(
    served: CaseEvent, reader: InfluxReader, transport: V1Transport, influxdb: InfluxTestDB
) -> None:
    steps: list[tuple[CaseEventKind, dict[str, object]]] = [
        (
            CaseEventKind.PRESCRIBED,
            {"prescription": SocialPrescription(programme="exercise", health_activist=True)},
        ),
        (CaseEventKind.FOLLOW_UP_SET, {"follow_up_on": NOW.date() + timedelta(days=30)}),
    ]
    for n, (kind, fields) in enumerate(steps):
        effects = _run(reader, _station_action(transport, kind, nonce=f"form-{n}", **fields))
        assert effects.refusals == [], effects.refusals  # type: ignore[attr-defined]
        write_points(influxdb, effects.points)  # type: ignore[attr-defined]
    (case,) = open_cases(case_log.read(transport, participant=EXAMPLE_PSEUDONYM))
    assert case.state is CaseState.ACKNOWLEDGED and case.prescription is not None
    assert case.prescription.programme == "exercise" and case.follow_up_on == NOW.date() + timedelta(days=30)
    resolve = _station_action(
        transport, CaseEventKind.RESOLVED, nonce="form-r", reason=ResolveReason.EXPLAINED
    )
    write_points(influxdb, _run(reader, resolve).points)  # type: ignore[attr-defined]
    assert open_cases(case_log.read(transport, participant=EXAMPLE_PSEUDONYM)) == []
    late = resolve.model_copy(
        update={
            "event_id": "c" * 24,
            "event": CaseEventKind.PRESCRIBED,
            "reason": None,
            "state": CaseState.ACKNOWLEDGED,
            "prescription": SocialPrescription(programme="nutrition"),
        }
    )
    (refusal,) = _run(reader, late).refusals  # type: ignore[attr-defined]
    assert refusal.reason is Reason.CASE_TRANSITION and refusal.detail.startswith("case_resolved")


Change = Callable[[CaseEvent], CaseEvent]


def _with(**update: object) -> Change:
    return lambda event: event.model_copy(update=update)


REFUSALS: list[tuple[str, Change, Reason, str, str]] = [
    (
        "a detection from a station",
        _with(event=CaseEventKind.OPENED, state=CaseState.OPEN, evidence=Evidence(rule="cutoff:grip_max_kg")),
        Reason.IMPERSONATION,
        "event",
        "detection",
    ),
    ("the detector's actor", _with(actor="frailwatch"), Reason.IMPERSONATION, "actor", "detector"),
    (
        "another id's event",
        _with(event_id=detection_event_id(CASE, CaseEventKind.OPENED)),
        Reason.DUPLICATE,
        "event_id",
        "already in the log",
    ),
    (
        "a station that never served them",
        _with(station_id="gj-02"),
        Reason.NOT_SERVED,
        "participant",
        "gj-02",
    ),
    ("an unknown case", _with(case_id="case-" + "0" * 20), Reason.CASE_TRANSITION, "case_id", "unknown_case"),
    ("the wrong domain", _with(domain=Domain.STRENGTH), Reason.CASE_TRANSITION, "domain", "wrong_domain"),
    (
        "stamped in the future",
        _with(processed_at=NOW + timedelta(hours=1)),
        Reason.BAD_TIMESTAMP,
        "processed_at",
        "future",
    ),
    ("taken in the future", _with(at=NOW + timedelta(hours=1)), Reason.BAD_TIMESTAMP, "at", "future"),
    (
        "before the case opened",
        _with(processed_at=OPENED_AT - timedelta(hours=1)),
        Reason.BAD_TIMESTAMP,
        "processed_at",
        "before the case opened",
    ),
    (
        "evidence on an action",
        _with(evidence=Evidence(rule="cutoff:grip_max_kg")),
        Reason.INVALID,
        "evidence",
        "does not carry evidence",
    ),
    ("a visit id on an action", _with(visit_id="visit-x"), Reason.INVALID, "visit_id", "visit_id"),
]


@pytest.mark.parametrize(
    ("what", "change", "reason", "path", "detail"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused_actions_become_dead_letters_with_their_reason(
    served: CaseEvent,
    reader: InfluxReader,
    transport: V1Transport,
    what: str,
    change: Change,
    reason: Reason,
    path: str,
    detail: str,
) -> None:
    event = change(_station_action(transport, CaseEventKind.ACKNOWLEDGED))
    effects = _run(reader, event)
    assert effects.points == [] and effects.alerts == []  # type: ignore[attr-defined]
    (refusal,) = effects.refusals  # type: ignore[attr-defined]
    assert (refusal.reason, refusal.path) == (reason, path), refusal
    assert detail in refusal.detail and refusal.message_id == event.event_id


def test_a_follow_up_date_in_the_past_is_refused_by_the_case_rules(
    served: CaseEvent, reader: InfluxReader, transport: V1Transport
) -> None:
    event = _station_action(transport, CaseEventKind.FOLLOW_UP_SET, follow_up_on=NOW.date())
    past = event.model_copy(update={"follow_up_on": date.fromordinal(NOW.date().toordinal() - 3)})
    (refusal,) = _run(reader, past).refusals  # type: ignore[attr-defined]
    assert refusal.reason is Reason.CASE_TRANSITION and refusal.detail.startswith("date_in_past")
    assert _run(reader, event).refusals == []  # type: ignore[attr-defined]


def test_device_messages_are_not_for_this_stage() -> None:
    grip = stage_message(DeviceKind.GRIP, NOW, 1)
    assert not _stage().applies(grip) and _stage().statements(FollowUp(grip)) == []
