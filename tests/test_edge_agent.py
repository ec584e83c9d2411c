"""The edge agent against real Mosquitto brokers (station-local and central)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from edge.simulate import Cohort
from runtime.local_servers import Mosquitto
from telemetry import decode_batch
from telemetry.pseudonym import pseudonymise
from tests._edge_support import (
    EDGE_KEY,
    CentralCapture,
    EdgeProcess,
    device_client,
    edge_settings_env,
    publish_device,
    wait_until,
)


@pytest.fixture
def rig(mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path) -> Iterator[Callable[..., tuple]]:
    made: list[tuple[EdgeProcess, CentralCapture]] = []

    def make(**extra: str) -> tuple[Mosquitto, Mosquitto, EdgeProcess, CentralCapture]:
        devices = mosquitto_factory(name="station")
        central = mosquitto_factory(name="central")
        capture = CentralCapture(central)
        env = edge_settings_env("gj-01", devices, central, tmp_path / "spool", **extra)
        agent = EdgeProcess(env, tmp_path / "edge.log").start()
        made.append((agent, capture))
        assert wait_until(lambda: len(capture.heartbeats()) > 0, 20), agent.log()[-3000:]
        # A fresh station broker keeps a device's reading only once the agent has subscribed.
        assert agent.wait_device_ready(), agent.log()[-3000:]
        return devices, central, agent, capture

    yield make
    for agent, capture in made:
        if agent.alive:
            agent.stop()
        capture.close()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _readings(count: int, participants: int = 6, recordings: bool = False) -> list[tuple[str, dict]]:
    """Simulated device readings (raw identifiers), in time order."""
    cohort = Cohort(
        participants=participants,
        stations=["gj-01"],
        days=60,
        visit_every_days=20,
        seed=7,
        recordings=recordings,
    )
    out = []
    for visit in cohort.visits():
        _, messages = cohort.messages(*visit)
        out += [(m.topic, m.document) for m in messages]
    assert len(out) >= count
    return out[:count]


def test_outage_with_agent_restart_loses_nothing_and_keeps_order(rig: Callable[..., tuple]) -> None:
    devices, central, agent, capture = rig()
    readings = _readings(150)
    client = device_client(devices)
    for topic, doc in readings[:50]:
        publish_device(client, topic, doc)
    central.stop()  # uplink gone: the agent must spool
    for topic, doc in readings[50:100]:
        publish_device(client, topic, doc)
    agent.kill9()  # crash during the outage
    for topic, doc in readings[100:]:
        publish_device(client, topic, doc)  # the station broker queues these for the agent's session
    agent.start()
    central.start()
    assert wait_until(lambda: len({d["message_id"] for d in capture.data()}) >= 150, 40), agent.log()[-3000:]

    # The backlog went out in contract-valid batches.
    assert capture.batches()
    for batch in capture.batches():
        result = decode_batch(batch.payload)
        assert result.errors == [] and result.station_id == "gj-01" and len(result.messages) > 1

    received = capture.data()
    ids = [d["message_id"] for d in received]
    assert len(set(ids)) == 150, "every accepted message arrived"
    # Duplicates may only be re-sends of one message (same id, same content) — never a new id.
    by_id: dict[str, dict] = {}
    for d in received:
        assert by_id.setdefault(d["message_id"], d) == d
    # Per-device order: the first arrival of each id keeps each device's publication order.
    expected: dict[str, list[str]] = {}
    for topic, doc in readings:
        expected.setdefault(topic.rsplit("/", 1)[1], []).append(doc["measured_at"])
    first_seen: dict[str, list[str]] = {}
    seen: set[str] = set()
    for d in received:
        if d["message_id"] not in seen:
            seen.add(d["message_id"])
            first_seen.setdefault(d["device_id"], []).append(d["measured_at"])
    for device, times in expected.items():
        assert [_at(t) for t in first_seen[device]] == [_at(t) for t in times], device
    client.disconnect()


def test_resent_device_message_keeps_its_id(rig: Callable[..., tuple]) -> None:
    devices, _central, _agent, capture = rig()
    client = device_client(devices)
    topic, doc = _readings(1)[0]
    publish_device(client, topic, doc)
    publish_device(client, topic, doc)  # the device re-sends the same reading
    assert wait_until(lambda: len(capture.data()) >= 2, 10)
    first, second = capture.data()[:2]
    assert first["message_id"] == second["message_id"]
    client.disconnect()


def test_no_raw_identifier_in_uplink_bytes(rig: Callable[..., tuple]) -> None:
    devices, _central, agent, capture = rig()
    readings = _readings(60, recordings=True)  # raw IMU / CoP recordings go uplink alone
    client = device_client(devices)
    for topic, doc in readings:
        publish_device(client, topic, doc)
    # Also a bad one, which is dead-lettered uplink without its identifiers.
    bad = dict(readings[0][1], measured_at="not a time")
    publish_device(client, readings[0][0], bad)
    assert wait_until(lambda: len(capture.data()) >= 60, 20)
    assert wait_until(lambda: any("/deadletter" in m.topic for m in capture.snapshot()), 10)
    needles = set()
    for _, doc in readings:
        needles |= {doc["participant_id"], doc["resident_number"], doc["name"], doc["phone"]}
    needles.add(EDGE_KEY)
    blob = b"\n".join(m.payload + m.topic.encode() for m in capture.snapshot())
    assert len(blob) > 500_000  # several raw recordings (~100-200 kB each), not only small readings
    assert any(d["payload"].get("recording") for d in capture.data()), "recordings went uplink"
    found = [n for n in needles if n.encode() in blob]
    assert found == []
    assert not [n for n in needles if n in agent.log()]
    client.disconnect()


def test_dead_letter_raised_during_an_outage_reaches_central_afterwards(rig: Callable[..., tuple]) -> None:
    """A refusal at the station is spooled like a reading, so the central store still learns of it."""
    devices, central, agent, capture = rig()
    central.stop()
    client = device_client(devices)
    topic, doc = _readings(1)[0]
    publish_device(client, topic, dict(doc, measured_at="not a time"))
    publish_device(client, topic, doc)
    assert wait_until(lambda: "dead letter" in agent.log(), 10), agent.log()[-2000:]
    central.start()

    def letters() -> list[dict]:
        return [json.loads(m.payload) for m in capture.snapshot() if m.topic == "fw/v1/gj-01/deadletter"]

    assert wait_until(lambda: len(letters()) >= 1 and len(capture.data()) >= 1, 30), agent.log()[-3000:]
    letter = letters()[0]
    assert letter["source"] == "edge" and letter["station_id"] == "gj-01"
    assert letter["reason"] != "internal" and "measured_at" in letter["path"]
    assert doc["participant_id"] not in json.dumps(letter)
    client.disconnect()


def test_a_value_of_the_wrong_type_is_dead_lettered_at_the_station(rig: Callable[..., tuple]) -> None:
    """A device number sent as JSON text is refused (``wrong_type`` with its path), not coerced and
    forwarded; the device's next, well-typed reading goes through."""
    devices, _central, agent, capture = rig()
    client = device_client(devices)
    topic, doc = next((t, d) for t, d in _readings(40) if "/vitals/" in t)
    field = next(k for k in ("systolic_mmhg", "heart_rate_bpm", "spo2_pct") if k in doc["payload"])
    publish_device(client, topic, dict(doc, payload={**doc["payload"], field: str(doc["payload"][field])}))
    publish_device(client, topic, doc)

    def letters() -> list[dict]:
        return [json.loads(m.payload) for m in capture.snapshot() if m.topic == "fw/v1/gj-01/deadletter"]

    assert wait_until(lambda: len(letters()) >= 1 and len(capture.data()) >= 1, 30), agent.log()[-3000:]
    (letter,) = letters()
    assert (letter["reason"], letter["path"]) == ("wrong_type", f"payload.{field}")
    assert len(capture.data()) == 1
    client.disconnect()


