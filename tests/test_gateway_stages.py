"""The follow-up stages against a real InfluxDB 1.x, without MQTT: the visit's score point carries
what the case detector judges and depends only on what InfluxDB holds (so a redelivery derives it
again), and the case stage opens a case from the stored history once, however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import influx_schema
from gateway.followup import FollowUp
from gateway.influx import case_log
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import V1Transport
from gateway.point_table import Point, PointTable
from gateway.readings import message_time_ns, reading_points
from gateway.stages import default_stages
from gateway.stages.cases import CaseStage
from gateway.stages.visit_scores import VisitScoresStage
from gateway.visit_calendar import visit_time_ns
from telemetry import DeviceKind, decode_as, topics
from telemetry.cases import CaseEvent, CaseEventKind, Domain
from telemetry.devices import GripTrial, Hand, Message
from telemetry.examples import example_messages
from tests.conftest import InfluxTestDB

# 11:00 in Seoul (the stations' default zone): a visit's messages minutes apart share its local day.
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SEOUL_DAY = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # 2026-11-20 00:00 in Seoul


def _message(kind: DeviceKind, at: datetime, n: int, visit: str = "visit-now", **payload: Any) -> Message:
    base: Any = example_messages()[kind]
    return base.model_copy(  # type: ignore[no-any-return]
        update={
            "measured_at": at,
            "visit_id": visit,
            "message_id": f"stage-{kind.value}-{n:04d}",
            "payload": base.payload.model_copy(update=payload),
        }
    )


def _write(influxdb: InfluxTestDB, points: list[Point]) -> None:
    table = PointTable()
    table.extend(points)
    influxdb.write(table.encode())


def _run(stage: Any, reader: InfluxReader, item: FollowUp) -> Any:
    return stage.run(item, reader.query_many(stage.statements(item)))


@pytest.fixture
def reader(influxdb: InfluxTestDB) -> InfluxReader:
    return InfluxReader(V1Transport(influxdb.url, influxdb.database))


def test_the_visit_point_carries_what_the_case_detector_judges_whichever_message_scored_it(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    grip = _message(DeviceKind.GRIP, NOW, 1)
    tug = _message(DeviceKind.TUG, NOW + timedelta(minutes=3), 2, total_time_s=11.5)
    questionnaire = _message(DeviceKind.QUESTIONNAIRE, NOW + timedelta(minutes=5), 3)
    # All stored before any is scored (one edge batch, or a slow follow-up).
    _write(influxdb, [*reading_points(grip), *reading_points(tug), *reading_points(questionnaire)])
    stage = VisitScoresStage()
    points = [_run(stage, reader, FollowUp(m)).points for m in (grip, tug, questionnaire)]
    # One point for the visit, whichever message computed it: all of the visit's inputs.
    assert points[0] == points[1] == points[2]
    ((name, at, _tags, fields),) = points[0]
    assert name == "frailty" and fields["inputs"] == 3 and fields["kfrail_score"] is not None
    assert at == visit_time_ns(influx_schema.time_ns(SEOUL_DAY), "visit-now")
    assert fields["grip_max_kg"] == grip.payload.max_kg and fields["tug_time_s"] == 11.5
    # The visit's time is its newest input (ms), not the day-start the point is filed under.
    assert fields["visit_at"] == message_time_ns(questionnaire) // 1_000_000
    # A redelivery, with the score point now written, derives the same point.
    _write(influxdb, points[0])
    assert _run(stage, reader, FollowUp(grip)).points == points[0]


def _frailty_points(reader: InfluxReader) -> list[dict[str, Any]]:
    (rows,) = reader.query_many(['SELECT "inputs", "kfrail_score", "visit_id" FROM "frailty"'])
    return rows


def _score(influxdb: InfluxTestDB, reader: InfluxReader, message: Message) -> None:
    """What the gateway does for one message: store it, score its visit, run the deletes, write."""
    _write(influxdb, reading_points(message))
    effects = _run(VisitScoresStage(), reader, FollowUp(message))
    for statement in effects.before_write:
        reader.execute(statement)
    _write(influxdb, effects.points)


def test_a_visit_is_one_local_day_at_its_station_not_one_utc_day(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    # 08:30 and 10:00 in Seoul: the same morning, but the first is still the day before in UTC.
    grip = _message(DeviceKind.GRIP, SEOUL_DAY + timedelta(hours=8, minutes=30), 40, visit=None)
    questionnaire = _message(DeviceKind.QUESTIONNAIRE, SEOUL_DAY + timedelta(hours=10), 41, visit=None)
    assert grip.measured_at.date() != questionnaire.measured_at.date()
    for message in (grip, questionnaire):
        _score(influxdb, reader, message)
    (point,) = _frailty_points(reader)
    assert point["inputs"] == 2 and point["kfrail_score"] is not None
    assert int(point["time"]) == influx_schema.time_ns(SEOUL_DAY)


@pytest.mark.parametrize("questionnaire_first", [True, False])
def test_a_questionnaire_filled_in_the_evening_before_joins_the_visit(
    questionnaire_first: bool, influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    evening = _message(DeviceKind.QUESTIONNAIRE, SEOUL_DAY - timedelta(hours=4), 42, visit="visit-pre")
    morning = _message(DeviceKind.GRIP, SEOUL_DAY + timedelta(hours=10), 43, visit="visit-pre")
    for message in (evening, morning) if questionnaire_first else (morning, evening):
        _score(influxdb, reader, message)
    # One visit, on the day of its measurements, with the questionnaire's K-FRAIL; no
    # questionnaire-only visit left on the evening before.
    (point,) = _frailty_points(reader)
    assert point["inputs"] == 2 and point["kfrail_score"] is not None and point["visit_id"] == "visit-pre"
    assert int(point["time"]) == visit_time_ns(influx_schema.time_ns(SEOUL_DAY), "visit-pre")


def test_a_questionnaire_days_before_is_a_visit_of_its_own(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    early = _message(DeviceKind.QUESTIONNAIRE, SEOUL_DAY - timedelta(hours=30), 44, visit="visit-old")
    later = _message(DeviceKind.GRIP, SEOUL_DAY + timedelta(hours=10), 45, visit="visit-old")
    for message in (early, later):
        _score(influxdb, reader, message)
    assert sorted(p["inputs"] for p in _frailty_points(reader)) == [1, 1]


def test_a_point_under_another_category_is_deleted_before_the_write(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    questionnaire = _message(DeviceKind.QUESTIONNAIRE, NOW, 3)
    _write(influxdb, reading_points(questionnaire))
    stage = VisitScoresStage()
    (point,) = _run(stage, reader, FollowUp(questionnaire)).points
    assert _run(stage, reader, FollowUp(questionnaire)).before_write == []
    stale = (point[0], point[1], {**point[2], influx_schema.FRAILTY_CATEGORY_TAG: "not-this-one"}, point[3])
    _write(influxdb, [stale])
    (delete,) = _run(stage, reader, FollowUp(questionnaire)).before_write
    reader.execute(delete)
    (rows,) = reader.query_many([f'SELECT "inputs" FROM "frailty" WHERE time = {point[1]}'])
    assert rows == []


def test_the_case_stage_opens_a_case_from_stored_visits_once(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    scores, cases = VisitScoresStage(), CaseStage(clock=lambda: NOW + timedelta(minutes=10))
    # Four visits with a steady strong grip, then two much weaker: a strength case.
    grips = [(NOW - timedelta(days=30 * (6 - n)), 40.0) for n in range(4)]
    grips += [(NOW - timedelta(days=30), 22.0), (NOW, 21.0)]
    for n, (at, kg) in enumerate(grips):
        grip = _message(
            DeviceKind.GRIP,
            at,
            10 + n,
            visit=f"visit-{n:04d}",
            trials=[GripTrial(hand=Hand.RIGHT, force_kg=kg)],
        )
        _write(influxdb, reading_points(grip))
        _write(influxdb, _run(scores, reader, FollowUp(grip)).points)
    item = FollowUp(grip)
    effects = _run(cases, reader, item)
    events = [decode_as(CaseEvent, payload) for _, payload in effects.alerts]
    opened = [e for e in events if e.event is CaseEventKind.OPENED]
    assert [e.domain for e in opened] == [Domain.STRENGTH], events
    assert [topic for topic, _ in effects.alerts] == [topics.case_alert(grip.station_id)] * len(events)
    assert len(effects.points) == len(events) and all(
        p[0] == influx_schema.CASE_EVENT.name for p in effects.points
    )
    # Stamped at processing time (late data notifies), the visit's own time kept in the event.
    assert opened[0].processed_at == NOW + timedelta(minutes=10) and opened[0].at <= NOW
    # Once the events are in the log, running the stage again (a redelivery) adds nothing.
    _write(influxdb, effects.points)
    again = _run(cases, reader, item)
    assert again.points == [] and again.alerts == []
    assert {e.event_id for e in case_log.read(V1Transport(influxdb.url, influxdb.database))} == {
        e.event_id for e in events
    }


def test_the_default_stages_score_before_they_judge() -> None:
    kinds = [type(s) for s in default_stages()]
    assert kinds.index(VisitScoresStage) < kinds.index(CaseStage)
