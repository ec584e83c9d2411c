"""Real servers for tests: Mosquitto and InfluxDB on free loopback ports in temp dirs.

Nothing is mocked. ``mosquitto`` is a fresh broker per test; ``influxdb`` is one server per
session with a fresh database per test (InfluxDB takes a second to start). Factories give tests
their own servers to stop, kill and restart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _brokers import Brokers
from _gateway_support import Central, start_central
from hypothesis import HealthCheck, settings

from runtime.local_servers import InfluxDB, Mosquitto

# CI runs fewer fuzz cases; `HYPOTHESIS_PROFILE=fuzz` runs the dedicated long campaign.
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# `frailwatch analyze` subprocesses run under the JIT: the ahead-of-time kernel build takes a
# minute and would land in the user's cache; tests/test_gait_cli.py builds one (FW_SLOW=1).
os.environ.setdefault("FRAILWATCH_AOT", "0")


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Make brokers (``Mosquitto`` keyword arguments pass through); all stopped after the test."""
    brokers = Brokers(tmp_path)
    yield brokers
    brokers.kill()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A fresh anonymous broker for this test."""
    return mosquitto_factory()


@pytest.fixture(scope="session")
def influxdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@dataclass
class InfluxTestDB:
    """The session's InfluxDB server and a database of this test's own."""

    server: InfluxDB
    database: str

    @property
    def url(self) -> str:
        return self.server.url

    def query(self, q: str) -> dict[str, Any]:
        return self.server.query(q, self.database)

    def rows(self, q: str) -> list[dict[str, Any]]:
        return self.server.rows(q, self.database)

    def write(self, lines: str | bytes, precision: str = "ns") -> None:
        self.server.write(lines, self.database, precision)


@pytest.fixture
def influxdb(influxdb_server: InfluxDB) -> Iterator[InfluxTestDB]:
    """A fresh database on the shared InfluxDB server, dropped after the test."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    influxdb_server.create_database(database)
    yield InfluxTestDB(influxdb_server, database)
    influxdb_server.query(f'DROP DATABASE "{database}"', method="POST")


@pytest.fixture
def influxdb_factory(tmp_path: Path) -> Iterator[Callable[[], InfluxDB]]:
    """Private InfluxDB servers a test may stop, kill and restart."""
    servers: list[InfluxDB] = []

    def make() -> InfluxDB:
        server = InfluxDB(tmp_path / f"influxdb-{len(servers)}")
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def central(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> Iterator[Central]:
    """A central broker with the deployment's ACL, an InfluxDB database and a gateway capture
    (:func:`_gateway_support.start_central`), closed and dropped after the test."""
    c = start_central(mosquitto_factory, influxdb_server, tmp_path)
    yield c
    c.close()
    influxdb_server.query(f'DROP DATABASE "{c.database}"', method="POST")