def test_spool_full_refusal_is_counted_and_nothing_accepted_is_lost(rig: Callable[..., tuple]) -> None:
    devices, central, agent, capture = rig(spool_max_bytes="20000")
    central.stop()
    client = device_client(devices)
    readings = _readings(120)
    for topic, doc in readings:
        publish_device(client, topic, doc)
    assert wait_until(lambda: "spool_full" in agent.log(), 10)
    central.start()
    assert wait_until(
        lambda: any(
            h["refused_spool_full_total"] > 0 and h["spool_depth"] == 0 for h in capture.heartbeats()
        ),
        20,
    ), agent.log()[-2000:]
    beat = [h for h in capture.heartbeats() if h["spool_depth"] == 0][-1]
    accepted, refused = beat["accepted_total"], beat["refused_spool_full_total"]
    assert refused > 0 and accepted > 0
    assert accepted + refused == len(readings), "every reading was either accepted or refused"
    assert len({d["message_id"] for d in capture.data()}) == accepted, "every accepted message arrived"
    client.disconnect()


def test_whois_resolves_a_pseudonym_only_at_the_station(rig: Callable[..., tuple], tmp_path: Path) -> None:
    devices, _central, agent, capture = rig()
    client = device_client(devices)
    topic, doc = _readings(1)[0]
    publish_device(client, topic, doc)
    assert wait_until(lambda: len(capture.data()) >= 1, 10)
    pseudonym = capture.data()[0]["participant"]
    device_id = topic.rsplit("/", 1)[1]
    assert wait_until(
        lambda: any(
            d["device_id"] == device_id and d["messages"] == 1
            for h in capture.heartbeats()
            for d in h["devices"]
        ),
        5,
    ), "the heartbeat lists the device and its message count"
    env = {**agent.env}
    result = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "edge", "whois", pseudonym],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == doc["participant_id"]
    client.disconnect()


