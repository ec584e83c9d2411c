"""The simulator's truth as the real-pipeline case tests judge it (edge.simulate with realistic error).

The small cohorts of those tests cannot show detection rates, so they assert what the decline-rates
benchmark makes near-certain: every decliner of a kind it finds ≥ 95 % of the time (substantial
mobility, the decline complete at least two visits before the last) has a case in its domain, and
no more false cases than its rate allows (0.038–0.040 per stable person-year on the held-out
cohorts: well under 0.1 for a handful of steady people over half a year, so two would be far off
it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from edge.simulate.cohort import Cohort, Truth
from telemetry.pseudonym import pseudonymise

MAX_FALSE_CASES = 1


def surely_found(cohort: Cohort, truths: Iterable[Truth], key: bytes) -> dict[str, int]:
    """Pseudonym → decline onset (epoch ms) of each decliner the benchmark finds ≥ 95 % of the time."""
    by_member: dict[str, list[Truth]] = {}
    for t in truths:
        by_member.setdefault(t.member_id, []).append(t)
    out = {}
    for p in cohort.participants:
        mine = by_member.get(p.member_id, [])
        if p.decline is None or p.decline.kind != "substantial_mobility":
            continue
        if sum(1 for t in mine if t.decline_share == 1.0) >= 2:
            out[pseudonymise(key, p.member_id)] = _onset_ms(cohort, p.decline.onset_day)
    return out


def has_case(opened: list[dict[str, Any]], pseudonym: str, onset_ms: int, domain: str = "mobility") -> bool:
    """A case of ``pseudonym`` in ``domain`` opened at a visit on or after the onset (case_event rows)."""
    return any(
        r["participant"] == pseudonym and r["domain"] == domain and int(r["at"]) >= onset_ms for r in opened
    )


def false_cases(cohort: Cohort, opened: list[dict[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """Opened cases (case_event rows) not about a simulated decline: a steady participant's, or a
    decliner's in another domain or before the onset."""
    truth = {pseudonymise(key, p.member_id): p for p in cohort.participants}
    out = []
    for r in opened:
        d = truth[r["participant"]].decline
        if d is None or r["domain"] != d.domain.value or int(r["at"]) < _onset_ms(cohort, d.onset_day):
            out.append(r)
    return out


def _onset_ms(cohort: Cohort, day: float) -> int:
    onset: datetime = cohort.start + timedelta(days=day)
    return int(onset.timestamp() * 1000)
