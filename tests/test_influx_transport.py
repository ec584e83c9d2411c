"""Transports: what goes over the wire (paths, auth per InfluxDB version, gzip), error mapping, and
reads with bind parameters on the real InfluxDB. The v2 API is checked against a recording HTTP
server, as no InfluxDB 2 runs here (architecture: "Known traps": Debian's 1.6 answers it with 404)."""

from __future__ import annotations

import base64
import gzip
import logging
from collections.abc import Iterator

import numpy as np
import pytest
from pydantic import SecretStr, ValidationError

from gateway.influx.lineprotocol import encode
from gateway.influx.transport import (
    InfluxSettings,
    InfluxTransport,
    InfluxUnavailable,
    QueryError,
    V1Transport,
    V2Transport,
    WriteRejected,
    make_transport,
)
from runtime.local_servers import free_port
from tests._influx_support import CaptureServer, serve_capture
from tests.conftest import InfluxTestDB

BODY = b"gait_features,station_id=gj-01 gait_speed_mps=1.1 1747000000000000000\n"


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    yield from serve_capture()


def test_v1_write_request_gzip_basic_auth_no_secret_in_url(capture: CaptureServer) -> None:
    transport = V1Transport(
        capture.url, "fw", username="gw", password=SecretStr("pw-123"), retention_policy="raw"
    )
    transport.write(BODY)
    (req,) = capture.requests
    assert (req.method, req.path) == ("POST", "/write")
    assert req.query == {"db": ["fw"], "rp": ["raw"], "precision": ["ns"]}
    assert req.headers["content-encoding"] == "gzip"
    assert req.raw_body[:2] == b"\x1f\x8b" and len(req.raw_body) != len(BODY)
    assert req.body == BODY
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"gw:pw-123").decode()
    assert "pw-123" not in repr(transport)


def test_v1_token_header_for_influxdb_2_and_3(capture: CaptureServer) -> None:
    settings = InfluxSettings(url=capture.url, database="fw", token=SecretStr("tok-abc"), gzip=False)
    transport = make_transport(settings)
    assert isinstance(transport, V1Transport)
    transport.write(BODY)
    (req,) = capture.requests
    assert req.headers["authorization"] == "Token tok-abc"
    assert "content-encoding" not in req.headers and req.raw_body == BODY
    assert "tok-abc" not in repr(settings) and "tok-abc" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("status", "doc", "error", "text"),
    [
        (
            400,
            {"error": 'partial write: field type conflict: input field "x"'},
            WriteRejected,
            "field type conflict",
        ),
        (413, {"error": "Request Entity Too Large"}, WriteRejected, "Too Large"),
        (
            422,
            {"code": "unprocessable entity", "message": "points beyond retention policy"},
            WriteRejected,
            "beyond",
        ),
        (500, {"error": "engine: cache-max-memory-size exceeded"}, InfluxUnavailable, "cache-max-memory"),
        (503, None, InfluxUnavailable, "503"),
        (429, {"message": "too many requests"}, InfluxUnavailable, "too many"),
        # not the data's fault: retried (and alerting), never dead-lettered
        (401, {"error": "authorization failed"}, InfluxUnavailable, "authorization failed"),
        (404, {"error": 'database not found: "fw"'}, InfluxUnavailable, "database not found"),
    ],
)
def test_error_mapping_keeps_influxdb_message(
    capture: CaptureServer, status: int, doc: object, error: type[Exception], text: str
) -> None:
    capture.answer(status, doc)
    transport = V1Transport(capture.url, "fw", username="gw", password="pw-secret")
    with pytest.raises(error, match=text) as info:
        transport.write(BODY)
    assert "pw-secret" not in str(info.value)
    if isinstance(info.value, WriteRejected):
        assert info.value.status == status and text in info.value.message


def test_unreachable_and_timeout_are_unavailable(capture: CaptureServer) -> None:
    with pytest.raises(InfluxUnavailable, match="unreachable"):
        V1Transport(f"http://127.0.0.1:{free_port()}", "fw").write(BODY)
    assert not V1Transport(f"http://127.0.0.1:{free_port()}", "fw").ping()


def test_v2_write_through_influxdb_client(capture: CaptureServer) -> None:
    transport = V2Transport(capture.url, org="fw-org", bucket="frailwatch/forever", token=SecretStr("tok-v2"))
    assert isinstance(transport, InfluxTransport)
    transport.write(BODY)
    (req,) = capture.requests
    assert (req.method, req.path) == ("POST", "/api/v2/write")
    assert req.query == {"org": ["fw-org"], "bucket": ["frailwatch/forever"], "precision": ["ns"]}
    assert req.headers["authorization"] == "Token tok-v2"
    assert req.headers["content-encoding"] == "gzip" and gzip.decompress(req.raw_body) == BODY
    assert "tok-v2" not in repr(transport)
    transport.close()


def test_v2_retention_policy_picks_the_bucket(capture: CaptureServer) -> None:
    transport = V2Transport(
        capture.url, org="o", bucket="fw/autogen", token="t", database="fw", rp_buckets={"ops_90d": "fw-ops"}
    )
    transport.write(BODY, retention_policy="ops_90d")
    transport.write(BODY, retention_policy="raw")
    transport.write(BODY)
    assert [r.query["bucket"] for r in capture.requests] == [["fw-ops"], ["fw/raw"], ["fw/autogen"]]
    transport.close()


