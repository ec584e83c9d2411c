"""Drill: the central broker restarts while another persistent subscriber watches the data topics.

Why receipts (telemetry.receipts): Mosquitto forgets the gateways' shared subscriptions across a
restart, and as long as *any* other session subscribes to the data topics it answers a station's
publish 0x00 with no gateway listening — even when the broker's ACL denies that subscriber the
read (verified first, below). A PUBACK therefore cannot be the edge's proof of delivery; a
gateway's receipt, sent once the message is durable in InfluxDB, is.

The drill: two real station agents (receipts on) and a real gateway, devices publishing a steady
stream, an operator's persistent ``mosquitto_sub`` session on the data topics, and the central
broker killed -9 (or restarted cleanly) mid-stream. Every reading must end in InfluxDB exactly
once and every spool empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.local_servers import InfluxDB, Mosquitto, require_binary
from telemetry.acl import central_acl
from tests._drill_support import (
    GATEWAY_USER,
    Capture,
    EdgeStandIn,
    Role,
    client,
    device_reading,
    edge_env,
    publish_all,
    wait_until,
)
from tests._gateway_support import Central
from tests.corpus import good_messages

pytestmark = pytest.mark.drill
STATIONS = ("gj-01", "gj-02")
SUCCESS, NO_MATCHING_SUBSCRIBERS = 0x00, 0x10


def _spy(broker: Mosquitto, user: str, password: str) -> subprocess.Popen[bytes]:
    """An operator's persistent session (``-c``) on the data topics (single readings and batches):
    an independent client."""
    return subprocess.Popen(
        [
            require_binary("mosquitto_sub"),
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-u",
            user,
            "-P",
            password,
            "-V",
            "mqttv5",
            "-i",
            f"spy-{uuid.uuid4().hex[:6]}",
            "-c",
            "-x",
            "3600",
            "-q",
            "1",
            "-t",
            "fw/v1/+/data/#",
            "-t",
            "fw/v1/+/batch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def test_a_subscriber_the_acl_denies_still_makes_mosquitto_answer_success(
    mosquitto_factory: Callable[..., Mosquitto],
) -> None:
    passwords = {"gj-01": "pw-station", "spy": "pw-spy"}
    acl = central_acl(["gj-01"], ops_user=None) + "\nuser spy\ntopic read fw/v1/+/heartbeat\n"
    broker = mosquitto_factory(name="acl", users=passwords, acl=acl)
    ((topic, payload, _),) = good_messages(1)
    station = client(broker.host, broker.port, username="gj-01", password="pw-station")
    assert publish_all(station, [(topic, payload)]) == [NO_MATCHING_SUBSCRIBERS]  # nobody listens
    spy = _spy(broker, "spy", "pw-spy")
    try:
        time.sleep(1.0)  # its SUBSCRIBE, which the broker grants although it may not read the topic
        assert publish_all(station, [(topic, payload)]) == [SUCCESS]
        time.sleep(0.5)
    finally:
        spy.terminate()
        out, _ = spy.communicate(timeout=5)
        station.disconnect()
    assert out == b"", "the ACL did keep the message from the spy..."
    # ...yet the station was told 0x00: only the consumer can say a message arrived.


@dataclass
class Outcome:
    stored: int
    distinct: int
    spools_drained: bool
    receipts_seen: int


def _drill(
    restart: str,
    receipts: bool,
    mosquitto_factory: Callable[..., Mosquitto],
    influxdb_server: InfluxDB,
    tmp_path: Path,
    n: int = 240,
) -> Outcome:
    users = {s: f"pw-{s}-{uuid.uuid4().hex[:6]}" for s in STATIONS}
    users[GATEWAY_USER] = f"pw-gw-{uuid.uuid4().hex[:6]}"
    users["ops"] = f"pw-ops-{uuid.uuid4().hex[:6]}"
    broker = mosquitto_factory(name="central", users=users, acl=central_acl(STATIONS))
    database = f"receipts_{uuid.uuid4().hex[:8]}"
    influxdb_server.init_frailwatch(database)  # as `frailwatch influx init`: the ops policy must exist
    capture = Capture(broker.host, broker.port, "fw/v1/+/receipts", username="ops", password=users["ops"])
    central = Central(broker, influxdb_server, database, users, tmp_path, capture)
    devices = {s: mosquitto_factory(name=f"station-{s}") for s in STATIONS}
    agents = [
        Role(
            f"edge-{s}",
            ["edge", "run"],
            edge_env(
                s,
                devices[s],
                broker,
                users[s],
                tmp_path / f"spool-{s}",
                receipts=str(receipts).lower(),
                receipt_timeout_s="2",
                reconnect_max_s="1",
                heartbeat_s="1",
            ),
            tmp_path,
        ).start()
        for s in STATIONS
    ]
    spy = _spy(broker, "ops", users["ops"])
    try:
        # The gateway takes 4 s to come back after the restart, the stations 1 s: the window in which
        # the broker has no shared subscription but the operator's session, and answers 0x00.
        central.gateway(client_id="gw-receipts", reconnect_min_s="4", reconnect_max_s="4")
        central.wait_subscribed()
        time.sleep(1.0)

        def stream(station: str, first: int) -> None:
            readings = [device_reading(first + i) for i in range(n // 2)]
            sender = EdgeStandIn(devices[station].host, devices[station].port)
            for i in range(0, len(readings), 10):  # a steady stream over about 6 s
                sender.send(readings[i : i + 10], timeout_s=60)
                time.sleep(0.25)
            sender.close()

        threads = [threading.Thread(target=stream, args=(s, k * n)) for k, s in enumerate(STATIONS)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        if restart == "kill -9":
            broker.kill()
            time.sleep(0.5)
            broker.start()
        else:
            broker.restart()
        for t in threads:
            t.join(120)
        wait_until(lambda: central.count("vitals", "message_id") >= n, 60 if receipts else 20)
        time.sleep(3.0)
        rows = central.rows('SELECT count("message_id"), count(distinct("message_id")) FROM "vitals"')
        beats = Capture(broker.host, broker.port, "fw/v1/+/heartbeat", username="ops", password=users["ops"])
        try:

            def drained() -> bool:
                latest = {m.topic: m for m in beats.messages}
                return len(latest) == len(STATIONS) and all(
                    json.loads(m.payload)["spool_depth"] == 0 for m in latest.values()
                )

            spools_drained = wait_until(drained, 30)
        finally:
            beats.close()
        return Outcome(int(rows[0]["count"]), int(rows[0]["count_1"]), spools_drained, len(capture.messages))
    finally:
        spy.terminate()
        spy.communicate(timeout=5)
        for agent in agents:
            agent.stop()
        central.close()
        influxdb_server.query(f'DROP DATABASE "{database}"', method="POST")


@pytest.mark.parametrize("restart", ["kill -9", "clean"])
def test_broker_restart_with_an_operator_watching_loses_and_doubles_nothing(
    restart: str, mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> None:
    outcome = _drill(restart, True, mosquitto_factory, influxdb_server, tmp_path, n=240)
    assert (outcome.stored, outcome.distinct) == (240, 240), outcome
    assert outcome.spools_drained and outcome.receipts_seen > 0, outcome


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("FW_SLOW") != "1", reason="demonstrates the loss receipts prevent; FW_SLOW=1"
)
def test_without_receipts_the_same_restart_loses_readings(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> None:
    """The control: the PUBACK as proof of delivery (receipts off) loses what the broker answered
    0x00 for while only the operator's session matched — and the spools look drained."""
    outcome = _drill("kill -9", False, mosquitto_factory, influxdb_server, tmp_path, n=240)
    assert outcome.stored < 240 and outcome.spools_drained, outcome
