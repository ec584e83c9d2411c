"""The gateway under faults, every part real: ``kill -9`` mid-stream, InfluxDB stopped
mid-stream, two replicas on one shared subscription, a forged station (``mosquitto_pub`` as an
independent client) and redelivered messages. Counts are by message: 0 lost, 0 duplicated.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.local_servers import InfluxDB, Mosquitto, free_port, require_binary
from telemetry import DeadLetter, Recording, decode_as, encode, topics
from telemetry.examples import example_messages
from tests._drill_support import probe_message, wait_until
from tests._gateway_support import Central, gateway_metric, start_central
from tests.corpus import OTHER_STATION, example, good_messages

pytestmark = pytest.mark.drill
OUTAGE_S = 30.0 if os.environ.get("FW_SLOW") == "1" else 10.0


def _traffic(vitals: int, grips: int) -> list[tuple[str, bytes]]:
    """Vitals readings with grip readings (which also trigger scores and decline checks) between."""
    out = [(t, d) for t, d, _ in good_messages(vitals)]
    every = max(1, vitals // max(1, grips))
    for n in range(grips):
        out.insert(n * (every + 1), probe_message(n))
    return out


def test_kill9_mid_stream_and_restart_lose_and_duplicate_nothing(central: Central) -> None:
    gateway = central.gateway(client_id="gw-kill")
    central.wait_subscribed()
    traffic = _traffic(1500, 150)
    edge = central.edge()
    sender = threading.Thread(target=edge.send, args=(traffic,), kwargs={"timeout_s": 90})
    sender.start()
    assert wait_until(lambda: central.count("vitals", "message_id") > 100, 30), central.logs()
    gateway.kill9()  # written, unwritten and written-but-unacknowledged messages at this instant
    killed_at = central.count("vitals", "message_id")
    time.sleep(0.5)
    gateway.start()  # same client id: the broker resumes the session and redelivers
    sender.join()
    edge.close()
    assert wait_until(
        lambda: central.count("vitals", "message_id") >= 1500 and central.count("grip", "message_id") >= 150,
        60,
    ), central.logs()
    time.sleep(1.5)
    assert killed_at < 1500, "the kill landed after the stream was written"
    assert central.count("vitals", "message_id") == 1500
    assert central.count("grip", "message_id") == 150
    ids = [r["message_id"] for r in central.rows('SELECT "message_id" FROM "vitals"')]
    assert len(set(ids)) == 1500
    assert central.count("frailty", "inputs") == 1, "one visit's scores, overwritten, not duplicated"


def test_influxdb_outage_holds_acknowledgements_and_drains_after(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_factory: Callable[[], InfluxDB], tmp_path: Path
) -> None:
    influx = influxdb_factory()
    c = start_central(mosquitto_factory, influx, tmp_path)
    port = free_port()
    try:
        gateway = c.gateway(client_id="gw-outage", metrics_port=str(port))
        c.wait_subscribed()
        traffic = _traffic(400, 40)
        edge = c.edge()
        edge.send(traffic[:200])
        assert wait_until(lambda: c.count("vitals", "message_id") + c.count("grip", "message_id") >= 200, 30)
        influx.stop()
        edge.send(traffic[200:], timeout_s=30)  # the broker takes them; the gateway must hold them
        time.sleep(2.0)
        acked = gateway_metric(port, "frailwatch_gateway_acked_total")
        time.sleep(OUTAGE_S - 2.0)
        assert gateway_metric(port, "frailwatch_gateway_acked_total") == acked, (
            "acknowledged while InfluxDB was down"
        )
        assert gateway_metric(port, "frailwatch_gateway_in_flight") > 0
        assert gateway.alive
        influx.start()
        edge.close()
        assert wait_until(
            lambda: c.count("vitals", "message_id") >= 400 and c.count("grip", "message_id") >= 40, 60
        ), c.logs()
        time.sleep(1.0)
        assert (c.count("vitals", "message_id"), c.count("grip", "message_id")) == (400, 40)
        assert gateway.starts == 1 and gateway.alive
        assert gateway_metric(port, "frailwatch_gateway_write_retries") > 0
    finally:
        c.close()


def test_two_replicas_share_one_subscription_and_write_each_message_once(central: Central) -> None:
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        central.gateway(client_id=f"gw-replica-{n}", metrics_port=str(port))
    central.wait_subscribed()
    edge = central.edge()
    edge.send([(t, d) for t, d, _ in good_messages(3000)], timeout_s=90)
    edge.close()
    assert wait_until(lambda: central.count("vitals", "message_id") >= 3000, 60), central.logs()
    time.sleep(1.0)
    assert central.count("vitals", "message_id") == 3000
    received = [gateway_metric(port, "frailwatch_gateway_messages_total") for port in ports]
    assert all(n > 100 for n in received), f"one replica got (almost) nothing: {received}"
    assert sum(received) >= 3000
    # Each replica also reports itself in gateway_stats, tagged with its client id.
    tags = {
        r["gateway"] for r in central.rows('SELECT "messages_total", "gateway" FROM "ops"."gateway_stats"')
    }
    assert tags == {"gw-replica-0", "gw-replica-1"}


def _gait_with_recording() -> bytes:
    from processing.synthetic.gait import WalkTruth, simulate_walk
    from telemetry.recording import IMU_CHANNELS, IMU_UNITS

    walk = simulate_walk(WalkTruth(n_steps=30), 100.0, seed=3)
    samples = [[*a, *g] for a, g in zip(walk.acc.tolist(), walk.gyr.tolist(), strict=True)]
    document = example("gait")
    document["message_id"] = "redelivered-gait-0001"
    document["payload"]["recording"] = json.loads(
        Recording.from_array(samples, 100.0, IMU_CHANNELS, IMU_UNITS).model_dump_json()
    )
    return json.dumps(document).encode()


def test_forged_station_and_redelivery(central: Central) -> None:
    central.gateway()
    central.wait_subscribed()
    # mosquitto_pub, as station gj-01, publishes a message that claims to come from gj-02.
    forged = example("vitals")
    forged["station_id"] = OTHER_STATION
    subprocess.run(
        [
            *(require_binary("mosquitto_pub"), "-h", central.broker.host, "-p", str(central.broker.port)),
            *("-u", "gj-01", "-P", central.passwords["gj-01"], "-q", "1", "-V", "mqttv5"),
            *("-t", "fw/v1/gj-01/data/vitals/vitals-1", "-m", json.dumps(forged)),
        ],
        check=True,
        timeout=10,
    )
    letters = central.capture.wait_for(lambda m: m.topic == topics.GATEWAY_DEADLETTER, 1, 20)
    (letter,) = [decode_as(DeadLetter, m.payload) for m in letters]
    assert (letter.reason.value, letter.station_id, letter.path) == ("impersonation", "gj-01", "station_id")
    assert wait_until(lambda: len(central.rows('SELECT * FROM "dead_letter"')) >= 1, 20)
    rows = central.rows('SELECT * FROM "dead_letter"')
    assert [(r["reason"], r["station_id"]) for r in rows] == [("impersonation", "gj-01")]
    assert central.count("vitals", "heart_rate_bpm") == 0

    # Redelivery: the same messages three times (a recording, a scored reading, a batch).
    grip = encode(example_messages()["grip"])  # type: ignore[index]
    batch = json.dumps(
        {
            "message_type": "batch",
            "station_id": "gj-01",
            "messages": [example("vitals"), example("cognition")],
        }
    ).encode()
    once = [
        ("fw/v1/gj-01/data/gait/gait-1", _gait_with_recording()),
        ("fw/v1/gj-01/data/grip/grip-1", grip),
        ("fw/v1/gj-01/batch", batch),
    ]
    edge = central.edge()
    for _ in range(3):
        edge.send(once)
    edge.close()
    assert wait_until(lambda: central.count("gait_features", "gait_speed_mps") >= 2, 60), central.logs()
    assert wait_until(lambda: central.count("frailty", "inputs") >= 1, 20)
    time.sleep(2.0)
    counts = {
        m: central.count(m, "message_id") for m in ("gait", "gait_features", "grip", "vitals", "cognition")
    }
    assert counts == {"gait": 1, "gait_features": 2, "grip": 1, "vitals": 1, "cognition": 1}
    assert central.count("frailty", "inputs") == 1
    assert len(central.rows('SELECT * FROM "dead_letter"')) == 1, "only the forged message"


def test_sigterm_mid_stream_flushes_acknowledges_and_exits_cleanly(central: Central) -> None:
    gateway = central.gateway(client_id="gw-term")
    central.wait_subscribed()
    edge = central.edge()
    sender = threading.Thread(target=edge.send, args=(_traffic(1500, 50),), kwargs={"timeout_s": 90})
    sender.start()
    assert wait_until(lambda: central.count("vitals", "message_id") > 100, 30), central.logs()
    started = time.monotonic()
    assert gateway.stop() == 0, gateway.log()[-3000:]  # SIGTERM: stop intake, flush, ack, disconnect
    assert time.monotonic() - started < 12
    assert "gateway stopped" in gateway.log()
    gateway.start()
    sender.join()
    edge.close()
    assert wait_until(
        lambda: central.count("vitals", "message_id") >= 1500 and central.count("grip", "message_id") >= 50,
        60,
    ), central.logs()
    time.sleep(1.0)
    assert (central.count("vitals", "message_id"), central.count("grip", "message_id")) == (1500, 50)
