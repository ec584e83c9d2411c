"""The demo's seam to the other roles: edge agents, the device simulator, the gateway, the schema.

Everything that depends on how those roles are built is here, so the rest of the demo (servers,
observer, outage, summary, charts) does not. The roles are used through their public entry points:
``frailwatch gateway run`` and ``frailwatch edge run`` configured by environment (as in
docker-compose.yml), the simulator's Python API (``edge.simulate``) and the schema module
(``gateway.influx_schema``).
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from demo.observer import Observer
from demo.processes import Processes
from demo.stack import DATABASE, GATEWAY_USER, DemoStack
from demo.summary import CaseRecord, ParticipantTrend, SimulatedPerson, Visit, utc
from edge.simulate.cohort import Cohort
from edge.spool import waiting_in
from gateway import influx_schema
from gateway.influx.influxql import equals, identifier
from runtime.local_servers import free_port
from telemetry.cases import SEVERITY_RANK, CaseEvent, CaseEventKind
from telemetry.envelope import DeviceKind

__all__ = ["DATABASE", "Processes"]

HEARTBEAT_S = 1  # fast heartbeats: the demo reads spool depth from them
READING_MEASUREMENTS = frozenset(kind.value for kind in DeviceKind)


# --- servers and processes --------------------------------------------------------------------


def init_database(stack: DemoStack) -> None:
    """The database and its retention policies, as ``frailwatch influx init`` makes them."""
    assert stack.influxdb is not None
    stack.influxdb.init_frailwatch(DATABASE)


def qualified(measurement: str) -> str:
    """The InfluxQL FROM target of a measurement in its retention policy (gateway.influx_schema)."""
    return influx_schema.qualified(measurement)


class GatewayProbe:
    """Reads the gateway's own Prometheus endpoint (on a private loopback port)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        # Loopback only: a proxy from the environment must never see demo traffic.
        self._http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def connected(self) -> bool:
        """True once the gateway has connected and sent its subscriptions (its connected gauge)."""
        try:
            with self._http.open(self.url, timeout=1) as response:
                text = response.read().decode()
        except OSError:
            return False
        return any(line.split()[-1] == "1.0" for line in text.splitlines() if line.startswith(_CONNECTED))


_CONNECTED = "frailwatch_gateway_connected "


def start_gateway(stack: DemoStack, processes: Processes) -> GatewayProbe:
    assert stack.central is not None and stack.influxdb is not None
    metrics_port = free_port()
    env = {
        "FRAILWATCH_GATEWAY_MQTT_HOST": stack.central.host,
        "FRAILWATCH_GATEWAY_MQTT_PORT": str(stack.central.port),
        "FRAILWATCH_GATEWAY_MQTT_USERNAME": GATEWAY_USER,
        "FRAILWATCH_GATEWAY_MQTT_PASSWORD": stack.passwords[GATEWAY_USER],
        "FRAILWATCH_GATEWAY_CLIENT_ID": "demo-gateway-1",
        "FRAILWATCH_GATEWAY_INFLUX_URL": stack.influxdb.url,
        "FRAILWATCH_GATEWAY_INFLUX_DATABASE": DATABASE,
        # Its own free port: the default 9108 may belong to another gateway on this machine.
        "FRAILWATCH_GATEWAY_METRICS_HOST": "127.0.0.1",
        "FRAILWATCH_GATEWAY_METRICS_PORT": str(metrics_port),
    }
    processes.start("gateway", ["gateway", "run"], env)
    return GatewayProbe(metrics_port)


def start_edge(
    stack: DemoStack, station: str, processes: Processes, pseudonym_key: str, page: dict[str, str]
) -> None:
    """``page``: the station page's settings (demo.stations.StationSetup.env)."""
    assert stack.central is not None
    device_broker = stack.station_brokers[station]
    env = {
        "FRAILWATCH_EDGE_STATION_ID": station,
        "FRAILWATCH_EDGE_DEVICE_MQTT_HOST": device_broker.host,
        "FRAILWATCH_EDGE_DEVICE_MQTT_PORT": str(device_broker.port),
        "FRAILWATCH_EDGE_UPLINK_HOST": stack.central.host,
        "FRAILWATCH_EDGE_UPLINK_PORT": str(stack.central.port),
        "FRAILWATCH_EDGE_UPLINK_USERNAME": station,
        "FRAILWATCH_EDGE_UPLINK_PASSWORD": stack.passwords[station],
        "FRAILWATCH_EDGE_PSEUDONYM_KEY": pseudonym_key,
        "FRAILWATCH_EDGE_SPOOL_DIR": str(stack.state_dir / f"edge-{station}" / "spool"),
        "FRAILWATCH_EDGE_HEARTBEAT_S": str(HEARTBEAT_S),
        # The demo's outage lasts seconds: reconnect within 2 s of the broker's return instead of
        # backing off up to the production default of 30 s, so the drain is seen in the run.
        "FRAILWATCH_EDGE_RECONNECT_MAX_S": "2",
        **page,
    }
    processes.start(f"edge-{station}", ["edge", "run"], env)


