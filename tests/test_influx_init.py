"""`frailwatch influx init` on the real InfluxDB: database, the schema's retention policies (its FOREVER
one the default) and `raw`, idempotent; downsampling continuous query; CLI options, environment and
exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from gateway.influx import cli
from gateway.influx.init import RAW_RP, init_database, parse_duration, schema_policies
from gateway.influx.transport import V1Transport, WriteRejected
from runtime.local_servers import InfluxDB, free_port

SCHEMA_POLICIES, DEFAULT_RP = schema_policies()


def _go_duration(duration: str) -> str:
    """How SHOW RETENTION POLICIES prints an InfluxQL duration."""
    hours = parse_duration(duration) // (3600 * 10**9)
    return "0s" if duration == "INF" else f"{hours}h0m0s"


def test_policies_come_from_the_schema() -> None:
    from gateway import influx_schema

    assert SCHEMA_POLICIES == influx_schema.RETENTION_POLICIES and DEFAULT_RP == influx_schema.FOREVER
    assert SCHEMA_POLICIES[DEFAULT_RP] == "INF"  # participant data is kept


def _policies(server: InfluxDB, db: str) -> dict[str, dict[str, object]]:
    return {str(r["name"]): r for r in server.rows(f'SHOW RETENTION POLICIES ON "{db}"', db)}


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="frailwatch")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def fresh_db(influxdb_server: InfluxDB) -> Iterator[str]:
    name = f"init_{uuid.uuid4().hex[:10]}"
    yield name
    influxdb_server.query(f'DROP DATABASE "{name}"', method="POST")


def test_init_creates_database_and_policies_idempotently(influxdb_server: InfluxDB, fresh_db: str) -> None:
    transport = V1Transport(influxdb_server.url, fresh_db)
    first = init_database(transport)
    assert first.changed
    policies = _policies(influxdb_server, fresh_db)
    for name, duration in SCHEMA_POLICIES.items():
        assert policies[name]["duration"] == _go_duration(duration)
        assert policies[name]["default"] is (name == DEFAULT_RP)
    assert policies[RAW_RP]["default"] is False and policies[RAW_RP]["duration"] == "720h0m0s"

    second = init_database(transport)
    assert not second.changed and all(a.startswith("kept") for a in second.actions)
    assert _policies(influxdb_server, fresh_db) == policies

    # a point written without an RP lands in the default RP; one written with rp=raw in `raw`
    V1Transport(influxdb_server.url, fresh_db).write(b"gait_features gait_speed_mps=1.1 1\n")
    raw = V1Transport(influxdb_server.url, fresh_db, retention_policy="raw")
    raw.write(b"imu_raw ax=0.1 %d\n" % time.time_ns())
    with pytest.raises(WriteRejected, match="beyond retention policy"):  # older than 30 d: refused
        raw.write(b"imu_raw ax=0.2 1\n")
    assert influxdb_server.rows(f'SELECT * FROM "{fresh_db}"."{DEFAULT_RP}"."gait_features"', fresh_db)
    assert influxdb_server.rows(f'SELECT * FROM "{fresh_db}"."raw"."imu_raw"', fresh_db)

    third = init_database(transport, raw_retention="7d")
    assert any(a.startswith("altered retention policy raw") for a in third.actions)
    assert _policies(influxdb_server, fresh_db)[RAW_RP]["duration"] == "168h0m0s"
    transport.close()


def test_init_restores_default_when_someone_changed_it(influxdb_server: InfluxDB, fresh_db: str) -> None:
    transport = V1Transport(influxdb_server.url, fresh_db)
    init_database(transport)
    transport.execute(f'ALTER RETENTION POLICY "{RAW_RP}" ON "{fresh_db}" DEFAULT')
    report = init_database(transport)
    assert any(f"altered retention policy {DEFAULT_RP}" in a for a in report.actions)
    assert _policies(influxdb_server, fresh_db)[DEFAULT_RP]["default"] is True


def test_downsample_continuous_query(influxdb_server: InfluxDB, fresh_db: str) -> None:
    transport = V1Transport(influxdb_server.url, fresh_db)
    report = init_database(transport, downsample=("imu_raw",), downsample_every="1m")
    assert any("created continuous query downsample_imu_raw_1m" in a for a in report.actions)
    again = init_database(transport, downsample=("imu_raw",), downsample_every="1m")
    assert not again.changed
    # (our own reader: other databases on the shared server list no queries, a series without values)
    queries = [r for r in transport.query("SHOW CONTINUOUS QUERIES") if "query" in r]
    mine = [r["query"] for r in queries if r["name"] == "downsample_imu_raw_1m"]
    assert (
        len(mine) == 1
        and f"FROM {fresh_db}.raw.imu_raw" in str(mine[0])
        and f".{DEFAULT_RP}.imu_raw_1m" in str(mine[0])
    )
    # run the continuous query's own statement once over recent raw points (CQs fire each minute)
    minute = (time.time_ns() // 60_000_000_000 - 2) * 60_000_000_000
    raw = V1Transport(influxdb_server.url, fresh_db, retention_policy=RAW_RP)
    raw.write(b"".join(b"imu_raw,participant=p1 ax=%d.0 %d\n" % (i, minute + i * 10**9) for i in range(4)))
    select = str(mine[0]).split(" BEGIN ", 1)[1].rsplit(" END", 1)[0]
    select = select.replace(" GROUP BY", f" WHERE time >= {minute} AND time < {minute + 60 * 10**9} GROUP BY")
    transport.execute(select)
    rows = transport.query(f'SELECT * FROM "{fresh_db}"."{DEFAULT_RP}"."imu_raw_1m"')
    assert rows == [{"time": minute, "mean_ax": 1.5, "participant": "p1"}]


def test_cli_options_and_environment(
    influxdb_server: InfluxDB,
    fresh_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_URL", influxdb_server.url)
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_DATABASE", fresh_db)
    assert _run_cli(["influx", "init", "--retention", "14d"]) == 0
    assert f"created database {fresh_db}" in capsys.readouterr().out
    assert _policies(influxdb_server, fresh_db)[RAW_RP]["duration"] == "336h0m0s"
    assert _run_cli(["influx", "init", "--retention", "14d"]) == 0
    assert "created" not in capsys.readouterr().out


def test_cli_exit_codes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FRAILWATCH_GATEWAY_INFLUX_URL", raising=False)
    assert _run_cli(["influx", "init", "--retention", "thirty days"]) == 2
    assert "not an InfluxQL duration" in capsys.readouterr().err
    assert _run_cli(["influx", "init", "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_VERSION", "2")
    assert _run_cli(["influx", "init"]) == 2
    assert "bucket" in capsys.readouterr().err
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_VERSION", "1")
    assert _run_cli(["influx", "init", "--database", "bad name;"]) == 2
    assert "not a plain InfluxDB name" in capsys.readouterr().err


def test_module_entry_point(influxdb_server: InfluxDB, fresh_db: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.influx.cli",
            "init",
            "--url",
            influxdb_server.url,
            "--database",
            fresh_db,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"created database {fresh_db}" in done.stdout and "created retention policy raw" in done.stdout


def test_frailwatch_command(
    influxdb_server: InfluxDB, fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from frailwatch.cli import main

    assert main(["influx", "init", "--url", influxdb_server.url, "--database", fresh_db]) == 0
    assert f"created database {fresh_db}" in capsys.readouterr().out
    assert RAW_RP in _policies(influxdb_server, fresh_db)


def test_explicit_policies_override_the_schema(influxdb_server: InfluxDB, fresh_db: str) -> None:
    transport = V1Transport(influxdb_server.url, fresh_db)
    init_database(transport, policies={"forever": "INF", "ops": "90d"}, default_policy="forever")
    policies = _policies(influxdb_server, fresh_db)
    assert policies["forever"]["default"] is True and policies["ops"]["duration"] == "2160h0m0s"
    with pytest.raises(ValueError, match="default retention policy"):
        init_database(transport, policies={"a": "INF"}, default_policy="b")


def test_parse_duration() -> None:
    assert parse_duration("30d") == 30 * 86400 * 10**9
    assert parse_duration("1h30m") == 5400 * 10**9
    assert parse_duration("INF") == 0
    with pytest.raises(ValueError):
        parse_duration("30 days")


def test_ops_policy_is_bounded_and_configurable(
    influxdb_server: InfluxDB, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """90 days by default; --ops-retention or FRAILWATCH_GATEWAY_INFLUX_OPS_RETENTION change it
    in place (idempotent), INF is refused before anything is sent; clinical stays the INF default."""
    transport = V1Transport(influxdb_server.url, fresh_db)
    init_database(transport)
    policies = _policies(influxdb_server, fresh_db)
    assert policies["ops"]["duration"] == "2160h0m0s" and policies["ops"]["default"] is False
    assert policies["forever"]["duration"] == "0s" and policies["forever"]["default"] is True
    assert (
        _run_cli(
            ["influx", "init", "--url", influxdb_server.url, "--database", fresh_db, "--ops-retention", "30d"]
        )
        == 0
    )
    assert _policies(influxdb_server, fresh_db)["ops"]["duration"] == "720h0m0s"
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_OPS_RETENTION", "14d")
    assert _run_cli(["influx", "init", "--url", influxdb_server.url, "--database", fresh_db]) == 0
    assert _policies(influxdb_server, fresh_db)["ops"]["duration"] == "336h0m0s"
    again = init_database(transport, ops_retention="14d")
    assert not again.changed, again.actions
    argv = ["influx", "init", "--url", influxdb_server.url, "--database", fresh_db, "--ops-retention", "INF"]
    assert _run_cli(argv) == 2
    assert _policies(influxdb_server, fresh_db)["ops"]["duration"] == "336h0m0s"
    assert _policies(influxdb_server, fresh_db)["forever"]["default"] is True
