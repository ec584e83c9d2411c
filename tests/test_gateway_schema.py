"""The gateway's schema and point building, without servers: names, identity, redaction, docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from gateway import influx_schema, readings, stations
from gateway.influx.lineprotocol import encode
from gateway.point_table import PointTable
from telemetry import DeviceKind, decode, redaction
from telemetry.examples import example_messages
from tests.corpus import CASES, EMAIL, PHONE_NUMBER, RESIDENT_NUMBER

ROOT = Path(__file__).resolve().parents[1]


def _between(text: str, begin: str, end: str) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def test_readme_and_docs_carry_the_generated_table() -> None:
    table = influx_schema.markdown_table().strip()
    for doc in ("README.md", "docs/gateway.md"):
        text = (ROOT / doc).read_text()
        assert _between(text, "<!-- BEGIN SCHEMA -->", "<!-- END SCHEMA -->") == table, f"{doc}: regenerate"


def test_one_readings_measurement_per_device_kind_and_no_identifier_fields() -> None:
    assert {m.name for m in influx_schema.READINGS.values()} == {k.value for k in DeviceKind}
    for m in influx_schema.MEASUREMENTS.values():
        names = {f.name for f in m.fields} | set(m.tags)
        assert not names & {"participant_id", "resident_number", "name", "phone", "member_id"}, m.name
        assert "visit_id" not in m.tags and "message_id" not in m.tags, f"{m.name}: cardinality"
        assert m.retention in influx_schema.RETENTION_POLICIES
    # The case stage reads every measure the detector judges from the visit's score point.
    from processing.cases.model import MEASURE_NAMES

    assert influx_schema.FRAILTY.field_names >= MEASURE_NAMES


def test_point_time_is_measured_at_plus_a_message_id_hash() -> None:
    at = datetime(2026, 5, 12, 1, 30, 0, 123456, tzinfo=UTC)
    t = influx_schema.point_time_ns(at, "msg-00000001")
    assert t // 1000 == influx_schema.time_ns(at) // 1000 == 1_778_549_400_123_456
    assert t == influx_schema.point_time_ns(at.astimezone(), "msg-00000001"), "same instant, any zone"
    offsets = {influx_schema.point_time_ns(at, f"msg-{n:08d}") % 1000 for n in range(200)}
    assert len(offsets) > 150, "different messages in the same microsecond spread over 1000 ns"


def test_every_example_message_becomes_points_of_its_schema() -> None:
    table = PointTable()
    for owner, message in enumerate(example_messages().values()):
        rows = readings.reading_points(message)
        assert rows[0][0] == message.device_kind.value
        for measurement, _, tags, fields in rows:
            spec = influx_schema.MEASUREMENTS[measurement]
            assert set(tags) <= set(spec.tags), measurement
            assert {k for k, v in fields.items() if v is not None} <= spec.field_names, measurement
        table.extend(rows, owner)
    body = table.encode().decode()
    assert body.count("\n") == len(table)
    grip = next(line for line in body.splitlines() if line.startswith("grip,"))
    assert "grip_max_kg=" in grip and "trials=2i" in grip
    only_first = table.encode_owner(0).decode()
    assert only_first and only_first.count("\n") < len(table)


def test_columns_keep_the_schema_type_whatever_the_json_number_looked_like() -> None:
    """A heart rate sent as 72 and one sent as 72.5 must not become an int and a float field."""
    table = PointTable()
    for n, rate in enumerate((72, 72.5)):
        message = example_messages()[DeviceKind.VITALS].model_copy(
            update={
                "payload": example_messages()[DeviceKind.VITALS].payload.model_copy(
                    update={"heart_rate_bpm": rate}
                )
            }
        )
        table.extend(readings.reading_points(message), n)
    body = table.encode().decode()
    assert re.findall(r"heart_rate_bpm=([0-9.i]+)", body) == ["72.0", "72.5"]


def test_excerpts_never_carry_identifiers() -> None:
    hostile = [c for c in CASES if any(w in c.name for w in ("resident", "phone", "email", "unknown_field"))]
    assert hostile
    for case in hostile:
        text = redaction.excerpt(case.data)
        assert len(text) <= redaction.EXCERPT_CHARS
        for needle in (
            RESIDENT_NUMBER,
            RESIDENT_NUMBER.replace("-", ""),
            PHONE_NUMBER,
            EMAIL,
            "kim.younghee",
        ):
            assert needle not in text, (case.name, text)
    assert redaction.excerpt(b"\xff\xfe garbage \n next") == "\ufffd\ufffd garbage   next"


def test_heartbeat_becomes_station_and_device_points() -> None:
    from telemetry.station import DeviceSeen, Heartbeat

    now = datetime(2026, 5, 12, tzinfo=UTC)
    beat = Heartbeat(
        station_id="gj-01",
        at=now,
        agent_version="1.0",
        uptime_s=5,
        spool_depth=3,
        spool_bytes=900,
        oldest_spooled_age_s=1.5,
        devices=[
            DeviceSeen(
                device_id="grip-1",
                device_kind="grip",
                last_message_at=now - timedelta(seconds=90),
                messages=4,
            )
        ],
    )
    rows = stations.heartbeat_points(beat)
    assert [r[0] for r in rows] == ["station_heartbeat", "station_device"]
    assert rows[1][3] == {"messages": 4, "last_message_age_s": 90.0}
    body = encode(
        rows[0][0],
        np.array([rows[0][1]]),
        {k: [v] for k, v in rows[0][2].items()},
        {k: [v] for k, v in rows[0][3].items()},
    )
    assert b"spool_depth=3i" in body


def test_decoded_corpus_vitals_round_trip_through_a_table() -> None:
    from tests.corpus import good_messages

    table = PointTable()
    for n, (_, data, _) in enumerate(good_messages(20)):
        table.extend(readings.reading_points(decode(data)), n)
    assert len(table) == 20 and table.owners() == set(range(20))


def test_cli_prints_the_schema_and_refuses_bad_settings_with_exit_code_2() -> None:
    import os
    import subprocess
    import sys

    run = [sys.executable, "-m", "frailwatch.cli", "gateway"]
    shown = subprocess.run([*run, "schema"], capture_output=True, text=True, check=True, timeout=60)
    assert shown.stdout.strip() == influx_schema.markdown_table().strip()
    env = {
        **os.environ,
        "FRAILWATCH_GATEWAY_MQTT_PORT": "not-a-port",
        "FRAILWATCH_GATEWAY_MQTT_PASSWORD": "s3cret",
    }
    bad = subprocess.run([*run, "run"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "mqtt_port" in bad.stderr and "s3cret" not in bad.stderr
