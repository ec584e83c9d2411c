"""Points on their way to InfluxDB: a :class:`PointTable` of many measurements, encoded column-wise.

A :data:`Point` is (measurement, time ns, tags, fields), named by :mod:`gateway.schema`. The table
keeps one column per tag and field of each measurement, each column in the schema's type, and
encodes a whole column at a time with :func:`gateway.influx.lineprotocol.encode`. Every point
remembers its *owner* (the MQTT message it came from), so a body InfluxDB refuses can be cut back
into one body per message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from gateway import schema
from gateway.influx.lineprotocol import encode

Point = tuple[str, int, dict[str, str], dict[str, Any]]  # measurement, time ns, tags, fields

_NAN = math.nan
_STR_OR_NONE = {str, type(None)}


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
        tags: dict[str, Any] = dict(self.tags)
        fields: dict[str, Any] = {key: _typed(self.spec, key, values) for key, values in self.fields.items()}
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
    if set(map(type, values)) <= _STR_OR_NONE:
        # Plain text (ids, labels): only a newline needs replacing, and hardly ever is there one.
        joined = "".join(v for v in values if v is not None)
        if "\n" not in joined and "\r" not in joined:
            return values
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
    """Points of many measurements, encoded together or per owner."""

    def __init__(self) -> None:
        self._by_measurement: dict[str, _Columns] = {}
        self.rows = 0

    def add(self, point: Point, owner: int = 0) -> None:
        measurement, time_ns, tags, fields = point
        columns = self._by_measurement.get(measurement)
        if columns is None:
            columns = self._by_measurement[measurement] = _Columns(schema.MEASUREMENTS[measurement])
        columns.add(time_ns, tags, fields, owner)
        self.rows += 1

    def extend(self, points: Iterable[Point], owner: int = 0) -> None:
        for point in points:
            self.add(point, owner)

    def encode(self) -> bytes:
        return b"".join(c.encode() for c in self._by_measurement.values())

    def owners(self) -> set[int]:
        return {o for c in self._by_measurement.values() for o in c.owners}

    def encode_owner(self, owner: int) -> bytes:
        """Only the points of one owner (to find which message InfluxDB refused)."""
        parts = []
        for c in self._by_measurement.values():
            keep = np.asarray(c.owners) == owner
            if keep.any():
                parts.append(c.encode(keep))
        return b"".join(parts)

    def __len__(self) -> int:
        return self.rows
