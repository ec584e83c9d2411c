"""Build a visit's :class:`telemetry.results.VisitResult` from its scores, history and cases.

Pure (no I/O), so the gateway only gathers the inputs and calls :func:`build_visit_result`:

1. the measures, each with the bands it falls in — every cut-off and band bound is read from
   the scoring code (``processing.scoring``: AWGS 2019, SPPB, Fried, TUG fall risk), never
   restated here;
2. the four instruments with their components, from the ``processing.scoring`` result models;
3. the history: the earlier visits given (any station, any order, possibly including this one)
   plus this visit, oldest first, the newest :data:`~telemetry.results.MAX_HISTORY` kept;
4. the comparison of each key measure with the earlier visits: previous value, baseline (median
   of all earlier visits given), changes, and a verdict against the metric's small meaningful
   change from :data:`processing.decline.DECLINE_RULES`;
5. the open cases as given (most severe, then oldest first, bounded); :func:`open_cases` makes
   them from the participant's case-event log (the fold of :mod:`processing.cases`).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime

from processing.cases import fold
from processing.cases.identity import log_order
from processing.decline import DECLINE_RULES
from processing.scoring import VisitInputs, VisitScores
from processing.scoring import awgs as awgs_cutoffs
from processing.scoring import fried as fried_cutoffs
from processing.scoring import sppb as sppb_bands
from processing.scoring.tug import TUG_FALL_RISK_S
from telemetry.cases import SEVERITY_RANK, CaseEvent, CaseEventKind, CaseState
from telemetry.results import (
    KEY_METRICS,
    MAX_HISTORY,
    MAX_OPEN_CASES,
    MEASURE_UNITS,
    AwgsPart,
    Band,
    Comparison,
    CutoffBand,
    FriedPart,
    HistoryVisit,
    KeyMetric,
    KFrailPart,
    Measure,
    OpenCase,
    PointsBand,
    Reference,
    Scores,
    SppbPart,
    VisitResult,
)

_EPS = 1e-9


def build_visit_result(
    *,
    participant: str,
    station_id: str,
    visit_id: str | None,
    at: datetime,
    inputs: VisitInputs,
    scores: VisitScores,
    processed_at: datetime,
    tug_time_s: float | None = None,
    history: Sequence[HistoryVisit] = (),
    open_cases: Sequence[OpenCase] = (),
    uncertain: Collection[str] = frozenset(),
    tug_fall_risk_s: float = TUG_FALL_RISK_S,
    visit_date: date | None = None,
) -> VisitResult:
    """The result of one scored visit.

    ``at``: the visit's latest input time; ``visit_date``: the visit's day at its station (the
    gateway's calendar; default the UTC day of ``at``); ``inputs``/``scores``:
    what ``processing.scoring.score_visit`` was given and returned; ``tug_time_s``: the visit's
    timed up-and-go (not a scoring input); ``history``: the participant's earlier visits at any
    station as the gateway read them (this visit among them is ignored: its values come from
    ``inputs``/``scores``); ``open_cases``: the participant's open cases; ``uncertain``: metrics a
    quality check flagged; ``tug_fall_risk_s``: the deployment's TUG cut-off.
    Raises ``pydantic.ValidationError`` only for inputs outside the wire model's bounds.
    """
    current = HistoryVisit(
        at=at, station_id=station_id, visit_id=visit_id, values=key_values(inputs, scores, tug_time_s)
    )
    earlier = sorted((h for h in history if not _same_visit(h, current)), key=lambda h: (h.at, h.station_id))
    cases = sorted(open_cases, key=lambda c: (-SEVERITY_RANK[c.severity], c.opened_at, c.case_id))
    return VisitResult(
        participant=participant,
        station_id=station_id,
        visit_id=visit_id,
        visit_date=visit_date if visit_date is not None else at.astimezone(UTC).date(),
        at=at,
        processed_at=processed_at,
        sex=inputs.sex,
        measures=measures(inputs, scores, tug_time_s, uncertain, tug_fall_risk_s),
        scores=score_parts(inputs, scores),
        history=[*earlier, current][-MAX_HISTORY:],
        comparisons=comparisons(current, earlier),
        open_cases=cases[:MAX_OPEN_CASES],
    )


def _same_visit(a: HistoryVisit, b: HistoryVisit) -> bool:
    if a.visit_id is not None or b.visit_id is not None:
        return a.visit_id == b.visit_id
    return a.at == b.at and a.station_id == b.station_id


def key_values(inputs: VisitInputs, scores: VisitScores, tug_time_s: float | None) -> dict[KeyMetric, float]:
    """This visit's key measures (those compared across visits), where measured."""
    values: dict[KeyMetric, float | None] = {
        "gait_speed_mps": inputs.gait_speed_mps,
        "sppb_total": None if scores.sppb is None else float(scores.sppb.total),
        "grip_max_kg": inputs.grip_max_kg,
        "chair_stand_5x_s": inputs.chair_stand_5x_s,
        "tug_time_s": tug_time_s,
        "kfrail_score": None if scores.kfrail is None else float(scores.kfrail.score),
    }
    return {metric: value for metric, value in values.items() if value is not None}


# --- 1. measures and their bands ----------------------------------------------------------------


def measures(
    inputs: VisitInputs,
    scores: VisitScores,
    tug_time_s: float | None,
    uncertain: Collection[str],
    tug_fall_risk_s: float,
) -> list[Measure]:
    values = {
        name: getattr(inputs, name, None) for name in MEASURE_UNITS
    }  # values from VisitInputs (TUG apart)
    values["tug_time_s"] = tug_time_s
    out = []
    for metric, unit in MEASURE_UNITS.items():
        value = values[metric]
        if value is None:
            continue
        bands = _bands(metric, float(value), inputs, scores, tug_fall_risk_s)
        out.append(Measure(metric=metric, value=value, unit=unit, bands=bands, uncertain=metric in uncertain))
    return out


def _cutoff(reference: Reference, criterion: str, side: str, cutoff: float, value: float) -> CutoffBand:
    flagged = {
        "below": value < cutoff,
        "at_most": value <= cutoff,
        "at_least": value >= cutoff,
        "above": value > cutoff,
    }[side]
    return CutoffBand.model_validate(
        {"reference": reference, "criterion": criterion, "side": side, "cutoff": cutoff, "flagged": flagged}
    )


def _bands(
    metric: str, value: float, inputs: VisitInputs, scores: VisitScores, tug_fall_risk_s: float
) -> list[Band]:
    sex = inputs.sex
    bands: list[Band] = []
    if metric == "grip_max_kg":
        if sex is not None:
            cut = awgs_cutoffs.LOW_GRIP_KG[sex]
            bands.append(_cutoff(Reference.AWGS_2019, "low_muscle_strength", "below", cut, value))
            bmi = fried_cutoffs.body_mass_index(inputs.bmi_kg_m2, inputs.weight_kg, inputs.height_cm)
            if bmi is not None:
                weak = fried_cutoffs.weak_grip_kg(sex, bmi)
                bands.append(_cutoff(Reference.FRIED_2001, "weakness", "at_most", weak, value))
    elif metric == "gait_speed_mps":
        cut = awgs_cutoffs.SLOW_GAIT_MPS
        bands.append(_cutoff(Reference.AWGS_2019, "slow_gait_speed", "below", cut, value))
    elif metric == "walk_time_s":
        band = _gait_points_band(inputs)
        if band is not None:
            bands.append(band)
    elif metric == "chair_stand_5x_s":
        cut = awgs_cutoffs.SLOW_CHAIR_S
        bands.append(_cutoff(Reference.AWGS_2019, "slow_chair_stand", "at_least", cut, value))
        bands.append(_chair_points_band(value))
    elif metric in ("side_by_side_s", "semi_tandem_s", "tandem_s"):
        bands.append(_balance_band(metric, value))
    elif metric == "tug_time_s":
        bands.append(_cutoff(Reference.TUG_FALL_RISK, "raised_fall_risk", "at_least", tug_fall_risk_s, value))
    elif metric == "asmi_kg_m2" and sex is not None:
        cut = awgs_cutoffs.LOW_ASMI_KG_M2[sex]
        bands.append(_cutoff(Reference.AWGS_2019, "low_muscle_mass", "below", cut, value))
    return bands


def _gait_points_band(inputs: VisitInputs) -> PointsBand | None:
    """The SPPB 3 m / 4 m walk band the walk time falls in (no band for other courses)."""
    distance, time = inputs.walk_distance_m, inputs.walk_time_s
    if distance is None or time is None:
        return None
    bounds = sppb_bands.walk_bands(distance)
    points = sppb_bands.gait_points(distance, time).points
    if bounds is None or points is None:
        return None
    edges: list[float | None] = [None, *bounds, None]  # points 4, 3, 2, 1 from fastest to slowest
    index = 4 - points
    return PointsBand(
        criterion="sppb_gait",
        points=points,
        max_points=4,
        low=edges[index],
        high=edges[index + 1],
        course_m=round(distance),
    )


def _chair_points_band(value: float) -> PointsBand:
    points = sppb_bands.chair_points(value).points
    assert points is not None  # a time is always scored
    uppers = [upper for upper, _ in sppb_bands.CHAIR_BANDS]  # 4, 3, 2, 1 points
    edges: list[float | None] = [None, *uppers, None]
    index = 4 - points
    return PointsBand(
        criterion="sppb_chair", points=points, max_points=4, low=edges[index], high=edges[index + 1]
    )


def _balance_band(metric: str, hold_s: float) -> PointsBand:
    """One stand of the SPPB balance test: side-by-side and semi-tandem 1 point for a full hold,
    tandem 2 for a full hold and 1 from the partial hold (Guralnik 1994, processing.scoring.sppb)."""
    full, partial = sppb_bands.HOLD_S, sppb_bands.TANDEM_PARTIAL_S
    if metric != "tandem_s":
        held = hold_s >= full
        return PointsBand(
            criterion="sppb_balance",
            points=int(held),
            max_points=1,
            low=full if held else None,
            high=None if held else full,
        )
    if hold_s >= full:
        return PointsBand(criterion="sppb_balance", points=2, max_points=2, low=full)
    if hold_s >= partial:
        return PointsBand(criterion="sppb_balance", points=1, max_points=2, low=partial, high=full)
    return PointsBand(criterion="sppb_balance", points=0, max_points=2, high=partial)


# --- 2. the instruments -------------------------------------------------------------------------


def score_parts(inputs: VisitInputs, scores: VisitScores) -> Scores:
    sppb, awgs, kfrail, fried = scores.sppb, scores.awgs, scores.kfrail, scores.fried
    sppb_part = None
    if sppb is not None:
        sppb_part = SppbPart(
            total=sppb.total,
            balance=sppb.balance,
            gait=sppb.gait,
            chair=sppb.chair,
            walk_distance_m=sppb.walk_distance_m,
            low_performance=sppb.total <= awgs_cutoffs.LOW_SPPB,
            low_performance_cutoff=awgs_cutoffs.LOW_SPPB,
        )
    awgs_part = None
    if awgs is not None:
        awgs_part = AwgsPart(
            status=awgs.status,
            level=awgs.level,
            low_muscle_strength=awgs.low_muscle_strength,
            low_physical_performance=awgs.low_physical_performance,
            low_muscle_mass=awgs.low_muscle_mass,
            complete=awgs.complete,
            missing=list(awgs.missing),
        )
    kfrail_part = None
    if kfrail is not None:
        kfrail_part = KFrailPart(
            score=kfrail.score,
            category=kfrail.category,
            fatigue=kfrail.fatigue,
            resistance=kfrail.resistance,
            ambulation=kfrail.ambulation,
            illness=kfrail.illness,
            loss_of_weight=kfrail.loss_of_weight,
        )
    fried_part = None
    if fried is not None and inputs.sex is not None and inputs.height_cm is not None:
        fried_part = FriedPart(
            count=fried.count,
            category=fried.category,
            weight_loss=fried.weight_loss,
            exhaustion=fried.exhaustion,
            low_activity=fried.low_activity,
            slowness=fried.slowness,
            weakness=fried.weakness,
            walk_15ft_s=fried.walk_15ft_s,
            slow_walk_cutoff_s=fried_cutoffs.slow_15ft_s(inputs.sex, inputs.height_cm),
            weak_grip_cutoff_kg=fried_cutoffs.weak_grip_kg(inputs.sex, fried.bmi_kg_m2),
        )
    missing = {part: list(names)[:12] for part, names in scores.missing.items() if names}
    return Scores.model_validate(
        {"sppb": sppb_part, "awgs": awgs_part, "kfrail": kfrail_part, "fried": fried_part, "missing": missing}
    )


# --- 4. comparison with earlier visits ----------------------------------------------------------


def comparisons(current: HistoryVisit, earlier: Sequence[HistoryVisit]) -> list[Comparison]:
    """Each key measure of ``current`` against the ``earlier`` visits (oldest first) before it."""
    out = []
    for metric in KEY_METRICS:
        value = current.values.get(metric)
        if value is None:
            continue
        before = [(h.at, h.values[metric]) for h in earlier if metric in h.values and h.at < current.at]
        rule = DECLINE_RULES[metric]
        if not before:
            out.append(
                Comparison(
                    metric=metric,
                    current=value,
                    earlier_visits=0,
                    meaningful_change=rule.meaningful_change,
                    worse=rule.worse,
                    verdict="first_visit",
                )
            )
            continue
        previous_at, previous = before[-1]
        baseline = float(statistics.median(v for _, v in before))
        change = value - baseline
        worsening = -change if rule.worse == "lower" else change
        threshold = rule.meaningful_change - _EPS * max(1.0, rule.meaningful_change)
        verdict = "worse" if worsening >= threshold else "better" if -worsening >= threshold else "steady"
        out.append(
            Comparison(
                metric=metric,
                current=value,
                earlier_visits=len(before),
                previous=previous,
                previous_at=previous_at,
                baseline=baseline,
                change_from_previous=value - previous,
                change_from_baseline=change,
                meaningful_change=rule.meaningful_change,
                worse=rule.worse,
                verdict=verdict,
            )
        )
    return out


# --- 5. open cases from the case-event log ------------------------------------------------------


def open_cases(log: Iterable[CaseEvent]) -> list[OpenCase]:
    """The participant's cases that are not resolved, as the fold of their log says they are now:
    state, severity, the latest detection's evidence, the last prescription and follow-up date,
    and when each of those was recorded (processing time of its event)."""
    events = log_order(log)
    by_case: dict[str, list[CaseEvent]] = {}
    for event in events:
        by_case.setdefault(event.case_id, []).append(event)
    out = []
    for case_id, case in fold(events).items():
        if case.state is CaseState.RESOLVED:
            continue
        mine = by_case[case_id]

        def last_of(kind: CaseEventKind, mine: list[CaseEvent] = mine) -> CaseEvent | None:
            return next((e for e in reversed(mine) if e.event is kind), None)

        prescribed, follow_up = last_of(CaseEventKind.PRESCRIBED), last_of(CaseEventKind.FOLLOW_UP_SET)
        out.append(
            OpenCase.model_validate(
                {
                    "case_id": case_id,
                    "domain": case.domain,
                    "state": case.state,
                    "severity": case.severity,
                    "opened_at": case.opened_at or mine[0].processed_at,
                    "updated_at": case.last_processed_at,
                    "last_event": mine[-1].event,
                    "evidence": case.latest_evidence,
                    "assignee": case.assignee,
                    "prescription": prescribed.prescription if prescribed else None,
                    "prescribed_at": prescribed.processed_at if prescribed else None,
                    "follow_up_on": follow_up.follow_up_on if follow_up else None,
                    "follow_up_set_at": follow_up.processed_at if follow_up else None,
                }
            )
        )
    return out
