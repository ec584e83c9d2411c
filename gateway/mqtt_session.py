"""The gateway's MQTT 5 session with the central broker.

:func:`make_client` builds the paho client (:func:`runtime.mqtt_client.mqtt5_client`: credentials, TLS
when a CA is set) with manual acknowledgements, our own publishes sent at once (no inflight or
queue limit of paho's) and the reconnect delays.
:class:`MqttSession` connects it with a persistent session (``clean_start=False``, Session
Expiry) and Receive Maximum — the bound on unacknowledged deliveries, so the backpressure — and on
every connect subscribes to :func:`subscriptions` (Mosquitto forgets shared subscriptions across
its restart even when it resumes the session). paho's network thread only hands each message to
the intake queue as a :class:`gateway.acknowledgements.Delivery`; connects and disconnects start
a new acknowledgement generation. :meth:`MqttSession.publish` sends a QoS 1 message that a
delivery waits for: its PUBACK releases the hold.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.acknowledgements import Acknowledgements, Delivery, Hold
from gateway.metrics import Metrics
from gateway.settings import GatewaySettings
from runtime.mqtt_client import mqtt5_client
from telemetry import topics

log = logging.getLogger("frailwatch.gateway")

# A delivery and its routing hold. SimpleQueue: a C queue, a fraction of queue.Queue's
# per-message locking on paho's network thread.
Intake = queue.SimpleQueue[tuple[Delivery, Hold]]


def subscriptions(group: str) -> list[str]:
    """The filters every replica subscribes to: shared ones for the work, and station status as an
    ordinary subscription. Brokers never deliver retained messages to shared subscriptions, so a
    (re)started gateway would never learn the current online/offline state; with an ordinary one
    every replica receives it (and every live change), and the points are written idempotently
    (see :func:`gateway.stations.status_point`)."""
    filters = (
        topics.ALL_DATA,
        topics.ALL_BATCHES,
        topics.ALL_HEARTBEATS,
        topics.ALL_STATION_DEADLETTERS,
        topics.ALL_CASE_ACTIONS,
    )
    return [*(topics.shared(group, f) for f in filters), topics.ALL_STATUS]


def make_client(settings: GatewaySettings) -> mqtt.Client:
    s = settings
    client = mqtt5_client(
        s.client_id, s.mqtt_username, s.mqtt_password, s.mqtt_ca_file, s.mqtt_cert_file, s.mqtt_key_file
    )
    client.manual_ack_set(True)
    # Our own publishes (dead letters, alerts) go out at once and in order with our PUBACKs.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)  # type: ignore[arg-type]
    return client


class MqttSession:
    """paho's callbacks → intake and acknowledgement generations; publishes a delivery waits for."""

    def __init__(
        self,
        client: mqtt.Client,
        settings: GatewaySettings,
        acks: Acknowledgements,
        intake: Intake,
        metrics: Metrics,
        stopping: threading.Event,
    ) -> None:
        self.client = client
        self.settings = settings
        self.acks = acks
        self.intake = intake
        self.metrics = metrics
        self._stopping = stopping
        self.connected = threading.Event()
        self._pub_lock = threading.Lock()
        self._pub_waiting: dict[int, Hold] = {}
        self._pub_early: set[int] = set()  # PUBACKs that came before publish() returned the mid
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish

    def start(self) -> None:
        s = self.settings
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = s.session_expiry_s
        props.ReceiveMaximum = s.receive_maximum
        self.client.connect_async(
            s.mqtt_host, s.mqtt_port, keepalive=s.mqtt_keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, delivery: Delivery, topic: str, payload: bytes) -> None:
        """QoS 1 publish that ``delivery`` waits for (its PUBACK releases it)."""
        hold = self.acks.hold((delivery,))
        info = self.client.publish(topic, payload, qos=1)
        with self._pub_lock:
            acked = info.mid in self._pub_early
            if acked:
                self._pub_early.discard(info.mid)
            else:
                self._pub_waiting[info.mid] = hold
        if acked:
            hold.release()

    def publish_unheld(self, topic: str, payload: bytes) -> None:
        """QoS 1 publish nothing waits for (receipts: a lost one only causes a re-send)."""
        self.client.publish(topic, payload, qos=1)

    # --- paho's network thread ---------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        self.acks.new_connection()
        options = SubscribeOptions(qos=1)
        client.subscribe([(f, options) for f in subscriptions(self.settings.share_group)])
        # Sessions of earlier versions also hold status as a shared filter: drop it (harmless if absent).
        client.unsubscribe(topics.shared(self.settings.share_group, topics.ALL_STATUS))
        self.connected.set()
        self.metrics.connected.set(1)
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.settings.client_id,
            getattr(flags, "session_present", "?"),
        )

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.acks.new_connection()
        self.connected.clear()
        self.metrics.connected.set(0)
        if not self._stopping.is_set():
            log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Only enqueue: the network loop must never wait on decoding or InfluxDB.
        self.intake.put(self.acks.receive(msg.mid, msg.qos, msg.topic, bytes(msg.payload), bool(msg.retain)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        # Called with paho's message lock held: never block here, never publish.
        with self._pub_lock:
            hold = self._pub_waiting.pop(mid, None)
            if hold is None:
                self._pub_early.add(mid)
                return
        hold.release()
