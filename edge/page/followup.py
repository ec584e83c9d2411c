"""Follow-up at the station: who is overdue, and how this station's cases move from opened to
linked to followed up. Pure functions over the cases and visits the station store knows.

- **Overdue**: an open case whose follow-up date has passed (station-local day) and the
  participant has not visited since the follow-up was set (any station this station knows of:
  its own readings, and the visits listed in the histories of its results).
- **Funnel**: *opened* — cases this station knows of; *linked* — of those, with a social
  prescription recorded (here or elsewhere); *followed up* — of the linked, the participant
  visited again after the prescription.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.case_actions import LocalCase


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


LastVisit = Callable[[str], dt.datetime | None]


def overdue(cases: Sequence[LocalCase], last_visit_at: LastVisit, today: dt.date) -> list[Overdue]:
    out = []
    for case in cases:
        if not case.open or case.follow_up_on is None or case.follow_up_on >= today:
            continue
        last = last_visit_at(case.participant)
        since = case.follow_up_set_at or case.updated_at
        if last is not None and last >= since:
            continue
        out.append(Overdue(case, (today - case.follow_up_on).days, last))
    return sorted(out, key=lambda o: (-o.days_overdue, o.case.case_id))


def funnel(cases: Sequence[LocalCase], last_visit_at: LastVisit) -> Funnel:
    linked = [c for c in cases if c.prescription is not None]
    followed = 0
    for case in linked:
        last = last_visit_at(case.participant)
        when = case.prescribed_at or case.updated_at
        if last is not None and last > when:
            followed += 1
    return Funnel(opened=len(cases), linked=len(linked), followed_up=followed)
