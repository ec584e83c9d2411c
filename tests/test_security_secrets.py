"""Secrets and identifiers never appear in the contract's error messages (architecture: "Pseudonyms only")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry import ContractError, decode
from telemetry.pseudonym import PSEUDONYM_RE, pseudonymise
from tests.corpus import EMAIL, PHONE_NUMBER, RESIDENT_NUMBER, mutated

KEY = b"frailwatch-drill-hmac-key-0123456789"


def test_short_key_error_does_not_echo_the_key_or_identifier() -> None:
    short = b"k3y-Sh0rt"
    with pytest.raises(ValueError) as caught:
        pseudonymise(short, RESIDENT_NUMBER)
    text = str(caught.value)
    assert short.decode() not in text and RESIDENT_NUMBER not in text


def test_pseudonym_carries_nothing_of_the_identifier() -> None:
    pseudonym = pseudonymise(KEY, RESIDENT_NUMBER)
    assert PSEUDONYM_RE.fullmatch(pseudonym)
    digits = RESIDENT_NUMBER.replace("-", "")
    assert all(digits[i : i + 6] not in pseudonym for i in range(len(digits) - 5))
    assert pseudonymise(KEY, RESIDENT_NUMBER.replace("-", "")) == pseudonym, "one person, one pseudonym"
    assert pseudonymise(KEY[::-1], RESIDENT_NUMBER) != pseudonym, "another key, another pseudonym"


ID_FIELDS = ["visit_id", "message_id", "device_id", "station_id"]


def _cases() -> list[object]:
    # Ids were once a hole (their patterns accept digits and hyphens, so a resident or phone number
    # fit); every field is now checked the same way.
    return [
        pytest.param(field, identifier, id=f"{field}-{identifier}")
        for field in ["note", "participant", *ID_FIELDS]
        for identifier in [RESIDENT_NUMBER, PHONE_NUMBER, EMAIL]
    ]


@pytest.mark.parametrize(("field", "identifier"), _cases())
def test_identifiers_are_refused_and_not_echoed(field: str, identifier: str) -> None:
    """Whatever field an identifier is smuggled into, it is refused, and the refusal (which becomes
    a dead letter and a log line) does not repeat it."""
    with pytest.raises(ContractError) as caught:
        decode(mutated("vitals", field, identifier))
    assert identifier not in str(caught.value)
    assert identifier.replace("-", "") not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["010-4821-7730", "01048217730", "02-123-4567", "031 234 5678", "+82 10 4821 7730", "480312-2345678"],
)
def test_identifier_shapes_are_found(text: str) -> None:
    from telemetry.identifiers import find_identifier

    assert find_identifier(f"call {text} today") is not None


@pytest.mark.parametrize(
    "message_id",
    [
        "soak-0000012345",  # zero-padded counters
        "dev-vitals-1-000042",
        "gait-00000007",
        "m-1763912345678",  # epoch milliseconds: not a calendar date in the resident-number shape
        "e-af0258e08f31853e2dc23557208fb005e1e8056a",
        "3f2a9c1e-0123-4567-89ab-0123456789ab",
    ],
)
def test_ordinary_ids_are_not_taken_for_identifiers(message_id: str) -> None:
    """Ids get the identifier check too, so common id shapes must pass it."""
    decoded = decode(mutated("vitals", "message_id", message_id))
    assert decoded.message_id == message_id


@given(st.text(alphabet="ab1.+-@_ 가x", max_size=40))
def test_email_detection_is_unchanged_by_the_run_start_anchor(text: str) -> None:
    """The anchored e-mail pattern (linear on long ids) finds an address exactly when the plain one did."""
    import re

    from telemetry.identifiers import _PATTERNS

    plain = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
    assert bool(_PATTERNS["e-mail address"].search(text)) == bool(plain.search(text))
