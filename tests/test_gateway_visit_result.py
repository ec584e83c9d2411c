"""The visit-result stage against a real InfluxDB 1.x, without MQTT: the result it publishes is built
from what InfluxDB holds — the visit's inputs scored as the score point was, the earlier visits at
any station, the open cases including the ones the case stage has just written — and a redelivery
publishes the same result again (newer only in ``processed_at``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.followup import FollowUp
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import V1Transport
from gateway.readings import reading_points
from gateway.settings import GatewaySettings
from gateway.stages import default_stages
from gateway.stages.case_actions import CaseActionStage
from gateway.stages.cases import CaseStage
from gateway.stages.visit_result import VisitResultStage
from gateway.stages.visit_scores import VisitScoresStage
from telemetry import DeviceKind, topics
from telemetry.cases import Domain
from telemetry.devices import GripTrial, Hand, Sex, Stance
from telemetry.results import CutoffBand, VisitResult, decode_result
from tests._gateway_support import run_stage, stage_message, write_points
from tests.conftest import InfluxTestDB

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
BUILT_AT = NOW + timedelta(minutes=30)


@pytest.fixture
def reader(influxdb: InfluxTestDB) -> InfluxReader:
    return InfluxReader(V1Transport(influxdb.url, influxdb.database))


def _visit(at: datetime, n: int, grip_kg: float, station: str, tug_s: float = 13.0) -> list[Any]:
    """One visit's messages, a minute apart: profile, body composition, grip, walk, chair, the
    three SPPB stands, TUG (last)."""
    visit = f"visit-{station}-{n:04d}"
    kinds: list[tuple[DeviceKind, dict[str, Any]]] = [
        (DeviceKind.PROFILE, {"sex": Sex.FEMALE}),
        (DeviceKind.BODY_COMPOSITION, {}),
        (DeviceKind.GRIP, {"trials": [GripTrial(hand=Hand.RIGHT, force_kg=grip_kg)]}),
        (DeviceKind.GAIT, {"walk_distance_m": 4.0, "walk_time_s": 5.1}),
        (DeviceKind.SIT_TO_STAND, {"five_rep_time_s": 13.2}),
        *[
            (DeviceKind.BALANCE, {"stance": stance, "hold_time_s": hold})
            for stance, hold in (
                (Stance.SIDE_BY_SIDE, 10.0),
                (Stance.SEMI_TANDEM, 10.0),
                (Stance.TANDEM, 6.4),
            )
        ],
        (DeviceKind.TUG, {"total_time_s": tug_s}),
    ]
    return [
        stage_message(kind, at + timedelta(minutes=i), 10 * n + i, visit=visit, station=station, **payload)
        for i, (kind, payload) in enumerate(kinds)
    ]


def _store(influxdb: InfluxTestDB, reader: InfluxReader, messages: list[Any]) -> None:
    """Each message's points, then its score point and case events, as the pipeline would."""
    scores, cases = VisitScoresStage(), CaseStage(clock=lambda: BUILT_AT)
    for message in messages:
        write_points(influxdb, reading_points(message))
        write_points(influxdb, run_stage(scores, reader, FollowUp(message)).points)
        write_points(influxdb, run_stage(cases, reader, FollowUp(message)).points)


def _result(stage: VisitResultStage, reader: InfluxReader, message: Any) -> VisitResult:
    effects = run_stage(stage, reader, FollowUp(message))
    assert effects.points == [] and effects.refusals == []
    ((topic, payload),) = effects.alerts
    assert topic == topics.results(message.station_id)
    return decode_result(payload, message.station_id)


def _history_visits(influxdb: InfluxTestDB, reader: InfluxReader) -> list[list[Any]]:
    """Four earlier visits at gj-02 with a strong grip, a fifth there much weaker, then today's at
    gj-01 weaker still: a strength decline the case stage opens a case for."""
    visits = [_visit(NOW - timedelta(days=30 * (5 - n)), n, 30.0, "gj-02") for n in range(4)]
    visits.append(_visit(NOW - timedelta(days=30), 4, 17.5, "gj-02"))
    visits.append(_visit(NOW, 5, 17.0, "gj-01"))
    for messages in visits:
        _store(influxdb, reader, messages)
    return visits


