"""Broker-level security (architecture: "Stations are confined") on a real Mosquitto:
per-station credentials, an ACL
confining each station to ``fw/v1/<station>/#``, no anonymous or wrong-password access, and a TLS
listener with a CA generated in the test. The observer is a wildcard subscriber with the gateway's
credentials, so "nothing arrived" means the broker dropped it, not that nobody listened.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from runtime.local_servers import Mosquitto, TlsListener
from telemetry import topics
from tests._drill_support import Capture, ConnectRefused, client, make_test_ca, publish_all, station_acl
from tests.corpus import good_messages

STATIONS = {"gj-01": "a-Station-Secret-1", "gj-02": "b-Station-Secret-2"}
GATEWAY = ("gateway", "g-Gateway-Secret-3")
NOT_AUTHORISED = 0x87  # MQTT 5 PUBACK reason code "Not authorized"


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path) -> Mosquitto:
    ca = make_test_ca(tmp_path / "ca")
    return mosquitto_factory(
        name="secure",
        users={**STATIONS, GATEWAY[0]: GATEWAY[1]},
        acl=station_acl(STATIONS),
        tls=TlsListener(ca.cafile, ca.certfile, ca.keyfile),
    )


def _observer(broker: Mosquitto) -> Capture:
    return Capture(broker.host, broker.port, "fw/v1/#", username=GATEWAY[0], password=GATEWAY[1])


def test_station_cannot_publish_into_another_stations_topics(broker: Mosquitto) -> None:
    own = good_messages(3, station="gj-01")
    forged = [(topic.replace("gj-01", "gj-02"), data) for topic, data, _ in good_messages(3, station="gj-01")]
    with _observer(broker) as observer:
        station_a = client(broker.host, broker.port, username="gj-01", password=STATIONS["gj-01"])
        codes = publish_all(station_a, [*forged, *[(t, d) for t, d, _ in own]])
        # Control: A's own messages arrive, so an empty result below is the ACL, not a dead observer.
        arrived = observer.wait_for(lambda m: m.topic.startswith("fw/v1/gj-01/"), count=len(own))
        time.sleep(0.5)  # give any forged message time to (wrongly) arrive
        station_a.disconnect()
        assert len(arrived) == len(own)
        assert observer.on(lambda m: m.topic.startswith("fw/v1/gj-02/")) == []
    # MQTT 5 tells the sender; MQTT 3.1.1 would drop it silently (architecture: "Known traps").
    assert codes[: len(forged)] == [NOT_AUTHORISED] * len(forged)
    assert all(code < 0x80 for code in codes[len(forged) :])


def test_station_cannot_forge_gateway_dead_letters_or_alerts(broker: Mosquitto) -> None:
    with _observer(broker) as observer:
        station_a = client(
            broker.host, broker.port, username="gj-01", password=STATIONS["gj-01"], protocol=mqtt.MQTTv311
        )
        publish_all(
            station_a,
            [
                (topics.GATEWAY_DEADLETTER, b"{}"),
                (topics.case_alert("gj-02"), b"{}"),
                ("fw/v1/other", b"x"),
            ],
        )
        time.sleep(0.5)
        station_a.disconnect()
        assert observer.snapshot() == []


def test_station_cannot_read_other_stations_traffic(broker: Mosquitto) -> None:
    """Stations have write rights only: a station subscribing to everything receives nothing."""
    with Capture(broker.host, broker.port, "fw/v1/#", username="gj-02", password=STATIONS["gj-02"]) as spy:
        station_a = client(broker.host, broker.port, username="gj-01", password=STATIONS["gj-01"])
        publish_all(station_a, [(t, d) for t, d, _ in good_messages(3, station="gj-01")])
        time.sleep(0.5)
        station_a.disconnect()
        assert spy.snapshot() == []


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, None), ("gj-01", "wrong-password"), ("gj-01", STATIONS["gj-02"]), ("nobody", "x")],
    ids=["anonymous", "wrong_password", "other_stations_password", "unknown_user"],
)
def test_unauthenticated_connections_are_refused(
    broker: Mosquitto, username: str | None, password: str | None
) -> None:
    with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed|bad user name or password"):
        client(broker.host, broker.port, username=username, password=password)


def test_mosquitto_pub_without_credentials_is_refused(broker: Mosquitto) -> None:
    """The same with an independent client (mosquitto_pub), under MQTT 3.1.1."""
    result = subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            "fw/v1/gj-01/heartbeat",
            "-m",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode != 0
    assert "not authori" in (result.stderr + result.stdout).lower()


def test_tls_listener_carries_traffic_with_the_test_ca(broker: Mosquitto, tmp_path: Path) -> None:
    assert broker.tls is not None
    ca = broker.tls.cafile
    with Capture(
        broker.host, broker.tls.port, "fw/v1/#", username=GATEWAY[0], password=GATEWAY[1], cafile=ca
    ) as seen:
        station = client(
            broker.host, broker.tls.port, username="gj-01", password=STATIONS["gj-01"], cafile=ca
        )
        messages = good_messages(5, station="gj-01")
        codes = publish_all(station, [(t, d) for t, d, _ in messages])
        station.disconnect()
        received = seen.wait_for(lambda m: True, count=len(messages))
    assert all(code < 0x80 for code in codes)
    assert sorted(m.payload for m in received) == sorted(d for _, d, _ in messages)


def test_plain_connection_to_the_tls_port_fails(broker: Mosquitto) -> None:
    assert broker.tls is not None
    with pytest.raises((ConnectRefused, OSError)):
        client(broker.host, broker.tls.port, username="gj-01", password=STATIONS["gj-01"], timeout_s=3)


def test_tls_refuses_a_client_trusting_another_ca(broker: Mosquitto, tmp_path: Path) -> None:
    assert broker.tls is not None
    stranger = make_test_ca(tmp_path / "stranger", name="Someone Else's CA")
    with pytest.raises(OSError, match=r"(?i)certificate verify failed"):
        client(
            broker.host, broker.tls.port, username="gj-01", password=STATIONS["gj-01"], cafile=stranger.cafile
        )
