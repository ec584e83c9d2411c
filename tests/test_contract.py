"""The wire contract: every message type round-trips; bad input gets a specific reason and path."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from telemetry import (
    ContractError,
    DeviceKind,
    Reason,
    Recording,
    decode,
    decode_batch,
    encode,
    encode_batch,
    splice_batch,
    topics,
)
from telemetry.examples import example_messages
from telemetry.pseudonym import pseudonymise

EXAMPLES = example_messages()


def _as_dict(kind: DeviceKind) -> dict:
    return json.loads(encode(EXAMPLES[kind]))


def _refused(document: dict | bytes) -> ContractError:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(ContractError) as caught:
        decode(data)
    return caught.value


def test_every_device_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(DeviceKind)


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_round_trip(kind: DeviceKind) -> None:
    message = EXAMPLES[kind]
    decoded = decode(encode(message))
    assert decoded == message
    assert decoded.device_kind == kind
    assert decoded.measured_at.tzinfo is not None and decoded.measured_at.utcoffset() == timedelta(0)


def test_recordings_travel_as_float32_binary_not_json_lists() -> None:
    document = _as_dict(DeviceKind.GAIT)
    samples = document["payload"]["recording"]["samples"]
    assert isinstance(samples, str)
    raw = base64.b64decode(samples)
    rec = EXAMPLES[DeviceKind.GAIT].payload.recording  # type: ignore[attr-defined]
    assert len(raw) == rec.n_samples * len(rec.channels) * 4
    assert np.allclose(np.frombuffer(raw, "<f4").reshape(rec.n_samples, -1), rec.as_array())


def test_recording_accepts_rows_and_checks_shape() -> None:
    rec = Recording.from_array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], 100.0, ("cop_x", "cop_y"), ("mm", "mm"))
    assert rec.as_array().shape == (3, 2)
    assert rec.channel("cop_y").tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(KeyError, match="cop_x, cop_y"):
        rec.channel("acc_x")


@pytest.mark.parametrize(
    ("mutate", "reason", "path"),
    [
        (lambda d: d["payload"].update(systolic_mmhg=900), Reason.OUT_OF_RANGE, "payload.systolic_mmhg"),
        (lambda d: d["payload"].update(systolic_mmhg="high"), Reason.WRONG_TYPE, "payload.systolic_mmhg"),
        (lambda d: d["payload"].update(diastolic_mmhg=140), Reason.INVALID, "payload"),
        (lambda d: d.pop("participant"), Reason.MISSING_FIELD, "participant"),
        (lambda d: d.update(participant="880101-1234567"), Reason.INVALID, "participant"),
        (lambda d: d.update(schema_version=2), Reason.SCHEMA_VERSION, "schema_version"),
        (lambda d: d.update(device_kind="xray"), Reason.UNKNOWN_DEVICE_KIND, "device_kind"),
        (lambda d: d.update(patient_name="Kim"), Reason.UNKNOWN_FIELD, "patient_name"),
        (lambda d: d.update(measured_at="2026-05-12T10:30:00"), Reason.BAD_TIMESTAMP, "measured_at"),
        (lambda d: d.update(measured_at="1970-01-01T00:00:00Z"), Reason.BAD_TIMESTAMP, "measured_at"),
        (
            lambda d: d.update(measured_at=(datetime.now(UTC) + timedelta(days=30)).isoformat()),
            Reason.BAD_TIMESTAMP,
            "measured_at",
        ),
        (lambda d: d.update(note="call 010-1234-5678"), Reason.IDENTIFIER_IN_TEXT, "note"),
        (lambda d: d.update(note="RRN 480312-2345678"), Reason.IDENTIFIER_IN_TEXT, "note"),
        (lambda d: d.update(station_id="GJ 01!"), Reason.INVALID, "station_id"),
    ],
)
def test_vitals_refusals_are_specific(mutate, reason: Reason, path: str) -> None:  # type: ignore[no-untyped-def]
    document = _as_dict(DeviceKind.VITALS)
    mutate(document)
    error = _refused(document)
    assert error.reason is reason, error
    assert error.path == path, error


def test_gait_speed_of_50_mps_is_refused_with_the_speed() -> None:
    document = _as_dict(DeviceKind.GAIT)
    document["payload"].update(walk_distance_m=25.0, walk_time_s=0.5)  # 50 m/s
    error = _refused(document)
    assert error.reason is Reason.OUT_OF_RANGE
    assert "50.0 m/s" in error.detail
    document = _as_dict(DeviceKind.GAIT)
    document["payload"]["gait_speed_mps"] = 50
    error = _refused(document)
    assert error.reason is Reason.OUT_OF_RANGE and error.path == "payload.gait_speed_mps"


def test_nan_is_refused() -> None:
    raw = encode(EXAMPLES[DeviceKind.VITALS]).replace(b"132.0", b"NaN")
    assert _refused(raw).reason is Reason.NOT_FINITE


def test_nan_inside_recording_is_refused() -> None:
    document = _as_dict(DeviceKind.BALANCE)
    rec = document["payload"]["recording"]
    values = np.frombuffer(base64.b64decode(rec["samples"]), "<f4").copy()
    values[5] = np.nan
    rec["samples"] = base64.b64encode(values.tobytes()).decode()
    error = _refused(document)
    assert error.reason is Reason.BAD_RECORDING and "NaN" in error.detail


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.update(n_samples=r["n_samples"] + 1), "expected"),
        (lambda r: r.update(units=["mm"]), "units"),
        (lambda r: r.update(samples="!!not base64!!"), "base64"),
        (lambda r: r.update(channels=["cop_x", "cop_x"]), "repeat"),
    ],
)
def test_bad_recordings(mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    document = _as_dict(DeviceKind.BALANCE)
    mutate(document["payload"]["recording"])
    error = _refused(document)
    assert error.reason is Reason.BAD_RECORDING, error
    assert needle in error.detail


@pytest.mark.parametrize("fs", [0, -100, 1e9])
def test_sampling_rate_must_be_positive_and_plausible(fs: float) -> None:
    document = _as_dict(DeviceKind.GAIT)
    document["payload"]["recording"]["fs_hz"] = fs
    error = _refused(document)
    assert error.reason is Reason.OUT_OF_RANGE
    assert error.path == "payload.recording.fs_hz"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", Reason.MALFORMED_JSON),
        (b'{"message_id": ', Reason.MALFORMED_JSON),
        (b"[1, 2]", Reason.NOT_AN_OBJECT),
        (b'"text"', Reason.NOT_AN_OBJECT),
        (b"\xff\xfe{}", Reason.INVALID_UTF8),
        (b"[" * 100_000 + b"]" * 100_000, Reason.MALFORMED_JSON),
        (b"{}", Reason.MISSING_FIELD),
    ],
)
def test_garbage_bytes(raw: bytes, reason: Reason) -> None:
    assert _refused(raw).reason is reason


def test_oversize_message_is_refused_before_parsing() -> None:
    from telemetry import MAX_MESSAGE_BYTES

    assert _refused(b" " * (MAX_MESSAGE_BYTES + 1)).reason is Reason.OVERSIZE


def test_a_spliced_batch_is_the_encoded_batch() -> None:
    """The edge splices spooled message bytes into a batch: it must decode as encode_batch's does."""
    good = [EXAMPLES[DeviceKind.VITALS], EXAMPLES[DeviceKind.GRIP], EXAMPLES[DeviceKind.GAIT]]
    spliced = splice_batch("gj-01", [encode(m) for m in good])
    assert json.loads(spliced) == json.loads(encode_batch("gj-01", good))
    result = decode_batch(spliced)
    assert result.errors == [] and result.messages == good
    assert json.loads(splice_batch('a"b', []))["station_id"] == 'a"b'  # quoted, not pasted


