"""Stage: decline cases — the participant's visit history and case-event log → the new case events.

Runs once the visit's score point is durable (the previous stage). Two statements, read with the
batch's other jobs in one request: every visit score point of the participant (any station; the
point carries the visit's scores *and* the measures the detector judges, see
:mod:`gateway.stages.visit_scores`), and the participant's case-event log. Each point becomes a
:class:`processing.cases.VisitMeasures`; :func:`processing.cases.assess` — the same function
``frailwatch cases replay`` runs — returns the events the log does not hold yet; each is written
to ``case_event`` (:mod:`gateway.influx.case_log`) and published on ``fw/v1/alerts/cases/<station>``.

Stateless and safe to repeat: assess never returns an event whose id is in the log, so a
redelivered message writes nothing new, and case and event ids are derived from the data, so two
replicas that each saw part of a participant's visits name the same case alike. A participant's
jobs run one at a time within a replica (the pipeline), so each reads the events of the one before.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import influx_schema
from gateway.followup import Effects, FollowUp, Subject
from gateway.influx import case_log
from gateway.influx.influxql import equals, identifier
from gateway.influx.reader import Row
from gateway.stages.visit_scores import scored
from processing.cases import DetectorSettings, VisitMeasures, assess
from processing.cases.model import MEASURE_NAMES, MEASURE_RANGES
from telemetry import codec, topics
from telemetry.cases import CaseEvent

log = logging.getLogger("frailwatch.gateway")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Score-point fields that are detector measures (the rest of MEASURE_NAMES are on it too).
_MEASURES = tuple(sorted(MEASURE_NAMES))
_COLUMNS = ("visit_id", "visit_at", "sex", "gait_uncertain", *_MEASURES)


def visits_statement(participant: str) -> str:
    """Every visit score point of ``participant``, with its station."""
    columns = ", ".join(identifier(c) for c in (*_COLUMNS, influx_schema.STATION_TAG))
    who = equals(influx_schema.PARTICIPANT_TAG, participant)
    return f"SELECT {columns} FROM {identifier(influx_schema.FRAILTY.name)} WHERE {who}"


def visit_measures(participant: str, row: Row) -> VisitMeasures | None:
    """One score point as the detector's visit; None when it holds nothing to judge."""
    measures: dict[str, float] = {}
    for name in _MEASURES:
        value = row.get(name)
        if value is None or isinstance(value, bool):
            continue
        low, high = MEASURE_RANGES[name]
        if low <= float(value) <= high:
            measures[name] = float(value)
    if not measures:
        return None
    at_ms = row.get("visit_at")
    at = _EPOCH + (
        timedelta(milliseconds=int(at_ms))
        if at_ms is not None
        else timedelta(microseconds=int(row["time"]) // 1000)
    )
    # A visit without a visit id (its day's measurements) is named by its score point's time.
    visit_id = row.get("visit_id") or f"visit-at-{int(row['time'])}"
    uncertain = frozenset({"gait_speed_mps"}) if row.get("gait_uncertain") else frozenset()
    sex = row.get("sex") if row.get("sex") in ("female", "male") else None
    return VisitMeasures(
        participant=participant,
        station_id=str(row[influx_schema.STATION_TAG]),
        visit_id=str(visit_id),
        at=at,
        sex=sex,
        measures=measures,
        uncertain=uncertain & frozenset(measures),
    )


def visits_of(participant: str, rows: list[Row]) -> list[VisitMeasures]:
    """The score points of :func:`visits_statement` that hold something to judge, as visits."""
    return [v for v in (visit_measures(participant, r) for r in rows) if v is not None]


def log_events(rows: list[Row]) -> list[CaseEvent]:
    """The case-event log as read back; a row that no longer decodes is logged and left out."""
    events = []
    for row in rows:
        try:
            events.append(case_log.event_from_row(row))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("case_event row %s unreadable, left out: %s", row.get("event_id"), str(exc)[:200])
    return events


class CaseStage:
    name = "cases"

    def __init__(self, clock: Any = None, settings: DetectorSettings | None = None) -> None:
        self._now = clock or (lambda: datetime.now(UTC))
        self._settings = settings

    def applies(self, message: Subject) -> bool:
        return scored(message)

    def statements(self, item: FollowUp[Subject]) -> list[str]:
        if not self.applies(item.message):
            return []
        return [visits_statement(item.participant), case_log.query(participant=item.participant)]

    def run(self, item: FollowUp[Subject], answers: list[list[Row]]) -> Effects:
        if not self.applies(item.message):
            return Effects()
        visit_rows, log_rows = answers
        events = assess(
            visits_of(item.participant, visit_rows),
            log_events(log_rows),
            processed_at=self._now(),
            settings=self._settings,
        )
        return Effects(
            points=[case_log.event_point(e) for e in events],
            alerts=[(topics.case_alert(e.station_id), codec.encode(e)) for e in events],
        )
