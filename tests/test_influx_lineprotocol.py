"""Line protocol: exact bytes for the escaping rules, refusals, equality with the naive per-point
encoder (hypothesis), and round trips through the real InfluxDB (what we encode, /query gives back)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.influx.lineprotocol import LineProtocolError, count_lines, encode, encode_point
from gateway.influx.reference import encode_rows
from tests.conftest import InfluxTestDB

T0 = 1_747_000_000_000_000_000


def test_escaping_rules_exact_bytes() -> None:
    body = encode(
        "gait features,v2",
        np.array([T0, T0 + 1]),
        {"station_id": "gj 01", "participant": ["p,1", "a=b"]},
        {"speed m/s": np.array([1.25, 0.1]), "steps": np.array([12, -3]), "note": ['say "hi" \\o/', "é"]},
    )
    assert body == (
        b"gait\\ features\\,v2,participant=p\\,1,station_id=gj\\ 01 "
        b'speed\\ m/s=1.25,steps=12i,note="say \\"hi\\" \\\\o/" 1747000000000000000\n'
        b"gait\\ features\\,v2,participant=a\\=b,station_id=gj\\ 01 "
        b'speed\\ m/s=0.1,steps=-3i,note="\xc3\xa9" 1747000000000000001\n'
    )


def test_absent_values_nan_none_empty_tag_and_dropped_lines() -> None:
    body = encode(
        "m",
        [1, 2, 3],
        {"a": ["x", "", None]},
        {"f": np.array([np.nan, 2.0, np.nan]), "s": [None, None, None], "b": [True, None, None]},
    )
    # line 3 has no field left, so it is not written at all (InfluxDB would reject it)
    assert body == b"m,a=x b=true 1\nm f=2.0 2\n"
    assert count_lines(body) == 2


def test_float_formatting_is_shortest_round_trip() -> None:
    values = np.array([0.1, 1e-7, 1e16, 123456789.0, -0.0, 5e-324, 1.7976931348623157e308, 2.0 / 3])
    body = encode("m", np.arange(len(values)), {}, {"x": values}).decode()
    texts = [line.split(" ")[1].removeprefix("x=") for line in body.splitlines()]
    assert texts == [repr(float(v)) for v in values]
    assert [float(t) for t in texts] == values.tolist()


def test_dtypes_and_time_forms() -> None:
    t = np.array(["2026-05-12T10:00:00", "2026-05-12T10:00:01"], dtype="datetime64[s]")
    body = encode(
        "m",
        t,
        {},
        {
            "f32": np.array([0.5, 1.5], dtype=np.float32),
            "u8": np.array([1, 255], dtype=np.uint8),
            "b": np.array([True, False]),
            "mixed": [1, 2.5],  # ints and floats in one list are floats
        },
    )
    ns = int(np.datetime64("2026-05-12T10:00:00", "ns").astype(np.int64))
    assert (
        body
        == (
            f"m f32=0.5,u8=1i,b=true,mixed=1.0 {ns}\nm f32=1.5,u8=255i,b=false,mixed=2.5 {ns + 10**9}\n"
        ).encode()
    )


def test_encode_point_matches_encode_and_empty_point() -> None:
    assert encode_point("m", 5, {"s": "a"}, {"x": 1, "y": 2.5, "z": None}) == b"m,s=a x=1i,y=2.5 5\n"
    assert encode_point("m", 5, {"s": "a"}, {"x": None, "y": math.nan}) == b""
    assert encode("m", np.array([], dtype=np.int64), {}, {"x": np.array([])}) == b""


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "message"),
    [
        ("", {}, {"x": [1.0]}, "measurement is empty"),
        ("#m", {}, {"x": [1.0]}, "comment"),
        ("m", {"a\nb": "x"}, {"x": [1.0]}, "newline"),
        ("m", {"a": "x\\"}, {"x": [1.0]}, "backslash"),
        ("m", {"a": "x\ty"}, {"x": [1.0]}, "control character"),
        ("m\x00", {}, {"x": [1.0]}, "control character"),
        ("m", {"time": "x"}, {"x": [1.0]}, "reserved"),
        ("m", {}, {"time": [1.0]}, "reserved"),
        ("m", {}, {"x": ["a\nb"]}, "newline"),
        ("m", {}, {"x": [math.inf]}, "infinite"),
        ("m", {}, {"x": np.array([-np.inf])}, "infinite"),
        ("m", {}, {"x": [2**63]}, "int64"),
        ("m", {}, {"x": np.array([2**64 - 1], dtype=np.uint64)}, "int64"),
        ("m", {}, {"x": ["a", 1]}, "mixes"),
        ("m", {}, {"x": [object()]}, "unsupported type"),
        ("m", {}, {"x": [1.0, 2.0]}, "2 values for 1 timestamps"),
        ("m", {"a": ["x", "y"]}, {"x": [1.0]}, "2 values for 1 timestamps"),
        ("m", {"a": [3]}, {"x": [1.0]}, "not str"),
        ("m", {"x": "a"}, {"x": [1.0]}, "both a tag and a field"),
        ("m", {}, {}, "no fields"),
        ("m", {}, {"x": np.ones((1, 2))}, "one-dimensional"),
        ("m", {}, {"x": "abc"}, "not a single string"),
        ("m", {}, {"x": ["\ud800"]}, "not valid Unicode"),
    ],
)
def test_refusals_are_specific(measurement: str, tags: Any, fields: Any, message: str) -> None:
    with pytest.raises(LineProtocolError, match=message):
        encode(measurement, np.array([T0]), tags, fields)


def test_bad_timestamps_refused() -> None:
    with pytest.raises(LineProtocolError, match="integer nanoseconds"):
        encode("m", np.array([1.5]), {}, {"x": [1.0]})
    with pytest.raises(LineProtocolError, match="NaT"):
        encode("m", np.array(["NaT"], dtype="datetime64[ns]"), {}, {"x": [1.0]})
    with pytest.raises(LineProtocolError, match="one-dimensional"):
        encode("m", np.array([[1]]), {}, {"x": [1.0]})
    with pytest.raises(LineProtocolError, match="integer nanoseconds"):
        encode_point("m", 1.5, {}, {"x": 1.0})  # type: ignore[arg-type]


def test_unhashable_tag_value_refused() -> None:
    with pytest.raises(LineProtocolError, match="not a string"):
        encode("m", [1], {"a": [["x"]]}, {"x": [1.0]})  # type: ignore[list-item]


# --- property tests --------------------------------------------------------------------------------------

_NAME_CHARS = st.characters(
    exclude_categories=["Cs", "Cc"], exclude_characters="\\", min_codepoint=32, max_codepoint=0x2FFF
)
names = st.text(_NAME_CHARS, min_size=1, max_size=8).filter(lambda s: s != "time" and not s.startswith("#"))
string_values = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\r", max_codepoint=0x2FFF),
    max_size=12,
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[str, np.ndarray, dict[str, Any], dict[str, Any]]:
    n = draw(st.integers(1, 6))
    keys = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    n_tags = draw(st.integers(0, len(keys) - 1))
    tag_keys, field_keys = keys[:n_tags], keys[n_tags:]
    tags: dict[str, Any] = {}
    for key in tag_keys:
        if draw(st.booleans()):
            tags[key] = draw(names)
        else:
            tags[key] = draw(st.lists(st.one_of(st.none(), st.just(""), names), min_size=n, max_size=n))
    fields: dict[str, Any] = {}
    for key in field_keys:
        kind = draw(st.sampled_from(["float", "float_nan", "int", "bool", "str", "list_float"]))
        if kind == "float":
            fields[key] = np.array(draw(st.lists(finite_floats, min_size=n, max_size=n)))
        elif kind == "float_nan":
            fields[key] = np.array(
                draw(st.lists(st.one_of(finite_floats, st.just(math.nan)), min_size=n, max_size=n))
            )
        elif kind == "int":
            fields[key] = np.array(draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)))
        elif kind == "bool":
            fields[key] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        elif kind == "str":
            fields[key] = draw(st.lists(st.one_of(st.none(), string_values), min_size=n, max_size=n))
        else:
            fields[key] = draw(st.lists(st.one_of(st.none(), finite_floats), min_size=n, max_size=n))
    measurement = draw(names)
    times = np.array(sorted(draw(st.sets(st.integers(0, 2**62), min_size=n, max_size=n))), dtype=np.int64)
    return measurement, times, tags, fields


@given(point_sets())
def test_vectorised_equals_naive_reference(
    case: tuple[str, np.ndarray, dict[str, Any], dict[str, Any]],
) -> None:
    measurement, times, tags, fields = case
    assert encode(measurement, times, tags, fields) == encode_rows(measurement, times, tags, fields)


@given(point_sets())
def test_encode_point_equals_encode_row_by_row(
    case: tuple[str, np.ndarray, dict[str, Any], dict[str, Any]],
) -> None:
    measurement, times, tags, fields = case
    for i, t in enumerate(times.tolist()):
        row_tags = {k: v if isinstance(v, str) else v[i] for k, v in tags.items()}
        row_fields = {k: v[i] for k, v in fields.items()}
        one = encode(
            measurement, [t], {k: [v] for k, v in row_tags.items()}, {k: [v] for k, v in row_fields.items()}
        )
        assert encode_point(measurement, t, row_tags, row_fields) == one


_measurements = itertools.count()


def _expected_rows(
    times: np.ndarray, tags: dict[str, Any], fields: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for i, t in enumerate(times.tolist()):
        row: dict[str, Any] = {}
        for key, values in fields.items():
            value = values[i]
            value = value.item() if isinstance(value, np.generic) else value
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            row[key] = value
        if not row:
            continue  # dropped: no fields
        for key, values in tags.items():
            value = values if isinstance(values, str) else values[i]
            if value:
                row[key] = value
        rows[t] = row
    return rows


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, float) and not isinstance(expected, bool):
        return isinstance(got, int | float) and not isinstance(got, bool) and float(got) == expected
    return bool(type(expected) is type(got) and expected == got)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=point_sets())
def test_round_trip_through_real_influxdb(
    influxdb: InfluxTestDB, case: tuple[str, np.ndarray, dict[str, Any], dict[str, Any]]
) -> None:
    measurement, times, tags, fields = case
    measurement = (
        f"{measurement}_{next(_measurements)}"  # fresh measurement: no type conflicts between examples
    )
    body = encode(measurement, times, tags, fields)
    expected = _expected_rows(times, tags, fields)
    if not expected:
        assert body == b""
        return
    influxdb.write(body)
    quoted = measurement.replace('"', '\\"')
    got = {row.pop("time"): row for row in influxdb.rows(f'SELECT * FROM "{quoted}"')}
    assert set(got) == set(expected)
    for t, row in expected.items():
        present = {k: v for k, v in got[t].items() if v is not None and not (k in tags and v == "")}
        assert set(present) == set(row), (t, present, row)
        for key, value in row.items():
            assert _same(value, present[key]), (key, value, present[key])


def test_redelivered_point_overwrites_itself(influxdb: InfluxTestDB) -> None:
    body = encode(
        "grip", np.array([T0]), {"station_id": "gj-01", "participant": "p1"}, {"grip_max_kg": [27.5]}
    )
    influxdb.write(body)
    influxdb.write(body)
    rows = influxdb.rows('SELECT * FROM "grip"')
    assert len(rows) == 1 and rows[0]["grip_max_kg"] == 27.5
