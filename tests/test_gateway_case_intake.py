"""The gateway's downlink and case-action intake on real servers: `frailwatch gateway run` on a central
Mosquitto with the deployment's ACL (tests' station_acl) and InfluxDB 1.x. A station's readings get
their VisitResult on the station's own results topic (read with `mosquitto_sub` as the station's
user); a counsellor's action published with the station's credentials lands in ``case_event`` and on
the alert topic; forged, unserved, duplicate and malformed actions become dead letters with their
reasons; and an action is not acknowledged while InfluxDB is down (it is written once it is back).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.case_actions import act, from_snapshot
from gateway import influx_schema
from gateway.influx import case_log
from gateway.influx.transport import V1Transport
from processing.cases import case_id, detection_event_id
from runtime.local_servers import InfluxDB, Mosquitto, free_port, require_binary
from telemetry import codec, topics
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, Domain, Evidence
from telemetry.examples import EXAMPLE_PSEUDONYM
from telemetry.results import VisitResult, decode_result
from tests._drill_support import wait_until
from tests._gateway_support import Central, gateway_metric, start_central
from tests.corpus import example

pytestmark = pytest.mark.drill
CASE = case_id(EXAMPLE_PSEUDONYM, Domain.MOBILITY)
STAFF = "counsellor.kim"


def _open_case(central: Central, at: datetime) -> None:
    """A mobility case another replica opened earlier (the log is what any replica reads)."""
    opened = CaseEvent(
        event_id=detection_event_id(CASE, CaseEventKind.OPENED),
        case_id=CASE,
        participant=EXAMPLE_PSEUDONYM,
        domain=Domain.MOBILITY,
        event=CaseEventKind.OPENED,
        state=CaseState.OPEN,
        severity="warning",
        at=at - timedelta(days=1),
        processed_at=at - timedelta(days=1),
        station_id="gj-01",
        evidence=Evidence(rule="cutoff:gait_speed_mps", statistic=0.8, threshold=1.0),
    )
    case_log.append(V1Transport(central.influx.url, central.database), [opened])


def _visit(at: datetime, station: str = "gj-01") -> list[tuple[str, bytes]]:
    """A grip and a TUG of one visit, as the station's edge forwards them."""
    out = []
    for n, (kind, payload) in enumerate(
        (("grip", {"trials": [{"hand": "right", "force_kg": 17.0}]}), ("tug", {"total_time_s": 14.1}))
    ):
        document = example(kind)
        document.update(
            message_id=f"intake-{kind}-{n}",
            station_id=station,
            measured_at=(at + timedelta(minutes=n)).isoformat(),
            visit_id="visit-intake-1",
        )
        document["payload"] = {"kind": kind, **payload}
        out.append((topics.data(station, kind, document["device_id"]), json.dumps(document).encode()))
    return out


