"""The wire contract shared by edge agents and gateways: topics, message models and codec.

Depends on pydantic and numpy only, so it installs on a station box without the gateway's stack.
"""

from telemetry.batch import MAX_BATCH, MessageBatch
from telemetry.codec import (
    MAX_MESSAGE_BYTES,
    BatchResult,
    decode,
    decode_as,
    decode_batch,
    encode,
    encode_batch,
)
from telemetry.devices import MESSAGE_TYPES, Message
from telemetry.envelope import SCHEMA_VERSION, DeviceKind, Envelope
from telemetry.errors import ContractError, Reason
from telemetry.events import DeadLetter, DeclineAlert
from telemetry.recording import Recording
from telemetry.station import Heartbeat, StationStatus

__all__ = [
    "MAX_BATCH",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "BatchResult",
    "ContractError",
    "DeadLetter",
    "DeclineAlert",
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
]
