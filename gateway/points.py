"""Contract messages → InfluxDB points, named by :mod:`gateway.schema`.

Rows are collected into a :class:`PointTable` (one column per tag and field, per measurement)
and encoded a column at a time by :func:`gateway.influx.lineprotocol.encode`: the per-point work
left is reading the values out of the decoded message. Each row remembers its *owner* (the MQTT
message it came from), so a body InfluxDB refuses can be split back into one body per message.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import numpy as np

from gateway import schema
from gateway.influx.lineprotocol import encode
from telemetry import devices
from telemetry.envelope import DeviceKind, Envelope
from telemetry.events import DeadLetter
from telemetry.identifiers import find_identifier
from telemetry.station import Heartbeat, StationStatus

Row = tuple[str, int, dict[str, str], dict[str, Any]]  # measurement, time ns, tags, fields

_NAN = math.nan


@dataclass
class _Columns:
    spec: schema.Measurement
    times: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    tags: dict[str, list[str | None]] = field(default_factory=dict)
    fields: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, time_ns: int, tags: Mapping[str, str], fields: Mapping[str, Any], owner: int) -> None:
        n = len(self.times)
        self.times.append(time_ns)
        self.owners.append(owner)
        for key, value in tags.items():
            column = self.tags.get(key)
            if column is None:
                column = self.tags[key] = [None] * n
            column.append(value)
        for key, value in fields.items():
            if value is None:
                continue
            column = self.fields.get(key)
            if column is None:
                column = self.fields[key] = [None] * n
            column.append(value)
        n += 1
        for column in self.tags.values():
            if len(column) < n:
                column.append(None)
        for column in self.fields.values():
            if len(column) < n:
                column.append(None)

    def encode(self, keep: np.ndarray | None = None) -> bytes:
        times = np.asarray(self.times, dtype=np.int64)
        tags: dict[str, Any] = {k: v for k, v in self.tags.items()}
        fields: dict[str, Any] = {}
        for key, values in self.fields.items():
            fields[key] = _typed(self.spec, key, values)
        if keep is not None:
            times = times[keep]
            tags = {k: [v for v, x in zip(col, keep, strict=True) if x] for k, col in tags.items()}
            fields = {k: _select(v, keep) for k, v in fields.items()}
        if not fields or times.size == 0:
            return b""
        return encode(self.spec.name, times, tags, fields)


def _typed(spec: schema.Measurement, key: str, values: list[Any]) -> np.ndarray | list[Any]:
    """A column in the schema's type, so InfluxDB never sees one field with two types."""
    kind = spec.field(key).type if key in spec.field_names else "str"
    if kind == "float":
        return np.array([_NAN if v is None else float(v) for v in values], dtype=np.float64)
    if kind == "int":
        return [None if v is None else int(v) for v in values]
    if kind == "bool":
        return [None if v is None else bool(v) for v in values]
    return [None if v is None else _text(v) for v in values]


def _select(values: np.ndarray | list[Any], keep: np.ndarray) -> np.ndarray | list[Any]:
    if isinstance(values, np.ndarray):
        return values[keep]
    return [v for v, x in zip(values, keep, strict=True) if x]


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    # Line protocol has no escape for newlines; a string field never needs one.
    return str(value).replace("\r", " ").replace("\n", " ")


class PointTable:
    """Rows for many measurements, encoded together or per owner."""

    def __init__(self) -> None:
        self._by_measurement: dict[str, _Columns] = {}
        self.rows = 0

    def add(self, row: Row, owner: int = 0) -> None:
        measurement, time_ns, tags, fields = row
        columns = self._by_measurement.get(measurement)
        if columns is None:
            columns = self._by_measurement[measurement] = _Columns(schema.MEASUREMENTS[measurement])
        columns.add(time_ns, tags, fields, owner)
        self.rows += 1

    def extend(self, rows: Iterable[Row], owner: int = 0) -> None:
        for row in rows:
            self.add(row, owner)

    def encode(self) -> bytes:
        return b"".join(c.encode() for c in self._by_measurement.values())

    def owners(self) -> set[int]:
        return {o for c in self._by_measurement.values() for o in c.owners}

    def encode_owner(self, owner: int) -> bytes:
        """Only the rows of one owner (to find which message InfluxDB refused)."""
        parts = []
        for c in self._by_measurement.values():
            keep = np.asarray(c.owners) == owner
            if keep.any():
                parts.append(c.encode(keep))
        return b"".join(parts)

    def __len__(self) -> int:
        return self.rows