def test_pseudonyms_stable_across_stations_and_differ_under_another_key() -> None:
    from edge.intake import to_message

    topic, doc = _readings(1)[0]
    raw = json.dumps(doc).encode()
    at_one, _ = to_message(topic, raw, "gj-01", EDGE_KEY.encode())
    at_two, _ = to_message(topic, raw, "bs-07", EDGE_KEY.encode())
    other, _ = to_message(topic, raw, "gj-01", b"another-deployment-key-42")
    assert at_one.participant == at_two.participant == pseudonymise(EDGE_KEY.encode(), doc["participant_id"])
    assert other.participant != at_one.participant


def test_edge_imports_no_heavy_libraries() -> None:
    # Including a simulated visit with raw recordings: processing.synthetic is NumPy only.
    code = (
        "import sys, edge.agent, edge.cli, edge.simulate, edge.simulate.publish;"
        "c = edge.simulate.Cohort(participants=1, days=1, recordings=True);"
        "truth, messages = c.messages(*c.visits()[0]); assert truth.recordings;"
        "heavy = ('numba', 'scipy', 'influxdb_client', 'httpx', 'grafana_client');"
        "bad = [m for m in heavy if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _retained_status(central: Mosquitto) -> dict:
    """The retained station status, read by an independent client (mosquitto_sub)."""
    out = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            central.host,
            "-p",
            str(central.port),
            "-t",
            "fw/v1/gj-01/status",
            "-C",
            "1",
            "-W",
            "5",
        ],
        capture_output=True,
        timeout=10,
    )
    return json.loads(out.stdout)


def test_status_online_then_offline_by_will_and_by_graceful_stop(rig: Callable[..., tuple]) -> None:
    devices, central, agent, capture = rig(uplink_keepalive_s="1")
    assert _retained_status(central)["state"] == "online"
    agent.kill9()  # no DISCONNECT: the broker publishes the Last Will once 1.5 keepalives lapse
    assert wait_until(lambda: _retained_status(central)["state"] == "offline", 10)
    agent.start()
    assert wait_until(lambda: _retained_status(central)["state"] == "online", 20)
    client = device_client(devices)
    for topic, doc in _readings(30):
        publish_device(client, topic, doc)
    # Readings the agent has taken (acknowledged) must all be out before it leaves; readings it has
    # not yet taken stay in its persistent session on the station broker.
    assert wait_until(lambda: any(h["accepted_total"] >= 30 for h in capture.heartbeats()), 10)
    assert agent.stop() == 0
    assert len({d["message_id"] for d in capture.data()}) == 30
    status = _retained_status(central)
    assert status["state"] == "offline" and status.get("at") is not None
    client.disconnect()


