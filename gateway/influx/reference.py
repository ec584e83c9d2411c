"""The obvious per-point line-protocol encoder: the oracle the vectorised one is tested against.

One Python loop over points, one over fields, written for clarity rather than speed (the
benchmark uses it as the naive baseline). Same rules and refusals as :mod:`.lineprotocol`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gateway.influx.lineprotocol import (
    INT64_MAX,
    INT64_MIN,
    LineProtocolError,
    escape_key,
    escape_measurement,
    quote_string,
)


def format_value(key: str, value: Any) -> str | None:
    """One field value as line protocol, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        if not INT64_MIN <= int(value) <= INT64_MAX:
            raise LineProtocolError(f"field {key!r} holds an integer outside int64")
        return f"{int(value)}i"
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            raise LineProtocolError(f"field {key!r} holds an infinite value")
        return repr(f)
    if isinstance(value, str):
        return quote_string(value)
    raise LineProtocolError(f"field {key!r} has a value of unsupported type {type(value).__name__}")


def encode_line(
    measurement: str, time_ns: int, tags: Mapping[str, str | None], fields: Mapping[str, Any]
) -> str:
    """One line with its newline, or "" when no field is present."""
    for key in (*tags, *fields):
        if key == "time":
            raise LineProtocolError("key 'time' is reserved by InfluxDB")
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value:
            parts.append(f",{escape_key('tag key', key)}={escape_key('tag value', value)}")
    field_parts = []
    for key, value in fields.items():
        text = format_value(key, value)
        if text is not None:
            field_parts.append(f"{escape_key('field key', key)}={text}")
    if not field_parts:
        return ""
    return "".join(parts) + " " + ",".join(field_parts) + f" {int(time_ns)}\n"


def encode_rows(
    measurement: str,
    time_ns: Sequence[int] | np.ndarray,
    tags: Mapping[str, str | Sequence[str | None] | np.ndarray],
    fields: Mapping[str, Sequence[Any] | np.ndarray],
) -> bytes:
    """Same signature as :func:`gateway.influx.lineprotocol.encode`, one point at a time."""
    times = list(np.asarray(time_ns).tolist())
    out = []
    for i, t in enumerate(times):
        row_tags = {k: (v if isinstance(v, str) else v[i]) for k, v in tags.items()}
        row_fields = {k: v[i] for k, v in fields.items()}
        out.append(encode_line(measurement, t, row_tags, row_fields))
    return "".join(out).encode("utf-8")
