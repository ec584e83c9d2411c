"""InfluxDB line protocol, encoded a column at a time.

The gateway turns thousands of readings per second into points; building a Python object per
point (as ``influxdb_client.Point`` does) costs more than the write itself. Here every column is
converted to strings in one pass (``ndarray.tolist`` + ``map``), the per-line pieces are interleaved
into one list and joined once. What stays per value is CPython's float/int formatting, which any
Python encoder pays.

Rules (InfluxDB line protocol reference, 1.x and 2.x, "Special characters"):

- measurement: commas and spaces are escaped with a backslash;
- tag keys, tag values, field keys: commas, equals signs and spaces are escaped;
- string field values are double-quoted with ``"`` and ``\\`` escaped;
- integers end in ``i``; floats are written with ``repr`` (the shortest string that parses back
  to the same double); booleans are ``true``/``false``; the timestamp is integer nanoseconds.

Refused with :class:`LineProtocolError` rather than guessed at: newlines anywhere (line protocol has
no escape for them); other control characters and backslashes in names and tag values (InfluxDB
1.x cannot escape a backslash there, so ``a\\`` followed by a separator would be misparsed; a NUL
makes a measurement unreachable from InfluxQL); empty names; the reserved key ``time``;
±infinity; integers outside int64; columns whose length differs from the timestamps.
Absent values are simply left out: NaN in a float column, ``None`` in a list, an empty tag value.
A line left with no field at all is dropped (InfluxDB rejects it).
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Mapping, Sequence
from itertools import compress
from typing import Any

import numpy as np

__all__ = ["LineProtocolError", "count_lines", "encode", "encode_point"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Names and tag values: no control characters. Newlines end a line; others (NUL, tab, ...) are
# accepted by InfluxDB 1.x but make the name impossible or awkward to use from InfluxQL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_STR_OR_NONE = {str, type(None)}


class LineProtocolError(ValueError):
    """Data that cannot be written as line protocol (the message says which key and why)."""


# --- names -------------------------------------------------------------------------------------------


def _check_name(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise LineProtocolError(f"{what} must be a string, got {type(value).__name__}")
    if not value:
        raise LineProtocolError(f"{what} is empty")
    if _CONTROL.search(value):
        raise LineProtocolError(f"{what} {value[:40]!r} contains a newline or another control character")
    if "\\" in value:
        raise LineProtocolError(f"{what} {value[:40]!r} contains a backslash")
    return value


def escape_measurement(name: str) -> str:
    _check_name("measurement", name)
    if name.startswith("#"):
        raise LineProtocolError(f"measurement {name[:40]!r} starts with '#' (a comment line)")
    return name.replace(",", "\\,").replace(" ", "\\ ")


def escape_key(what: str, name: str) -> str:
    """Escape a tag key, tag value or field key."""
    _check_name(what, name)
    return name.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _check_key(what: str, name: str) -> str:
    escaped = escape_key(what, name)
    if name == "time":
        raise LineProtocolError(f"{what} 'time' is reserved by InfluxDB")
    return escaped


def quote_string(value: str) -> str:
    """A string field value, quoted and escaped."""
    if "\n" in value or "\r" in value:
        raise LineProtocolError(f"string field value {value[:40]!r} contains a newline")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- columns -------------------------------------------------------------------------------------------


class _Column:
    """One field column as strings: ``values[i]`` formatted, ``present[i]`` whether line i has it."""

    __slots__ = ("present", "suffix", "values")

    def __init__(self, values: list[str], present: np.ndarray | None, suffix: str = "") -> None:
        self.values = values
        self.present = present  # None: present on every line
        self.suffix = suffix  # "i" for integers


def _float_column(key: str, arr: np.ndarray) -> _Column:
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if finite.all():
        return _Column(list(map(float.__repr__, arr.tolist())), None)
    if np.isinf(arr).any():
        raise LineProtocolError(f"field {key!r} holds an infinite value (InfluxDB stores finite floats only)")
    strings = [""] * len(arr)
    idx = np.flatnonzero(finite)
    for i, s in zip(idx.tolist(), map(float.__repr__, arr[idx].tolist()), strict=True):
        strings[i] = s
    return _Column(strings, finite)


def _int_column(key: str, arr: np.ndarray) -> _Column:
    if arr.size and arr.dtype.kind == "u" and int(arr.max()) > INT64_MAX:
        raise LineProtocolError(f"field {key!r} holds an integer above int64")
    return _Column(list(map(str, arr.tolist())), None, "i")


def _bool_column(arr: np.ndarray) -> _Column:
    return _Column(np.where(arr, "true", "false").tolist(), None)


def _string_column(items: list[Any], absent: bool) -> _Column:
    """A column of ``str`` (and ``None`` where ``absent``), quoted all at once: joined by newlines
    (which no value may hold), escaped with two ``str.replace`` calls and split again, so the
    per-value work is C's, not a Python call per value."""
    present = None
    if absent:
        present = np.fromiter((v is not None for v in items), dtype=bool, count=len(items))
        items = ["" if v is None else v for v in items]
    joined = "\n".join(items)
    if "\r" in joined or joined.count("\n") != len(items) - 1:
        for value in items:
            quote_string(value)  # raises for the first value with a newline
    escaped = joined.replace("\\", "\\\\").replace('"', '\\"')
    return _Column(('"' + escaped.replace("\n", '"\n"') + '"').split("\n"), present)