def edge_ready(stack: DemoStack, station: str) -> bool:
    """The agent's own status file says what ``frailwatch edge health`` needs: running and
    subscribed at the station broker (readings published before that would reach no one)."""
    from edge.health import judge, status_path

    return judge(status_path(stack.state_dir / f"edge-{station}" / "spool"))[0]


# --- the simulated visits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """One device message as a device sends it: to its station's broker, raw ids inside.

    ``fault`` is the dead-letter reason the edge must give an injected faulty reading (None for
    the simulator's own readings, which must all be accepted).
    """

    station: str
    topic: str
    payload: bytes
    fault: str | None = None


# Faulty readings the demo slips in, so dead letters show up: (expected reason, how it is broken).
# They are extra messages: every visit keeps all its genuine readings.
FAULTS = ("out_of_range", "malformed_json", "identifier_in_text")
# Where they go, as shares of the publication sequence: clear of the uplink outage (run.OUTAGE_AT
# to +0.2), because an edge dead letter raised while the uplink is down stays on the station.
FAULT_AT = (0.1, 0.2, 0.7, 0.8, 0.9, 0.95)


@dataclass
class VisitPlan:
    cohort: Any
    visits: int
    device_messages: int  # genuine readings + injected faults: everything the devices publish
    visits_by_station: dict[str, int] = field(default_factory=dict)
    messages_by_station: dict[str, int] = field(default_factory=dict)
    faults_by_reason: dict[str, int] = field(default_factory=dict)
    faults_by_station: dict[str, int] = field(default_factory=dict)
    _publications: list[Publication] = field(default_factory=list)
    truths: list[Any] = field(default_factory=list)  # the simulator's ground truth per visit

    def publications(self) -> Iterator[Publication]:
        return iter(self._publications)

    @property
    def faults(self) -> int:
        return sum(self.faults_by_reason.values())

    @property
    def genuine_messages(self) -> int:
        """Readings the edge must accept and the gateway must write exactly once."""
        return self.device_messages - self.faults

    def raw_identifiers(self) -> set[str]:
        """Every raw identifier the simulated devices sent (member ids, resident numbers, names,
        phone numbers): none may reach the central broker, InfluxDB, the logs or the outputs."""
        out: set[str] = set()
        for p in self.cohort.participants:
            out |= {p.member_id, p.resident_number, p.name, p.phone}
        return out

    def member_ids(self) -> list[str]:
        return [p.member_id for p in self.cohort.participants]


def _faulty(publication: Publication, reason: str) -> Publication:
    """A broken copy of a genuine reading (same device, raw identifiers and all)."""
    document = json.loads(publication.payload)
    if reason == "malformed_json":  # a device firmware cutting its JSON short
        return Publication(publication.station, publication.topic, publication.payload[:-9], reason)
    if reason == "out_of_range":  # a blood-pressure cuff reporting 900 mmHg
        document["payload"] = {"systolic_mmhg": 900, "diastolic_mmhg": 80}
        topic = publication.topic.split("/")
        topic[2:4] = ["vitals", f"vitals-{publication.station}"]
        return Publication(publication.station, "/".join(topic), json.dumps(document).encode(), reason)
    # A counsellor typing the participant's phone number into the free-text note.
    document["note"] = f"call back on {document['phone']}"
    return Publication(publication.station, publication.topic, json.dumps(document).encode(), reason)


def _with_faults(publications: list[Publication]) -> list[Publication]:
    out = list(publications)
    # Highest position first, so inserting does not shift the positions still to come.
    for i, share in sorted(enumerate(FAULT_AT), key=lambda x: -x[1]):
        at = int(len(publications) * share)
        if at >= len(publications):
            continue
        out.insert(at, _faulty(publications[at], FAULTS[i % len(FAULTS)]))
    return out


def plan_visits(
    stations: list[str], participants: int, days: int, seed: int, decline_fraction: float = 0.2
) -> VisitPlan:
    """All device messages of the simulated cohort, in time order, from the edge's simulator (with
    its realistic measurement error), with a few faulty readings slipped in (:data:`FAULTS`)."""
    cohort = Cohort(
        participants=participants,
        stations=stations,
        days=days,
        seed=seed,
        decline_fraction=decline_fraction,
    )
    publications: list[Publication] = []
    truths: list[Any] = []
    plan = VisitPlan(cohort, visits=0, device_messages=0)
    for participant, visit, station, at in cohort.visits():
        truth, messages = cohort.messages(participant, visit, station, at)
        truths.append(truth)
        plan.visits_by_station[station] = plan.visits_by_station.get(station, 0) + 1
        for m in messages:
            publications.append(
                Publication(m.station_id, m.topic, json.dumps(m.document, default=str).encode())
            )
    publications = _with_faults(publications)
    for pub in publications:
        plan.messages_by_station[pub.station] = plan.messages_by_station.get(pub.station, 0) + 1
        if pub.fault is not None:
            plan.faults_by_reason[pub.fault] = plan.faults_by_reason.get(pub.fault, 0) + 1
            plan.faults_by_station[pub.station] = plan.faults_by_station.get(pub.station, 0) + 1
    plan.visits = len(truths)
    plan.device_messages = len(publications)
    plan._publications = publications
    plan.truths = truths
    return plan


class DevicePublisher:
    """One MQTT connection per station broker, QoS 1, as the station's devices."""

    def __init__(self, stack: DemoStack) -> None:
        self._clients: dict[str, mqtt.Client] = {}
        for station, broker in stack.station_brokers.items():
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"demo-devices-{station}")
            client.max_inflight_messages_set(200)
            client.connect(broker.host, broker.port)
            client.loop_start()
            self._clients[station] = client
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(self, publication: Publication) -> None:
        info = self._clients[publication.station].publish(publication.topic, publication.payload, qos=1)
        self._pending.append(info)
        if len(self._pending) >= 200:
            self.flush()

    def flush(self) -> None:
        for info in self._pending:
            info.wait_for_publish(timeout=30)
        self._pending.clear()

    def __enter__(self) -> DevicePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        for client in self._clients.values():
            client.disconnect()
            client.loop_stop()


