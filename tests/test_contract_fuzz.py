"""Hypothesis: whatever bytes arrive, the codec answers with a message or a ContractError."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from telemetry import ContractError, decode, decode_batch, encode, encode_batch
from telemetry.examples import example_messages

SEEDS = [json.loads(encode(m)) for m in example_messages().values()]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _decode_only_contract_errors(data: bytes) -> None:
    try:
        decode(data)
    except ContractError as error:
        assert error.reason.value and isinstance(error.detail, str)


@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _decode_only_contract_errors(data)
    with contextlib.suppress(ContractError):
        decode_batch(data)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            out += _paths(value, (*prefix, index))
    return out


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    document = json.loads(json.dumps(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)[1:]))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(JSON_VALUES)
    raw = json.dumps(document, allow_nan=True).encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=8))
    return raw


@given(mutated_messages())
def test_mutated_valid_messages(data: bytes) -> None:
    _decode_only_contract_errors(data)


@given(st.lists(st.sampled_from(list(example_messages().values())), min_size=1, max_size=5), st.data())
def test_mutated_batches(messages: list[Any], data: st.DataObject) -> None:
    document = json.loads(encode_batch("gj-01", messages))
    index = data.draw(st.integers(0, len(messages) - 1))
    document["messages"][index] = data.draw(JSON_VALUES)
    try:
        result = decode_batch(json.dumps(document).encode())
    except ContractError:
        return
    assert len(result.messages) + len(result.errors) == len(messages)
