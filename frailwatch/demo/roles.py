"""The demo's seam to the other roles: edge agents, the device simulator, the gateway, the schema.

Everything that depends on how those roles are built is here, so the rest of the demo (servers,
observer, outage, summary, charts) does not. The roles are used through their public entry points:
``frailwatch gateway run`` and ``frailwatch edge run`` configured by environment (as in
docker-compose.yml), the simulator's Python API (``edge.simulate``) and the schema module
(``gateway.schema``). When a role is not in this checkout the demo stops with a clear message.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import paho.mqtt.client as mqtt

from frailwatch.demo.observer import Observer
from frailwatch.demo.processes import Processes
from frailwatch.demo.stack import DATABASE, GATEWAY_USER, DemoStack
from frailwatch.demo.summary import Alert, ParticipantTrend, Visit, utc
from telemetry.envelope import DeviceKind
from telemetry.events import DeclineAlert

__all__ = ["DATABASE", "Processes"]

HEARTBEAT_S = 1  # fast heartbeats: the demo reads spool depth from them
READING_MEASUREMENTS = frozenset(kind.value for kind in DeviceKind)


class RoleMissing(RuntimeError):
    """A role the demo needs is not installed in this checkout."""


def _role(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise RoleMissing(f"the demo needs {what} ({module}), which is not in this checkout: {exc}") from exc


def require_roles() -> None:
    """Fail early, naming what is missing, before any server starts."""
    _role("edge.cli", "the edge agent")
    _role("edge.simulate.cohort", "the device simulator")
    _role("gateway.cli", "the gateway")
    _role("gateway.schema", "the gateway's schema module")


# --- servers and processes --------------------------------------------------------------------


def init_database(stack: DemoStack) -> None:
    assert stack.influxdb is not None
    stack.influxdb.create_database(DATABASE)


def start_gateway(stack: DemoStack, processes: Processes) -> None:
    assert stack.central is not None and stack.influxdb is not None
    env = {
        "FRAILWATCH_GATEWAY_MQTT_HOST": stack.central.host,
        "FRAILWATCH_GATEWAY_MQTT_PORT": str(stack.central.port),
        "FRAILWATCH_GATEWAY_MQTT_USERNAME": GATEWAY_USER,
        "FRAILWATCH_GATEWAY_MQTT_PASSWORD": stack.passwords[GATEWAY_USER],
        "FRAILWATCH_GATEWAY_CLIENT_ID": "demo-gateway-1",
        "FRAILWATCH_GATEWAY_INFLUX_URL": stack.influxdb.url,
        "FRAILWATCH_GATEWAY_INFLUX_DATABASE": DATABASE,
    }
    processes.start("gateway", ["gateway", "run"], env)


def start_edge(stack: DemoStack, station: str, processes: Processes, pseudonym_key: str) -> None:
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
    }
    processes.start(f"edge-{station}", ["edge", "run"], env)


# --- the simulated visits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """One device message as a device sends it: to its station's broker, raw ids inside."""

    station: str
    topic: str
    payload: bytes


@dataclass
class VisitPlan:
    cohort: Any
    visits: int
    device_messages: int
    visits_by_station: dict[str, int] = field(default_factory=dict)
    messages_by_station: dict[str, int] = field(default_factory=dict)
    _publications: list[Publication] = field(default_factory=list)
    truths: list[Any] = field(default_factory=list)  # the simulator's ground truth per visit

    def publications(self) -> Iterator[Publication]:
        return iter(self._publications)


def plan_visits(stations: list[str], participants: int, days: int, seed: int) -> VisitPlan:
    """All device messages of the simulated cohort, in time order, from the edge's simulator."""
    simulate = _role("edge.simulate.cohort", "the device simulator")
    cohort = simulate.Cohort(participants=participants, stations=stations, days=days, seed=seed)
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
            plan.messages_by_station[m.station_id] = plan.messages_by_station.get(m.station_id, 0) + 1
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


def point_counts(stack: DemoStack) -> dict[str, int]:
    """Points per measurement in the demo database (a point counts once, whatever its fields)."""
    assert stack.influxdb is not None
    counts: dict[str, int] = {}
    for row in stack.influxdb.rows("SHOW MEASUREMENTS", DATABASE):
        name = row["name"]
        result = stack.influxdb.rows(f'SELECT count(*) FROM "{name}"', DATABASE)
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
    schema = _role("gateway.schema", "the gateway's schema module")
    return str(getattr(schema, "STATION_TAG", "station_id"))


def reading_points_by_station(stack: DemoStack) -> dict[str, int]:
    assert stack.influxdb is not None
    tag = _station_tag()
    out: dict[str, int] = {}
    for measurement in set(point_counts(stack)) & READING_MEASUREMENTS:
        query = f'SELECT count(*) FROM "{measurement}" GROUP BY "{tag}"'
        for row in stack.influxdb.rows(query, DATABASE):
            count = max((int(v) for k, v in row.items() if k.startswith("count_")), default=0)
            station = str(row.get(tag, ""))
            out[station] = out.get(station, 0) + count
    return out


def gateway_idle(observer: Observer) -> bool:
    """Nothing spooled at any station: the gateway has everything the stations accepted."""
    return not any(observer.spool_depths().values())


def alerts(observed: list[DeclineAlert]) -> list[Alert]:
    """Decline alerts as they crossed the broker (fw/v1/alerts/decline/<station>), de-duplicated:
    a redelivered message may raise the same alert twice (at-least-once)."""
    unique: dict[tuple[str, str, str, str], Alert] = {}
    for a in observed:
        key = (a.participant, a.metric, a.rule, a.at.isoformat())
        unique[key] = Alert(
            at=a.at,
            participant=a.participant,
            station_id=a.station_id,
            metric=a.metric,
            rule=a.rule,
            severity=a.severity,
            baseline=a.baseline,
            current=a.current,
            change=a.change,
        )
    return sorted(unique.values(), key=lambda a: (a.at, a.participant, a.metric))


def participant_trend(stack: DemoStack, participant: str, its_alerts: list[Alert]) -> ParticipantTrend:
    """Gait speed, SPPB and grip per visit, read back from InfluxDB through the schema module."""
    assert stack.influxdb is not None
    schema = _role("gateway.schema", "the gateway's schema module")
    series: dict[str, tuple[str, str]] = schema.TREND_FIELDS  # Visit field -> (measurement, field)
    tag = _station_tag()
    pseudonym_tag = str(getattr(schema, "PARTICIPANT_TAG", "participant"))
    visits: dict[str, Visit] = {}
    for visit_field, (measurement, influx_field) in series.items():
        query = (
            f'SELECT "{influx_field}" FROM "{measurement}" WHERE "{pseudonym_tag}" = \'{participant}\' '
            f'GROUP BY "{tag}"'
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
    return ParticipantTrend(participant=participant, sex=sex, visits=list(visits.values()), alerts=its_alerts)


def _at(at_ns: int) -> Any:
    from datetime import UTC, datetime

    return utc(datetime.fromtimestamp(at_ns / 1e9, UTC))


def ground_truth(plan: VisitPlan) -> str:
    """The simulator's truth as JSON lines (kept in the state dir, which stays on this machine:
    it holds the simulated member ids)."""
    return "\n".join(json.dumps(t.as_json(), default=str) for t in plan.truths)
