"""The wire contract shared by edge agents and gateways: topics, message models and codec.

Depends on pydantic and numpy only, so it installs on a station box without the gateway's stack.

The names below are imported on first use (PEP 562), not when the package is imported: a tool that
needs only ``telemetry.cases`` or ``telemetry.topics`` (the case CLI, the pure decline core) then
does not pay for building every device model and importing NumPy at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telemetry.batch import MAX_BATCH, MessageBatch
    from telemetry.cases import CaseEvent
    from telemetry.codec import (
        MAX_MESSAGE_BYTES,
        BatchResult,
        decode,
        decode_as,
        decode_batch,
        encode,
        encode_batch,
        splice_batch,
    )
    from telemetry.devices import MESSAGE_TYPES, Message
    from telemetry.envelope import SCHEMA_VERSION, DeviceKind, Envelope
    from telemetry.errors import ContractError, Reason
    from telemetry.events import DeadLetter
    from telemetry.recording import Recording
    from telemetry.station import Heartbeat, StationStatus

_HOME: dict[str, str] = {
    "MAX_BATCH": "telemetry.batch",
    "MessageBatch": "telemetry.batch",
    "MAX_MESSAGE_BYTES": "telemetry.codec",
    "BatchResult": "telemetry.codec",
    "decode": "telemetry.codec",
    "decode_as": "telemetry.codec",
    "decode_batch": "telemetry.codec",
    "encode": "telemetry.codec",
    "encode_batch": "telemetry.codec",
    "splice_batch": "telemetry.codec",
    "MESSAGE_TYPES": "telemetry.devices",
    "Message": "telemetry.devices",
    "SCHEMA_VERSION": "telemetry.envelope",
    "DeviceKind": "telemetry.envelope",
    "Envelope": "telemetry.envelope",
    "ContractError": "telemetry.errors",
    "Reason": "telemetry.errors",
    "DeadLetter": "telemetry.events",
    "CaseEvent": "telemetry.cases",
    "Recording": "telemetry.recording",
    "Heartbeat": "telemetry.station",
    "StationStatus": "telemetry.station",
}

__all__ = [
    "MAX_BATCH",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "BatchResult",
    "CaseEvent",
    "ContractError",
    "DeadLetter",
    "DeviceKind",
    "Envelope",
    "Heartbeat",
    "Message",
    "MessageBatch",
    "Reason",
    "Recording",
    "StationStatus",
    "decode",
    "decode_as",
    "decode_batch",
    "encode",
    "encode_batch",
    "splice_batch",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'telemetry' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