# --- device messages ------------------------------------------------------------------------------


def participant_tags(message: Envelope) -> dict[str, str]:
    return {schema.STATION_TAG: message.station_id, schema.PARTICIPANT_TAG: message.participant}


def envelope_fields(message: Envelope) -> dict[str, Any]:
    return {"message_id": message.message_id, "device_id": message.device_id, "visit_id": message.visit_id}


def message_time_ns(message: Envelope) -> int:
    return schema.point_time_ns(message.measured_at, message.message_id)


def _payload_values(payload: Any, spec: schema.Measurement) -> dict[str, Any]:
    # The model's own dict: getattr on a pydantic model for a name it lacks is slow.
    data = payload.__dict__
    return {name: data[name] for name in spec.field_names & data.keys() if data[name] is not None}


def reading_rows(message: Any) -> list[Row]:
    """The reading as reported (its kind's measurement) and the features that need no kernel."""
    kind = DeviceKind(message.device_kind)
    spec = schema.READINGS[kind]
    payload = message.payload
    tags = participant_tags(message)
    at = message_time_ns(message)
    env = envelope_fields(message)
    values = _payload_values(payload, spec)
    if "has_recording" in spec.field_names:
        values["has_recording"] = payload.recording is not None
    rows: list[Row] = []
    if kind is DeviceKind.GRIP:
        values.update(grip_values(payload))
    elif kind is DeviceKind.HRV:
        values.update(hrv_values(payload.rr_intervals_ms))
    rows.append((spec.name, at, tags, {**values, **env}))
    rows.extend(simple_features(message, at, tags, env))
    return rows


def grip_values(payload: devices.GripPayload) -> dict[str, Any]:
    right = [t.force_kg for t in payload.trials if t.hand == devices.Hand.RIGHT]
    left = [t.force_kg for t in payload.trials if t.hand == devices.Hand.LEFT]
    return {
        "grip_max_kg": payload.max_kg,
        "grip_right_max_kg": max(right) if right else None,
        "grip_left_max_kg": max(left) if left else None,
        "trials": len(payload.trials),
    }


def hrv_values(rr_ms: list[float]) -> dict[str, Any]:
    rr = np.asarray(rr_ms, dtype=np.float64)
    diffs = np.diff(rr)
    return {
        "beats": int(rr.size),
        "mean_rr_ms": float(rr.mean()),
        "sdnn_ms": float(rr.std(ddof=1)) if rr.size > 1 else None,
        "rmssd_ms": float(np.sqrt(np.mean(diffs**2))) if diffs.size else None,
    }


def simple_features(message: Any, at: int, tags: dict[str, str], env: dict[str, Any]) -> list[Row]:
    """Feature points straight from reported values (walkway times, stopwatch times, hold times)."""
    payload = message.payload
    kind = message.device_kind
    if kind == DeviceKind.GAIT:
        speed = payload.gait_speed_mps
        if payload.walk_time_s is not None:
            speed = payload.walk_distance_m / payload.walk_time_s
        if speed is None:
            return []
        values = {
            "gait_speed_mps": speed,
            "walk_distance_m": payload.walk_distance_m,
            "walk_time_s": payload.walk_time_s,
        }
        return [(schema.GAIT_FEATURES.name, at, {**tags, "source": "walkway"}, {**values, **env})]
    if kind == DeviceKind.BALANCE and payload.recording is None:
        return [
            (
                schema.BALANCE_FEATURES.name,
                at,
                balance_tags(message),
                {"hold_time_s": payload.hold_time_s, **env},
            )
        ]
    if kind == DeviceKind.SIT_TO_STAND and payload.recording is None:
        values = {
            "chair_stand_5x_s": payload.five_rep_time_s,
            "count_30s": payload.count_30s,
            "unable": payload.unable,
        }
        return [(schema.STS_FEATURES.name, at, tags, {**values, **env})]
    if kind == DeviceKind.TUG and payload.recording is None:
        values = {"tug_time_s": payload.total_time_s, "walking_aid": payload.walking_aid}
        return [(schema.TUG_FEATURES.name, at, tags, {**values, **env})]
    return []


