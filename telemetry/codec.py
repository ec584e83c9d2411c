"""Bytes ⇄ messages. The only door into and out of the wire contract.

JSON (pydantic-core's Rust parser and serialiser), UTF-8, recordings as base64 float32. Whatever
bytes arrive, :func:`decode` returns a valid model or raises :class:`ContractError` with a specific
reason and field path; nothing else escapes (hypothesis-tested).

Validation is strict (pydantic's strict mode, JSON input): a JSON value of the wrong type is
refused with ``wrong_type`` and its path rather than coerced — ``"120"`` or ``true`` where a
number belongs, a number where text, a time or an enum belongs, ``1`` where a boolean belongs,
``null`` where a value is required. An integer is a number (``120`` for a float field is fine), and
times, dates and enum values travel as strings, as JSON has no other way to carry them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json, to_json

from telemetry.batch import MAX_BATCH, MessageBatch
from telemetry.devices import Message
from telemetry.envelope import SCHEMA_VERSION, DeviceKind, StationId, WireModel
from telemetry.errors import ContractError, Reason

MAX_MESSAGE_BYTES = 24 * 1024 * 1024  # a long high-rate recording, base64; brokers allow more
_MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)
_BATCH: TypeAdapter[MessageBatch] = TypeAdapter(MessageBatch)
_KINDS = ", ".join(kind.value for kind in DeviceKind)
_KIND_VALUES = frozenset(kind.value for kind in DeviceKind)

_TYPE_REASONS = {
    "missing": Reason.MISSING_FIELD,
    "extra_forbidden": Reason.UNKNOWN_FIELD,
    "finite_number": Reason.NOT_FINITE,
    "greater_than": Reason.OUT_OF_RANGE,
    "greater_than_equal": Reason.OUT_OF_RANGE,
    "less_than": Reason.OUT_OF_RANGE,
    "less_than_equal": Reason.OUT_OF_RANGE,
    "too_long": Reason.OUT_OF_RANGE,
    "too_short": Reason.OUT_OF_RANGE,
    # Text over its length limit (a 281-character note) is out of range, like a list that is.
    "string_too_long": Reason.OUT_OF_RANGE,
    "string_too_short": Reason.OUT_OF_RANGE,
    "json_invalid": Reason.MALFORMED_JSON,
    "timezone_aware": Reason.BAD_TIMESTAMP,
    "union_tag_invalid": Reason.UNKNOWN_DEVICE_KIND,
    "union_tag_not_found": Reason.MISSING_FIELD,
    "model_type": Reason.WRONG_TYPE,
    "model_attributes_type": Reason.WRONG_TYPE,
    "dict_type": Reason.WRONG_TYPE,
}
_OWN_REASONS = {reason.value: reason for reason in Reason}

M = TypeVar("M", bound=BaseModel)


def _path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _tag_field(error: ErrorDetails) -> str:
    """The discriminator a union-tag error is about (pydantic quotes it: "'device_kind'")."""
    return str(error.get("ctx", {}).get("discriminator", "")).strip("'\"")


def _reason_for(error: ErrorDetails) -> Reason:
    kind = error["type"]
    loc = error["loc"]
    if kind in _OWN_REASONS:
        return _OWN_REASONS[kind]
    if kind == "union_tag_invalid" and _tag_field(error) != "device_kind":
        # A band's "kind" (not a device's): a number there is the wrong type, text an unknown value.
        given = error.get("input")
        tag = given.get(_tag_field(error)) if isinstance(given, dict) else None
        return Reason.INVALID if isinstance(tag, str) else Reason.WRONG_TYPE
    if kind == "literal_error" and loc and loc[-1] == "schema_version":
        return Reason.SCHEMA_VERSION
    if kind in ("model_type", "model_attributes_type", "dict_type") and len(loc) == 0:
        return Reason.NOT_AN_OBJECT
    if kind in ("datetime_type", "date_type"):
        return Reason.WRONG_TYPE  # not a string at all (a number): the type, not the time, is wrong
    if kind.startswith(("datetime", "date_", "timezone")):
        return Reason.BAD_TIMESTAMP
    if kind in _TYPE_REASONS:
        return _TYPE_REASONS[kind]
    if kind.endswith(("_type", "_parsing")) or kind in (
        "literal_error",
        "enum",
        "string_pattern_mismatch",
    ):
        return Reason.WRONG_TYPE if kind != "string_pattern_mismatch" else Reason.INVALID
    return Reason.INVALID


_TAGS = ("device_kind", "kind")  # the discriminators of the contract's tagged unions


def _without_tags(loc: Sequence[int | str], document: Any) -> list[int | str]:
    """``loc`` without the tags pydantic inserts after a tagged union's position (``vitals`` in
    ``("vitals", "payload", "spo2_pct")``), found by walking the document: the tag is the value of
    the node's discriminator, and comes first under it (a band's tag ``cutoff`` and its field
    ``cutoff`` are told apart by order)."""
    out: list[int | str] = []
    node, skipped = document, False
    for part in loc:
        if not skipped and isinstance(node, dict) and any(node.get(tag) == part for tag in _TAGS):
            skipped = True
            continue
        out.append(part)
        skipped = False
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _error_from(exc: ValidationError, tagged: bool = False, document: Any = None) -> ContractError:
    """The first error of a validation failure, as a ContractError.

    ``document``: the JSON the model was validated from, to take union tags out of the path;
    without it, ``tagged`` says the model was a discriminated union whose paths start with the tag.
    """
    errors = exc.errors(include_url=False)
    error = errors[0]
    reason = _reason_for(error)
    if document is not None:
        loc: Sequence[int | str] = _without_tags(error["loc"], document)
    elif tagged and error["loc"] and error["loc"][0] in _KIND_VALUES:
        loc = error["loc"][1:]
    else:
        loc = error["loc"]
    path = _path(loc)
    detail = error["msg"]
    if error["type"].startswith("union_tag") and _tag_field(error) not in ("", "device_kind"):
        path = _path([*loc, _tag_field(error)])  # the tag field itself, as for any other field
    if reason is Reason.UNKNOWN_DEVICE_KIND:
        tag = str(error.get("ctx", {}).get("tag", "?"))[:40]
        path = "device_kind"
        detail = f"unknown device_kind {tag!r}; known kinds: {_KINDS}"
    elif reason is Reason.OUT_OF_RANGE and isinstance(error.get("input"), int | float):
        detail = f"{detail} (got {error['input']!r})"
    if len(errors) > 1:
        detail = f"{detail} (+{len(errors) - 1} more)"
    return ContractError(reason, detail, path)


def _document(raw: bytes) -> Any:
    """The JSON of refused bytes, for the error's path (None if it is not JSON)."""
    try:
        return from_json(raw, allow_inf_nan=True)
    except ValueError:
        return None


