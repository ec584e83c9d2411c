"""Helpers for the gateway's own tests: a central broker with station credentials, InfluxDB, and
``frailwatch gateway run`` processes configured the way the operator docs say (environment)."""

from __future__ import annotations

import re
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telemetry.acl import OPS_USER
from tests._drill_support import (
    GATEWAY_USER,
    Capture,
    EdgeStandIn,
    Role,
    gateway_env,
    station_acl,
    wait_until,
)


@dataclass
class Central:
    """Central broker + InfluxDB database + gateway processes + a wildcard capture."""

    broker: Any
    influx: Any
    database: str
    passwords: dict[str, str]
    log_dir: Path
    capture: Capture
    gateways: list[Role] = field(default_factory=list)

    def gateway(self, client_id: str | None = None, **settings: str) -> Role:
        env = gateway_env(
            self.broker,
            self.influx.url,
            self.database,
            self.passwords[GATEWAY_USER],
            client_id or f"gw-{uuid.uuid4().hex[:6]}",
        )
        env.update({"FRAILWATCH_GATEWAY_METRICS_PORT": "0", "FRAILWATCH_GATEWAY_STATS_INTERVAL_S": "1"})
        env.update({f"FRAILWATCH_GATEWAY_{k.upper()}": v for k, v in settings.items()})
        role = Role(f"gateway-{len(self.gateways)}", ["gateway", "run"], env, self.log_dir).start()
        self.gateways.append(role)
        return role

    def wait_subscribed(self, timeout_s: float = 30.0) -> None:
        """Until every started gateway has connected (its log says so)."""
        ok = wait_until(lambda: all("connected to" in g.log() for g in self.gateways), timeout_s, 0.1)
        assert ok, "\n".join(g.log()[-2000:] for g in self.gateways)

    def edge(self, station: str = "gj-01") -> EdgeStandIn:
        return EdgeStandIn(self.broker.host, self.broker.port, station, self.passwords[station])

    def rows(self, query: str) -> list[dict[str, Any]]:
        return list(self.influx.rows(query, self.database))

    def count(self, measurement: str, field_name: str) -> int:
        """Points with ``field_name`` in ``measurement``, read from its own retention policy."""
        from gateway.influx_schema import qualified

        rows = self.rows(f'SELECT count("{field_name}") FROM {qualified(measurement)}')
        return int(rows[0]["count"]) if rows else 0

    def logs(self) -> str:
        return "\n".join(g.log()[-3000:] for g in self.gateways)

    def close(self) -> None:
        for g in self.gateways:
            g.stop()
        self.capture.close()


def gateway_metric(port: int, name: str) -> float:
    """One counter or gauge from a gateway's Prometheus endpoint (summed over labels)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def start_central(
    mosquitto_factory: Callable[..., Any],
    influx: Any,
    log_dir: Path,
    stations: tuple[str, ...] = ("gj-01", "gj-02"),
) -> Central:
    passwords = {station: f"pw-{station}-{uuid.uuid4().hex[:8]}" for station in stations}
    passwords[GATEWAY_USER] = f"pw-gateway-{uuid.uuid4().hex[:12]}"
    passwords[OPS_USER] = f"pw-ops-{uuid.uuid4().hex[:12]}"
    broker = mosquitto_factory(name="central", users=passwords, acl=station_acl(stations))
    database = f"gw_{uuid.uuid4().hex[:10]}"
    influx.init_frailwatch(database)  # as `frailwatch influx init`: the ops policy must exist
    # The wildcard capture watches as the read-only operator does (the gateway user only writes
    # what it publishes, it does not read it back).
    capture = Capture(broker.host, broker.port, "#", username=OPS_USER, password=passwords[OPS_USER])
    return Central(broker, influx, database, passwords, log_dir, capture)


# --- the follow-up stages without MQTT: messages, their points, one stage run ------------------------


def stage_message(
    kind: Any,
    at: Any,
    n: int,
    visit: str | None = "visit-now",
    station: str = "gj-01",
    participant: str | None = None,
    **payload: Any,
) -> Any:
    """The contract example of ``kind`` at ``at`` with its own id, without a recording (so its reported
    values are its features), changed by ``payload``."""
    from telemetry.examples import example_messages

    base: Any = example_messages()[kind]
    changes = {
        k: v for k, v in {"recording": None, **payload}.items() if k in type(base.payload).model_fields
    }
    update: dict[str, Any] = {
        "measured_at": at,
        "visit_id": visit,
        "station_id": station,
        "message_id": f"stage-{kind.value}-{station}-{n:04d}",
        "payload": base.payload.model_copy(update=changes),
    }
    if participant is not None:
        update["participant"] = participant
    return base.model_copy(update=update)


def write_points(influxdb: Any, points: list[Any]) -> None:
    from gateway.point_table import PointTable

    table = PointTable()
    table.extend(points)
    influxdb.write(table.encode())


def run_stage(stage: Any, reader: Any, item: Any) -> Any:
    """One stage on one follow-up: its statements read, its effects returned (nothing written)."""
    return stage.run(item, reader.query_many(stage.statements(item)))
