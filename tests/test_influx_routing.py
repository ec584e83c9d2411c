"""`gateway.influx.routing.split_by_policy` against the obvious per-line grouping (hypothesis), and
its refusal of names it cannot route; where the points then land on a real InfluxDB is
tests/test_influx_writer.py's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.influx.routing import split_by_policy
from gateway.influx_schema import NON_DEFAULT_POLICIES

POLICIES = {"station_heartbeat": "ops", "gateway_stats": "ops", "imu_raw": "raw"}
NAMES = [*POLICIES, "vitals", "station_heartbeats", "gateway", "a\\,b", "gait_features", "imu_raw_1m"]


def _reference(body: bytes, policies: dict[str, str]) -> dict[str | None, list[bytes]]:
    groups: dict[str | None, list[bytes]] = {}
    for line in body.split(b"\n"):
        if not line:
            continue
        name, i = b"", 0
        while i < len(line) and line[i : i + 1] not in (b",", b" "):  # an escaped separator stays in the name
            step = 2 if line[i : i + 1] == b"\\" else 1
            name += line[i : i + step]
            i += step
        groups.setdefault(policies.get(name.decode()), []).append(line)
    return groups


line = st.builds(
    lambda name, sep, n: f"{name}{sep}{'tag=x ' if sep == ',' else ''}v={n}i {n}".encode(),
    st.sampled_from(NAMES),
    st.sampled_from([",", " "]),
    st.integers(0, 10**6),
)


@given(st.lists(line, max_size=40), st.booleans())
def test_split_equals_the_per_line_grouping(lines: list[bytes], final_newline: bool) -> None:
    body = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    parts = split_by_policy(body, POLICIES)
    expected = _reference(body, POLICIES)
    assert {p: b.splitlines() for p, b in parts} == expected or (not expected and parts == [(None, body)])
    assert len({p for p, _ in parts}) == len(parts), "one part per policy"
    if set(expected) <= {None}:
        assert parts == [(None, body)], "nothing routed: the body comes back whole"
    else:
        assert all(b.endswith(b"\n") for _, b in parts)


def test_the_schema_routes_only_operational_measurements() -> None:
    body = (
        b"vitals,station_id=a v=1i 1\nstation_heartbeat,station_id=a u=1i 2\n"
        b"dead_letter,station_id=a s=1i 3\n"
    )
    assert split_by_policy(body, NON_DEFAULT_POLICIES) == [
        (None, b"vitals,station_id=a v=1i 1\ndead_letter,station_id=a s=1i 3\n"),
        ("ops", b"station_heartbeat,station_id=a u=1i 2\n"),
    ]


@pytest.mark.parametrize("name", ["a,b", "a b", "a\\b", ""])
def test_a_name_that_cannot_be_routed_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="plain name"):
        split_by_policy(b"x v=1i 1\n", {name: "ops"})