def test_batch_keeps_good_messages_when_one_is_bad() -> None:
    good = [EXAMPLES[DeviceKind.VITALS], EXAMPLES[DeviceKind.GRIP]]
    document = json.loads(encode_batch("gj-01", good))
    document["messages"].insert(
        1, {**document["messages"][0], "payload": {"kind": "vitals", "spo2_pct": 300}}
    )
    result = decode_batch(json.dumps(document).encode())
    assert [m.device_kind for m in result.messages] == [DeviceKind.VITALS, DeviceKind.GRIP]
    assert len(result.errors) == 1
    index, error = result.errors[0]
    assert index == 1 and error.reason is Reason.OUT_OF_RANGE
    assert error.path == "messages.1.payload.spo2_pct"


def test_batch_shell_errors() -> None:
    with pytest.raises(ContractError) as caught:
        decode_batch(b'{"station_id": "gj-01", "messages": []}')
    assert caught.value.reason is Reason.OUT_OF_RANGE
    with pytest.raises(ContractError) as caught:
        decode_batch(b'{"station_id": "GJ!", "messages": [{}]}')
    assert caught.value.path == "station_id"


def test_topics_round_trip_and_refuse_foreign_shapes() -> None:
    topic = topics.data("gj-01", "gait", "imu-3")
    assert topic == "fw/v1/gj-01/data/gait/imu-3"
    parsed = topics.parse(topic)
    assert (parsed.station_id, parsed.channel, parsed.device_kind, parsed.device_id) == (
        "gj-01",
        "data",
        "gait",
        "imu-3",
    )
    assert topics.parse(topics.heartbeat("gj-02")).channel == "heartbeat"
    assert topics.shared("gateway", topics.ALL_DATA) == "$share/gateway/fw/v1/+/data/#"
    for bad in [
        "fw/v2/gj-01/batch",
        "fw/v1/alerts/decline/gj-01",
        "x",
        "fw/v1/GJ/batch",
        "fw/v1/gj-01/data/gait",
    ]:
        with pytest.raises(ValueError):
            topics.parse(bad)
    with pytest.raises(ValueError):
        topics.data("gj-01/#", "gait", "x")


def test_the_quick_topic_readers_agree_with_parse() -> None:
    """station_of / channel_of / carries_readings (hot paths of edge and gateway) say what parse says."""
    good = [
        topics.data("gj-01", "gait", "imu-3"),
        topics.batch("gj-01"),
        topics.heartbeat("nam-01"),
        topics.station_deadletter("buk-01"),
        topics.case_actions("gj-01"),
    ]
    for topic in good:
        parsed = topics.parse(topic)
        assert topics.station_of(topic) == parsed.station_id
        assert topics.channel_of(topic) == parsed.channel
        assert topics.carries_readings(topic) is (parsed.channel in ("data", "batch"))
    for foreign in [
        "fw/v2/gj-01/batch",
        "fw/v1/alerts/cases/gj-01",
        "fw/v1/GJ/batch",
        "x",
        topics.GATEWAY_DEADLETTER,
    ]:
        assert topics.station_of(foreign) is None
        assert not topics.carries_readings(foreign)


def test_pseudonyms_are_keyed_stable_and_normalised() -> None:
    key = b"k" * 32
    a = pseudonymise(key, "480312-2345678")
    assert a == pseudonymise(key, "4803122345678") == pseudonymise(key, " 480312 2345678 ")
    assert a != pseudonymise(b"x" * 32, "480312-2345678")
    assert a != pseudonymise(key, "480312-2345679")
    assert len(a) == 32 and "480312" not in a
    with pytest.raises(ValueError):
        pseudonymise(b"short", "x")
