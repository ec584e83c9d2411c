"""The cheap identifier check for ids gives exactly the answer of the full one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from telemetry.identifiers import find_identifier, find_identifier_in_id

# Ids built from the characters an id may hold, dense in digits and separators so resident and
# phone numbers (with and without separators) occur often, with or without word boundaries.
ID_CHARS = st.sampled_from("0123456789" * 4 + "0102-.:_" * 2 + "abcxyzABC")
EMBEDDED = st.sampled_from(
    ["480312-2345678", "4803122345678", "010-4821-7730", "01048217730", "02-123-4567", "031.123.4567"]
)


@st.composite
def ids(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.text(ID_CHARS, max_size=12) | EMBEDDED, min_size=1, max_size=5))
    return "".join(parts)[:64]


@given(ids())
def test_the_id_check_agrees_with_the_full_check(text: str) -> None:
    assert find_identifier_in_id(text) == find_identifier(text)


@given(st.text(max_size=40))
def test_text_that_is_not_id_shaped_gets_the_full_check(text: str) -> None:
    assert find_identifier_in_id(text) == find_identifier(text)


def test_typical_ids() -> None:
    assert find_identifier_in_id("e-3f2a9c0d1b7e4a5f8c6d2e1f0a9b8c7d12345678") is None
    assert find_identifier_in_id("visit-2026-05-12-0001") is None
    assert find_identifier_in_id("m-010-4821-7730") == "phone number"
    assert find_identifier_in_id("id4803122345678") is None  # no word boundary: not one, as before
    assert find_identifier_in_id("id-4803122345678") == "resident registration number"
