"""Visit results from the central broker into the station's store (gateway → station).

Its own paho-mqtt 2.x client (``fw-edge-<station>-results``), so the uplink's tested publishing
path is untouched: MQTT 5, a persistent session (clean start off, session expiry
``results_session_expiry_s``) so results published while the station is offline wait at the
broker, a QoS 1 subscription to the station's own ``fw/v1/<station>/results`` made on every
connect, and manual acknowledgement: a result is acknowledged only after it is committed to the
station store (architecture: "No loss, no double"), or — when it is refused — after its dead letter is kept.
A refused result (bad JSON, a field out of bounds, another station's result) is never stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.settings import EdgeSettings
from edge.station_store import StationStore
from runtime.mqtt_client import mqtt5_client
from telemetry import topics
from telemetry.errors import ContractError, Reason
from telemetry.results import VisitResult, decode_result

log = logging.getLogger("frailwatch.edge.downlink")

#: (topic, reason, detail, size) → keep the refusal as a dead letter (the agent's own path).
Refuse = Callable[[str, Reason, str, int], None]


class ResultsDownlink:
    def __init__(
        self,
        settings: EdgeSettings,
        store: StationStore,
        refuse: Refuse,
        on_result: Callable[[VisitResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self.station = settings.station_id
        self.topic = topics.results(self.station)
        self.store = store
        self._refuse = refuse
        self._on_result = on_result
        self.subscribed = threading.Event()
        self.received = 0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt5_client(
            f"fw-edge-{self.station}-results",
            s.uplink_username,
            s.uplink_password,
            s.uplink_ca_file,
            s.uplink_cert_file,
            s.uplink_key_file,
        )
        client.manual_ack_set(True)
        client.reconnect_delay_set(min(1, int(s.reconnect_min_s) or 1), max(1, int(s.reconnect_max_s)))
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = lambda *_: self.subscribed.clear()
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.results_session_expiry_s
        self.client.connect_async(
            self.settings.uplink_host,
            self.settings.uplink_port,
            keepalive=self.settings.uplink_keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("results downlink: connect refused: %s", reason)
            return
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error(
                "results downlink: the central broker refused the subscription to %s (%s); check the"
                " station's ACL (it needs `topic read %s`)",
                self.topic,
                reasons,
                self.topic,
            )
            return
        self.subscribed.set()
        log.info("results downlink subscribed to %s", self.topic)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        raw = bytes(msg.payload)
        try:
            self.accept(msg.topic, raw)
        except Exception:  # never crash the network thread; the letter says what happened
            log.exception("results downlink: unexpected failure on a result")
            self._refuse(msg.topic, Reason.INVALID, "internal error handling a visit result", len(raw))
        client.ack(msg.mid, msg.qos)  # only now: stored, or kept as a dead letter

    def accept(self, topic: str, raw: bytes) -> bool:
        """Store one result; False (and dead-lettered) when refused."""
        if topic != self.topic:
            self._refuse(
                topic, Reason.UNKNOWN_TOPIC, f"not this station's results topic {self.topic}", len(raw)
            )
            return False
        try:
            result = decode_result(raw, self.station)
        except ContractError as error:
            self._refuse(topic, error.reason, f"visit result: {error}"[:1024], len(raw))
            return False
        self.received += 1
        stored = self.store.put_result(result)
        log.info(
            "visit result %s for visit %s (%s)", "stored" if stored else "superseded", result.visit_ref, topic
        )
        if self._on_result is not None:
            self._on_result(result)
        return True
