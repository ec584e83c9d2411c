"""Point identity of what the gateway derives rather than copies (real Mosquitto + InfluxDB):
case events fall at processing time (a late visit still notifies) and a redelivery adds none,
station status reaches a gateway that (re)starts after it was published, and a redelivered refusal
is one dead letter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import encode
from telemetry.examples import example_messages
from tests._drill_support import client, wait_until
from tests._gateway_support import Central, start_central

pytestmark = pytest.mark.drill
RULE_WINDOW_NS = 15 * 60 * 10**9  # grafana/alerting.py case notice: the last 15 minutes


@pytest.fixture
def central(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> Iterator[Central]:
    c = start_central(mosquitto_factory, influxdb_server, tmp_path)
    yield c
    c.close()
    influxdb_server.query(f'DROP DATABASE "{c.database}"', method="POST")


def _questionnaire(at: datetime, visit: str, frail: bool, n: int) -> tuple[str, bytes]:
    message: Any = example_messages()["questionnaire"]  # type: ignore[index]
    payload = message.payload.model_copy(
        update={
            "fatigue": frail,
            "resistance": frail,
            "ambulation": frail,
            "illness_count": 6 if frail else 0,
            "weight_loss_pct_year": 8.0 if frail else 0.0,
        }
    )
    message = message.model_copy(
        update={
            "measured_at": at,
            "visit_id": visit,
            "message_id": f"example-questionnaire-{n:04d}",
            "payload": payload,
        }
    )
    return f"fw/v1/{message.station_id}/data/questionnaire/{message.device_id}", encode(message)


def test_case_events_are_stamped_at_processing_so_late_visits_notify_and_a_redelivery_adds_none(
    central: Central,
) -> None:
    central.gateway()
    central.wait_subscribed()
    now = datetime.now(UTC).replace(microsecond=0)
    # Three robust visits months ago, then two frail ones that reach the centre only now: the
    # second was measured two hours ago (a spool draining after an outage).
    robust = [
        _questionnaire(now - timedelta(days=120 - 30 * n), f"visit-r{n}", frail=False, n=n) for n in range(3)
    ]
    frail = [
        _questionnaire(now - timedelta(days=30), "visit-f1", frail=True, n=10),
        _questionnaire(now - timedelta(hours=2), "visit-f2", frail=True, n=11),
    ]
    for message in [*robust, *frail]:
        edge = central.edge()
        edge.send([message])
        edge.close()
    query = 'SELECT "at", "event_id", "domain", "event" FROM "case_event"'
    assert wait_until(
        lambda: {"self_report", "frailty_category"} <= {r["domain"] for r in central.rows(query)}, 30
    ), central.logs()
    time.sleep(1.0)
    events = central.rows(query)
    late_visit_ms = int((now - timedelta(hours=2)).timestamp()) * 1000
    for event in events:
        # Filed at processing time: inside the notice rule's window although the visit is 2 h old.
        assert time.time_ns() - int(event["time"]) < RULE_WINDOW_NS, event
        assert event["event"] == "opened" and abs(int(event["at"]) - late_visit_ms) < 1000, event
    # The last message again (a redelivery): no new event, no second copy.
    edge = central.edge()
    edge.send([frail[-1]])
    edge.close()
    time.sleep(3.0)
    assert central.rows(query) == events
    assert central.count("frailty", "inputs") == 5


def _publish_status(central: Central, station: str, document: dict[str, Any]) -> None:
    """A retained station status, as the edge agent (or its Last Will) leaves it."""
    c = client(
        central.broker.host, central.broker.port, username=station, password=central.passwords[station]
    )
    c.publish(f"fw/v1/{station}/status", json.dumps(document).encode(), qos=1, retain=True).wait_for_publish(
        5
    )
    c.disconnect()
    c.loop_stop()


def test_gateways_restarted_after_status_changes_end_with_the_current_status(central: Central) -> None:
    first = central.gateway(client_id="gw-status")  # a persistent session, then down for a while
    central.wait_subscribed()
    assert first.stop() == 0
    # While no gateway runs: gj-02's agent dies (its Last Will: offline, no `at`) and comes back
    # (online, with `at`); gj-01 has been online all along. The broker keeps the retained state,
    # and the restarted gateway's session queues what it missed.
    online_at = datetime.now(UTC) - timedelta(minutes=5)
    _publish_status(
        central,
        "gj-01",
        {"station_id": "gj-01", "state": "online", "at": online_at.isoformat(), "agent_version": "1.0"},
    )
    _publish_status(central, "gj-02", {"station_id": "gj-02", "state": "offline"})
    back_at = datetime.now(UTC)
    _publish_status(
        central,
        "gj-02",
        {"station_id": "gj-02", "state": "online", "at": back_at.isoformat(), "agent_version": "1.0"},
    )
    time.sleep(0.5)
    started = time.time_ns()
    first.start()  # the same replica, its session resumed
    central.gateway()  # and a new one
    central.wait_subscribed()

    def last() -> dict[str, int]:
        rows = central.rows('SELECT last("online") FROM "ops"."station_status" GROUP BY "station_id"')
        return {r["station_id"]: r["last"] for r in rows}

    assert wait_until(lambda: set(last()) == {"gj-01", "gj-02"}, 20), (last(), central.logs())
    time.sleep(2.0)
    assert last() == {"gj-01": 1, "gj-02": 1}, central.rows('SELECT * FROM "ops"."station_status"')
    rows = central.rows('SELECT "online", "station_id" FROM "ops"."station_status"')
    # Retained deliveries are stamped at receipt (the state as of now), one point per replica.
    assert [r for r in rows if r["station_id"] == "gj-01" and int(r["time"]) >= started], rows
    # A live change afterwards: both replicas write it at its own `at`, so one point.
    live = datetime.now(UTC).replace(microsecond=0)
    _publish_status(
        central,
        "gj-01",
        {"station_id": "gj-01", "state": "online", "at": live.isoformat(), "agent_version": "1.1"},
    )
    at_live = f'SELECT "online" FROM "ops"."station_status" WHERE time = {int(live.timestamp()) * 10**9}'
    assert wait_until(lambda: len(central.rows(at_live)) == 1, 20)
    time.sleep(1.0)
    assert len(central.rows(at_live)) == 1


def test_a_redelivered_refusal_is_one_dead_letter(central: Central) -> None:
    central.gateway()
    central.wait_subscribed()
    forged: Any = example_messages()["vitals"]  # type: ignore[index]
    forged = forged.model_copy(update={"station_id": "gj-02"})  # sent by gj-01: impersonation
    garbage = b'{"message_type": "vitals", "oops"'  # no time in it at all
    refused = [
        (f"fw/v1/gj-01/data/vitals/{forged.device_id}", encode(forged)),
        ("fw/v1/gj-01/data/vitals/vitals-1", garbage),
    ]
    for _ in range(3):  # the same bytes three times, as a redelivery after a crash would bring them
        edge = central.edge()
        edge.send(refused)
        edge.close()
    letters = central.capture.wait_for(lambda m: m.topic == "fw/v1/gateway/deadletter", 6, 20)
    assert len(letters) == 6
    time.sleep(1.0)
    rows = central.rows('SELECT "reason", "digest", "detail" FROM "dead_letter"')
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(row)
    # Its own measured_at makes the forged message's letter one point, however often it comes.
    assert len(by_reason["impersonation"]) == 1, rows
    assert int(by_reason["impersonation"][0]["time"]) // 10**9 == int(forged.measured_at.timestamp())
    # Bytes without a time are stamped at receipt; their copies share one digest.
    (malformed,) = {r["reason"] for r in rows} - {"impersonation"}
    assert len({r["digest"] for r in by_reason[malformed]}) == 1, rows
