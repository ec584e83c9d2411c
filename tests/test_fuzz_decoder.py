"""Hypothesis fuzzing of the decoder, seeded by the malformed corpus and aimed at raw recordings.

The contract's own fuzz tests (test_contract_fuzz.py) mutate valid examples; these start from the
hostile corpus (splices, byte flips, repeated cases) and from recordings built field by field, and
check more than "no exception escapes": a refusal carries a known reason and a bounded sentence,
and whatever is accepted really satisfies the contract (finite numbers, consistent recording shape,
timestamps in bounds, and it survives encode → decode unchanged).

CI runs the ``ci`` profile (300 cases per test); ``HYPOTHESIS_PROFILE=fuzz`` runs 10 000 per test.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import example as hypothesis_example
from hypothesis import given
from hypothesis import strategies as st

from telemetry import ContractError, Reason, decode, decode_batch, encode
from telemetry.envelope import EARLIEST_MEASUREMENT, MAX_CLOCK_AHEAD
from telemetry.recording import MAX_VALUES
from tests.corpus import CASES, example

CORPUS = [case.data for case in CASES if len(case.data) < 1_000_000]
KNOWN_REASONS = frozenset(Reason)


def _check(data: bytes) -> None:
    """Decode; a refusal must be a ContractError with a known reason, an acceptance a valid message."""
    try:
        message = decode(data)
    except ContractError as error:
        assert error.reason in KNOWN_REASONS
        assert 0 < len(str(error)) < 4096, "a refusal is one bounded sentence"
        return
    assert EARLIEST_MEASUREMENT <= message.measured_at <= datetime.now(UTC) + MAX_CLOCK_AHEAD
    recording = getattr(message.payload, "recording", None)
    if recording is not None:
        values = recording.as_array()
        assert values.shape == (recording.n_samples, len(recording.channels))
        assert np.isfinite(values).all() and recording.fs_hz > 0
    for value in message.payload.model_dump().values():
        if isinstance(value, float):
            assert math.isfinite(value)
    assert decode(encode(message)) == message, "accepted messages round-trip"


@given(st.sampled_from(CORPUS), st.sampled_from(CORPUS), st.integers(0, 4096), st.integers(0, 4096))
def test_corpus_splices(first: bytes, second: bytes, cut_a: int, cut_b: int) -> None:
    _check(first[: cut_a % (len(first) + 1)] + second[cut_b % (len(second) + 1) :])


@given(st.sampled_from(CORPUS), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6))
def test_corpus_byte_flips(data: bytes, flips: list[tuple[int, int]]) -> None:
    buffer = bytearray(data)
    for position, value in flips:
        if buffer:
            buffer[position % len(buffer)] = value
    _check(bytes(buffer))


FLOAT32_BYTES = st.binary(min_size=0, max_size=512)
FS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 5000),
    st.text(max_size=6),
    st.none(),
)


@st.composite
def recordings(draw: st.DrawFn) -> dict[str, Any]:
    channels = draw(
        st.lists(st.sampled_from(["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z", "x"]), max_size=8)
    )
    units = draw(st.lists(st.sampled_from(["m/s^2", "deg/s", "", "mm"]), max_size=8))
    if draw(st.booleans()):
        units = ["m/s^2"] * len(channels)
    n_samples = draw(st.one_of(st.integers(-2, 40), st.just(MAX_VALUES + 1), st.floats()))
    if draw(st.booleans()) and isinstance(n_samples, int) and 0 <= n_samples <= 40 and channels:
        # Often the right byte count, so shape checks pass and the sample values get fuzzed too.
        values = draw(
            st.lists(
                st.floats(width=32), min_size=n_samples * len(channels), max_size=n_samples * len(channels)
            )
        )
        samples: Any = base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()
    else:
        samples = draw(
            st.one_of(FLOAT32_BYTES.map(lambda b: base64.b64encode(b).decode()), st.text(max_size=20))
        )
    return {
        "fs_hz": draw(FS),
        "channels": channels,
        "units": units,
        "n_samples": n_samples,
        "samples": samples,
    }


@given(recordings())
@hypothesis_example(
    {"fs_hz": 0, "channels": ["acc_x"], "units": ["g"], "n_samples": 2, "samples": "AAAAAAAAAAA="}
)
def test_gait_recordings(recording: dict[str, Any]) -> None:
    document = example("gait")
    document["payload"]["recording"] = recording
    _check(json.dumps(document, allow_nan=True).encode())


TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat()),
    st.integers(-(1 << 40), 1 << 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)


@given(TIMESTAMPS)
def test_measured_at(value: Any) -> None:
    document = example("vitals")
    document["measured_at"] = value
    _check(json.dumps(document, allow_nan=True).encode())


@given(st.lists(st.sampled_from([c for c in CORPUS if len(c) < 20_000]), min_size=1, max_size=8))
def test_batches_of_corpus_messages(items: list[bytes]) -> None:
    """A batch of hostile messages: each is accounted for, as a message or an error at its index."""
    decoded_items: list[Any] = []
    for item in items:
        try:
            decoded_items.append(json.loads(item))
        except (ValueError, RecursionError):
            decoded_items.append(item.decode("utf-8", "replace"))
    batch = json.dumps({"message_type": "batch", "station_id": "gj-01", "messages": decoded_items}).encode()
    try:
        result = decode_batch(batch)
    except ContractError as error:
        assert error.reason in KNOWN_REASONS
        return
    assert len(result.messages) + len(result.errors) == len(items)
    assert sorted(index for index, _ in result.errors) == [index for index, _ in result.errors]
