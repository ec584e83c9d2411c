"""Drill 1 at the broker: what the central Mosquitto promises across a restart and a crash.

The gateway's zero-loss guarantee rests on the broker keeping acknowledged QoS 1 messages for a
persistent session (architecture: "No loss, no double"). Here a persistent-session subscriber
(as the gateway is)
and a publisher that re-sends whatever was not acknowledged (as the edge does) stream through a
broker that is restarted, or SIGKILLed, mid-stream: every message id must arrive.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from runtime.local_servers import Mosquitto
from telemetry import decode, topics
from tests._drill_support import EdgeStandIn, wait_until
from tests.corpus import good_messages

pytestmark = pytest.mark.drill


class SessionSubscriber:
    """A persistent-session MQTT 5 subscriber that acknowledges after "processing" (recording)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="drill-gateway", protocol=mqtt.MQTTv5
        )
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        properties.ReceiveMaximum = 1000
        self.client.connect(broker.host, broker.port, clean_start=False, properties=properties)
        self.client.loop_start()
        assert wait_until(self.client.is_connected, 5)

    def _on_connect(self, c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            c.subscribe(topics.ALL_DATA, qos=1)

    def _on_message(self, c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.ids.append(decode(message.payload).message_id)
        c.ack(message.mid, message.qos)

    def distinct(self) -> set[str]:
        with self._lock:
            return set(self.ids)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _stream_through(
    broker: Mosquitto, fault: Callable[[], None], count: int = 600
) -> tuple[set[str], int, int]:
    subscriber = SessionSubscriber(broker)
    time.sleep(0.3)  # the subscription exists before the stream starts
    messages = good_messages(count)
    timer = threading.Timer(1.0, fault)
    timer.start()
    edge = EdgeStandIn(broker.host, broker.port)
    try:
        edge.send([(t, d) for t, d, _ in messages], rate_per_s=200, timeout_s=60)
    finally:
        timer.join()
        edge.close()
    wait_until(lambda: len(subscriber.distinct()) >= count, 30)
    received = subscriber.distinct()
    total = len(subscriber.ids)
    subscriber.close()
    assert received == {message_id for _, _, message_id in messages}, f"lost {count - len(received)}"
    return received, total, edge.resent


def test_broker_restart_loses_nothing_acknowledged(mosquitto: Mosquitto) -> None:
    def restart() -> None:
        mosquitto.stop()
        time.sleep(0.5)
        mosquitto.start()

    _stream_through(mosquitto, restart)


def test_broker_crash_loses_nothing_when_it_saves_every_change(
    mosquitto_factory: Callable[..., Mosquitto],
) -> None:
    """kill -9 mid-stream, with ``autosave_on_changes true`` (with ``autosave_interval 1``: save
    after every change): every acknowledged message still arrives; copies are allowed."""
    broker = mosquitto_factory(name="durable", extra_config="autosave_on_changes true")

    def crash() -> None:
        broker.kill()
        time.sleep(0.5)
        broker.start()

    _stream_through(broker, crash)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FW_SLOW") != "1", reason="demonstrates a known loss; set FW_SLOW=1")
@pytest.mark.xfail(
    strict=False,
    reason="FINDING: Mosquitto PUBACKs before it persists; with periodic autosave a SIGKILL loses the "
    "acknowledged messages not yet saved (measured 1-19 of 600 at autosave_interval 1, some runs none; "
    "deploy/mosquitto/mosquitto.conf saves on every change, and the edge keeps a reading until the "
    "gateway's receipt, so the platform loses none either way)",
)
def test_broker_crash_with_periodic_autosave(mosquitto: Mosquitto) -> None:
    def crash() -> None:
        mosquitto.kill()
        time.sleep(0.5)
        mosquitto.start()

    _stream_through(mosquitto, crash)


def test_shared_subscription_is_forgotten_across_a_restart(mosquitto: Mosquitto) -> None:
    """FINDING (Mosquitto 2.0.11): a persistent session's *shared* subscription is not restored
    after a broker restart. Until the gateway reconnects, a QoS 1 publish is answered 0x10 "No
    matching subscribers" and dropped, so an edge must treat 0x10 as not delivered (keep it
    spooled). A plain subscription of the same session is kept and receives the message."""
    received: dict[str, list[bytes]] = {"shared": [], "plain": []}

    def session(name: str, topic_filter: str) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"drill-{name}", protocol=mqtt.MQTTv5)
        c.on_message = lambda _c, _u, m: received[name].append(bytes(m.payload))
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        c.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=properties)
        c.loop_start()
        assert wait_until(c.is_connected, 5)
        c.subscribe(topic_filter, qos=1)
        time.sleep(0.3)
        return c

    for name, topic_filter in [
        ("shared", topics.shared("gateway", topics.ALL_DATA)),
        ("plain", topics.ALL_DATA),
    ]:
        c = session(name, topic_filter)
        c.disconnect()
        c.loop_stop()
    mosquitto.restart()
    from tests._drill_support import client, publish_all

    station = client(mosquitto.host, mosquitto.port)
    (code,) = publish_all(station, [good_messages(1)[0][:2]])
    station.disconnect()
    assert code == 0x00, "the plain subscription survived, so the broker accepted it"
    for name in received:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"drill-{name}", protocol=mqtt.MQTTv5)
        c.on_message = lambda _c, _u, m, name=name: received[name].append(bytes(m.payload))
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        c.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=properties)
        c.loop_start()
        time.sleep(1.0)
        c.disconnect()
        c.loop_stop()
    assert len(received["plain"]) == 1
    assert received["shared"] == [], "the shared subscription's session got nothing: it was forgotten"
