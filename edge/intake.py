"""Device message → contract Message: validate, pseudonymise, drop identifiers, stamp the station.

Devices publish on ``fwdev/v1/<kind>/<device>`` with the participant's raw member id. Nothing
identifying survives this module: the pseudonym replaces the member id, and resident number,
name and phone are dropped.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from telemetry import codec
from telemetry.devices import MESSAGE_TYPES, Message
from telemetry.envelope import DeviceKind
from telemetry.errors import ContractError, Reason
from telemetry.pseudonym import pseudonymise
from telemetry.topics import DEVICE_ROOT


class DeviceReading(BaseModel):
    """What a station device publishes (raw identifiers allowed here, and only here)."""

    model_config = ConfigDict(extra="forbid")

    participant_id: str = Field(min_length=1, max_length=64, description="member id (raw)")
    resident_number: str | None = Field(default=None, max_length=32, description="dropped")
    name: str | None = Field(default=None, max_length=64, description="dropped")
    phone: str | None = Field(default=None, max_length=32, description="dropped")
    message_id: str | None = None
    device_id: str | None = None
    device_kind: str | None = None
    measured_at: AwareDatetime
    visit_id: str | None = None
    note: str | None = None
    payload: dict[str, Any]


def device_topic_parts(topic: str) -> tuple[str, str]:
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != DEVICE_ROOT:
        raise ContractError(Reason.INVALID, "device topic is not fwdev/v1/<kind>/<device>")
    if parts[2] not in MESSAGE_TYPES:
        raise ContractError(Reason.UNKNOWN_DEVICE_KIND, f"unknown device kind in topic: {parts[2][:32]!r}")
    return parts[2], parts[3]


def stable_message_id(device_id: str, measured_at: str, raw: bytes) -> str:
    """A re-sent device message (same device, time and bytes) gets the same id."""
    digest = hashlib.sha256(f"{device_id}\n{measured_at}\n".encode() + raw).hexdigest()
    return f"e-{digest[:40]}"


def _rows_to_samples(payload: dict[str, Any]) -> dict[str, Any]:
    """Devices may send a recording as JSON rows; the contract carries base64 float32 samples."""
    recording = payload.get("recording")
    if not isinstance(recording, dict) or "rows" not in recording:
        return payload
    rows = recording["rows"]
    if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
        raise ContractError(
            Reason.BAD_RECORDING, "recording.rows must be a list of sample rows", "payload.recording"
        )
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ContractError(Reason.BAD_RECORDING, "recording rows differ in length", "payload.recording.rows")
    flat = [value for row in rows for value in row]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in flat):
        raise ContractError(
            Reason.BAD_RECORDING,
            "recording rows hold a non-finite or non-number value",
            "payload.recording.rows",
        )
    try:
        samples = struct.pack(f"<{len(flat)}f", *flat)
    except (OverflowError, struct.error):
        raise ContractError(
            Reason.BAD_RECORDING, "recording value outside float32 range", "payload.recording.rows"
        ) from None
    converted = {k: v for k, v in recording.items() if k != "rows"}
    converted.update(n_samples=len(rows), samples=base64.b64encode(samples).decode())
    return {**payload, "recording": converted}


def _refuse_identifiers_in_ids(reading: DeviceReading) -> None:
    """A device that builds its ids or note from the member id would leak it through them."""
    raw_ids = [x for x in (reading.participant_id, reading.resident_number, reading.name, reading.phone) if x]
    for field_name in ("message_id", "visit_id", "note"):
        value = getattr(reading, field_name)
        if value and any(raw in value for raw in raw_ids):
            raise ContractError(
                Reason.IDENTIFIER_IN_TEXT, f"{field_name} contains a participant identifier", field_name
            )


@dataclass(frozen=True, slots=True)
class Intake:
    """A device publication after intake: the contract message (pseudonymised) and, for the
    station's own use only, the member id it was keyed from and the name the device gave."""

    message: Message
    member_id: str
    name: str | None


def to_message(topic: str, raw: bytes, station_id: str, key: bytes) -> tuple[Message, str]:
    """The contract message for a device publication, and the member id it was keyed from.

    Raises :class:`ContractError` (reason and detail free of identifiers) for bad input.
    """
    intake = to_intake(topic, raw, station_id, key)
    return intake.message, intake.member_id


def to_intake(topic: str, raw: bytes, station_id: str, key: bytes) -> Intake:
    """:func:`to_message` plus the name a registration device sent (kept on the station only)."""
    kind, device_id = device_topic_parts(topic)
    try:
        # Strict like the contract: a number for measured_at or a participant_id is refused, not coerced.
        reading = DeviceReading.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        # The error text may quote the input; give only the type and field.
        reason = Reason.MALFORMED_JSON if first["type"] == "json_invalid" else Reason.INVALID
        if first["type"] == "missing":
            reason = Reason.MISSING_FIELD
        elif first["type"].endswith("_type") and first["loc"]:
            reason = Reason.WRONG_TYPE
        raise ContractError(
            reason, f"device reading: {first['type']} at {where or '(root)'}", where
        ) from None
    if reading.device_kind is not None and reading.device_kind != kind:
        raise ContractError(Reason.INVALID, "device_kind disagrees with the topic", "device_kind")
    if reading.device_id is not None and reading.device_id != device_id:
        raise ContractError(Reason.INVALID, "device_id disagrees with the topic", "device_id")
    _refuse_identifiers_in_ids(reading)
    try:
        pseudonym = pseudonymise(key, reading.participant_id)
    except ValueError:
        raise ContractError(Reason.INVALID, "participant_id is empty", "participant_id") from None
    document = {
        "schema_version": 1,
        "message_id": reading.message_id
        or stable_message_id(device_id, reading.measured_at.isoformat(), raw),
        "station_id": station_id,
        "device_id": device_id,
        "device_kind": DeviceKind(kind).value,
        "participant": pseudonym,
        "measured_at": reading.measured_at,
        "visit_id": reading.visit_id,
        "note": reading.note,
        "payload": _rows_to_samples(reading.payload),
    }
    document = {k: v for k, v in document.items() if v is not None}
    # The contract's own decoder is the judge: the same reasons and paths the gateway would give.
    message = codec.decode(to_json(document))
    name = reading.name.strip() if reading.name and reading.name.strip() else None
    return Intake(message, reading.participant_id, name)
