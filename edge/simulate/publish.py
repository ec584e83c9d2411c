"""Publishing the cohort: to station brokers as devices, or to the central broker as edges."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.intake import to_message
from edge.simulate.cohort import Cohort, DeviceMessage, Truth
from telemetry import codec, topics


def stream(
    cohort: Cohort, malformed_share: float = 0.0, seed: int = 0
) -> Iterator[tuple[Truth, DeviceMessage, bool]]:
    """Every reading in time order; a share of them deliberately broken (flag True)."""
    rng = random.Random(seed)
    for visit in cohort.visits():
        truth, messages = cohort.messages(*visit)
        for message in messages:
            if rng.random() < malformed_share:
                yield truth, _break(message, rng), True
            else:
                yield truth, message, False


def _break(message: DeviceMessage, rng: random.Random) -> DeviceMessage:
    document = json.loads(json.dumps(message.document))
    choice = rng.randrange(3)
    if choice == 0:
        document.pop("measured_at")
    elif choice == 1:
        document["payload"]["unexpected"] = 1
    else:
        document["measured_at"] = "yesterday"
    return DeviceMessage(message.station_id, message.topic, document)


def connect(host: str, port: int, username: str | None = None, password: str | None = None) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(100)
    client.connect(host, port)
    client.loop_start()
    return client


def run_simulation(
    cohort: Cohort,
    brokers: dict[str, mqtt.Client],
    central: mqtt.Client | None = None,
    key: bytes | None = None,
    rate: float = 0.0,
    speedup: float = 0.0,
    malformed_share: float = 0.0,
    truth_file: Path | None = None,
) -> int:
    """Publish the whole cohort; returns how many messages were published (QoS 1, acked)."""
    sent = 0
    started = time.monotonic()
    first_at = None
    seen_truth: set[tuple[str, int]] = set()
    truth_out = truth_file.open("w") if truth_file else None
    infos = []
    try:
        for truth, message, broken in stream(cohort, malformed_share, cohort.seed):
            if truth_out and (truth.member_id, truth.visit) not in seen_truth:
                seen_truth.add((truth.member_id, truth.visit))
                truth_out.write(json.dumps(truth.as_json()) + "\n")
            raw = json.dumps(message.document).encode()
            at = time.mktime(time.strptime(truth.measured_at[:19], "%Y-%m-%dT%H:%M:%S"))
            first_at = first_at or at
            if speedup > 0:
                _sleep_until(started + (at - first_at) / speedup)
            if rate > 0:
                _sleep_until(started + sent / rate)
            if central is not None:
                if broken or key is None:
                    continue
                contract, _ = to_message(message.topic, raw, message.station_id, key)
                topic = topics.data(message.station_id, contract.device_kind, contract.device_id)
                infos.append(central.publish(topic, codec.encode(contract), qos=1))
            elif message.station_id in brokers:
                infos.append(brokers[message.station_id].publish(message.topic, raw, qos=1))
            else:
                continue
            sent += 1
        for info in infos:
            info.wait_for_publish(30)
    finally:
        if truth_out:
            truth_out.close()
    return sent


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def key_from_env() -> bytes | None:
    value = os.environ.get("FRAILWATCH_EDGE_PSEUDONYM_KEY")
    return value.encode() if value else None