def test_the_result_is_the_visit_as_influxdb_holds_it_with_history_and_the_new_case(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    visits = _history_visits(influxdb, reader)
    today = visits[-1]
    result = _result(VisitResultStage(clock=lambda: BUILT_AT), reader, today[-1])
    assert (result.station_id, result.visit_id, result.participant) == (
        "gj-01",
        "visit-gj-01-0005",
        today[0].participant,
    )
    assert result.at == today[-1].measured_at and result.processed_at == BUILT_AT and result.sex == "female"
    measures = {m.metric: m for m in result.measures}
    assert measures["grip_max_kg"].value == 17.0 and measures["tug_time_s"].value == 13.0
    (awgs_grip,) = [b for b in measures["grip_max_kg"].bands if b.reference.value == "awgs_2019"]
    assert isinstance(awgs_grip, CutoffBand) and awgs_grip.cutoff == 18.0 and awgs_grip.flagged
    (tug,) = measures["tug_time_s"].bands
    assert isinstance(tug, CutoffBand) and tug.cutoff == 13.5 and not tug.flagged
    # The scores are the score point's: the same inputs scored the same way.
    scored = 'SELECT "sppb_total", "awgs_level" FROM "frailty" WHERE "visit_id" = \'visit-gj-01-0005\''
    ((point,),) = reader.query_many([scored])
    assert result.scores.sppb is not None and result.scores.sppb.total == point["sppb_total"]
    assert result.scores.awgs is not None and result.scores.awgs.level == point["awgs_level"]
    # Earlier visits at the other station, oldest first, then this one.
    assert [h.station_id for h in result.history] == ["gj-02"] * 5 + ["gj-01"]
    assert [h.values["grip_max_kg"] for h in result.history] == [30.0] * 4 + [17.5, 17.0]
    (grip,) = [c for c in result.comparisons if c.metric == "grip_max_kg"]
    assert (grip.earlier_visits, grip.baseline, grip.verdict) == (5, 30.0, "worse")
    # The strength case the case stage opened (written just before this stage ran) is listed.
    assert [(c.domain, c.state.value) for c in result.open_cases] == [(Domain.STRENGTH, "open")]
    assert result.open_cases[0].opened_at == BUILT_AT
    # A redelivery builds the same result; only the build time differs, so the station keeps it.
    again = _result(VisitResultStage(clock=lambda: BUILT_AT + timedelta(seconds=5)), reader, today[-1])
    assert again.model_dump(exclude={"processed_at"}) == result.model_dump(exclude={"processed_at"})
    assert again.processed_at > result.processed_at
    # Any scoring message of the visit gives the whole visit as stored; a profile gives none.
    assert run_stage(VisitResultStage(), reader, FollowUp(today[0])).alerts == []
    first = _result(VisitResultStage(clock=lambda: BUILT_AT), reader, today[1])
    assert first.model_dump(exclude={"processed_at"}) == result.model_dump(exclude={"processed_at"})


def test_the_tug_cut_off_is_the_gateway_setting(influxdb: InfluxTestDB, reader: InfluxReader) -> None:
    messages = _visit(NOW, 1, 24.0, "gj-01", tug_s=13.0)
    _store(influxdb, reader, messages)
    settings = GatewaySettings(tug_fall_risk_s=12.0)
    (stage,) = [s for s in default_stages(settings) if isinstance(s, VisitResultStage)]
    result = _result(stage, reader, messages[-1])
    (tug,) = next(m for m in result.measures if m.metric == "tug_time_s").bands
    assert isinstance(tug, CutoffBand) and tug.cutoff == 12.0 and tug.flagged
    (detector,) = [s for s in default_stages(settings) if isinstance(s, CaseStage)]
    assert detector._settings is not None and detector._settings.tug_fall_risk_s == 12.0


def test_a_late_visit_has_only_the_visits_before_it_as_history(
    influxdb: InfluxTestDB, reader: InfluxReader
) -> None:
    visits = _history_visits(influxdb, reader)
    second = _result(VisitResultStage(clock=lambda: BUILT_AT), reader, visits[1][-1])
    assert [h.visit_id for h in second.history] == ["visit-gj-02-0000", "visit-gj-02-0001"]
    assert {c.earlier_visits for c in second.comparisons} == {1}
    assert second.station_id == "gj-02"


def test_a_visit_without_stored_inputs_sends_nothing(reader: InfluxReader) -> None:
    (message,) = _visit(NOW, 1, 24.0, "gj-01")[2:3]
    assert run_stage(VisitResultStage(), reader, FollowUp(message)).alerts == []


def test_the_default_stages_score_judge_report_and_take_actions_in_order() -> None:
    assert [type(s) for s in default_stages()] == [
        VisitScoresStage,
        CaseStage,
        VisitResultStage,
        CaseActionStage,
    ]
