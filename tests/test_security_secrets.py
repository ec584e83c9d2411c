"""Secrets and identifiers never appear in the contract's error messages (DESIGN invariant 2)."""

from __future__ import annotations

import pytest

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
