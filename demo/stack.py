"""The demo's servers: a central Mosquitto configured like production, InfluxDB, station brokers.

The central broker gets what docker-compose.yml gives it: a user per station with its own random
password and the committed ACL's rules (each station may publish only under ``fw/v1/<station>/#``),
a gateway user, and the outage-sized queue. Everything listens on free loopback ports inside one
state directory and is stopped by :meth:`DemoStack.stop`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from runtime.local_servers import InfluxDB, Mosquitto

GATEWAY_USER = "gateway"
OPS_USER = "ops"  # read-only, for the demo's observer and for people poking at --keep-running
DATABASE = "frailwatch"


def station_ids(count: int) -> list[str]:
    """Station ids like the compose file's: Gwangju districts, numbered."""
    districts = ("gwangsan", "nam", "buk", "seo", "dong")
    return [f"{districts[i % len(districts)]}-{i // len(districts) + 1:02d}" for i in range(count)]


def central_acl(stations: list[str]) -> str:
    """The deployment's rules (telemetry.acl) for the demo's station list."""
    from telemetry.acl import central_acl as render

    return render(stations, gateway_user=GATEWAY_USER, ops_user=OPS_USER)


@dataclass
class DemoStack:
    state_dir: Path
    stations: list[str]
    passwords: dict[str, str] = field(default_factory=dict)
    central: Mosquitto | None = None
    influxdb: InfluxDB | None = None
    station_brokers: dict[str, Mosquitto] = field(default_factory=dict)

    def start(self) -> None:
        self.passwords = {
            user: secrets.token_urlsafe(18) for user in [GATEWAY_USER, OPS_USER, *self.stations]
        }
        self.central = Mosquitto(
            self.state_dir / "central-mosquitto",
            users=self.passwords,
            acl=central_acl(self.stations),
            max_queued_messages=2_000_000,
        )
        self.central.start()
        self.influxdb = InfluxDB(self.state_dir / "influxdb")
        self.influxdb.start(timeout_s=60)
        for station in self.stations:
            broker = Mosquitto(self.state_dir / f"station-{station}-mosquitto", max_queued_messages=1_000_000)
            broker.start()
            self.station_brokers[station] = broker

    def stop(self) -> None:
        for broker in self.station_brokers.values():
            broker.stop()
        if self.central is not None:
            self.central.stop()
        if self.influxdb is not None:
            self.influxdb.stop()
