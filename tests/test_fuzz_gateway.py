"""Black-box fuzzing of the gateway's per-message handling: hypothesis-generated payloads (the
hostile corpus spliced and flipped, mutated valid messages) published through the real broker to a
running ``frailwatch gateway run``. The gateway must stay up, dead-letter at least everything the
contract refuses or the topic contradicts, and still write good traffic afterwards.

One pipeline serves the whole module (hypothesis examples share it); the ``ci`` profile sends a
few hundred payloads, ``HYPOTHESIS_PROFILE=fuzz`` 10 000 per test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import ContractError, decode, topics
from tests._drill_support import (
    Pipeline,
    client,
    publish_all,
    start_pipeline,
    wait_until,
)
from tests.corpus import CASES, example

pytestmark = pytest.mark.drill
TOPIC = "fw/v1/gj-01/data/vitals/vitals-1"
SMALL_CORPUS = [case.data for case in CASES if len(case.data) < 50_000]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, influxdb_server: InfluxDB) -> Iterator[Pipeline]:
    brokers: list[Mosquitto] = []

    def make(name: str = "broker", **kwargs: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path_factory.mktemp(name), **kwargs)
        broker.start()
        brokers.append(broker)
        return broker

    log_dir = tmp_path_factory.mktemp("logs")
    p = start_pipeline(make, influxdb_server, f"fuzz_{uuid.uuid4().hex[:10]}", Path(log_dir))
    p.sent = 0  # type: ignore[attr-defined]
    p.expected_refusals = 0  # type: ignore[attr-defined]
    yield p
    p.close()
    for broker in brokers:
        broker.kill()


def _refused_here(data: bytes) -> bool:
    """Would a correct gateway refuse ``data`` on TOPIC? (contract, or the topic contradicts it)"""
    try:
        message = decode(data)
    except ContractError:
        return True
    return (message.station_id, message.device_kind.value, message.device_id) != (
        "gj-01",
        "vitals",
        "vitals-1",
    )


@pytest.fixture(scope="module")
def station(pipeline: Pipeline) -> Iterator[Any]:
    c = client(
        pipeline.broker.host, pipeline.broker.port, username="gj-01", password=pipeline.passwords["gj-01"]
    )
    yield c
    c.disconnect()
    c.loop_stop()


def _send(pipeline: Any, station: Any, data: bytes) -> None:
    publish_all(station, [(TOPIC, data)])
    pipeline.sent += 1
    pipeline.expected_refusals += _refused_here(data)


@given(
    st.sampled_from(SMALL_CORPUS), st.sampled_from(SMALL_CORPUS), st.integers(0, 5000), st.binary(max_size=16)
)
def test_spliced_corpus(
    pipeline: Pipeline, station: Any, first: bytes, second: bytes, cut: int, noise: bytes
) -> None:
    _send(pipeline, station, first[: cut % (len(first) + 1)] + noise + second[cut % (len(second) + 1) :])


PAYLOAD_VALUES = st.none() | st.floats(allow_nan=False) | st.text(max_size=5) | st.integers()
PAYLOAD_KEYS = st.sampled_from(["systolic_mmhg", "heart_rate_bpm", "spo2_pct", "kind", "x"])


@given(st.dictionaries(PAYLOAD_KEYS, PAYLOAD_VALUES))
def test_mutated_payloads(pipeline: Pipeline, station: Any, payload: dict[str, Any]) -> None:
    document = example("vitals")
    document["message_id"] = f"fuzz-{uuid.uuid4().hex[:16]}"
    document["payload"].update(payload)
    _send(pipeline, station, json.dumps(document).encode())


def test_gateway_survived_and_accounted(pipeline: Any) -> None:
    """Runs after the fuzz tests in this module (file order)."""
    assert pipeline.sent > 0
    assert pipeline.gateway.alive, pipeline.gateway.log()[-3000:]
    dead = lambda: len(pipeline.capture.on(lambda m: m.topic == topics.GATEWAY_DEADLETTER))  # noqa: E731
    assert wait_until(lambda: dead() >= pipeline.expected_refusals, 60), (dead(), pipeline.expected_refusals)
    assert pipeline.wait_writing(), "still writes good traffic after the fuzzing"
