"""Edge drills (architecture: "No loss, no double", "Pseudonyms only"): station broker →
``frailwatch edge run`` → central
broker → gateway → InfluxDB, every part real, every role a subprocess.

Devices publish readings with raw identifiers at QoS 1; the count that matters is what the edge
*accepted* (its heartbeat's ``accepted_total``) against the points in InfluxDB.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import Heartbeat, decode_as
from tests._drill_support import (
    PSEUDONYM_KEY,
    EdgeStandIn,
    Pipeline,
    Role,
    Scan,
    device_reading,
    edge_env,
    influx_dump,
    member_id,
    start_pipeline,
    wait_until,
)
from tests.corpus import RESIDENT_NUMBER

pytestmark = pytest.mark.drill
SLOW = os.environ.get("FW_SLOW") == "1"


@dataclass
class Station:
    pipeline: Pipeline
    device_broker: Mosquitto
    agent: Role

    def devices_publish(self, first: int, count: int, rate_per_s: float = 0.0) -> None:
        devices = EdgeStandIn(self.device_broker.host, self.device_broker.port)
        try:
            devices.send([device_reading(n) for n in range(first, first + count)], rate_per_s=rate_per_s)
        finally:
            devices.close()

    def heartbeats(self) -> list[Heartbeat]:
        return [
            decode_as(Heartbeat, m.payload)
            for m in self.pipeline.capture.on(lambda m: m.topic == "fw/v1/gj-01/heartbeat")
        ]


@pytest.fixture
def station_factory(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> Iterator[Callable[..., Station]]:
    made: list[Station] = []

    def make(**edge_settings: str) -> Station:
        pipeline = start_pipeline(
            mosquitto_factory, influxdb_server, f"drill_{uuid.uuid4().hex[:10]}", tmp_path
        )
        device_broker = mosquitto_factory(name="station")
        env = edge_env(
            "gj-01",
            device_broker,
            pipeline.broker,
            pipeline.passwords["gj-01"],
            tmp_path / "spool",
            **edge_settings,
        )
        agent = Role("edge-gj-01", ["edge", "run"], env, tmp_path).start()
        station = Station(pipeline, device_broker, agent)
        made.append(station)
        assert wait_until(lambda: len(station.heartbeats()) > 0, 30), agent.log()[-3000:]
        return station

    yield make
    for station in made:
        station.agent.stop()
        station.pipeline.close()
        influxdb_server.query(f'DROP DATABASE "{station.pipeline.database}"', method="POST")


def _uplink_cut(station: Station, cut_s: float) -> None:
    count = 300
    station.devices_publish(0, count // 3)
    station.pipeline.broker.stop()  # the uplink is gone: the edge must spool
    station.devices_publish(count // 3, count // 3, rate_per_s=200)
    station.agent.kill9()  # and the agent crashes during the cut
    station.agent.start()
    station.devices_publish(2 * count // 3, count - 2 * count // 3, rate_per_s=200)
    time.sleep(cut_s)
    station.pipeline.broker.start()
    assert wait_until(lambda: station.pipeline.points() >= count, 60), (
        station.pipeline.points(),
        station.agent.log()[-3000:],
    )
    time.sleep(1.5)
    assert station.pipeline.points() == count, "0 lost, 0 duplicated"
    assert station.agent.alive and station.pipeline.gateway.alive

    # No raw identifier anywhere: broker traffic, InfluxDB, every process log.
    needles = [member_id(n) for n in range(50)] + [RESIDENT_NUMBER, PSEUDONYM_KEY]
    scan = Scan(needles)
    for message in station.pipeline.capture.snapshot():
        scan.text(f"mqtt {message.topic}", message.payload)
    scan.text("influxdb", influx_dump(station.pipeline.influx, station.pipeline.database))
    scan.text("edge log", station.agent.log())
    scan.text("gateway log", station.pipeline.gateway.log())
    assert scan.scanned_bytes > 10_000
    assert scan.findings == []


def test_drill_edge_uplink_cut_with_agent_restart(station_factory: Callable[..., Station]) -> None:
    _uplink_cut(station_factory(), cut_s=3)


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="minutes-long cut: set FW_SLOW=1")
def test_drill_edge_uplink_cut_60s(station_factory: Callable[..., Station]) -> None:
    _uplink_cut(station_factory(), cut_s=60)


def test_drill_edge_spool_full(station_factory: Callable[..., Station]) -> None:
    """A small spool and no uplink: refusals counted and reported; nothing accepted is lost."""
    station = station_factory(spool_max_bytes="60000")
    station.pipeline.broker.stop()
    published = 400
    station.devices_publish(0, published)
    time.sleep(2)
    station.pipeline.broker.start()
    assert wait_until(lambda: any(h.refused_spool_full_total > 0 for h in station.heartbeats()), 30)
    assert wait_until(lambda: station.heartbeats()[-1].spool_depth == 0, 60), station.agent.log()[-3000:]
    last = station.heartbeats()[-1]
    assert 0 < last.refused_spool_full_total < published
    assert last.accepted_total + last.refused_spool_full_total == published
    assert wait_until(lambda: station.pipeline.points() >= last.accepted_total, 30)
    time.sleep(1.0)
    assert station.pipeline.points() == last.accepted_total
    assert "spool_full" in station.agent.log()
