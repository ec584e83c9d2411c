"""Follow-up at the station (edge.page.followup): a case is followed up once resolved or once the
participant came back on or after its follow-up date; overdue once that date passed without such a
visit; and the agent's heartbeat carries the same counts the page shows (the clinical dashboard
reads them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.agent import EdgeAgent
from edge.case_actions import LocalCase
from edge.page.followup import counts, followed_up, funnel, overdue
from edge.settings import EdgeSettings
from telemetry import codec, topics
from telemetry.cases import CaseState, Domain, ResolveReason, SocialPrescription
from telemetry.pseudonym import pseudonymise
from tests._station_support import MEMBER, device_documents, open_case, visit_result, visit_start

SEOUL = ZoneInfo("Asia/Seoul")
TODAY = dt.date(2026, 12, 2)
NOON = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(SEOUL).date()


def _case(n: int, **fields: object) -> LocalCase:
    base = LocalCase(
        case_id=f"case-{n:020d}",
        participant=f"{n:032x}",
        domain=Domain.MOBILITY,
        state=CaseState.ACKNOWLEDGED,
        severity="warning",
        opened_at=NOON - dt.timedelta(days=60),
        updated_at=NOON - dt.timedelta(days=40),
        prescription=SocialPrescription(programme="exercise"),
        prescribed_at=NOON - dt.timedelta(days=40),
        follow_up_on=TODAY - dt.timedelta(days=10),
        follow_up_set_at=NOON - dt.timedelta(days=40),
    )
    return LocalCase(**{**{f: getattr(base, f) for f in base.__slots__}, **fields})  # type: ignore[arg-type]


# (what, the case, the participant's latest visit, followed up, overdue)
CASES = [
    ("came back after the date", _case(1), NOON - dt.timedelta(days=5), True, False),
    (  # 00:30 in Seoul on the date, still the day before in UTC: the station-local day counts
        "came back on the date",
        _case(2),
        dt.datetime(2026, 11, 21, 15, 30, tzinfo=dt.UTC),
        True,
        False,
    ),
    # 23:00 in Seoul the day before the date (the same UTC day as case 2's visit): not yet.
    ("came back the evening before", _case(3), dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC), False, True),
    ("came back before the date only", _case(4), NOON - dt.timedelta(days=20), False, True),
    ("never came back", _case(5), None, False, True),
    ("resolved", _case(6, state=CaseState.RESOLVED, reason=ResolveReason.EXPLAINED), None, True, False),
    ("date not reached", _case(7, follow_up_on=TODAY + dt.timedelta(days=3)), None, False, False),
    ("no date, not linked", _case(8, follow_up_on=None, prescription=None), None, False, False),
    (
        "date set during this visit",
        _case(9, follow_up_on=TODAY, follow_up_set_at=NOON, updated_at=NOON),
        NOON - dt.timedelta(minutes=20),
        False,
        False,
    ),
]


@pytest.mark.parametrize(("what", "case", "last", "done", "late"), CASES, ids=[c[0] for c in CASES])
def test_followed_up_and_overdue(
    what: str, case: LocalCase, last: dt.datetime | None, done: bool, late: bool
) -> None:
    def last_visit(_participant: str) -> dt.datetime | None:
        return last

    assert followed_up(case, last_visit, local_day) is done
    assert bool(overdue([case], last_visit, TODAY, local_day)) is late


def test_the_funnel_counts_linked_and_followed_up_cases() -> None:
    latest = {c.participant: last for _, c, last, _, _ in CASES}
    cases = [c for _, c, _, _, _ in CASES]
    result = counts(cases, latest.get, TODAY, local_day)
    assert result.funnel == funnel(cases, latest.get, local_day)
    assert (result.funnel.opened, result.funnel.linked) == (9, 8)
    assert result.funnel.followed_up == 3  # after the date, on the date, resolved
    assert (
        result.overdue == 3
        and [o.days_overdue for o in overdue(cases, latest.get, TODAY, local_day)] == [10] * 3
    )


def test_the_heartbeat_carries_the_pages_counts(tmp_path: Path) -> None:
    key = "station-followup-key-0123456789"
    settings = EdgeSettings(station_id="gj-01", spool_dir=tmp_path, pseudonym_key=key)  # type: ignore[arg-type]
    agent = EdgeAgent(settings)
    try:
        beat = agent.heartbeat()
        assert (beat.cases_opened, beat.cases_linked, beat.cases_followed_up, beat.overdue_follow_ups) == (
            0,
            0,
            0,
            0,
        )
        at = visit_start()
        for topic, document in device_documents(at):
            assert agent.accept(topic, json.dumps(document).encode())
        # A participant with a case whose follow-up date passed 5 days ago, last seen 20 days ago.
        other = pseudonymise(key.encode(), "M-30001")
        long_ago = at - dt.timedelta(days=20)
        stale = open_case(other, long_ago).model_copy(
            update={
                "case_id": "case-" + "4" * 20,
                "prescription": SocialPrescription(programme="nutrition"),
                "prescribed_at": long_ago + dt.timedelta(days=1),
                "follow_up_on": dt.date.today() - dt.timedelta(days=5),
                "follow_up_set_at": long_ago + dt.timedelta(days=1),
                "updated_at": long_ago + dt.timedelta(days=1),
            }
        )
        result = visit_result(key.encode(), long_ago, cases=False)
        agent.station_store.put_result(
            result.model_copy(update={"participant": other, "open_cases": [stale]})
        )
        ours = visit_result(key.encode(), at)
        assert agent.downlink.accept(topics.results("gj-01"), codec.encode(ours))
        beat = agent.heartbeat()
        assert (beat.cases_opened, beat.cases_linked, beat.cases_followed_up, beat.overdue_follow_ups) == (
            2,
            1,
            0,
            1,
        )
        assert pseudonymise(key.encode(), MEMBER) == ours.participant
        # Unchanged store: the counts are not recomputed (the same object comes back).
        assert agent.follow_up_counts() is agent.follow_up_counts()
    finally:
        agent.spool.close()
        agent.station_store.close()
        agent.pseudonyms.close()
