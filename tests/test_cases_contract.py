"""The case-event wire model: events carry what their kind needs, ids and free text are checked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from telemetry import codec, topics
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, Evidence

AT = datetime(2026, 5, 4, 1, 30, tzinfo=UTC)


def _event(**over: Any) -> CaseEvent:
    base: dict[str, Any] = {
        "event_id": "0" * 24,
        "case_id": "case-" + "a" * 20,
        "participant": "f" * 32,
        "domain": "mobility",
        "event": "opened",
        "state": "open",
        "severity": "warning",
        "at": AT,
        "processed_at": AT,
        "station_id": "nam-01",
        "visit_id": "visit-0001",
        "evidence": Evidence(rule="cusum", statistic=6.1, threshold=5.0, detail="composite z"),
    }
    base.update(over)
    return CaseEvent.model_validate(base)


def test_an_opened_event_round_trips_through_the_codec() -> None:
    event = _event()
    again = CaseEvent.model_validate_json(codec.encode(event))
    assert again == event
    assert again.event is CaseEventKind.OPENED and again.state is CaseState.OPEN


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"evidence": None}, "evidence"),
        ({"event": "resolved", "state": "resolved", "reason": None, "evidence": None}, "reason"),
        (
            {"event": "acknowledged", "state": "acknowledged", "reason": "recovered", "evidence": None},
            "reason",
        ),
        ({"event": "acknowledged", "state": "resolved", "evidence": None}, "resolved"),
        ({"event": "assigned", "state": "open", "evidence": None}, "assignee"),
        ({"event": "prescribed", "state": "acknowledged", "evidence": None}, "prescription"),
        ({"event": "follow_up_set", "state": "acknowledged", "evidence": None}, "date"),
    ],
)
def test_an_event_missing_what_its_kind_needs_is_refused(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _event(**over)


def test_actions_carry_their_own_fields() -> None:
    resolved = _event(
        event="resolved", state="resolved", reason="not_confirmed", evidence=None, actor="kim.s"
    )
    follow = _event(event="follow_up_set", state="acknowledged", evidence=None, follow_up_on=date(2026, 6, 1))
    assert resolved.reason is not None and follow.follow_up_on == date(2026, 6, 1)


@pytest.mark.parametrize(
    "over",
    [
        {"note": "call 010-1234-5678"},
        {"actor": "01012345678"},
        {"case_id": "case-xyz"},
        {"event_id": "not-hex"},
        {"participant": "880101-1234567"},
    ],
)
def test_identifiers_and_malformed_ids_are_refused(over: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _event(**over)


def test_case_topics_are_under_the_station_prefix() -> None:
    assert topics.case_actions("nam-01") == "fw/v1/nam-01/cases"
    assert topics.results("nam-01") == "fw/v1/nam-01/results"
    assert topics.case_alert("nam-01") == "fw/v1/alerts/cases/nam-01"
    assert topics.parse(topics.case_actions("nam-01")).channel == "cases"
    with pytest.raises(ValueError):
        topics.parse("fw/v1/nam-01/cases/extra")