# --- what the pipeline did ---------------------------------------------------------------------


def spool_depths(observer: Observer, newer_than: float = 0.0) -> dict[str, int]:
    """Latest spool depth per station from heartbeats sent after ``newer_than`` (epoch s)."""
    times = observer.heartbeat_times()
    return {s: d for s, d in observer.spool_depths().items() if times.get(s, 0.0) >= newer_than}


def simulated_people(plan: VisitPlan, pseudonym_key: str) -> list[SimulatedPerson]:
    """Every simulated participant under the pseudonym the edge gives them (``EdgeSettings.key_bytes``:
    the key's text as bytes), with what the simulator's truth says about their decline — for
    checking the cases against it."""
    from telemetry.pseudonym import pseudonymise

    key = pseudonym_key.encode()
    visits: dict[str, list[Any]] = {}
    for truth in plan.truths:
        visits.setdefault(truth.member_id, []).append(truth)
    people = []
    for member, mine in visits.items():
        mine.sort(key=lambda t: t.measured_at)
        decline = mine[-1].decline
        people.append(
            SimulatedPerson(
                pseudonym=pseudonymise(key, member),
                first_visit=utc(datetime.fromisoformat(mine[0].measured_at)),
                last_visit=utc(datetime.fromisoformat(mine[-1].measured_at)),
                visits=len(mine),
                decline_kind=decline["kind"] if decline else None,
                decline_shape=decline["shape"] if decline else None,
                decline_domain=decline["domain"] if decline else None,
                decline_onset=utc(datetime.fromisoformat(decline["onset_at"])) if decline else None,
                decline_reached=float(mine[-1].decline_share),
            )
        )
    return sorted(people, key=lambda p: p.pseudonym)


def station_spool_depths(stack: DemoStack) -> int | None:
    """Messages waiting in all stations' disk spools, read from the spools themselves
    (:func:`edge.spool.waiting_in`; the heartbeats cannot tell while the uplink is down). None if a
    spool cannot be read."""
    try:
        return sum(waiting_in(stack.state_dir / f"edge-{station}" / "spool") for station in stack.stations)
    except sqlite3.Error:
        return None


def intake_counts(observer: Observer) -> dict[str, int]:
    """Device readings each station's agent has taken in (accepted or dead-lettered), per heartbeat."""
    beats = observer.snapshot().heartbeats
    return {s: hb.accepted_total + hb.dead_letters_total for s, hb in beats.items()}


def point_counts(stack: DemoStack) -> dict[str, int]:
    """Points per measurement in the demo database (a point counts once, whatever its fields)."""
    assert stack.influxdb is not None
    counts: dict[str, int] = {}
    for row in stack.influxdb.rows("SHOW MEASUREMENTS", DATABASE):
        name = row["name"]
        result = stack.influxdb.rows(f"SELECT count(*) FROM {qualified(name)}", DATABASE)
        counts[name] = max(
            (int(v) for r in result for k, v in r.items() if k.startswith("count_")), default=0
        )
    return counts


