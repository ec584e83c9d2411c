"""Watches the central broker during the demo as an operator would: heartbeats, case events, dead letters.

It authenticates as the read-only ``ops`` user (the same role as in docker-compose.yml) and decodes
every message with the wire contract's models, so the summary reports what actually crossed the
broker, not what the simulator meant to send.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from telemetry import topics
from telemetry.cases import CaseEvent
from telemetry.events import DeadLetter
from telemetry.station import Heartbeat, StationStatus

OPS_USER = "ops"
SESSION_EXPIRY_S = 3600


@dataclass
class Observation:
    """Everything seen so far; guarded by the observer's lock."""

    case_events: list[CaseEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)  # latest per station
    status: dict[str, str] = field(default_factory=dict)  # station -> online/offline
    undecodable: int = 0


class Observer:
    """A paho client on its own network thread, subscribed read-only to fw/v1/#."""

    def __init__(self, host: str, port: int, password: str) -> None:
        self._lock = threading.Lock()
        self._seen = Observation()
        self._connected = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"frailwatch-demo-observer-{secrets.token_hex(4)}",
            protocol=mqtt.MQTTv5,
        )
        self._client.username_pw_set(OPS_USER, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._host, self._port = host, port

    def start(self, timeout_s: float = 10.0) -> None:
        # A persistent session: case events and dead letters the gateway publishes while this client is
        # away (the outage: the gateway reconnects faster than we do) wait for us at the broker.
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect(self._host, self._port, keepalive=30, clean_start=False, properties=properties)
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            raise TimeoutError("demo observer could not connect and subscribe to the central broker")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def snapshot(self) -> Observation:
        with self._lock:
            return Observation(
                case_events=list(self._seen.case_events),
                dead_letters=list(self._seen.dead_letters),
                heartbeats=dict(self._seen.heartbeats),
                status=dict(self._seen.status),
                undecodable=self._seen.undecodable,
            )

    def spool_depths(self) -> dict[str, int]:
        with self._lock:
            return {station: hb.spool_depth for station, hb in self._seen.heartbeats.items()}

    def heartbeat_times(self) -> dict[str, float]:
        with self._lock:
            return {station: hb.at.timestamp() for station, hb in self._seen.heartbeats.items()}

    def dead_letter_reasons(self) -> Counter[str]:
        with self._lock:
            return Counter(str(d.reason) for d in self._seen.dead_letters)

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            return
        client.subscribe(
            [
                (topics.ALL_HEARTBEATS, 0),
                (topics.ALL_STATUS, 1),
                (topics.ALL_ALERTS, 1),
                # fw/v1/+/deadletter also matches fw/v1/gateway/deadletter: subscribing to both would
                # deliver each gateway dead letter twice (overlapping subscriptions).
                (topics.ALL_STATION_DEADLETTERS, 1),
            ]
        )

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: object, _mid: int, _codes: object, _p: object
    ) -> None:
        # Ready once the broker has the subscriptions (SUBACK), not when they were sent: anything
        # published in between would pass us by.
        self._connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            self._record(message.topic, bytes(message.payload))
        except (ValidationError, ValueError):
            with self._lock:
                self._seen.undecodable += 1

    def _record(self, topic: str, payload: bytes) -> None:
        if topic.startswith(f"{topics.ROOT}/alerts/"):
            event = CaseEvent.model_validate_json(payload)
            with self._lock:
                self._seen.case_events.append(event)
            return
        if topic == topics.GATEWAY_DEADLETTER:
            letter = DeadLetter.model_validate_json(payload)
            with self._lock:
                self._seen.dead_letters.append(letter)
            return
        parsed = topics.parse(topic)
        if parsed.channel == "heartbeat":
            heartbeat = Heartbeat.model_validate_json(payload)
            with self._lock:
                self._seen.heartbeats[parsed.station_id] = heartbeat
        elif parsed.channel == "deadletter":
            letter = DeadLetter.model_validate_json(payload)
            with self._lock:
                self._seen.dead_letters.append(letter)
        elif parsed.channel == "status" and payload:
            status = StationStatus.model_validate_json(payload)
            with self._lock:
                self._seen.status[parsed.station_id] = status.state
