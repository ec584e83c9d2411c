"""The uplink over TLS to a real Mosquitto TLS listener, with a CA made in the test: the right CA
connects and delivers; a wrong CA is refused, with one clear log line and nothing delivered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runtime.local_servers import Mosquitto, TlsListener
from tests._drill_support import make_test_ca
from tests._edge_support import (
    CentralCapture,
    EdgeProcess,
    device_client,
    edge_settings_env,
    publish_device,
    wait_until,
)
from tests.test_edge_agent import _readings


def _tls_central(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> tuple[Mosquitto, TlsListener]:
    ca = make_test_ca(tmp_path / "ca")
    tls = TlsListener(ca.cafile, ca.certfile, ca.keyfile)
    # The plain listener stays for the test's own capture; the agent is pointed at the TLS port.
    return mosquitto_factory(name="central", tls=tls), tls


def test_uplink_over_tls_with_the_right_ca_delivers(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    devices = mosquitto_factory(name="station")
    central, tls = _tls_central(mosquitto_factory, tmp_path)
    capture = CentralCapture(central)
    env = edge_settings_env("gj-01", devices, central, tmp_path / "spool", uplink_ca_file=str(tls.cafile))
    env["FRAILWATCH_EDGE_UPLINK_PORT"] = str(tls.port)
    agent = EdgeProcess(env, tmp_path / "edge.log").start()
    try:
        assert wait_until(lambda: len(capture.heartbeats()) > 0, 20), agent.log()[-2000:]
        assert agent.wait_device_ready(), agent.log()[-2000:]
        client = device_client(devices)
        readings = _readings(5)
        for topic, doc in readings:
            publish_device(client, topic, doc)
        assert wait_until(lambda: len(capture.data()) == 5, 10), agent.log()[-2000:]
        assert "TLS" not in agent.log()
        client.disconnect()
    finally:
        agent.stop()
        capture.close()


def test_uplink_with_a_wrong_ca_is_refused_with_a_clear_log_line(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    devices = mosquitto_factory(name="station")
    central, tls = _tls_central(mosquitto_factory, tmp_path)
    stranger = make_test_ca(tmp_path / "other-ca", name="Some Other CA")
    capture = CentralCapture(central)
    env = edge_settings_env(
        "gj-01", devices, central, tmp_path / "spool", uplink_ca_file=str(stranger.cafile)
    )
    env["FRAILWATCH_EDGE_UPLINK_PORT"] = str(tls.port)
    agent = EdgeProcess(env, tmp_path / "edge.log").start()
    try:
        assert agent.wait_device_ready(), agent.log()[-2000:]
        client = device_client(devices)
        topic, doc = _readings(1)[0]
        publish_device(client, topic, doc)
        assert wait_until(lambda: "TLS handshake" in agent.log(), 15), agent.log()[-2000:]
        line = next(x for x in agent.log().splitlines() if "TLS handshake" in x)
        assert "ERROR" in line and "certificate verify failed" in line, line
        assert str(stranger.cafile) in line and f"127.0.0.1:{tls.port}" in line, line
        assert "Traceback" not in agent.log()
        assert wait_until(lambda: agent.log().count("TLS handshake") >= 2, 10), "it keeps retrying"
        assert agent.alive
        assert capture.data() == [] and capture.heartbeats() == []
        assert not [m for m in capture.snapshot() if m.topic.endswith("/status")], "never connected"
        client.disconnect()
    finally:
        agent.stop()
        capture.close()