# Written on a clock (heartbeats, gateway stats), not per reading: they never stop growing.
FLEET_MEASUREMENTS = frozenset({"station_heartbeat", "station_device", "station_status", "gateway_stats"})


def data_points(points: dict[str, int]) -> int:
    """Points the simulated visits produced (readings, features, scores, events, dead letters)."""
    return sum(n for name, n in points.items() if name not in FLEET_MEASUREMENTS)


def reading_points(points: dict[str, int]) -> int:
    """Points of device readings (one measurement per device kind), not derived or fleet data."""
    return sum(n for name, n in points.items() if name in READING_MEASUREMENTS)


def _station_tag() -> str:
    return influx_schema.STATION_TAG


def reading_points_by_station(stack: DemoStack) -> dict[str, int]:
    assert stack.influxdb is not None
    tag = _station_tag()
    out: dict[str, int] = {}
    for measurement in set(point_counts(stack)) & READING_MEASUREMENTS:
        query = f"SELECT count(*) FROM {identifier(measurement)} GROUP BY {identifier(tag)}"
        for row in stack.influxdb.rows(query, DATABASE):
            count = max((int(v) for k, v in row.items() if k.startswith("count_")), default=0)
            station = str(row.get(tag, ""))
            out[station] = out.get(station, 0) + count
    return out


def gateway_idle(observer: Observer) -> bool:
    """Nothing spooled at any station: the gateway has everything the stations accepted."""
    return not any(observer.spool_depths().values())


def cases(observed: list[CaseEvent]) -> list[CaseRecord]:
    """The cases whose events crossed the broker (fw/v1/alerts/cases/<station>), folded the way
    every reader of the log folds them (an event id counts once, whoever published it twice)."""
    from processing.cases import fold

    out = []
    for case in fold(observed).values():
        events = [e for e in observed if e.case_id == case.case_id]
        opened = next((e for e in events if e.event is CaseEventKind.OPENED), None)
        if opened is None or opened.evidence is None:
            continue  # its opening was never seen (cannot happen with a persistent session)
        out.append(
            CaseRecord(
                case_id=case.case_id,
                participant=case.participant,
                domain=case.domain.value,
                state=case.state.value,
                severity=max((e.severity for e in events), key=SEVERITY_RANK.__getitem__),
                station_id=opened.station_id,
                visit_at=opened.at,
                opened_at=opened.processed_at,
                rule=opened.evidence.rule,
                change=dict(opened.evidence.change),
                events=len({e.event_id for e in events}),
            )
        )
    return sorted(out, key=lambda c: (c.visit_at, c.participant, c.domain))


def participant_trend(stack: DemoStack, participant: str, its_cases: list[CaseRecord]) -> ParticipantTrend:
    """Gait speed, SPPB and grip per visit, read back from InfluxDB through the schema module."""
    assert stack.influxdb is not None
    series = influx_schema.TREND_FIELDS  # Visit field -> (measurement, field)
    tag = influx_schema.STATION_TAG
    pseudonym_tag = influx_schema.PARTICIPANT_TAG
    visits: dict[str, Visit] = {}
    for visit_field, (measurement, influx_field) in series.items():
        query = (
            f"SELECT {identifier(influx_field)} FROM {identifier(measurement)} "
            f"WHERE {equals(pseudonym_tag, participant)} "
            f"GROUP BY {identifier(tag)}"
        )
        for row in stack.influxdb.query(query, DATABASE).get("results", []):
            for s in row.get("series", []):
                station = s.get("tags", {}).get(tag, "")
                for at_ns, value in s["values"]:
                    day = time.strftime("%Y-%m-%d", time.gmtime(at_ns / 1e9))
                    if value is None:
                        continue
                    visit = visits.setdefault(day, Visit(at=_at(at_ns), station_id=station))
                    setattr(visit, visit_field, float(value))
    sex = None
    profile = stack.influxdb.rows(
        f'SELECT last("sex") FROM "profile" WHERE "{pseudonym_tag}" = \'{participant}\'', DATABASE
    )
    if profile:
        sex = str(profile[0].get("last"))
    return ParticipantTrend(participant=participant, sex=sex, visits=list(visits.values()), cases=its_cases)


def _at(at_ns: int) -> datetime:
    return utc(datetime.fromtimestamp(at_ns / 1e9, UTC))


def ground_truth(plan: VisitPlan) -> str:
    """The simulator's truth as JSON lines (kept in the state dir, which stays on this machine:
    it holds the simulated member ids)."""
    return "\n".join(json.dumps(t.as_json(), default=str) for t in plan.truths)
