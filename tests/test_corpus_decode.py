"""The malformed corpus against the contract's decoder: each case refused with its specific reason.

``gateway``-stage cases must *pass* the decoder (they are valid messages on the wrong topic), so
the gateway's topic checks are the only thing standing between them and InfluxDB.
"""

from __future__ import annotations

from collections import Counter

import pytest

from telemetry import ContractError, Reason, decode, decode_batch
from tests.corpus import CASES, Case, good_messages

DECODE_CASES = [case for case in CASES if case.stage == "decode"]
GATEWAY_CASES = [case for case in CASES if case.stage == "gateway"]


def _refusal(case: Case) -> ContractError:
    with pytest.raises(ContractError) as caught:
        if case.channel == "batch":
            decode_batch(case.data)
        else:
            decode(case.data)
    return caught.value


def test_corpus_is_broad() -> None:
    """At least 50 distinct kinds, covering every family of hostile input the issue lists."""
    assert len({case.name for case in CASES}) == len(CASES) >= 50
    reasons = Counter(case.reason for case in CASES)
    for reason in (
        Reason.MALFORMED_JSON,
        Reason.NOT_FINITE,
        Reason.OUT_OF_RANGE,
        Reason.BAD_RECORDING,
        Reason.INVALID_UTF8,
        Reason.OVERSIZE,
        Reason.BAD_TIMESTAMP,
        Reason.UNKNOWN_DEVICE_KIND,
        Reason.SCHEMA_VERSION,
        Reason.IDENTIFIER_IN_TEXT,
        Reason.WRONG_TYPE,
        Reason.IMPERSONATION,
    ):
        assert reasons[reason] >= 1, f"no corpus case for {reason}"


@pytest.mark.parametrize("case", DECODE_CASES, ids=[case.name for case in DECODE_CASES])
def test_decoder_refuses_with_specific_reason(case: Case) -> None:
    error = _refusal(case)
    assert error.reason is case.reason, f"{case.name}: {error}"
    assert error.detail, "a refusal says why"
    # A bounded sentence, fit for a dead letter: never the whole (possibly 24 MB) input echoed back.
    assert len(str(error)) < 2000


@pytest.mark.parametrize("case", GATEWAY_CASES, ids=[case.name for case in GATEWAY_CASES])
def test_topic_level_attacks_pass_the_decoder(case: Case) -> None:
    """The contract cannot see the topic: these are valid messages the gateway must catch."""
    if case.channel == "batch":
        result = decode_batch(case.data)
        assert result.errors == [] and result.messages
    else:
        decode(case.data)


def test_refusal_names_the_field() -> None:
    by_name = {case.name: case for case in CASES}
    assert _refusal(by_name["systolic_900"]).path == "payload.systolic_mmhg"
    assert _refusal(by_name["sampling_rate_zero"]).path == "payload.recording.fs_hz"
    assert _refusal(by_name["note_phone_number"]).path == "note"


def test_refusal_does_not_echo_identifiers() -> None:
    """A dead letter's detail is built from the error: it must not carry the identifier it caught."""
    for case in CASES:
        if case.reason is Reason.IDENTIFIER_IN_TEXT or "resident" in case.name:
            text = str(_refusal(case))
            for fragment in ("480312", "2345678", "4821-7730", "kim.younghee"):
                assert fragment not in text, f"{case.name} echoes an identifier: {text}"


def test_good_messages_decode() -> None:
    """The interleaved good traffic the gateway tests use is valid, with distinct ids."""
    messages = good_messages(50)
    ids = {decode(data).message_id for _, data, _ in messages}
    assert len(ids) == 50
