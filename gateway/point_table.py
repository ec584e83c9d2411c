"""Points on their way to InfluxDB: a :class:`PointTable` of many measurements, encoded column-wise.

A :data:`Point` is (measurement, time ns, tags, fields), named by :mod:`gateway.influx_schema`. The table
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

from gateway import influx_schema
from gateway.influx.lineprotocol import encode

Point = tuple[str, int, dict[str, str], dict[str, Any]]  # measurement, time ns, tags, fields

_NAN = math.nan
_STR_OR_NONE = {str, type(None)}


@dataclass
class _Columns:
    """One measurement's points, kept as rows and turned into columns when encoded: a column is
    one list comprehension over the rows then, instead of appending and padding every column for
    every point as it arrives."""

    spec: influx_schema.Measurement
    times: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    tag_rows: list[Mapping[str, str]] = field(default_factory=list)
    field_rows: list[Mapping[str, Any]] = field(default_factory=list)
    tag_keys: dict[str, None] = field(default_factory=dict)  # in order of first appearance
    field_keys: dict[str, None] = field(default_factory=dict)

    def add(self, time_ns: int, tags: Mapping[str, str], fields: Mapping[str, Any], owner: int) -> None:
        self.times.append(time_ns)
        self.owners.append(owner)
        self.tag_rows.append(tags)
        self.field_rows.append(fields)
        self.tag_keys.update(dict.fromkeys(tags))
        self.field_keys.update(dict.fromkeys(fields))

    def encode(self, keep: np.ndarray | None = None) -> bytes:
        times, tag_rows, field_rows = self.times, self.tag_rows, self.field_rows
        if keep is not None:
            chosen = np.flatnonzero(keep).tolist()
            times = [times[i] for i in chosen]
            tag_rows = [tag_rows[i] for i in chosen]
            field_rows = [field_rows[i] for i in chosen]
        tags: dict[str, Any] = {key: [row.get(key) for row in tag_rows] for key in self.tag_keys}
        fields: dict[str, Any] = {}
        for key in self.field_keys:
            values = [row.get(key) for row in field_rows]
            if any(v is not None for v in values):
                fields[key] = _typed(self.spec, key, values)
        if not fields or not times:
            return b""
        return encode(self.spec.name, np.asarray(times, dtype=np.int64), tags, fields)


def _typed(spec: influx_schema.Measurement, key: str, values: list[Any]) -> np.ndarray | list[Any]:
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
            columns = self._by_measurement[measurement] = _Columns(influx_schema.MEASUREMENTS[measurement])
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
