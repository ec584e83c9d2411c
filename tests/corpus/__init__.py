"""The malformed and hostile message corpus: each case, the bytes, where it is published, and why
it must be refused.

A case names the specific :class:`telemetry.Reason` it must be refused with and the *stage* that
must catch it: ``decode`` cases fail :func:`telemetry.decode` (or, on the batch topic,
:func:`telemetry.decode_batch`); ``gateway`` cases are valid contract messages that only the
gateway can refuse, because the fault is in how the message relates to its topic (a station
posing as another, a kind that disagrees with the topic, a topic outside the scheme).

Cases are built from :mod:`telemetry.examples` so they track the contract: each one is a valid
example message with exactly one thing broken.
"""

from __future__ import annotations

import base64
import copy
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from telemetry import MAX_BATCH, MAX_MESSAGE_BYTES, DeviceKind, Reason, encode
from telemetry.examples import EXAMPLE_STATION, example_messages

Stage = Literal["decode", "gateway"]
OTHER_STATION = "gj-02"

# Fake identifiers of a simulated participant: the no-identifier scans look for exactly these.
RESIDENT_NUMBER = "480312-2345678"
PHONE_NUMBER = "010-4821-7730"
EMAIL = "kim.younghee@example.kr"


@dataclass(frozen=True)
class Case:
    """One malformed message and what must happen to it."""

    name: str
    data: bytes
    reason: Reason
    stage: Stage = "decode"
    kind: str = "vitals"  # the device kind in the topic
    device: str = "vitals-1"
    channel: Literal["data", "batch", "raw"] = "data"
    raw_topic: str = ""  # for channel == "raw": a topic outside the scheme

    def topic(self, station: str = EXAMPLE_STATION) -> str:
        if self.channel == "batch":
            return f"fw/v1/{station}/batch"
        if self.channel == "raw":
            return self.raw_topic.format(station=station)
        return f"fw/v1/{station}/data/{self.kind}/{self.device}"


def example(kind: DeviceKind | str = DeviceKind.VITALS) -> dict[str, Any]:
    """A valid example message of ``kind`` as a JSON document (a fresh copy to mutate)."""
    return copy.deepcopy(json.loads(encode(example_messages()[DeviceKind(kind)])))


def _dump(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=True).encode()


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