def _results(central: Central, count: int) -> subprocess.Popen[str]:
    """`mosquitto_sub` as the station's own user on its results topic (the ACL lets it read only that)."""
    return subprocess.Popen(
        [
            require_binary("mosquitto_sub"),
            *("-h", central.broker.host, "-p", str(central.broker.port)),
            *("-u", "gj-01", "-P", central.passwords["gj-01"]),
            *("-t", topics.results("gj-01"), "-q", "1", "-C", str(count), "-W", "40"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _action(result: VisitResult, **change: Any) -> CaseEvent:
    (snapshot,) = result.open_cases
    event = act(
        from_snapshot(result.participant, snapshot),
        CaseEventKind.ACKNOWLEDGED,
        actor=STAFF,
        station_id="gj-01",
        now=datetime.now(UTC),
        today=datetime.now(UTC).date(),
        form_nonce="intake-form-1",
    )
    return event.model_copy(update=change)


def _letters(central: Central) -> dict[str, dict[str, Any]]:
    rows = central.rows('SELECT * FROM "dead_letter" WHERE "topic" =~ /cases$/')
    return {r["reason"]: r for r in rows}


def test_results_go_down_and_actions_come_up_checked(central: Central) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    _open_case(central, now)
    central.gateway(client_id="gw-intake")
    central.wait_subscribed()
    subscriber = _results(central, 2)
    time.sleep(0.5)  # let it subscribe
    station = central.edge("gj-01")
    station.send(_visit(now))
    out, err = subscriber.communicate(timeout=60)
    results = [decode_result(line, "gj-01") for line in out.splitlines()]
    assert len(results) == 2, err
    newest = max(results, key=lambda r: r.processed_at)
    assert {m.metric for m in newest.measures} >= {"grip_max_kg", "tug_time_s"}
    assert [c.case_id for c in newest.open_cases] == [CASE]

    action = _action(newest)
    station.send([(topics.case_actions("gj-01"), codec.encode(action))])

    def stored() -> list[dict[str, Any]]:
        return central.rows(f'SELECT * FROM "case_event" WHERE "event_id" = \'{action.event_id}\'')

    assert wait_until(lambda: len(stored()) == 1, 20), central.logs()
    (row,) = stored()
    assert (row["event"], row["state"], row["actor"], row["station_id"]) == (
        "acknowledged",
        "acknowledged",
        STAFF,
        "gj-01",
    )

    def alerted(m: Any) -> bool:  # the case stage's own events for the visit go there too
        return m.topic == topics.case_alert("gj-01") and action.event_id.encode() in m.payload

    assert central.capture.wait_for(alerted, 1)

    # The station re-sends it; then forged, unserved, duplicate and malformed actions.
    other = central.edge("gj-02")
    station.send([(topics.case_actions("gj-01"), codec.encode(action))])
    other.send(
        [
            (topics.case_actions("gj-02"), codec.encode(action)),  # gj-01's action on gj-02's topic
            (
                topics.case_actions("gj-02"),
                codec.encode(_action(newest, station_id="gj-02", event_id="e" * 24)),
            ),
        ]
    )
    station.send(
        [
            (topics.case_actions("gj-01"), codec.encode(action.model_copy(update={"actor": "someone.else"}))),
            (topics.case_actions("gj-01"), b'{"message_type": "case_event", '),
        ]
    )
    wanted = {"impersonation", "not_served", "duplicate", "malformed_json"}
    assert wait_until(lambda: wanted <= set(_letters(central)), 20), (_letters(central), central.logs())
    letters = _letters(central)
    assert (
        letters["impersonation"]["station_id"] == "gj-02" and letters["not_served"]["station_id"] == "gj-02"
    )
    assert letters["duplicate"]["path"] == "event_id"
    time.sleep(1.0)
    (row,) = stored()
    assert row["actor"] == STAFF, "the duplicate changed nothing"
    repeats = central.capture.on(alerted)
    assert len(repeats) == 2, "the re-sent action was acknowledged and its alert published again"
    station.close()
    other.close()
    # Everything was acknowledged: nothing stays in flight.
    stats = f'SELECT last("in_flight") FROM {influx_schema.qualified("gateway_stats")}'
    assert wait_until(lambda: central.rows(stats)[0]["last"] == 0, 10)


def test_an_action_is_acknowledged_only_after_it_is_written(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_factory: Callable[[], InfluxDB], tmp_path: Path
) -> None:
    influx = influxdb_factory()
    c = start_central(mosquitto_factory, influx, tmp_path)
    port = free_port()
    try:
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        _open_case(c, now)
        c.gateway(client_id="gw-intake-outage", metrics_port=str(port))
        c.wait_subscribed()
        subscriber = _results(c, 2)
        time.sleep(0.5)
        station = c.edge("gj-01")
        station.send(_visit(now))
        out, _ = subscriber.communicate(timeout=60)
        newest = max((decode_result(line) for line in out.splitlines()), key=lambda r: r.processed_at)
        assert wait_until(lambda: gateway_metric(port, "frailwatch_gateway_in_flight") == 0, 10)
        acked = gateway_metric(port, "frailwatch_gateway_acked_total")
        influx.stop()
        action = _action(newest)
        station.send([(topics.case_actions("gj-01"), codec.encode(action))])  # the broker has it
        time.sleep(4.0)
        assert gateway_metric(port, "frailwatch_gateway_acked_total") == acked, (
            "acknowledged while InfluxDB was down"
        )
        assert gateway_metric(port, "frailwatch_gateway_in_flight") >= 1
        influx.start()
        query = f'SELECT "event_id" FROM "case_event" WHERE "event_id" = \'{action.event_id}\''
        assert wait_until(lambda: len(c.rows(query)) == 1, 30), c.logs()
        assert wait_until(lambda: gateway_metric(port, "frailwatch_gateway_acked_total") > acked, 10)
        station.close()
    finally:
        c.close()
