"""Stage: the visit's result for the station that served it — built from InfluxDB, sent downlink.

Runs once the visit's score point and the case events of the same message are durable (the two
stages before). It reads, with the batch's other jobs in one request:

1. the visit's inputs and the participant's profile — the statements of the visit-scores stage
   (:func:`gateway.stages.visit_scores.visit_input_statements`), scored again the same way
   (:func:`~gateway.stages.visit_scores.read_visit`), so the result holds exactly the scores on
   the score point, with their components;
2. every visit score point of the participant at any station (the case stage's statement,
   :func:`gateway.stages.cases.visits_statement`): the history of earlier visits;
3. the participant's case-event log, events just written by the case stage included: the open
   cases, folded by :func:`processing.results.open_cases`.

:func:`processing.results.build_visit_result` turns them into a :class:`telemetry.results.VisitResult`
(TUG bands at the gateway's ``tug_fall_risk_s``), published QoS 1 on
``fw/v1/<the message's station>/results``; the message is acknowledged only after the PUBACK.
Every scoring message of a visit sends the visit's result as it then stands; ``processed_at`` is
the build time, and the station keeps the newest per visit (an exact repeat is ignored), so a
redelivered message sends the same content again, harmlessly.

Only visits *before* this one are history (a late visit's later visits are not its past).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import influx_schema
from gateway.followup import Effects, FollowUp, Subject
from gateway.influx import case_log
from gateway.influx.reader import Row
from gateway.stages.cases import log_events, visits_statement
from gateway.stages.visit_scores import DEFAULT_CALENDAR, read_visit, scored, visit_input_statements
from gateway.visit_calendar import VisitCalendar
from processing.results import build_visit_result, open_cases
from processing.scoring.tug import TUG_FALL_RISK_S
from telemetry import codec, topics
from telemetry.results import KEY_METRICS, HistoryVisit

log = logging.getLogger("frailwatch.gateway")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_ns(time_ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


def history(rows: list[Row], before: datetime, this_point_ns: int) -> list[HistoryVisit]:
    """The score points of :func:`visits_statement` measured before ``before``, except this visit's
    own point, as the result's earlier visits with their key values."""
    visits = []
    for row in rows:
        if int(row["time"]) == this_point_ns:
            continue
        at_ms = row.get("visit_at")
        at = _EPOCH + timedelta(milliseconds=int(at_ms)) if at_ms is not None else _from_ns(int(row["time"]))
        if at >= before:
            continue
        values = {
            metric: float(row[metric])
            for metric in KEY_METRICS
            if isinstance(row.get(metric), int | float) and not isinstance(row.get(metric), bool)
        }
        visits.append(
            HistoryVisit.model_validate(
                {
                    "at": at,
                    "station_id": row[influx_schema.STATION_TAG],
                    "visit_id": row.get("visit_id"),
                    "values": values,
                }
            )
        )
    return visits


class VisitResultStage:
    name = "visit result"

    def __init__(
        self,
        clock: Any = None,
        tug_fall_risk_s: float = TUG_FALL_RISK_S,
        calendar: VisitCalendar = DEFAULT_CALENDAR,
    ) -> None:
        self._now = clock or (lambda: datetime.now(UTC))
        self.tug_fall_risk_s = tug_fall_risk_s
        self.calendar = calendar

    def applies(self, message: Subject) -> bool:
        return scored(message)

    def statements(self, item: FollowUp[Subject]) -> list[str]:
        message = item.message
        if not scored(message):
            return []
        return [
            *visit_input_statements(message, self.calendar),
            visits_statement(message.participant),
            case_log.query(participant=message.participant),
        ]

    def run(self, item: FollowUp[Subject], answers: list[list[Row]]) -> Effects:
        message = item.message
        if not scored(message):
            return Effects()
        *inputs, visit_rows, log_rows = answers
        visit = read_visit(message, inputs, self.tug_fall_risk_s, self.calendar)
        if visit is None:
            return Effects()
        at = _from_ns(visit.newest_ns)
        point_ns = visit.at_ns
        result = build_visit_result(
            participant=message.participant,
            station_id=message.station_id,
            visit_id=message.visit_id,
            at=at,
            inputs=visit.inputs,
            scores=visit.scores,
            processed_at=self._now(),
            tug_time_s=visit.given.get("tug_time_s"),
            history=history(visit_rows, at, point_ns),
            open_cases=open_cases(log_events(log_rows)),
            uncertain={"gait_speed_mps"} if visit.given.get("gait_uncertain") else frozenset(),
            tug_fall_risk_s=self.tug_fall_risk_s,
            visit_date=visit.visit_date,
        )
        return Effects(alerts=[(topics.results(result.station_id), codec.encode(result))])
