"""Edge backlog drain after an uplink outage: one reading per MQTT message vs MessageBatches.

Real Mosquitto brokers (station and central) and the real agent in-process. N vitals readings
are published while the central broker is down (they are spooled); then the central broker
starts and we time until a wildcard subscriber has all N. The subscriber's persistent session
exists before the outage, as the gateway's does: otherwise the agent's first publishes would meet
"no matching subscribers" (0x10), which it rightly keeps and re-sends after a backoff — timing
that race, not the drain. Usage:
``uv run python -m benchmarks edge_backlog [--readings 2000]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from benchmarks.common import machine, print_table, write_result
from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from runtime.local_servers import Mosquitto


def _reading(n: int) -> dict[str, Any]:
    return {
        "participant_id": f"M{2_000_000 + n % 300}",
        "measured_at": f"2026-05-12T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "payload": {"systolic_mmhg": 120 + n % 20, "diastolic_mmhg": 80, "heart_rate_bpm": 60 + n % 30},
    }


def _count_ids(central: Mosquitto, seen: set[str]) -> mqtt.Client:
    """A persistent-session wildcard subscriber; connecting again resumes its session."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="backlog-count", protocol=mqtt.MQTTv5)
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        doc = json.loads(msg.payload)
        for m in doc.get("messages", [doc]) if "/data/" in msg.topic or msg.topic.endswith("/batch") else []:
            seen.add(m["message_id"])

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("fw/v1/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    client.connect(central.host, central.port, clean_start=False, properties=props)
    client.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError("the counting subscriber got no SUBACK")
    return client


def drain(readings: int, batch_max: int, workdir: Path) -> dict[str, Any]:
    devices = Mosquitto(workdir / f"station-{batch_max}")
    central = Mosquitto(workdir / f"central-{batch_max}")
    devices.start()
    seen: set[str] = set()
    central.start()
    capture = _count_ids(central, seen)
    capture.disconnect()
    capture.loop_stop()
    central.stop()  # the outage; the subscriber's session (and subscription) is persisted
    settings = EdgeSettings.model_validate(
        {
            "station_id": "gj-01",
            "device_mqtt_port": devices.port,
            "uplink_port": central.port,
            "pseudonym_key": "benchmark-key-0123456789abcdef",
            "spool_dir": workdir / f"spool-{batch_max}",
            "batch_max": batch_max,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 0.5,
            "drain_s": 2,
        }
    )
    agent = EdgeAgent(settings)
    threading.Thread(target=agent.run, daemon=True).start()
    while not agent.devices.is_connected():  # readings published before it subscribes would be lost
        time.sleep(0.05)
    time.sleep(0.5)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    device.max_inflight_messages_set(100)
    device.connect(devices.host, devices.port)
    device.loop_start()
    infos = [
        device.publish("fwdev/v1/vitals/vitals-1", json.dumps(_reading(n)), qos=1) for n in range(readings)
    ]
    for info in infos:
        info.wait_for_publish(60)
    while agent.spool.depth() < readings:
        time.sleep(0.05)
    started = time.perf_counter()  # broker start-up included: the agent may publish as soon as it listens
    central.start()
    capture = _count_ids(central, seen)  # back at once, like a gateway; queued messages flow
    while len(seen) < readings:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    agent.stop()
    for client in (capture, device):
        client.disconnect()
        client.loop_stop()
    time.sleep(0.5)
    devices.stop()
    central.stop()
    return {
        "batch_max": batch_max,
        "readings": readings,
        "drain_s": round(elapsed, 3),
        "per_s": round(readings / elapsed),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks edge_backlog")
    parser.add_argument("--readings", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [drain(args.readings, batch_max, Path(tmp)) for batch_max in (1, 50)]
    rows[1]["speedup"] = round(rows[0]["drain_s"] / rows[1]["drain_s"], 2)
    print_table(
        "edge backlog drain after an outage", rows, ["batch_max", "readings", "drain_s", "per_s", "speedup"]
    )
    write_result("edge_backlog", {"machine": machine(), "rows": rows})
    return 0
