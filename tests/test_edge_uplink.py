"""Uplink delivery semantics on real Mosquitto brokers: a message leaves the spool only on a
PUBACK with reason 0x00 Success; refusals (0x10 No matching subscribers, 0x87 Not authorized)
keep it spooled and re-send it later with the same id."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime.local_servers import Mosquitto
from tests._edge_support import (
    CentralCapture,
    EdgeProcess,
    GatewayStandIn,
    device_client,
    edge_settings_env,
    publish_device,
    wait_until,
)
from tests.test_edge_agent import _readings

FAST_RETRY = {"refused_retry_min_s": "0.2", "refused_retry_max_s": "1", "batch_max": "4"}


def _last_beat(capture: CentralCapture) -> dict[str, Any]:
    beats = capture.heartbeats()
    return beats[-1] if beats else {}


def _beat_after(capture: CentralCapture, seconds: float) -> dict[str, Any]:
    """A heartbeat sent at least ``seconds`` from now (heartbeats come every 0.5 s)."""
    seen = len(capture.heartbeats())
    time.sleep(seconds)
    assert wait_until(lambda: len(capture.heartbeats()) > seen, 5)
    return _last_beat(capture)


def test_refused_while_no_gateway_is_subscribed_then_delivered_exactly_once(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    """The drill's finding, end to end: after a central broker restart Mosquitto has forgotten the
    gateway's shared subscription and answers 0x10 until the gateway resubscribes. The agent must
    keep those readings and deliver them — once each — when the gateway is back."""
    devices, central = mosquitto_factory(name="station"), mosquitto_factory(name="central")
    gateway = GatewayStandIn(central).connect()
    beats = CentralCapture(central, "fw/v1/+/heartbeat")  # a plain filter that matches no data topic
    env = edge_settings_env("gj-01", devices, central, tmp_path / "spool", **FAST_RETRY)
    agent = EdgeProcess(env, tmp_path / "edge.log").start()
    readings = _readings(16)
    try:
        assert agent.wait_device_ready(), agent.log()[-2000:]
        client = device_client(devices)
        for topic, doc in readings[:4]:
            publish_device(client, topic, doc)
        assert wait_until(lambda: len(gateway.received()) == 4, 10), agent.log()[-2000:]

        gateway.disconnect()
        central.restart()  # the gateway's session survives, its shared subscription does not
        assert wait_until(lambda: _last_beat(beats).get("uplink_connected") is True, 20)
        for topic, doc in readings[4:]:
            publish_device(client, topic, doc)
        assert wait_until(
            lambda: _last_beat(beats).get("uplink_refusals", {}).get("no_matching_subscribers", 0) > 0,
            10,
        ), agent.log()[-2000:]
        # Several re-send rounds (backoff 0.2 s to 1 s) later, nothing has been deleted.
        beat = _beat_after(beats, 3.0)
        assert beat["accepted_total"] == 16 and beat["spool_depth"] == 12, beat
        assert beat["forwarded_total"] == 4, "a refused message must not count as forwarded"
        assert "0x10 No matching subscribers" in agent.log()

        gateway.connect()  # as the gateway does on reconnect: same session, subscribes again
        assert wait_until(lambda: len(gateway.received()) >= 16, 15), agent.log()[-2000:]
        assert wait_until(lambda: _last_beat(beats).get("spool_depth") == 0, 5)
        time.sleep(1.5)  # room for any stray copy to show up
        counts = Counter(gateway.received())
        assert len(counts) == 16 and set(counts.values()) == {1}, counts
        assert _last_beat(beats)["forwarded_total"] == 16
        client.disconnect()
    finally:
        agent.stop()
        gateway.disconnect()
        beats.close()


def test_not_authorized_is_loud_kept_and_sent_once_the_acl_is_fixed(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    """A station whose ACL lacks its data topics gets 0x87 for every reading: the agent logs it as
    an error naming the ACL, counts it in the heartbeat, keeps the readings and retries slowly;
    once the operator fixes the ACL (SIGHUP reloads it) they go out, once each."""
    passwords = {"gj-01": "pw-gj-01-secret", "gateway": "pw-gateway-secret"}
    broken_acl = (
        "user gateway\ntopic read fw/v1/#\n\n"
        "user gj-01\ntopic write fw/v1/gj-01/status\ntopic write fw/v1/gj-01/heartbeat\n"
    )
    devices = mosquitto_factory(name="station")
    central = mosquitto_factory(name="central", users=passwords, acl=broken_acl)
    capture = CentralCapture(central, "fw/v1/#", username="gateway", password=passwords["gateway"])
    env = edge_settings_env(
        "gj-01",
        devices,
        central,
        tmp_path / "spool",
        uplink_username="gj-01",
        uplink_password=passwords["gj-01"],
        **FAST_RETRY,
    )
    agent = EdgeProcess(env, tmp_path / "edge.log").start()
    readings = _readings(6)
    try:
        assert agent.wait_device_ready(), agent.log()[-2000:]
        client = device_client(devices)
        for topic, doc in readings:
            publish_device(client, topic, doc)
        assert wait_until(lambda: "ERROR" in agent.log() and "0x87 Not authorized" in agent.log(), 10)
        line = next(x for x in agent.log().splitlines() if "0x87" in x)
        assert "ERROR" in line and "ACL" in line and "gj-01" in line and "retrying" in line, line
        beat = _beat_after(capture, 2.0)
        assert beat["uplink_refusals"].get("not_authorized", 0) >= 2, "retried, and counted each time"
        assert beat["spool_depth"] == 6 and beat["forwarded_total"] == 0, beat
        assert capture.data() == []

        (central.workdir / "acl").write_text(broken_acl + "topic write fw/v1/gj-01/#\n")
        assert central.pid is not None
        os.kill(central.pid, signal.SIGHUP)  # Mosquitto reloads its ACL file
        assert wait_until(lambda: len(capture.data()) >= 6, 15), agent.log()[-2000:]
        assert wait_until(lambda: _last_beat(capture).get("spool_depth") == 0, 5)
        time.sleep(1.0)
        ids = Counter(d["message_id"] for d in capture.data())
        assert len(ids) == 6 and set(ids.values()) == {1}, ids
        assert "accepts messages again" in agent.log()
        client.disconnect()
    finally:
        agent.stop()
        capture.close()
