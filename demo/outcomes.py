"""The demo's cases against the simulator's truth, counted the way the decline-rates benchmark counts.

A decliner is *found* when a case in their declining domain was opened at a visit on or after the
decline's onset; any other case of theirs (another domain, or before the onset) and every case of
a steady participant is a false case. Steady follow-up is first to last visit, summed, so false
cases per steady person-year compare with the benchmark's figure. Per station, a case counts where
the visit that opened it was measured.
"""

from __future__ import annotations

from collections import Counter

from demo.summary import CaseRecord, DeclinerGroup, DemoSummary, SimulatedPerson

YEAR_S = 365.25 * 86_400


def found(person: SimulatedPerson, case: CaseRecord) -> bool:
    """The case is about the person's simulated decline: its domain, opened after the onset."""
    return (
        person.decline_domain is not None
        and person.decline_onset is not None
        and case.domain == person.decline_domain
        and case.visit_at >= person.decline_onset
    )


def count(summary: DemoSummary, people: list[SimulatedPerson]) -> None:
    """Fill the summary's truth-based counts (in place) from its cases and the simulated people."""
    by_person: dict[str, list[CaseRecord]] = {}
    for case in summary.cases:
        by_person.setdefault(case.participant, []).append(case)
    decliners = [p for p in people if p.decline_kind is not None]
    steady = [p for p in people if p.decline_kind is None]
    summary.decliners, summary.steady = len(decliners), len(steady)
    summary.decliners_with_case = sum(1 for p in decliners if _hits(p, by_person))
    summary.decliner_cases_elsewhere = sum(
        1 for p in decliners for c in by_person.get(p.pseudonym, []) if not found(p, c)
    )
    summary.steady_with_case = sum(1 for p in steady if by_person.get(p.pseudonym))
    summary.steady_cases = sum(len(by_person.get(p.pseudonym, [])) for p in steady)
    summary.steady_person_years = round(
        sum((p.last_visit - p.first_visit).total_seconds() for p in steady) / YEAR_S, 2
    )
    histogram = Counter(len(by_person.get(p.pseudonym, [])) for p in people)
    summary.participants_by_cases = dict(sorted(histogram.items()))
    summary.decliners_by_kind = _groups(decliners, by_person)
    truth = {p.pseudonym: p for p in people}
    for case in summary.cases:
        if case.participant in truth:
            case.simulated = truth[case.participant].label
            case.false_case = not found(truth[case.participant], case)
    steady_ids = {p.pseudonym for p in steady}
    for station in summary.per_station:
        here = [c for c in summary.cases if c.station_id == station.station_id]
        station.decliners_with_case = len(
            {c.participant for c in here if c.participant in truth and found(truth[c.participant], c)}
        )
        station.steady_with_case = len({c.participant for c in here if c.participant in steady_ids})


def _hits(person: SimulatedPerson, by_person: dict[str, list[CaseRecord]]) -> bool:
    return any(found(person, c) for c in by_person.get(person.pseudonym, []))


def _groups(decliners: list[SimulatedPerson], by_person: dict[str, list[CaseRecord]]) -> list[DeclinerGroup]:
    groups: dict[tuple[str, str], list[SimulatedPerson]] = {}
    for p in decliners:
        assert p.decline_kind is not None and p.decline_shape is not None
        groups.setdefault((p.decline_kind, p.decline_shape), []).append(p)
    return [
        DeclinerGroup(
            kind=kind,
            shape=shape,
            domain=str(members[0].decline_domain),
            decliners=len(members),
            with_case=sum(1 for p in members if _hits(p, by_person)),
            reached=sorted(round(p.decline_reached, 2) for p in members),
        )
        for (kind, shape), members in sorted(groups.items())
    ]