def balance_tags(message: Any) -> dict[str, str]:
    return {
        **participant_tags(message),
        "stance": message.payload.stance.value,
        "eyes": message.payload.eyes.value,
    }


def has_recording(message: Any) -> bool:
    return getattr(message.payload, "recording", None) is not None


# --- station messages -----------------------------------------------------------------------------


def heartbeat_rows(beat: Heartbeat) -> list[Row]:
    at = _ns(beat.at)
    station = {schema.STATION_TAG: beat.station_id}
    rows: list[Row] = [
        (
            schema.STATION_HEARTBEAT.name,
            at,
            station,
            {f.name: getattr(beat, f.name) for f in schema.STATION_HEARTBEAT.fields},
        )
    ]
    for device in beat.devices:
        age = max(0.0, (beat.at - device.last_message_at).total_seconds())
        tags = {**station, "device_id": device.device_id, "device_kind": device.device_kind}
        rows.append(
            (schema.STATION_DEVICE.name, at, tags, {"messages": device.messages, "last_message_age_s": age})
        )
    return rows


def status_row(status: StationStatus, received_at: datetime, retained: bool = False) -> Row:
    """A station_status point. Live messages are stamped with their ``at`` (so every replica, each
    on its own ordinary subscription, writes the same point), else — the Last Will has no ``at`` —
    at receipt. A *retained* delivery (on (re)subscribe) is the station's state as of now, so it is
    stamped at receipt: otherwise an offline Last Will queued in the session while the gateway was
    down (stamped at receipt) would outrank the online status the station published after it.
    Receipt stamps differ between replicas and reconnects, giving a few extra points that all
    repeat the same state; the dashboards and the offline rule read ``last("online")``, which
    they do not change."""
    at = received_at if retained or status.at is None else status.at
    fields = {"online": 1 if status.state == "online" else 0, "agent_version": status.agent_version}
    return (schema.STATION_STATUS.name, _ns(at), {schema.STATION_TAG: status.station_id}, fields)


def dead_letter_row(letter: DeadLetter, time_ns: int, gateway: str, digest: str | None = None) -> Row:
    tags = {
        schema.STATION_TAG: letter.station_id,
        "reason": letter.reason.value,
        "source": letter.source,
        schema.GATEWAY_TAG: gateway,
    }
    fields = {
        "size_bytes": letter.size_bytes,
        "topic": letter.topic,
        "detail": letter.detail,
        "path": letter.path,
        "excerpt": letter.excerpt,
        "message_id": letter.message_id,
        "digest": digest,
    }
    return (schema.DEAD_LETTER.name, time_ns, tags, fields)


_MEASURED_AT = re.compile(rb'"(?:measured_at|at)"\s*:\s*"([^"]{10,40})"')


