"""The one error type the wire contract raises.

Every decoding failure, whatever the bytes were, becomes a :class:`ContractError` with a short
machine-readable ``reason`` (used as the dead-letter reason and as a metric label), the field
``path`` where it went wrong and a human sentence. Nothing else escapes :func:`telemetry.decode`.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a message was refused; stable strings, used as dead-letter reasons and metric labels."""

    OVERSIZE = "oversize"
    INVALID_UTF8 = "invalid_utf8"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_VERSION = "schema_version"
    UNKNOWN_DEVICE_KIND = "unknown_device_kind"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_FIELD = "unknown_field"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_RECORDING = "bad_recording"
    IDENTIFIER_IN_TEXT = "identifier_in_text"
    INVALID = "invalid"
    # Raised by consumers of the contract, kept here so all reasons are one vocabulary.
    TOPIC_MISMATCH = "topic_mismatch"
    IMPERSONATION = "impersonation"
    UNKNOWN_TOPIC = "unknown_topic"
    DUPLICATE = "duplicate"
    PROCESSING = "processing"
    STORAGE_REJECTED = "storage_rejected"
    SPOOL_FULL = "spool_full"
    CASE_TRANSITION = "case_transition"  # a case action its case's state does not allow
    NOT_SERVED = "not_served"  # a case action from a station that has no visit of the participant


class ContractError(ValueError):
    """A message that does not satisfy the wire contract.

    ``reason`` is one of :class:`Reason`; ``path`` is the dotted field path (``payload.systolic_mmhg``)
    or ``""`` for the whole message; ``detail`` is a sentence fit for a log line or a dead letter.
    """

    def __init__(self, reason: Reason, detail: str, path: str = "") -> None:
        self.reason = Reason(reason)
        self.path = path
        self.detail = detail
        where = f" at {path}" if path else ""
        super().__init__(f"{self.reason.value}{where}: {detail}")
