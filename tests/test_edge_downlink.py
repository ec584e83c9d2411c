"""The station's two new paths through real brokers and the real agent process (`frailwatch edge
run` with its page on): visit results down (persistent session, so a result published while the
station is offline arrives when it is back; a bad one becomes a dead letter), and case actions up
through the spool (an action made while the central broker is down arrives once it is back).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edge.page.accounts import Accounts
from runtime.local_servers import Mosquitto, free_port, require_binary
from telemetry import codec, topics
from telemetry.cases import CaseEvent
from tests._edge_support import (
    EDGE_KEY,
    CentralCapture,
    EdgeProcess,
    device_client,
    edge_settings_env,
    publish_device,
    wait_until,
)
from tests._station_support import (
    CASE_ID,
    STAFF,
    VISIT_ID,
    csrf_of,
    device_documents,
    visit_result,
    visit_start,
)

STATION = "gj-01"


@dataclass
class Rig:
    devices: Mosquitto
    central: Mosquitto
    env: dict[str, str]
    spool: Path
    log: Path
    port: int

    def agent(self) -> EdgeProcess:
        agent = EdgeProcess(self.env, self.log).start()
        assert agent.wait_device_ready(starts=self.log.read_text().count("device broker subscribed to") + 1)
        return agent

    def results_stored(self) -> int:
        db = sqlite3.connect(self.spool / "station.sqlite3")
        try:
            return int(db.execute("SELECT COUNT(*) FROM result").fetchone()[0])
        finally:
            db.close()

    def publish_result(self, payload: bytes, tmp: Path) -> None:
        file = tmp / "result.json"
        file.write_bytes(payload)
        command = [require_binary("mosquitto_pub"), "-h", self.central.host, "-p", str(self.central.port)]
        command += ["-t", topics.results(STATION), "-q", "1", "-f", str(file)]
        assert subprocess.run(command, capture_output=True, timeout=20, check=False).returncode == 0


@pytest.fixture
def rig(tmp_path: Path, mosquitto_factory) -> Iterator[Rig]:  # type: ignore[no-untyped-def]
    devices, central = mosquitto_factory("devices"), mosquitto_factory("central")
    spool = tmp_path / "spool"
    accounts = Accounts(spool / "staff.sqlite3")
    accounts.add(*STAFF)
    accounts.close()
    port = free_port()
    env = edge_settings_env(
        STATION, devices, central, spool, page_enabled="true", page_port=str(port), reconnect_max_s="1"
    )
    env["FRAILWATCH_EDGE_REFUSED_RETRY_MAX_S"] = "1"
    log = tmp_path / "edge.log"
    log.write_text("")
    yield Rig(devices, central, env, spool, log, port)


def _readings(rig: Rig) -> None:
    client = device_client(rig.devices)
    for topic, document in device_documents(visit_start()):
        publish_device(client, topic, document)
    client.disconnect()
    client.loop_stop()


def test_a_result_published_while_the_station_is_offline_arrives_when_it_is_back(
    rig: Rig, tmp_path: Path
) -> None:
    agent = rig.agent()
    assert wait_until(lambda: "results downlink subscribed" in agent.log(), 20), agent.log()
    assert agent.stop() == 0
    result = visit_result(EDGE_KEY.encode(), visit_start())
    rig.publish_result(codec.encode(result), tmp_path)  # the broker keeps it in the station's session
    assert rig.results_stored() == 0
    agent = rig.agent()
    try:
        assert wait_until(lambda: rig.results_stored() == 1, 20), agent.log()
    finally:
        agent.stop()
    # Acknowledged after the commit: a third start gets nothing again.
    agent = rig.agent()
    try:
        assert wait_until(lambda: agent.log().count("results downlink subscribed") >= 3, 20)
        assert agent.log().count("visit result stored") == 1
    finally:
        agent.stop()


def test_a_bad_result_is_refused_kept_as_a_dead_letter_and_reported(rig: Rig, tmp_path: Path) -> None:
    capture = CentralCapture(rig.central, topics.station_deadletter(STATION))
    agent = rig.agent()
    try:
        assert wait_until(lambda: "results downlink subscribed" in agent.log(), 20), agent.log()
        document = json.loads(codec.encode(visit_result(EDGE_KEY.encode(), visit_start())))
        document["scores"]["sppb"]["total"] = 12  # the parts no longer add up
        rig.publish_result(json.dumps(document).encode(), tmp_path)
        assert wait_until(lambda: capture.snapshot() != [], 20), agent.log()
        letter = json.loads(capture.snapshot()[0].payload)
        assert letter["reason"] == "invalid" and "SPPB parts do not add up" in letter["detail"]
        assert letter["topic"] == topics.results(STATION)
        assert rig.results_stored() == 0
        assert agent.alive
    finally:
        agent.stop()
        capture.close()


def test_an_action_made_during_an_uplink_outage_arrives_when_the_broker_returns(rig: Rig) -> None:
    capture = CentralCapture(rig.central, "fw/v1/#")  # the gateway's stand-in: data is accepted (0x00)
    agent = rig.agent()
    try:
        _readings(rig)
        assert wait_until(lambda: "results downlink subscribed" in agent.log(), 20), agent.log()
        assert wait_until(lambda: len(capture.data()) == 6, 20), agent.log()
        result = visit_result(EDGE_KEY.encode(), visit_start())
        command = [require_binary("mosquitto_pub"), "-h", rig.central.host, "-p", str(rig.central.port)]
        command += ["-t", topics.results(STATION), "-q", "1", "-m", codec.encode(result).decode()]
        assert subprocess.run(command, capture_output=True, timeout=20, check=False).returncode == 0
        assert wait_until(lambda: rig.results_stored() == 1, 20)
        rig.central.stop()  # the uplink is down from here
        with httpx.Client(base_url=f"http://127.0.0.1:{rig.port}", follow_redirects=True, timeout=10) as web:
            login = web.get("/login").text
            web.post("/login", data={"csrf": csrf_of(login), "username": STAFF[0], "password": STAFF[1]})
            page = web.get(f"/visits/{result.participant}/{VISIT_ID}").text
            nonce = page.split(f'action="/cases/{CASE_ID}/acknowledge"', 1)[1].split('name="nonce" value="')[
                1
            ][:32]
            data = {"csrf": csrf_of(page), "nonce": nonce, "back": f"/visits/{result.participant}/{VISIT_ID}"}
            done = web.post(f"/cases/{CASE_ID}/acknowledge", data=data)
            assert done.status_code == 200 and "중앙 서버로 보낼 대기열" in done.text
        rig.central.start()
        assert wait_until(
            lambda: any(m.topic == topics.case_actions(STATION) for m in capture.snapshot()), 30
        )
        [sent] = [m for m in capture.snapshot() if m.topic == topics.case_actions(STATION)]
        event = CaseEvent.model_validate_json(sent.payload)
        assert (event.case_id, event.event.value, event.actor) == (CASE_ID, "acknowledged", STAFF[0])
    finally:
        agent.stop()
        capture.close()