def _check_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    raw = bytes(data)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ContractError(
            Reason.OVERSIZE, f"{len(raw)} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes"
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(Reason.INVALID_UTF8, f"not UTF-8 at byte {exc.start}") from None
    return raw


def _parse_object(raw: bytes) -> dict[str, Any]:
    try:
        value = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise ContractError(Reason.MALFORMED_JSON, str(exc)) from None
    if not isinstance(value, dict):
        raise ContractError(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(value).__name__}")
    return value


def _check_version(document: dict[str, Any]) -> None:
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ContractError(
            Reason.SCHEMA_VERSION,
            f"schema_version {str(version)[:20]!r} is not supported (this build speaks {SCHEMA_VERSION})",
            "schema_version",
        )


def encode(model: BaseModel) -> bytes:
    """A contract model as wire bytes (compact JSON)."""
    return model.__pydantic_serializer__.to_json(model, exclude_none=True)


def decode(data: bytes | bytearray | memoryview | str) -> Message:
    """Wire bytes as a device :data:`Message`; :class:`ContractError` for anything else."""
    raw = _check_bytes(data)
    try:
        return _MESSAGE.validate_json(raw, strict=True)
    except ValidationError as exc:
        # Say "malformed" before field errors when the bytes are not a JSON object at all.
        first = exc.errors()[0]["type"]
        if first in ("json_invalid", "model_attributes_type", "model_type"):
            _parse_object(raw)
        if first in ("union_tag_invalid", "union_tag_not_found"):
            _check_version(_parse_object(raw))
        raise _error_from(exc, tagged=True, document=_document(raw)) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ContractError(Reason.INVALID, f"{type(exc).__name__}: {exc}") from None


def decode_as(model_type: type[M], data: bytes | bytearray | memoryview | str) -> M:
    """Wire bytes as a specific contract model (heartbeat, status, dead letter, alert)."""
    raw = _check_bytes(data)
    try:
        return model_type.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _error_from(exc, document=_document(raw)) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ContractError(Reason.INVALID, f"{type(exc).__name__}: {exc}") from None


class _BatchShell(WireModel):
    """A batch with its messages left undecoded, so each can fail on its own."""

    message_type: Literal["batch"] = "batch"
    schema_version: Literal[1] = 1
    station_id: StationId
    messages: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


@dataclass(slots=True)
class BatchResult:
    """What a batch held: the valid messages, and an error for each refused position."""

    station_id: str
    messages: list[Message] = field(default_factory=list)
    errors: list[tuple[int, ContractError]] = field(default_factory=list)


def decode_batch(data: bytes | bytearray | memoryview | str) -> BatchResult:
    """A :class:`MessageBatch`, decoded message by message so one bad reading loses no others.

    A valid batch (the usual case: the edge sends only messages it validated) is one pass of
    pydantic's JSON validator over the whole document. Only when that refuses something is the
    batch taken apart and each message validated on its own, to keep the good ones and say where
    each bad one went wrong. Raises :class:`ContractError` when the batch itself (not one of its
    messages) is invalid.
    """
    raw = _check_bytes(data)
    try:
        batch = _BATCH.validate_json(raw, strict=True)
    except (ValidationError, ValueError, TypeError, RecursionError, OverflowError):
        return _decode_each(raw)
    return BatchResult(station_id=batch.station_id, messages=list(batch.messages))


def _decode_each(raw: bytes) -> BatchResult:
    """The slow path of :func:`decode_batch`: the shell first, then every message alone."""
    document = _parse_object(raw)
    try:
        shell = _BatchShell.model_validate(document, strict=True)
    except ValidationError as exc:
        raise _error_from(exc) from None
    result = BatchResult(station_id=shell.station_id)
    for index, item in enumerate(shell.messages):
        try:
            # Back to JSON so the message is judged as the wire carried it (strict JSON mode:
            # times as strings, no coercion), exactly as on the fast path.
            result.messages.append(_MESSAGE.validate_json(to_json(item), strict=True))
        except ValidationError as exc:
            error = _error_from(exc, tagged=True, document=item)
            path = f"messages.{index}.{error.path}".rstrip(".")
            result.errors.append((index, ContractError(error.reason, error.detail, path)))
        except (ValueError, TypeError, RecursionError, OverflowError) as exc:
            error = ContractError(Reason.INVALID, str(exc)[:200], f"messages.{index}")
            result.errors.append((index, error))
    return result


def encode_batch(station_id: str, messages: Sequence[Message]) -> bytes:
    """Wire bytes of a batch of already-valid messages."""
    batch = MessageBatch.model_construct(station_id=station_id, messages=list(messages))
    return encode(batch)


def splice_batch(station_id: str, encoded: Sequence[bytes]) -> bytes:
    """Wire bytes of a batch of messages that are *already encoded* (each one :func:`encode`'s
    output, as the edge spools them): the batch envelope around them without decoding and
    re-encoding each (the edge's uplink batches thousands a second). Decodes to the same batch as
    :func:`encode_batch` of the decoded messages (tested)."""
    head = b'{"message_type":"batch","schema_version":%d,"station_id":%s,"messages":[' % (
        SCHEMA_VERSION,
        to_json(station_id),
    )
    return head + b",".join(encoded) + b"]}"
