"""The follow-up stages against a real InfluxDB 1.x, without MQTT: what a visit-score run leaves
for decline detection depends only on what InfluxDB holds (so a redelivery derives it again), and
the decline stage judges each value on its own statement's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import schema
from gateway.followup import FollowUp
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import V1Transport
from gateway.point_table import Point, PointTable
from gateway.readings import measured_values, message_time_ns, reading_points
from gateway.stages import default_stages
from gateway.stages.decline import DeclineStage
from gateway.stages.visit_scores import VisitScoresStage
from telemetry import DeviceKind, decode_as, topics
from telemetry.devices import GripTrial, Hand, Message
from telemetry.events import DeclineAlert
from telemetry.examples import example_messages
from tests.conftest import InfluxTestDB

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


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


def test_the_scores_a_message_changed_come_from_its_place_in_the_visit(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    grip = _message(DeviceKind.GRIP, NOW, 1)
    questionnaire = _message(DeviceKind.QUESTIONNAIRE, NOW + timedelta(minutes=5), 2)
    # Both are stored before either is scored (one edge batch, or a slow follow-up).
    _write(influxdb, [*reading_points(grip), *reading_points(questionnaire)])
    stage = VisitScoresStage()
    first, second = FollowUp(grip), FollowUp(questionnaire)
    effects_first = _run(stage, reader, first)
    effects_second = _run(stage, reader, second)
    # One point for the visit, whichever message computed it: all of the visit's inputs.
    assert effects_first.points == effects_second.points
    (point,) = effects_second.points
    assert point[0] == "frailty" and point[3]["inputs"] == 2 and point[3]["kfrail_score"] is not None
    # K-FRAIL comes from the questionnaire: the grip, earlier, did not change it.
    assert "kfrail_score" not in {v.metric for v in first.scores}
    changed = {v.metric: v for v in second.scores}
    assert changed["kfrail_score"].value == point[3]["kfrail_score"]
    assert changed["kfrail_score"].event_ns == message_time_ns(questionnaire)
    assert changed["kfrail_score"].time_ns == point[1] == schema.visit_time_ns(NOW, "visit-now")
    # A redelivery, with the score point now written, changes the same scores again.
    _write(influxdb, effects_second.points)
    again = FollowUp(questionnaire)
    assert _run(stage, reader, again).points == effects_second.points
    assert again.scores == second.scores


def test_a_point_under_another_category_is_deleted_before_the_write(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    questionnaire = _message(DeviceKind.QUESTIONNAIRE, NOW, 3)
    _write(influxdb, reading_points(questionnaire))
    stage = VisitScoresStage()
    (point,) = _run(stage, reader, FollowUp(questionnaire)).points
    assert _run(stage, reader, FollowUp(questionnaire)).before_write == []
    stale = (point[0], point[1], {**point[2], schema.FRAILTY_CATEGORY_TAG: "not-this-one"}, point[3])
    _write(influxdb, [stale])
    (delete,) = _run(stage, reader, FollowUp(questionnaire)).before_write
    reader.execute(delete)
    (rows,) = reader.query_many([f'SELECT "inputs" FROM "frailty" WHERE time = {point[1]}'])
    assert rows == []


def test_decline_judges_each_value_on_its_own_history(influxdb: InfluxTestDB, reader: InfluxReader) -> None:
    # Three earlier visits: strong grip, slow TUG; now a much weaker grip and an unchanged TUG.
    history = []
    for n, days in enumerate((90, 60, 30)):
        at = NOW - timedelta(days=days)
        history += reading_points(_message(DeviceKind.GRIP, at, 10 + n, visit=f"v{n}"))
        history += reading_points(_message(DeviceKind.TUG, at, 20 + n, visit=f"v{n}", total_time_s=15.0))
    _write(influxdb, history)
    weak = _message(DeviceKind.GRIP, NOW, 30, trials=[GripTrial(hand=Hand.RIGHT, force_kg=9.0)])
    tug = _message(DeviceKind.TUG, NOW, 31, total_time_s=15.0)
    item = FollowUp(weak, measured_values(weak) + measured_values(tug))
    stage = DeclineStage()
    assert len(stage.statements(item)) == 2
    effects = _run(stage, reader, item)
    metrics = {p[2]["metric"] for p in effects.points}
    assert metrics == {"grip_max_kg"}, effects.points  # the TUG did not change
    assert all(p[1] == message_time_ns(weak) for p in effects.points)
    assert [topic for topic, _ in effects.alerts] == [topics.decline_alert(weak.station_id)] * len(
        effects.points
    )
    alerts = [decode_as(DeclineAlert, payload) for _, payload in effects.alerts]
    assert {(a.metric, a.current) for a in alerts} == {("grip_max_kg", 9.0)}


def test_the_default_stages_score_before_they_judge() -> None:
    assert [type(s) for s in default_stages()] == [VisitScoresStage, DeclineStage]
