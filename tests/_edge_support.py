"""Helpers to run the edge agent (as `frailwatch edge run` subprocess) and capture central traffic.

Gateway, drill and demo tests may use these: ``EdgeProcess``, ``edge_settings_env``,
``CentralCapture`` (a persistent-session wildcard subscriber that survives broker restarts),
``GatewayStandIn`` (a persistent session with the gateway's *shared* subscription) and
``publish_device`` (QoS 1, waits for PUBACK).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from runtime.local_servers import Mosquitto

EDGE_KEY = "edge-test-key-0123456789abcdef"


def edge_settings_env(
    station: str, devices: Mosquitto, central: Mosquitto, spool_dir: Path, **extra: str
) -> dict[str, str]:
    """An edge agent's settings against a bare central broker. No gateway runs there, so nothing
    sends receipts: these tests check the PUBACK layer with receipts off (``receipts="true"`` to
    test them; tests with a real gateway use tests._drill_support.edge_env, receipts on)."""
    return {
        "FRAILWATCH_EDGE_RECEIPTS": "false",
        "FRAILWATCH_EDGE_STATION_ID": station,
        "FRAILWATCH_EDGE_DEVICE_MQTT_HOST": devices.host,
        "FRAILWATCH_EDGE_DEVICE_MQTT_PORT": str(devices.port),
        "FRAILWATCH_EDGE_UPLINK_HOST": central.host,
        "FRAILWATCH_EDGE_UPLINK_PORT": str(central.port),
        "FRAILWATCH_EDGE_PSEUDONYM_KEY": EDGE_KEY,
        "FRAILWATCH_EDGE_SPOOL_DIR": str(spool_dir),
        "FRAILWATCH_EDGE_HEARTBEAT_S": "0.5",
        **{f"FRAILWATCH_EDGE_{k.upper()}": v for k, v in extra.items()},
    }


class EdgeProcess:
    """`python -m frailwatch.cli edge run` with its own log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> EdgeProcess:
        environment = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "frailwatch.cli", "edge", "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(20)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_device_ready(self, timeout_s: float = 20.0, starts: int = 1) -> bool:
        """Wait for the agent's SUBACK at the station broker (logged once per start). Before it, a
        fresh station broker has no session for the agent and keeps nothing a device publishes."""
        return wait_until(lambda: self.log().count(DEVICE_READY) >= starts, timeout_s)


DEVICE_READY = "device broker subscribed to"


@dataclass
class Captured:
    topic: str
    payload: bytes
    retain: bool


class CentralCapture:
    """Wildcard subscriber on the central broker with a persistent session (it keeps receiving
    across a graceful broker stop/start, so nothing published meanwhile is missed)."""

    def __init__(
        self,
        broker: Mosquitto,
        topic_filter: str = "#",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.messages: list[Captured] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"capture-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(1, 1)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect(broker.host, broker.port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Captured(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self) -> list[Captured]:
        with self._lock:
            return list(self.messages)

    def data(self) -> list[dict[str, Any]]:
        """Every data message in arrival order, batches unpacked."""
        out: list[dict[str, Any]] = []
        for m in self.snapshot():
            if "/data/" in m.topic:
                out.append(json.loads(m.payload))
            elif m.topic.endswith("/batch"):
                out += json.loads(m.payload)["messages"]
        return out

    def batches(self) -> list[Captured]:
        return [m for m in self.snapshot() if m.topic.endswith("/batch")]

    def heartbeats(self) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in self.snapshot() if m.topic.endswith("/heartbeat")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class GatewayStandIn:
    """What the gateway does at the central broker: a persistent session (clean_start=False) with
    the *shared* subscription ``$share/gateway/...`` to data and batches, made again on every
    connect. Records every data message id it receives (batches unpacked)."""

    def __init__(self, broker: Mosquitto, client_id: str = "gateway-standin") -> None:
        self.broker = broker
        self.ids: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            from telemetry import topics

            c.subscribe(
                [
                    (topics.shared("gateway", topics.ALL_DATA), 1),
                    (topics.shared("gateway", topics.ALL_BATCHES), 1),
                ]
            )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        document = json.loads(msg.payload)
        found = [m["message_id"] for m in document["messages"]] if "messages" in document else []
        with self._lock:
            self.ids += found or [document["message_id"]]

    def connect(self) -> GatewayStandIn:
        self._subscribed.clear()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect(self.broker.host, self.broker.port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self._subscribed.wait(10), "no SUBACK for the shared subscription"
        return self

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def received(self) -> list[str]:
        with self._lock:
            return list(self.ids)


def device_client(broker: Mosquitto) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(50)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def publish_device(client: mqtt.Client, topic: str, document: dict[str, Any]) -> None:
    """Publish as a device does (QoS 1) and wait for the station broker's PUBACK."""
    client.publish(topic, json.dumps(document).encode(), qos=1).wait_for_publish(10)


def wait_until(condition: Callable[[], bool], timeout_s: float, every_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return condition()