def _drop(document: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[part]
    del node[last]
    return document


def mutated(kind: DeviceKind | str, path: str, value: Any) -> bytes:
    """A valid example of ``kind`` with the field at dotted ``path`` replaced by ``value``."""
    return _dump(_set(example(kind), path, value))


def without(kind: DeviceKind | str, path: str) -> bytes:
    return _dump(_drop(example(kind), path))


def literal(kind: DeviceKind | str, path: str, token: bytes) -> bytes:
    """A valid example with the field at ``path`` set to a raw JSON token (``NaN``, ``1e999``)."""
    return _dump(_set(example(kind), path, "__TOKEN__")).replace(b'"__TOKEN__"', token)


def _float32(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _recording(kind: str, **changes: Any) -> bytes:
    document = example(kind)
    document["payload"]["recording"].update(changes)
    return _dump(document)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _cases() -> list[Case]:
    vitals = _dump(example())
    gait = _dump(example(DeviceKind.GAIT))
    imu = example(DeviceKind.GAIT)["payload"]["recording"]
    n_imu = int(imu["n_samples"])
    g: dict[str, Any] = {"kind": "gait", "device": "gait-1"}
    b: dict[str, Any] = {"kind": "balance", "device": "balance-1"}
    h: dict[str, Any] = {"kind": "hrv", "device": "hrv-1"}
    cases: list[Case] = [
        # --- bytes that are not a JSON object ------------------------------------------------------
        Case("empty", b"", Reason.MALFORMED_JSON),
        Case("whitespace_only", b"  \n\t ", Reason.MALFORMED_JSON),
        Case("truncated_half", vitals[: len(vitals) // 2], Reason.MALFORMED_JSON),
        Case("truncated_last_brace", vitals[:-1], Reason.MALFORMED_JSON),
        Case("truncated_in_samples", gait[: gait.index(b'"samples"') + 40], Reason.MALFORMED_JSON, **g),
        Case("trailing_garbage", vitals + b"}{", Reason.MALFORMED_JSON),
        Case("two_documents", vitals + b"\n" + vitals, Reason.MALFORMED_JSON),
        Case("single_quotes", vitals.replace(b'"', b"'"), Reason.MALFORMED_JSON),
        Case("nan_literal", literal("vitals", "payload.systolic_mmhg", b"NaN"), Reason.NOT_FINITE),
        Case(
            "infinity_literal",
            literal("vitals", "payload.heart_rate_bpm", b"Infinity"),
            Reason.NOT_FINITE,
        ),
        Case(
            "negative_infinity_literal",
            literal("vitals", "payload.spo2_pct", b"-Infinity"),
            Reason.NOT_FINITE,
        ),
        Case("overflow_to_infinity", literal("vitals", "payload.systolic_mmhg", b"1e999"), Reason.NOT_FINITE),
        Case("json_array", b"[]", Reason.NOT_AN_OBJECT),
        Case("json_string", b'"vitals"', Reason.NOT_AN_OBJECT),
        Case("json_number", b"42", Reason.NOT_AN_OBJECT),
        Case("json_null", b"null", Reason.NOT_AN_OBJECT),
        Case("deeply_nested_array", _nested(100_000), Reason.MALFORMED_JSON),
        Case(
            "deeply_nested_in_note",
            vitals[:-1] + b',"note":' + _nested(50_000) + b"}",
            Reason.MALFORMED_JSON,
        ),
        Case("invalid_utf8_byte", vitals.replace(b'"visit_id"', b'"visit\xff_id"'), Reason.INVALID_UTF8),
        Case("utf8_surrogate", vitals[:-1] + b',"note":"\xed\xa0\x80"}', Reason.INVALID_UTF8),
        Case("utf16_encoded", vitals.decode().encode("utf-16"), Reason.INVALID_UTF8),
        Case("latin1_note", vitals[:-1] + ',"note":"caf\xe9"}'.encode("latin-1"), Reason.INVALID_UTF8),
        Case(
            "oversize_message", vitals[:-1] + b',"note":"' + b"x" * MAX_MESSAGE_BYTES + b'"}', Reason.OVERSIZE
        ),
        # --- envelope ------------------------------------------------------------------------------
        Case("schema_version_2", mutated("vitals", "schema_version", 2), Reason.SCHEMA_VERSION),
        Case("schema_version_0", mutated("vitals", "schema_version", 0), Reason.SCHEMA_VERSION),
        Case("schema_version_text", mutated("vitals", "schema_version", "v1"), Reason.SCHEMA_VERSION),
        Case(
            "future_schema_unknown_kind",
            _dump(_set(_set(example(), "schema_version", 3), "device_kind", "exoskeleton")),
            Reason.SCHEMA_VERSION,
        ),
        Case("unknown_device_kind", mutated("vitals", "device_kind", "xray"), Reason.UNKNOWN_DEVICE_KIND),
        Case("device_kind_number", mutated("vitals", "device_kind", 7), Reason.UNKNOWN_DEVICE_KIND),
        Case("missing_device_kind", without("vitals", "device_kind"), Reason.MISSING_FIELD),
        Case("missing_message_id", without("vitals", "message_id"), Reason.MISSING_FIELD),
        Case("missing_participant", without("vitals", "participant"), Reason.MISSING_FIELD),
        Case("missing_measured_at", without("vitals", "measured_at"), Reason.MISSING_FIELD),
        Case("missing_payload", without("vitals", "payload"), Reason.MISSING_FIELD),
        Case("payload_is_list", mutated("vitals", "payload", [132, 78]), Reason.WRONG_TYPE),
        Case("payload_is_string", mutated("vitals", "payload", "132/78"), Reason.WRONG_TYPE),
        Case("participant_is_number", mutated("vitals", "participant", 12345678), Reason.WRONG_TYPE),
        Case("message_id_is_object", mutated("vitals", "message_id", {"id": 1}), Reason.WRONG_TYPE),
        Case(
            "far_future_timestamp",
            mutated("vitals", "measured_at", "2099-01-01T00:00:00Z"),
            Reason.BAD_TIMESTAMP,
        ),
        Case(
            "far_past_timestamp",
            mutated("vitals", "measured_at", "1970-01-01T00:00:00Z"),
            Reason.BAD_TIMESTAMP,
        ),
        Case(
            "naive_timestamp", mutated("vitals", "measured_at", "2026-05-12T01:30:00"), Reason.BAD_TIMESTAMP
        ),
        Case("timestamp_words", mutated("vitals", "measured_at", "yesterday morning"), Reason.BAD_TIMESTAMP),
        Case(
            "timestamp_month_13",
            mutated("vitals", "measured_at", "2026-13-01T00:00:00Z"),
            Reason.BAD_TIMESTAMP,
        ),
        Case("unknown_field_name", mutated("vitals", "name", "김영희"), Reason.UNKNOWN_FIELD),
        Case(
            "unknown_field_resident_number",
            mutated("vitals", "resident_number", RESIDENT_NUMBER),
            Reason.UNKNOWN_FIELD,
        ),
        Case("unknown_payload_field", mutated("vitals", "payload.pulse_pressure", 54), Reason.UNKNOWN_FIELD),
        Case(
            "note_resident_number",
            mutated("vitals", "note", f"확인 {RESIDENT_NUMBER}"),
            Reason.IDENTIFIER_IN_TEXT,
        ),
        Case(
            "note_resident_number_nohyphen",
            mutated("vitals", "note", "id 4803122345678"),
            Reason.IDENTIFIER_IN_TEXT,
        ),
        Case(
            "note_phone_number",
            mutated("vitals", "note", f"보호자 {PHONE_NUMBER}"),
            Reason.IDENTIFIER_IN_TEXT,
        ),
        Case("note_email", mutated("vitals", "note", f"send to {EMAIL}"), Reason.IDENTIFIER_IN_TEXT),
        Case("note_too_long", mutated("vitals", "note", "가" * 281), Reason.OUT_OF_RANGE),
        # Wrong-shaped identifiers fail the pattern check: reason `invalid` with the field path.
        Case(
            "participant_raw_resident_number",
            mutated("vitals", "participant", RESIDENT_NUMBER),
            Reason.INVALID,
        ),
        Case(
            "participant_uppercase_hex",
            mutated("vitals", "participant", "3F2A9C0D1B7E4A5F8C6D2E1F0A9B8C7D"),
            Reason.INVALID,
        ),
        Case("station_id_bad_chars", mutated("vitals", "station_id", "GJ 01; DROP"), Reason.INVALID),
        Case("message_id_too_short", mutated("vitals", "message_id", "m1"), Reason.INVALID),
        # --- payload values --------------------------------------------------------------------------
        Case("systolic_900", mutated("vitals", "payload.systolic_mmhg", 900), Reason.OUT_OF_RANGE),
        Case("heart_rate_zero", mutated("vitals", "payload.heart_rate_bpm", 0), Reason.OUT_OF_RANGE),
        Case("spo2_over_100", mutated("vitals", "payload.spo2_pct", 101), Reason.OUT_OF_RANGE),
        Case("systolic_as_text", mutated("vitals", "payload.systolic_mmhg", "high"), Reason.WRONG_TYPE),
        Case("systolic_as_bool_list", mutated("vitals", "payload.systolic_mmhg", [True]), Reason.WRONG_TYPE),
        # JSON of the wrong type is refused, not coerced (strict validation).
        Case(
            "systolic_as_numeric_text", mutated("vitals", "payload.systolic_mmhg", "120"), Reason.WRONG_TYPE
        ),
        Case("systolic_as_bool", mutated("vitals", "payload.systolic_mmhg", True), Reason.WRONG_TYPE),
        Case("measured_at_as_epoch_number", mutated("vitals", "measured_at", 1778549400), Reason.WRONG_TYPE),
        Case("visit_id_as_number", mutated("vitals", "visit_id", 20260512), Reason.WRONG_TYPE),
        Case(
            "required_weight_null",
            mutated("body_composition", "payload.weight_kg", None),
            Reason.WRONG_TYPE,
            kind="body_composition",
            device="body-composition-1",
        ),
        Case(
            "birth_year_as_text",
            mutated("profile", "payload.birth_year", "1948"),
            Reason.WRONG_TYPE,
            kind="profile",
            device="profile-1",
        ),
        Case(
            "walking_aid_as_number",
            mutated("tug", "payload.walking_aid", 1),
            Reason.WRONG_TYPE,
            kind="tug",
            device="tug-1",
        ),
        Case(
            "count_with_a_fraction",
            mutated("sit_to_stand", "payload.count_30s", 12.0),
            Reason.WRONG_TYPE,
            kind="sit_to_stand",
            device="sit-to-stand-1",
        ),
        Case("diastolic_above_systolic", mutated("vitals", "payload.diastolic_mmhg", 140), Reason.INVALID),
        Case("vitals_without_readings", mutated("vitals", "payload", {"kind": "vitals"}), Reason.INVALID),
        Case(
            "negative_weight",
            mutated("body_composition", "payload.weight_kg", -54.2),
            Reason.OUT_OF_RANGE,
            kind="body_composition",
            device="body-composition-1",
        ),
        Case(
            "bmi_disagrees",
            mutated("body_composition", "payload.bmi_kg_m2", 35.0),
            Reason.INVALID,
            kind="body_composition",
            device="body-composition-1",
        ),
        Case(
            "grip_no_trials",
            mutated("grip", "payload.trials", []),
            Reason.OUT_OF_RANGE,
            kind="grip",
            device="grip-1",
        ),
        Case(
            "grip_trials_object",
            mutated("grip", "payload.trials", {"right": 19.5}),
            Reason.WRONG_TYPE,
            kind="grip",
            device="grip-1",
        ),
        Case(
            "grip_unknown_hand",
            mutated("grip", "payload.trials.0.hand", "both"),
            Reason.WRONG_TYPE,
            kind="grip",
            device="grip-1",
        ),
        Case(
            "gait_speed_50_mps",
            _dump(_set(example("gait"), "payload.walk_time_s", 0.5)),
            Reason.OUT_OF_RANGE,
            **g,
        ),
        Case(
            "cognition_score_over_max",
            _dump(_set(_set(example("cognition"), "payload.score", 29.5), "payload.max_score", 20)),
            Reason.INVALID,
            kind="cognition",
            device="cognition-1",
        ),
        Case(
            "questionnaire_bool_text",
            mutated("questionnaire", "payload.fatigue", "maybe"),
            Reason.WRONG_TYPE,
            kind="questionnaire",
            device="questionnaire-1",
        ),
        Case(
            "screening_date_garbage",
            mutated("health_screening", "payload.screening_date", "2026-02-30"),
            Reason.BAD_TIMESTAMP,
            kind="health_screening",
            device="health-screening-1",
        ),
        Case(
            "hrv_too_many_intervals",
            mutated("hrv", "payload.rr_intervals_ms", [800.0] * 20_001),
            Reason.OUT_OF_RANGE,
            **h,
        ),
        Case(
            "hrv_interval_infinite",
            literal("hrv", "payload.rr_intervals_ms.0", b"Infinity"),
            Reason.NOT_FINITE,
            **h,
        ),
        # --- raw recordings --------------------------------------------------------------------------
        Case("sampling_rate_zero", _recording("gait", fs_hz=0), Reason.OUT_OF_RANGE, **g),
        Case("sampling_rate_negative", _recording("gait", fs_hz=-100.0), Reason.OUT_OF_RANGE, **g),
        Case("sampling_rate_absurd", _recording("gait", fs_hz=1e9), Reason.OUT_OF_RANGE, **g),
        Case("sampling_rate_text", _recording("gait", fs_hz="100Hz"), Reason.WRONG_TYPE, **g),
        Case(
            "channels_units_mismatch", _recording("gait", units=imu["units"][:5]), Reason.BAD_RECORDING, **g
        ),
        Case(
            "samples_shorter_than_claimed", _recording("gait", n_samples=n_imu + 1), Reason.BAD_RECORDING, **g
        ),
        Case(
            "samples_longer_than_claimed", _recording("gait", n_samples=n_imu - 1), Reason.BAD_RECORDING, **g
        ),
        Case("samples_not_base64", _recording("gait", samples="not*base64!"), Reason.BAD_RECORDING, **g),
        Case("samples_as_number_list", _recording("gait", samples=[0.1, 0.2, 0.3]), Reason.WRONG_TYPE, **g),
        Case(
            "samples_contain_nan",
            _recording("gait", n_samples=2, samples=_float32([float("nan")] + [0.0] * 11)),
            Reason.BAD_RECORDING,
            **g,
        ),
        Case(
            "samples_contain_infinity",
            _recording("gait", n_samples=2, samples=_float32([float("inf")] + [0.0] * 11)),
            Reason.BAD_RECORDING,
            **g,
        ),
        Case("repeated_channel_names", _recording("gait", channels=["acc_x"] * 6), Reason.BAD_RECORDING, **g),
        Case(
            "gait_without_acceleration",
            _recording("gait", channels=["a1", "a2", "a3", "g1", "g2", "g3"]),
            Reason.BAD_RECORDING,
            **g,
        ),
        Case(
            "balance_without_cop",
            _dump(_set(example("balance"), "payload.recording.channels", ["x", "y"])),
            Reason.BAD_RECORDING,
            **b,
        ),
        Case(
            "one_sample_recording",
            _recording("gait", n_samples=1, samples=_float32([0.0] * 6)),
            Reason.OUT_OF_RANGE,
            **g,
        ),
        Case(
            "seventeen_channels",
            _recording("gait", channels=[f"c{i}" for i in range(17)], units=["u"] * 17),
            Reason.OUT_OF_RANGE,
            **g,
        ),
        Case("huge_claimed_sample_count", _recording("gait", n_samples=50_000_000), Reason.OUT_OF_RANGE, **g),
        Case(
            "values_over_recording_limit",
            _recording("gait", channels=[f"c{i}" for i in range(16)], units=["u"] * 16, n_samples=300_000),
            Reason.BAD_RECORDING,
            **g,
        ),
        # --- the batch topic -------------------------------------------------------------------------
        Case(
            "batch_empty",
            _dump({"message_type": "batch", "station_id": EXAMPLE_STATION, "messages": []}),
            Reason.OUT_OF_RANGE,
            channel="batch",
        ),
        Case(
            "batch_over_limit",
            _dump(
                {
                    "message_type": "batch",
                    "station_id": EXAMPLE_STATION,
                    "messages": [example()] * (MAX_BATCH + 1),
                }
            ),
            Reason.OUT_OF_RANGE,
            channel="batch",
        ),
        Case(
            "batch_messages_not_list",
            _dump({"message_type": "batch", "station_id": EXAMPLE_STATION, "messages": example()}),
            Reason.WRONG_TYPE,
            channel="batch",
        ),
        Case(
            "batch_wrong_version",
            _dump(
                {
                    "message_type": "batch",
                    "schema_version": 9,
                    "station_id": EXAMPLE_STATION,
                    "messages": [example()],
                }
            ),
            Reason.SCHEMA_VERSION,
            channel="batch",
        ),
        Case(
            "batch_truncated",
            _dump({"message_type": "batch", "station_id": EXAMPLE_STATION, "messages": [example()]})[:-10],
            Reason.MALFORMED_JSON,
            channel="batch",
        ),
        # --- only the gateway can tell: the message against its topic ---------------------------------
        Case(
            "station_posing_as_another",
            mutated("vitals", "station_id", OTHER_STATION),
            Reason.IMPERSONATION,
            "gateway",
        ),
        Case(
            "batch_posing_as_another",
            _dump(
                {
                    "message_type": "batch",
                    "station_id": OTHER_STATION,
                    "messages": [_set(example(), "station_id", OTHER_STATION)],
                }
            ),
            Reason.IMPERSONATION,
            "gateway",
            channel="batch",
        ),
        Case(
            "kind_disagrees_with_topic",
            vitals,
            Reason.TOPIC_MISMATCH,
            "gateway",
            kind="grip",
            device="vitals-1",
        ),
        Case("device_disagrees_with_topic", vitals, Reason.TOPIC_MISMATCH, "gateway", device="vitals-9"),
        Case(
            "topic_without_device",
            vitals,
            Reason.UNKNOWN_TOPIC,
            "gateway",
            channel="raw",
            raw_topic="fw/v1/{station}/data/vitals",
        ),
        Case(
            "topic_too_deep",
            vitals,
            Reason.UNKNOWN_TOPIC,
            "gateway",
            channel="raw",
            raw_topic="fw/v1/{station}/data/vitals/vitals-1/extra",
        ),
    ]
    return cases


CASES: list[Case] = _cases()
BY_NAME: dict[str, Case] = {case.name: case for case in CASES}


def good_messages(
    count: int, station: str = EXAMPLE_STATION, prefix: str = "good"
) -> list[tuple[str, bytes, str]]:
    """``count`` valid vitals messages of ``station`` with distinct ids and times: (topic, bytes, id)."""
    out: list[tuple[str, bytes, str]] = []
    for n in range(count):
        document = example()
        message_id = f"{prefix}-{station}-{n:06d}"
        document.update(message_id=message_id, station_id=station)
        document["measured_at"] = f"2026-05-12T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
        document["payload"]["heart_rate_bpm"] = 60 + n % 40
        out.append((f"fw/v1/{station}/data/vitals/vitals-1", _dump(document), message_id))
    return out


CaseFilter = Callable[[Case], bool]