def test_v1_retention_policy_per_write(capture: CaptureServer) -> None:
    transport = V1Transport(capture.url, "fw", retention_policy="autogen")
    transport.write(BODY, retention_policy="ops_90d")
    transport.write(BODY)
    assert [r.query["rp"] for r in capture.requests] == [["ops_90d"], ["autogen"]]


def test_v2_errors_and_reads(capture: CaptureServer) -> None:
    transport = V2Transport(capture.url, org="o", bucket="b", token="t", gzip=False, timeout_s=2)
    capture.answer(400, {"code": "invalid", "message": "unable to parse 'x': missing fields"})
    with pytest.raises(WriteRejected, match="missing fields") as info:
        transport.write(b"x\n")
    assert info.value.status == 400
    capture.answer(503, {"code": "unavailable", "message": "service unavailable"})
    with pytest.raises(InfluxUnavailable):
        transport.write(BODY)
    capture.answer(
        200,
        {
            "results": [
                {"statement_id": 0, "series": [{"name": "m", "columns": ["time", "x"], "values": [[5, 1.5]]}]}
            ]
        },
    )
    assert transport.query('SELECT x FROM "m" WHERE p = $p', {"p": "abc"}) == [{"time": 5, "x": 1.5}]
    read = capture.requests[-1]
    assert (read.method, read.path) == ("GET", "/query")
    assert (
        read.query["db"] == ["b"]
        and read.query["epoch"] == ["ns"]
        and read.query["params"] == ['{"p": "abc"}']
    )
    assert read.headers["authorization"] == "Token t"
    transport.close()
    with pytest.raises(InfluxUnavailable):
        V2Transport(f"http://127.0.0.1:{free_port()}", org="o", bucket="b", token="t", timeout_s=1).write(
            BODY
        )


def test_settings_from_env_and_validation() -> None:
    env = {
        "FRAILWATCH_GATEWAY_INFLUX_URL": "http://127.0.0.1:9999",
        "FRAILWATCH_GATEWAY_INFLUX_DATABASE": "fwdb",
        "FRAILWATCH_GATEWAY_INFLUX_PASSWORD": "pw-env",
        "FRAILWATCH_GATEWAY_INFLUX_GZIP": "false",
    }
    settings = InfluxSettings.from_env(env, database="override")
    assert (settings.url, settings.database, settings.gzip) == ("http://127.0.0.1:9999", "override", False)
    assert settings.password is not None and settings.password.get_secret_value() == "pw-env"
    assert "pw-env" not in repr(settings)
    with pytest.raises(ValidationError):
        InfluxSettings.from_env({"FRAILWATCH_GATEWAY_INFLUX_VERSION": "4"})
    with pytest.raises(ValueError, match="org and token"):
        make_transport(InfluxSettings(version=2))


def test_v1_reads_on_real_influxdb(influxdb: InfluxTestDB) -> None:
    influxdb.write(
        encode(
            "grip",
            np.array([1, 2, 3]),
            {"participant": ["p1", "p2", "p1"], "station_id": "gj-01"},
            {"grip_max_kg": np.array([20.0, 30.0, 21.5])},
        )
    )
    transport = V1Transport(influxdb.url, influxdb.database)
    assert transport.ping()
    rows = transport.query("SELECT grip_max_kg FROM grip WHERE participant = $p ORDER BY time", {"p": "p1"})
    assert rows == [{"time": 1, "grip_max_kg": 20.0}, {"time": 3, "grip_max_kg": 21.5}]
    grouped = transport.query("SELECT last(grip_max_kg) FROM grip GROUP BY participant")
    assert sorted((r["participant"], r["last"]) for r in grouped) == [("p1", 21.5), ("p2", 30.0)]
    # a value that would be an injection if pasted into the query is just a value
    assert transport.query("SELECT * FROM grip WHERE participant = $p", {"p": "p1' OR '1'='1"}) == []
    with pytest.raises(QueryError, match="error parsing query"):
        transport.query("SELEC nonsense")
    # many statements (decline history reads one per metric) outgrow a URL: sent as a POST form
    many = "; ".join(f"SELECT grip_max_kg AS m{i} FROM grip WHERE participant = 'p2'" for i in range(60))
    assert len(many) > 2000
    rows = transport.query(many)
    assert len(rows) == 60 and all(r["time"] == 2 for r in rows)
    transport.close()


def test_secrets_not_logged(capture: CaptureServer, caplog: pytest.LogCaptureFixture) -> None:
    from gateway.influx.writer import BatchWriter

    caplog.set_level(logging.DEBUG)
    capture.answer(401, {"error": "authorization failed"})
    transport = V1Transport(capture.url, "fw", username="gw", password=SecretStr("pw-never-logged"))
    writer = BatchWriter(transport, on_written=lambda _t: None, retry_base_s=0.01, retry_cap_s=0.02)
    writer.submit(BODY, 1)
    assert not writer.close(timeout_s=0.3)
    assert writer.stats.retries >= 1
    assert "authorization failed" in caplog.text
    assert "pw-never-logged" not in caplog.text
    assert base64.b64encode(b"gw:pw-never-logged").decode() not in caplog.text