def test_copy_resent_after_a_lost_puback_has_the_same_id(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    """The agent in-process with its PUBACK handling cut: the central broker got the reading but
    the agent never learnt it, so the next agent on the same spool sends it again — same id.

    Made deterministic (it failed about once in ten runs under load): the reading is published
    only after the agent's SUBACK at the station broker — before it, a fresh broker has no session
    for the agent and drops the reading, so the first copy never came — and the second agent
    starts only after the first has finished its shutdown (spool closed), not merely its network
    thread.
    """
    import threading

    from edge.agent import EdgeAgent
    from edge.settings import EdgeSettings

    devices, central = mosquitto_factory(name="station"), mosquitto_factory(name="central")
    capture = CentralCapture(central)
    settings = EdgeSettings.model_validate(
        {
            "station_id": "gj-01",
            "device_mqtt_port": devices.port,
            "uplink_port": central.port,
            "pseudonym_key": EDGE_KEY,
            "spool_dir": tmp_path / "spool",
            "heartbeat_s": 0.5,
            "drain_s": 0.5,
            "receipts": False,  # a bare central broker: the PUBACK layer is what is tested here
        }
    )

    def run_agent(lose_pubacks: bool) -> tuple[EdgeAgent, threading.Thread]:
        agent = EdgeAgent(settings)
        if lose_pubacks:
            agent.uplink.on_publish = lambda *_: None
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        assert agent.device_ready.wait(10), "the agent never subscribed at the station broker"
        return agent, thread

    first, first_thread = run_agent(lose_pubacks=True)
    client = device_client(devices)
    topic, doc = _readings(1)[0]
    publish_device(client, topic, doc)
    assert wait_until(lambda: len(capture.data()) == 1, 10)
    assert first.spool.depth() == 1, "no PUBACK seen, so the reading is still spooled"
    first.stop()
    first_thread.join(15)
    assert not first_thread.is_alive()

    second, second_thread = run_agent(lose_pubacks=False)
    assert wait_until(lambda: second.spool.depth() == 0, 10)
    assert wait_until(lambda: len(capture.data()) >= 2, 5)
    copies = capture.data()
    assert copies[0] == copies[1], "the re-sent copy is the same message with the same id"
    time.sleep(1.0)
    assert len(capture.data()) == 2, "acknowledged now, so nothing further is re-sent"
    assert second.counters.accepted == 0, "the station broker did not hand the reading over again"
    second.stop()
    second_thread.join(15)
    client.disconnect()
    capture.close()


def _health(agent: EdgeProcess, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "edge", "health", *args],
        env={**os.environ, **agent.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout.strip()


def test_edge_health_follows_the_agent(rig: Callable[..., tuple]) -> None:
    """`frailwatch edge health` (the compose health check) on a real agent: healthy while it runs
    and is subscribed at the station broker — also with the central broker gone (spooling is its
    job) — unhealthy while the station broker is away, at once after a clean stop, and once its
    status is stale after a kill -9 (a hung or dead agent)."""
    devices, central, agent, _capture = rig()
    # The first status can precede the station-broker subscription by a moment (compose gives
    # the check a start period for it): healthy within seconds, then it stays so.
    assert wait_until(lambda: _health(agent)[0] == 0, 20), _health(agent)
    code, line = _health(agent)
    assert (code, line.split(":")[0]) == (0, "healthy"), line
    assert "station gj-01" in line and "uplink connected" in line

    central.stop()
    assert wait_until(lambda: "uplink down" in _health(agent)[1], 20)
    assert _health(agent)[0] == 0, "an uplink outage is not unhealthy"
    central.start()

    devices.stop()
    assert wait_until(lambda: _health(agent)[0] == 1, 20), _health(agent)
    assert "not subscribed at the station broker" in _health(agent)[1]
    devices.start()
    assert wait_until(lambda: _health(agent)[0] == 0, 30), _health(agent)

    agent.kill9()
    assert _health(agent, "--max-age-s", "30")[0] == 0, "a fresh status right after the kill"
    time.sleep(2.5)
    code, line = _health(agent, "--max-age-s", "2")
    assert code == 1 and "hung or dead" in line, line

    agent.start()
    status = Path(agent.env["FRAILWATCH_EDGE_SPOOL_DIR"]) / "status.json"

    def restarted_and_healthy() -> bool:
        assert agent.process is not None
        return json.loads(status.read_text())["pid"] == agent.process.pid and _health(agent)[0] == 0

    assert wait_until(restarted_and_healthy, 30), (_health(agent), agent.log()[-3000:])
    assert agent.stop() == 0
    code, line = _health(agent)
    assert code == 1 and "the agent stopped" in line, line


def test_edge_health_without_a_status_file_says_so(tmp_path: Path) -> None:
    env = {"FRAILWATCH_EDGE_STATION_ID": "gj-01", "FRAILWATCH_EDGE_SPOOL_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "edge", "health"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "no status file" in done.stdout
