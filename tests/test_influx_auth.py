"""Auth on the real InfluxDB 1.x with ``auth-enabled``: Basic works, a wrong password or a 2.x-style
``Token`` header is refused with 401, and the writer treats that as "unavailable" (retry, alert),
never as a bad message to dead-letter. init works for an admin user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.influx.init import init_database
from gateway.influx.transport import InfluxUnavailable, V1Transport
from gateway.influx.writer import BatchWriter
from tests._influx_support import AuthInfluxDB

ADMIN, PASSWORD = "fw_admin", "admin-pw-123"


@pytest.fixture(scope="module")
def auth_influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthInfluxDB]:
    server = AuthInfluxDB(Path(tmp_path_factory.mktemp("influx-auth")))
    server.start()
    # InfluxDB 1.x lets the first admin be created without credentials
    server.query(f"CREATE USER {ADMIN} WITH PASSWORD '{PASSWORD}' WITH ALL PRIVILEGES", method="POST")
    yield server
    server.stop()


def test_basic_auth_writes_and_init(auth_influxdb: AuthInfluxDB) -> None:
    transport = V1Transport(auth_influxdb.url, "fw", username=ADMIN, password=SecretStr(PASSWORD))
    report = init_database(transport)
    assert any("database fw" in a for a in report.actions)
    transport.write(b"gait_features,station_id=gj-01 gait_speed_mps=1.2 1767225600000000000\n")
    assert transport.query("SELECT * FROM gait_features") == [
        {"time": 1767225600000000000, "gait_speed_mps": 1.2, "station_id": "gj-01"}
    ]
    transport.close()


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": ADMIN, "password": SecretStr("wrong-pw")},
        {"token": SecretStr(PASSWORD)},  # 1.x does not take the Token header (architecture: "Scale")
        {},
    ],
)
def test_refused_credentials_are_unavailable_not_rejected(
    auth_influxdb: AuthInfluxDB, credentials: dict[str, Any]
) -> None:
    transport = V1Transport(auth_influxdb.url, "fw", **credentials)
    with pytest.raises(InfluxUnavailable) as info:
        transport.write(b"m x=1 1\n")
    assert info.value.status == 401
    assert "wrong-pw" not in str(info.value) and PASSWORD not in str(info.value)
    written: list[object] = []
    rejected: list[object] = []
    writer = BatchWriter(
        transport,
        on_written=written.extend,
        on_rejected=lambda token, error: rejected.append(token),
        retry_base_s=0.01,
        retry_cap_s=0.05,
    )
    writer.submit(b"m x=1 1\n", "msg")
    assert writer.close(timeout_s=0.5) is False
    assert written == [] and rejected == [] and writer.stats.retries >= 2
    transport.close()