def _object_column(key: str, values: Sequence[Any]) -> _Column:
    """A list (or object array) of Python values; None = absent. One kind per column."""
    items = list(values)
    types = set(map(type, items))
    if types and types <= _STR_OR_NONE and str in types:
        return _string_column(items, type(None) in types)
    kinds = {_kind(key, v) for v in items if v is not None}
    present = np.fromiter((v is not None for v in items), dtype=bool, count=len(items))
    all_present = bool(present.all())
    if not kinds:
        return _Column([""] * len(items), present)
    if kinds == {"int", "float"}:
        kinds = {"float"}
    if len(kinds) > 1:
        raise LineProtocolError(f"field {key!r} mixes {' and '.join(sorted(kinds))} values")
    kind = kinds.pop()
    if kind == "float":
        arr = np.array([math.nan if v is None else float(v) for v in items], dtype=np.float64)
        col = _float_column(key, arr)
        if not all_present and col.present is None:
            col.present = present
        return col
    if kind == "int":
        ints = [0 if v is None else int(v) for v in items]
        if any(i < INT64_MIN or i > INT64_MAX for i in ints):
            raise LineProtocolError(f"field {key!r} holds an integer outside int64")
        strings = list(map(str, ints))
        return _Column(strings, None if all_present else present, "i")
    if kind == "bool":
        strings = ["" if v is None else ("true" if v else "false") for v in items]
        return _Column(strings, None if all_present else present)
    strings = ["" if v is None else quote_string(str(v)) for v in items]
    return _Column(strings, None if all_present else present)


def _kind(key: str, value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, str):
        return "str"
    raise LineProtocolError(f"field {key!r} has a value of unsupported type {type(value).__name__}")


def _field_column(key: str, values: np.ndarray | Sequence[Any], n: int) -> _Column:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise LineProtocolError(f"field {key!r} must be one-dimensional, got shape {values.shape}")
        kind = values.dtype.kind
        col = (
            _float_column(key, values)
            if kind == "f"
            else _int_column(key, values)
            if kind in "iu"
            else _bool_column(values)
            if kind == "b"
            else _object_column(key, values.tolist())
        )
    elif isinstance(values, str | bytes):
        raise LineProtocolError(f"field {key!r} must be a sequence of values, not a single string")
    else:
        col = _object_column(key, values)
    if len(col.values) != n:
        raise LineProtocolError(f"field {key!r} has {len(col.values)} values for {n} timestamps")
    return col


