"""The real servers the suite runs on: Mosquitto with an independent client, InfluxDB over HTTP."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from runtime.local_servers import InfluxDB, Mosquitto, ServiceError
from telemetry import DeviceKind, decode, encode, topics
from telemetry.examples import example_messages

EXAMPLES = example_messages()


async def _receive_one(broker: Mosquitto, topic_filter: str, publish_cmd: list[str]) -> bytes:
    async with aiomqtt.Client(broker.host, broker.port, identifier="test-sub") as client:
        await client.subscribe(topic_filter, qos=1)
        proc = await asyncio.create_subprocess_exec(*publish_cmd)
        assert await proc.wait() == 0
        async with asyncio.timeout(10):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                return message.payload
    raise AssertionError("no message")


def test_mosquitto_pub_to_aiomqtt_subscriber(mosquitto: Mosquitto, tmp_path: Path) -> None:
    message = EXAMPLES[DeviceKind.GAIT]
    wire = tmp_path / "gait.json"
    wire.write_bytes(encode(message))
    topic = topics.data(message.station_id, message.device_kind, message.device_id)
    command = [
        "mosquitto_pub",
        "-h",
        broker_host(mosquitto),
        "-p",
        str(mosquitto.port),
        "-q",
        "1",
        "-t",
        topic,
    ]
    received = asyncio.run(_receive_one(mosquitto, topics.ALL_DATA, [*command, "-f", str(wire)]))
    assert decode(received) == message


def broker_host(broker: Mosquitto) -> str:
    return broker.host


def test_aiomqtt_publisher_to_mosquitto_sub(mosquitto: Mosquitto) -> None:
    message = EXAMPLES[DeviceKind.VITALS]
    topic = topics.data(message.station_id, message.device_kind, message.device_id)

    async def publish() -> None:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish(topic, encode(message), qos=1, retain=True)

    asyncio.run(publish())
    out = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            mosquitto.host,
            "-p",
            str(mosquitto.port),
            "-t",
            topics.ALL_DATA,
            "-C",
            "1",
            "-W",
            "10",
            "-q",
            "1",
        ],
        capture_output=True,
        check=True,
        timeout=15,
    ).stdout
    assert decode(out.rstrip(b"\n")) == message


def test_broker_with_passwords_refuses_anonymous_and_wrong_password(mosquitto_factory) -> None:  # type: ignore[no-untyped-def]
    broker = mosquitto_factory(users={"gj-01": "s3cret-station"})
    base = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-t", "fw/v1/gj-01/batch", "-m", "x"]
    assert subprocess.run(base, capture_output=True, timeout=10).returncode != 0
    assert (
        subprocess.run([*base, "-u", "gj-01", "-P", "wrong"], capture_output=True, timeout=10).returncode != 0
    )
    assert (
        subprocess.run(
            [*base, "-u", "gj-01", "-P", "s3cret-station"], capture_output=True, timeout=10
        ).returncode
        == 0
    )


def test_broker_survives_restart_with_persistent_session(mosquitto: Mosquitto) -> None:
    # A persistent QoS 1 subscription queued while the subscriber was away survives a broker restart.
    sub = ["mosquitto_sub", "-h", mosquitto.host, "-p", str(mosquitto.port), "-i", "durable", "-c", "-q", "1"]
    subprocess.run([*sub, "-t", "q/#", "-C", "1", "-W", "1"], capture_output=True, timeout=10)
    subprocess.run(
        ["mosquitto_pub", "-p", str(mosquitto.port), "-q", "1", "-t", "q/1", "-m", "kept"], check=True
    )
    mosquitto.restart()
    out = subprocess.run([*sub, "-t", "q/#", "-C", "1", "-W", "10"], capture_output=True, timeout=15).stdout
    assert out.strip() == b"kept"


def test_influxdb_write_and_read_back(influxdb) -> None:  # type: ignore[no-untyped-def]
    influxdb.write("gait,station=gj-01,participant=abc speed_mps=1.12,cadence_spm=108i 1747000000000000000")
    rows = influxdb.rows("SELECT speed_mps, cadence_spm FROM gait WHERE station = 'gj-01'")
    assert rows == [{"time": 1747000000000000000, "speed_mps": 1.12, "cadence_spm": 108}]


def test_influxdb_same_point_overwrites_itself(influxdb) -> None:  # type: ignore[no-untyped-def]
    # The idempotency the platform relies on (architecture: "No loss, no double").
    for _ in range(3):
        influxdb.write("grip,participant=abc max_kg=21.5 1747000000000000000")
    assert influxdb.rows("SELECT count(max_kg) FROM grip")[0]["count"] == 1


def test_influxdb_refuses_a_field_type_conflict_with_its_message(influxdb) -> None:  # type: ignore[no-untyped-def]
    influxdb.write("grip max_kg=21.5 1")
    with pytest.raises(ServiceError, match="field type conflict"):
        influxdb.write('grip max_kg="strong" 2')


def test_private_influxdb_stops_and_restarts_with_data(influxdb_factory) -> None:  # type: ignore[no-untyped-def]
    server: InfluxDB = influxdb_factory()
    server.create_database("fw")
    server.write("m v=1 1", "fw")
    server.kill()
    with pytest.raises(ServiceError):
        server.query("SHOW DATABASES")
    server.start()
    assert server.rows("SELECT v FROM m", "fw")[0]["v"] == 1
