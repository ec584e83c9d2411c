"""The case-event log in InfluxDB: append :class:`telemetry.cases.CaseEvent` points, read them back.

One point per event in ``case_event`` (:data:`gateway.influx_schema.CASE_EVENT`): tags participant,
domain, case_id, event, station_id, severity; the timestamp is ``processed_at`` at millisecond
precision plus a sub-millisecond offset from a hash of the event id, so a late visit's event is new
at processing time (alert rules look back minutes on processing time) and two events never collide,
while the same event written twice (a redelivery, a second replica) lands on its own point. Readers
count an event id once anyway (:func:`processing.cases.fold`). Free text is stored on one line;
the evidence as compact JSON, at most :data:`MAX_EVIDENCE_BYTES`.

Transport: any :class:`gateway.influx.transport.InfluxTransport` (v1 ``/write`` and ``/query``).
The gateway can use :func:`event_point` and :func:`append` for what it detects, the CLI and the
station page's backend for people's actions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway import influx_schema
from gateway.influx.influxql import equals, identifier
from gateway.influx.lineprotocol import encode_point
from gateway.influx.transport import InfluxTransport
from telemetry.cases import SEVERITY_RANK, CaseEvent, Evidence, SocialPrescription

MAX_EVIDENCE_BYTES = 8192
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_MS = 1_000_000
_SPACE = re.compile(r"\s+")
TAGS = influx_schema.CASE_EVENT.tags


def _ms(at: datetime) -> int:
    delta = at.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def event_time_ns(event: CaseEvent) -> int:
    """processed_at (ms) + hash(event_id) in the last six digits."""
    offset = int(hashlib.sha256(event.event_id.encode()).hexdigest()[:12], 16) % _NS_PER_MS
    return _ms(event.processed_at) * _NS_PER_MS + offset


def _one_line(text: str | None) -> str | None:
    return None if text is None else _SPACE.sub(" ", text).strip()


def _evidence_json(evidence: Evidence | None) -> str | None:
    if evidence is None:
        return None
    while True:
        text = evidence.model_dump_json(exclude_none=True)
        if len(text.encode()) <= MAX_EVIDENCE_BYTES or not evidence.visits:
            return text
        evidence = evidence.model_copy(update={"visits": evidence.visits[1:]})  # drop the oldest


def event_point(event: CaseEvent) -> tuple[str, int, dict[str, str], dict[str, Any]]:
    """The ``case_event`` point of one event: (measurement, time_ns, tags, fields)."""
    evidence = event.evidence
    prescription = event.prescription
    tags = {
        influx_schema.PARTICIPANT_TAG: event.participant,
        "domain": event.domain.value,
        "case_id": event.case_id,
        "event": event.event.value,
        influx_schema.STATION_TAG: event.station_id,
        "severity": event.severity,
    }
    fields: dict[str, Any] = {
        "event_id": event.event_id,
        "state": event.state.value,
        "severity_level": SEVERITY_RANK[event.severity],
        "at": _ms(event.at),
        "visit_id": event.visit_id,
        "actor": event.actor,
        "rule": evidence.rule if evidence else None,
        "statistic": evidence.statistic if evidence else None,
        "threshold": evidence.threshold if evidence else None,
        "reason": event.reason.value if event.reason else None,
        "assignee": event.assignee,
        "note": _one_line(event.note),
        "follow_up_on": event.follow_up_on.isoformat() if event.follow_up_on else None,
        "programme": prescription.programme if prescription else None,
        "health_activist": prescription.health_activist if prescription else None,
        "prescription_note": _one_line(prescription.note) if prescription else None,
        "evidence_json": _evidence_json(evidence),
    }
    assert set(tags) == set(TAGS) and set(fields) == influx_schema.CASE_EVENT.field_names, "schema drift"
    return influx_schema.CASE_EVENT.name, event_time_ns(event), tags, fields


def encode_events(events: Iterable[CaseEvent]) -> bytes:
    """Line protocol for ``events``."""
    return b"".join(encode_point(*event_point(e)) for e in events)


def append(transport: InfluxTransport, events: Sequence[CaseEvent]) -> None:
    """Write ``events`` in one request to the database's default retention policy, as the gateway
    writes everything (``frailwatch influx init`` makes it the schema's ``forever``); raises the
    transport's WriteRejected / InfluxUnavailable."""
    if events:
        transport.write(encode_events(events))


def query(
    *, participant: str | None = None, case_id: str | None = None, since: datetime | None = None
) -> str:
    """The InfluxQL that reads the log, optionally one participant's, one case's, or since a time."""
    where = []
    if participant is not None:
        where.append(equals(influx_schema.PARTICIPANT_TAG, participant))
    if case_id is not None:
        where.append(equals("case_id", case_id))
    if since is not None:
        where.append(f"time >= {_ms(since) * _NS_PER_MS}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM {identifier(influx_schema.CASE_EVENT.name)}{clause}"


def event_from_row(row: Mapping[str, Any]) -> CaseEvent:
    """A :class:`CaseEvent` from one row read back (raises ValueError / ValidationError if bad)."""
    evidence_text = row.get("evidence_json")
    programme = row.get("programme")
    prescription = (
        SocialPrescription(
            programme=programme,
            health_activist=bool(row.get("health_activist")),
            note=row.get("prescription_note"),
        )
        if programme
        else None
    )
    follow_up = row.get("follow_up_on")
    return CaseEvent(
        event_id=row["event_id"],
        case_id=row["case_id"],
        participant=row[influx_schema.PARTICIPANT_TAG],
        domain=row["domain"],
        event=row["event"],
        state=row["state"],
        severity=row["severity"],
        at=_from_ms(int(row["at"])),
        processed_at=_from_ms(int(row["time"]) // _NS_PER_MS),
        station_id=row[influx_schema.STATION_TAG],
        visit_id=row.get("visit_id"),
        actor=row["actor"],
        evidence=Evidence.model_validate(json.loads(evidence_text)) if evidence_text else None,
        assignee=row.get("assignee"),
        reason=row.get("reason"),
        note=row.get("note"),
        prescription=prescription,
        follow_up_on=date.fromisoformat(follow_up) if follow_up else None,
    )


def read(
    transport: InfluxTransport,
    *,
    participant: str | None = None,
    case_id: str | None = None,
    since: datetime | None = None,
) -> list[CaseEvent]:
    """The log (or a participant's, or a case's), each event once, in log order."""
    from processing.cases.identity import log_order

    rows = transport.query(query(participant=participant, case_id=case_id, since=since))
    return log_order(event_from_row(row) for row in rows)
