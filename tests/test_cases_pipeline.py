"""Decline cases through the real pipeline: two stations' devices → two ``frailwatch edge run``
agents → the central broker → two ``frailwatch gateway run`` replicas on one shared subscription →
InfluxDB, with one replica killed (-9) mid-stream and restarted (the broker redelivers what it had
not acknowledged) and the decliners' last visits sent again by their devices (a redelivery end to
end). Participants roam between the stations, so one person's visits reach both replicas.

What must hold: a participant has at most one case per domain — however many replicas judged
their visits and however often — every case event is stored once per event id, and the alert topic
carried exactly the stored events. The cohort is measured with realistic error (edge.simulate), so
detection is asserted as the decline-rates benchmark predicts it (tests/_simulate_support.py): each
substantial mobility decliner has a mobility case, false cases no more than its rate allows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.simulate.cohort import Cohort
from gateway.influx import case_log
from gateway.influx.transport import V1Transport
from processing.cases import fold
from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import decode_as, topics
from telemetry.cases import CaseEvent, CaseEventKind
from telemetry.pseudonym import pseudonymise
from tests._drill_support import PSEUDONYM_KEY, EdgeStandIn, Role, edge_env, wait_until
from tests._gateway_support import Central, start_central
from tests._simulate_support import MAX_FALSE_CASES, false_cases, has_case, surely_found

pytestmark = pytest.mark.drill
STATIONS = ("gj-01", "gj-02")
KEY = PSEUDONYM_KEY.encode()


@pytest.fixture
def pipeline(
    tmp_path: Path, influxdb_server: InfluxDB, mosquitto_factory: Callable[..., Mosquitto]
) -> Iterator[tuple[Central, dict[str, Mosquitto]]]:
    broker = mosquitto_factory  # stopped after this fixture's teardown

    central = start_central(broker, influxdb_server, tmp_path, stations=STATIONS)
    agents: list[Role] = []
    try:
        station_brokers = {s: broker(name=f"station-{s}") for s in STATIONS}
        for s in STATIONS:
            env = edge_env(
                s, station_brokers[s], central.broker, central.passwords[s], tmp_path / f"spool-{s}"
            )
            agents.append(Role(f"edge-{s}", ["edge", "run"], env, tmp_path).start())
        yield central, station_brokers
    finally:
        for agent in agents:
            agent.stop()
        central.close()
        influxdb_server.query(f'DROP DATABASE "{central.database}"', method="POST")


def _send(station_brokers: dict[str, Mosquitto], messages: list[Any]) -> None:
    for s in STATIONS:
        mine = [(m.topic, json.dumps(m.document).encode()) for m in messages if m.station_id == s]
        if mine:
            devices = EdgeStandIn(station_brokers[s].host, station_brokers[s].port)
            devices.send(mine, timeout_s=90)
            devices.close()


def test_two_replicas_and_redeliveries_give_one_case_per_declining_domain(
    pipeline: tuple[Central, dict[str, Mosquitto]],
) -> None:
    central, station_brokers = pipeline
    replicas = [central.gateway(client_id=f"gw-cases-{n}") for n in range(2)]
    central.wait_subscribed()
    # Seed 11: five decliners (two of them substantial mobility) and three steady people, most
    # roaming between the two stations; seven monthly visits each.
    cohort = Cohort(
        participants=8, stations=list(STATIONS), days=210, decline_fraction=0.5, roam_fraction=0.6, seed=11
    )
    visits = cohort.visits()
    messages = []
    last_visit: dict[str, list[Any]] = {}
    truths = []
    for visit in visits:
        truth, sent = cohort.messages(*visit)
        truths.append(truth)
        messages += sent
        last_visit[truth.member_id] = sent
    steady = {pseudonymise(KEY, t.member_id) for t in truths if not t.declining}
    must_find = surely_found(cohort, truths, KEY)
    roaming = {t.member_id for t in truths if t.station_id != STATIONS[0]} & {
        t.member_id for t in truths if t.station_id == STATIONS[0]
    }
    assert must_find and steady and roaming, "the seed must give decliners, steady and roaming people"

    half = len(messages) // 2
    _send(station_brokers, messages[:half])
    replicas[0].kill9()  # what it held unacknowledged goes back to the broker
    _send(station_brokers, messages[half:])
    replicas[0].start()  # same client id: its persistent session's share is redelivered
    # The devices send every participant's last visit again (same message ids).
    _send(station_brokers, [m for sent in last_visit.values() for m in sent])

    scored = len({(t.member_id, t.visit) for t in truths})

    def settled() -> bool:
        with_case = {
            r["participant"] for r in central.rows('SELECT "event_id", "participant" FROM "case_event"')
        }
        return central.count("frailty", "inputs") >= scored and set(must_find) <= with_case

    assert wait_until(settled, 120), central.logs()
    time.sleep(3.0)  # let every replica finish what it holds

    transport = V1Transport(central.influx.url, central.database)
    log = case_log.read(transport)
    transport.close()
    cases = fold(log)
    per_domain: dict[tuple[str, str], set[str]] = {}
    for case in cases.values():
        per_domain.setdefault((case.participant, case.domain.value), set()).add(case.case_id)
    assert all(len(ids) == 1 for ids in per_domain.values()), per_domain
    assert "mobility" in {domain for _, domain in per_domain}
    # An event id is stored once per write; the same event raised twice (a race of the two
    # replicas) counts once. Every opened event stands for its own case.
    rows = central.rows(
        'SELECT "event_id", "case_id", "event", "participant", "domain", "at" FROM "case_event"'
    )
    opened = {r["case_id"] for r in rows if r["event"] == CaseEventKind.OPENED.value}
    assert opened == set(cases)
    openings = [r for r in rows if r["event"] == CaseEventKind.OPENED.value]
    assert all(has_case(openings, p, onset) for p, onset in must_find.items()), (must_find, openings)
    assert len(false_cases(cohort, openings, KEY)) <= MAX_FALSE_CASES, openings
    published = [
        decode_as(CaseEvent, m.payload)
        for m in central.capture.on(lambda m: m.topic.startswith(f"{topics.ROOT}/alerts/cases/"))
    ]
    assert {e.event_id for e in published} == {r["event_id"] for r in rows}
    assert all(r.alive for r in replicas)