def dead_letter_identity(payload: bytes, topic: str, reason: str, path: str) -> tuple[int | None, str]:
    """What makes a refused message's ``dead_letter`` point the same point when it is redelivered:
    its own time (the first ``measured_at``/``at`` in the bytes, if one parses) and a digest of the
    topic, bytes, reason and path (the same bytes may be refused on two topics). The time is None
    when the bytes carry none (the caller stamps receipt; the ``digest`` field then still tells
    copies apart from distinct letters)."""
    digest = hashlib.blake2b(payload, digest_size=8, person=b"fw-deadletter")
    digest.update(b"\0" + topic.encode() + b"\0" + reason.encode() + b"\0" + path.encode())
    hexdigest = digest.hexdigest()
    at: datetime | None = None
    match = _MEASURED_AT.search(payload[:65_536])
    if match is not None:
        try:
            at = datetime.fromisoformat(match.group(1).decode("ascii").replace("Z", "+00:00"))
        except (UnicodeDecodeError, ValueError):
            at = None
        if at is not None and at.tzinfo is None:
            at = None
    if at is None:
        return None, hexdigest
    return dead_letter_time_ns(_ns(at), hexdigest), hexdigest


def dead_letter_time_ns(time_ns: int, digest: str) -> int:
    """The second of ``time_ns`` plus the digest as nanoseconds: distinct letters stamped with the
    same time (corpus cases of one message, a batch's positions) get distinct points — 10⁹ slots a
    second, where the last 3 digits alone collide for a few dozen letters — at < 1 s of distortion."""
    return time_ns - time_ns % 10**9 + int(digest, 16) % 10**9


def _ns(at: datetime) -> int:
    return schema.time_ns(at)


# --- excerpts -------------------------------------------------------------------------------------

EXCERPT_CHARS = 256
# Long digit runs (resident, phone, member numbers) and e-mail-like tokens are masked in any case;
# find_identifier's patterns catch the formatted ones.
_DIGITS = re.compile(r"\d[\d\s.-]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")
_KEYED = re.compile(r'("(?:participant_id|resident_number|name|phone|member_id|email)"\s*:\s*)"[^"]*"', re.I)


def excerpt(data: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first bytes of a refused message as text, with anything that could identify a person
    masked (DESIGN invariant 2): digit runs, e-mail addresses and identifier-named JSON values."""
    # Redact a wider window, then cut: a cut first could split an address out of its pattern.
    return redact(data[: limit * 4].decode("utf-8", "replace"))[:limit]


def redact(text: str) -> str:
    """``text`` with digit runs, e-mail addresses and identifier-named JSON values masked."""
    text = _KEYED.sub(r'\1"***"', text)
    text = _EMAIL.sub("***", text)
    text = _DIGITS.sub(_mask_digits, text)
    if find_identifier(text) is not None:
        return "*** (redacted: looked like it held an identifier)"
    return text.replace("\r", " ").replace("\n", " ")


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    # Timestamps and measurements keep their shape; only long pure digit runs are masked.
    return "#" * len(run) if sum(c.isdigit() for c in run) >= 7 and ":" not in run else run


def iter_owner_rows(rows: Iterable[tuple[int, list[Row]]]) -> Iterator[tuple[Row, int]]:
    for owner, owned in rows:
        for row in owned:
            yield row, owner


def utc_now() -> datetime:
    return datetime.now(UTC)


def reading_metrics(message: Any) -> dict[str, float]:
    """Decline-relevant values a message carries without analysis (processing.decline names)."""
    payload = message.payload
    kind = message.device_kind
    if kind == DeviceKind.GRIP:
        return {"grip_max_kg": payload.max_kg}
    if kind == DeviceKind.GAIT:
        if payload.walk_time_s is not None:
            return {"gait_speed_mps": payload.walk_distance_m / payload.walk_time_s}
        if payload.gait_speed_mps is not None:
            return {"gait_speed_mps": payload.gait_speed_mps}
        return {}
    if kind == DeviceKind.SIT_TO_STAND and payload.recording is None:
        five = payload.five_rep_time_s
        return {"chair_stand_5x_s": five} if five is not None and not payload.unable else {}
    if kind == DeviceKind.TUG and payload.recording is None:
        return {"tug_time_s": payload.total_time_s} if payload.total_time_s is not None else {}
    return {}