def _tag_column(key: str, values: str | Sequence[str | None] | np.ndarray, n: int) -> str | list[str]:
    """The ",key=value" segment: one string for a constant tag, else one per line ("" = tag absent)."""
    ekey = _cached_key("tag key", key)
    if isinstance(values, str):
        return f",{ekey}={_cached_escape('tag value', values)}" if values else ""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if len(items) != n:
        raise LineProtocolError(f"tag {key!r} has {len(items)} values for {n} timestamps")
    segments: dict[Any, str] = {}
    try:
        distinct = set(items)
    except TypeError:
        raise LineProtocolError(f"tag {key!r} has a value that is not a string") from None
    for value in distinct:
        if value is None or value == "":
            segments[value] = ""
        elif isinstance(value, str):
            segments[value] = f",{ekey}={_cached_escape('tag value', value)}"
        else:
            raise LineProtocolError(f"tag {key!r} has a value of type {type(value).__name__}, not str")
    return list(map(segments.__getitem__, items))


def _timestamps(time_ns: np.ndarray | Sequence[int]) -> list[str]:
    arr = np.asarray(time_ns)
    if arr.ndim != 1:
        raise LineProtocolError(f"time_ns must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise LineProtocolError("time_ns holds NaT (not a time)")
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif arr.size and arr.dtype.kind not in "iu":
        raise LineProtocolError(f"time_ns must hold integer nanoseconds, got dtype {arr.dtype}")
    return list(map(str, arr.tolist()))


# --- assembly ------------------------------------------------------------------------------------------


def _interleave(pieces: list[str | list[str]], n: int) -> str:
    """Concatenate, line by line, constant strings and per-line lists, with one join."""
    merged: list[str | list[str]] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + piece
        elif piece != "":
            merged.append(piece)
    width = len(merged)
    out: list[str] = [""] * (width * n)
    for j, piece in enumerate(merged):
        out[j::width] = [piece] * n if isinstance(piece, str) else piece
    return "".join(out)


def encode(
    measurement: str,
    time_ns: np.ndarray | Sequence[int],
    tags: Mapping[str, str | Sequence[str | None] | np.ndarray],
    fields: Mapping[str, np.ndarray | Sequence[Any]],
) -> bytes:
    """Line protocol for ``len(time_ns)`` points of one measurement, each line ending in ``\\n``.

    ``tags`` values are one string (same on every line) or one string per line; ``fields`` values
    are one entry per line (NumPy arrays or lists; NaN/None = that field absent on that line).
    Tags are written sorted by key, as InfluxDB recommends. Raises :class:`LineProtocolError`.
    """
    prefix = _cached_measurement(measurement)
    times = _timestamps(time_ns)
    n = len(times)
    if not fields:
        raise LineProtocolError(f"measurement {measurement!r}: no fields")
    overlap = set(tags) & set(fields)
    if overlap:
        raise LineProtocolError(f"{sorted(overlap)[0]!r} is both a tag and a field")
    tag_pieces = [_tag_column(k, tags[k], n) for k in sorted(tags)]
    keys = [_cached_key("field key", k) for k in fields]
    columns = [_field_column(k, v, n) for k, v in fields.items()]
    if n == 0:
        return b""

    pieces: list[str | list[str]] = [prefix, *tag_pieces]
    if all(c.present is None for c in columns):
        # Fast path: every line has every field, so separators are constants.
        for j, (key, col) in enumerate(zip(keys, columns, strict=True)):
            pieces += [(" " if j == 0 else ",") + key + "=", col.values, col.suffix]
        pieces += [" ", times, "\n"]
        text = _interleave(pieces, n)
    else:
        text = _encode_sparse(pieces, keys, columns, times, n)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LineProtocolError(
            f"measurement {measurement!r}: text is not valid Unicode ({exc.reason})"
        ) from None


def _encode_sparse(
    pieces: list[str | list[str]], keys: list[str], columns: list[_Column], times: list[str], n: int
) -> str:
    """Some fields are absent on some lines: build ",k=v" segments, join per line, drop empty lines."""
    segment_lists: list[list[str]] = []
    for key, col in zip(keys, columns, strict=True):
        head = "," + key + "="
        segs = [head + v + col.suffix for v in col.values]
        if col.present is not None:
            segs = [s if p else "" for s, p in zip(segs, col.present.tolist(), strict=True)]
        segment_lists.append(segs)
    field_sets = list(map("".join, zip(*segment_lists, strict=True)))
    keep = [bool(f) for f in field_sets]
    if not all(keep):
        n = sum(keep)
        field_sets = list(compress(field_sets, keep))
        times = list(compress(times, keep))
        pieces = [p if isinstance(p, str) else list(compress(p, keep)) for p in pieces]
        if n == 0:
            return ""
    # Each field set starts with ","; the separator after the tags is a space instead.
    field_sets = list(map(operator.itemgetter(slice(1, None)), field_sets))
    return _interleave([*pieces, " ", field_sets, " ", times, "\n"], n)


def encode_point(measurement: str, time_ns: int, tags: Mapping[str, str], fields: Mapping[str, Any]) -> bytes:
    """One point (for the odd heartbeat or event); same rules as :func:`encode`.

    Plain Python on purpose: for a single point NumPy's per-call setup costs more than the work.
    Returns ``b""`` when every field is absent (None or NaN).
    """
    if isinstance(time_ns, bool) or not isinstance(time_ns, int | np.integer):
        raise LineProtocolError(f"time_ns must be integer nanoseconds, got {type(time_ns).__name__}")
    if set(tags) & set(fields):
        raise LineProtocolError(f"{sorted(set(tags) & set(fields))[0]!r} is both a tag and a field")
    parts = [_cached_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value is None or value == "":
            _cached_key("tag key", key)
            continue
        if not isinstance(value, str):
            raise LineProtocolError(f"tag {key!r} has a value of type {type(value).__name__}, not str")
        parts.append(f",{_cached_key('tag key', key)}={_cached_escape('tag value', value)}")
    if not fields:
        raise LineProtocolError(f"measurement {measurement!r}: no fields")
    field_parts = []
    for key, value in fields.items():
        ekey = _cached_key("field key", key)
        text = _format_scalar(key, value)
        if text is not None:
            field_parts.append(f"{ekey}={text}")
    if not field_parts:
        return b""
    line = "".join(parts) + " " + ",".join(field_parts) + f" {int(time_ns)}\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = f"measurement {measurement!r}: text is not valid Unicode ({exc.reason})"
        raise LineProtocolError(message) from None


def _format_scalar(key: str, value: Any) -> str | None:
    if value is None:
        return None
    kind = _kind(key, value)
    if kind == "float":
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            raise LineProtocolError(
                f"field {key!r} holds an infinite value (InfluxDB stores finite floats only)"
            )
        return repr(f)
    if kind == "int":
        i = int(value)
        if not INT64_MIN <= i <= INT64_MAX:
            raise LineProtocolError(f"field {key!r} holds an integer outside int64")
        return f"{i}i"
    if kind == "bool":
        return "true" if value else "false"
    return quote_string(str(value))


# Names repeat endlessly (a handful of measurements, keys and stations): escape each once.
@functools.lru_cache(maxsize=4096)
def _cached_measurement(name: str) -> str:
    return escape_measurement(name)


@functools.lru_cache(maxsize=4096)
def _cached_key(what: str, name: str) -> str:
    return _check_key(what, name)


@functools.lru_cache(maxsize=65536)
def _cached_escape(what: str, value: str) -> str:
    return escape_key(what, value)


def count_lines(body: bytes) -> int:
    """Points in an encoded body (lines; a final line without ``\\n`` counts too)."""
    if not body:
        return 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
