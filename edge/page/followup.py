"""Follow-up at the station: who is overdue, and how this station's cases move from opened to
linked to followed up. Pure functions over the cases and visits the station store knows; the page
shows them and the agent's heartbeat reports the same counts to the centre (the clinical dashboard).

- **Followed up**: the case was resolved, or the participant came back on or after its follow-up
  date (station-local day) — a visit after the follow-up was set, at any station this station
  knows of (its own readings, and the visits listed in the histories of its results).
- **Overdue**: an open case whose follow-up date has passed and that is not followed up.
- **Funnel**: *opened* — cases this station knows of; *linked* — of those, with a social
  prescription recorded (here or elsewhere); *followed up* — of the linked, followed up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.case_actions import LocalCase
from telemetry.cases import CaseState


@dataclass(frozen=True, slots=True)
class Overdue:
    case: LocalCase
    days_overdue: int
    last_visit_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Funnel:
    opened: int
    linked: int
    followed_up: int


@dataclass(frozen=True, slots=True)
class FollowUpCounts:
    """What the station reports in its heartbeat: the funnel and how many are overdue."""

    funnel: Funnel
    overdue: int


LastVisit = Callable[[str], dt.datetime | None]
LocalDay = Callable[[dt.datetime], dt.date]  # the station-local day of an instant


def followed_up(case: LocalCase, last_visit_at: LastVisit, local_day: LocalDay) -> bool:
    if case.state is CaseState.RESOLVED:
        return True
    if case.follow_up_on is None:
        return False
    last = last_visit_at(case.participant)
    since = case.follow_up_set_at or case.updated_at
    # The latest visit is enough: if any visit is after both, the latest one is.
    return last is not None and last >= since and local_day(last) >= case.follow_up_on


def overdue(
    cases: Sequence[LocalCase], last_visit_at: LastVisit, today: dt.date, local_day: LocalDay
) -> list[Overdue]:
    out = []
    for case in cases:
        if not case.open or case.follow_up_on is None or case.follow_up_on >= today:
            continue
        if followed_up(case, last_visit_at, local_day):
            continue
        out.append(Overdue(case, (today - case.follow_up_on).days, last_visit_at(case.participant)))
    return sorted(out, key=lambda o: (-o.days_overdue, o.case.case_id))


def funnel(cases: Sequence[LocalCase], last_visit_at: LastVisit, local_day: LocalDay) -> Funnel:
    linked = [c for c in cases if c.prescription is not None]
    followed = sum(followed_up(c, last_visit_at, local_day) for c in linked)
    return Funnel(opened=len(cases), linked=len(linked), followed_up=followed)


def counts(
    cases: Sequence[LocalCase], last_visit_at: LastVisit, today: dt.date, local_day: LocalDay
) -> FollowUpCounts:
    return FollowUpCounts(
        funnel(cases, last_visit_at, local_day), len(overdue(cases, last_visit_at, today, local_day))
    )


def cached(last_visit_at: LastVisit) -> LastVisit:
    """``last_visit_at`` asked once per participant (the store parses that person's results)."""
    seen: dict[str, dt.datetime | None] = {}

    def last(participant: str) -> dt.datetime | None:
        if participant not in seen:
            seen[participant] = last_visit_at(participant)
        return seen[participant]

    return last
