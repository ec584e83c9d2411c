"""Device reading → contract message: recordings as JSON rows, identifier handling, refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from edge.intake import to_message
from telemetry.errors import ContractError, Reason

KEY = b"intake-test-key-0123456789abcdef"
TOPIC = "fwdev/v1/balance/balance-1"


def _balance(rows: object) -> bytes:
    return json.dumps(
        {
            "participant_id": "M1234567",
            "resident_number": "480312-2345678",
            "measured_at": "2026-05-12T01:30:00Z",
            "payload": {
                "stance": "tandem",
                "hold_time_s": 10.0,
                "recording": {
                    "fs_hz": 100.0,
                    "channels": ["cop_x", "cop_y"],
                    "units": ["mm", "mm"],
                    "rows": rows,
                },
            },
        }
    ).encode()


def test_json_rows_become_the_contract_float32_recording() -> None:
    t = np.arange(500) / 100.0
    rows = [[3 * math.sin(x), 5 * math.cos(x)] for x in t]
    message, member = to_message(TOPIC, _balance(rows), "gj-01", KEY)
    assert member == "M1234567"
    recording = message.payload.recording  # type: ignore[union-attr]
    assert recording is not None and recording.n_samples == 500
    decoded = np.frombuffer(recording.samples, dtype="<f4").reshape(500, 2)
    np.testing.assert_allclose(decoded, np.array(rows), rtol=1e-6, atol=1e-6)
    assert b"480312" not in message.model_dump_json().encode()


@pytest.mark.parametrize(
    "rows",
    [[[1.0, 2.0], [3.0]], [[1.0, "x"], [2.0, 3.0]], [[1e39, 0.0], [0.0, 0.0]], "not rows", []],
)
def test_bad_rows_are_refused_as_bad_recording(rows: object) -> None:
    with pytest.raises(ContractError) as error:
        to_message(TOPIC, _balance(rows), "gj-01", KEY)
    assert error.value.reason == Reason.BAD_RECORDING


def test_topic_and_reading_must_agree() -> None:
    document = json.loads(_balance([[0.0, 0.0], [1.0, 1.0]]))
    document["device_kind"] = "gait"
    with pytest.raises(ContractError, match="disagrees"):
        to_message(TOPIC, json.dumps(document).encode(), "gj-01", KEY)
    with pytest.raises(ContractError) as error:
        to_message("fwdev/v1/teleport/x-1", _balance([[0.0, 0.0]]), "gj-01", KEY)
    assert error.value.reason == Reason.UNKNOWN_DEVICE_KIND


def test_member_id_inside_a_visit_id_is_refused() -> None:
    document = json.loads(_balance([[0.0, 0.0], [1.0, 1.0]]))
    document["visit_id"] = "visit-M1234567-01"
    with pytest.raises(ContractError) as error:
        to_message(TOPIC, json.dumps(document).encode(), "gj-01", KEY)
    assert error.value.reason == Reason.IDENTIFIER_IN_TEXT
    assert "M1234567" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["payload"].update(hold_time_s="10.0"), "payload.hold_time_s"),
        (lambda d: d["payload"].update(hold_time_s=True), "payload.hold_time_s"),
        (lambda d: d["payload"].update(stance=3), "payload.stance"),
        (lambda d: d["payload"]["recording"].update(fs_hz="100"), "payload.recording.fs_hz"),
        (lambda d: d.update(measured_at=1778549400), "measured_at"),
        (lambda d: d.update(participant_id=1234567), "participant_id"),
        (lambda d: d.update(visit_id=None, note=17), "note"),
    ],
)
def test_a_device_value_of_the_wrong_type_is_refused_at_the_edge(change: object, path: str) -> None:
    """The edge judges a device's JSON as strictly as the gateway: refused, never coerced."""
    document = json.loads(_balance([[0.0, 0.0], [1.0, 1.0]]))
    change(document)  # type: ignore[operator]
    with pytest.raises(ContractError) as error:
        to_message(TOPIC, json.dumps(document).encode(), "gj-01", KEY)
    assert error.value.reason == Reason.WRONG_TYPE
    assert error.value.path == path
    assert "M1234567" not in str(error.value) and "480312" not in str(error.value)
