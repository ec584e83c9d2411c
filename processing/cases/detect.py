"""Decline detection per participant and domain that keeps false alarms rare: :func:`assess`.

For each domain (mobility: gait speed, SPPB, 5× chair stand, TUG; strength: grip; balance: sway
velocity and area; self-report: K-FRAIL, Fried count; frailty category: the frailty level) and each
episode of it (see :mod:`processing.cases.identity`), the participant's visits are replayed in
measured-time order (ties by visit id). Values a quality check flagged as uncertain never count —
not in a baseline, not in any statistic — so they cannot open a case, alone or together.

1. **Changepoint statistic** (:mod:`processing.cases.changepoint`): after each visit, for every
   split that leaves the last m visits in a window (``min_run_visits`` ≤ m ≤ ``max_window``,
   inside the episode), each measure's change of the window mean against its baseline before the
   split (a winsorised mean; its error is in the standard error), standardised by the between-day
   SEM of :mod:`processing.cases.measurement_error` and the station term, and the domain's
   composite of those z with the exact error correlation. The largest composite over the splits
   is the likelihood-ratio statistic for a step of unknown size at an unknown visit.
2. **Decision**: a case opens when a window's composite reaches the domain's ``threshold`` — each
   threshold spends an explicit share of the false-alarm budget (:data:`FALSE_ALARM_BUDGET`) — or,
   in a domain of several measures, one measure's own z reaches ``single_threshold`` (a decline of
   one measure alone is not diluted by the others); *and* no single visit carries it (without its
   most-worsened visit the window still says ≥ ``confirm_z``); *and* the change is plausibly
   clinically meaningful: in at least one measure the estimated change plus ``gate_z`` standard
   errors reaches the small meaningful change of :data:`processing.decline.DECLINE_RULES` (with a
   flat prior, the posterior probability that the true change is at least meaningful is
   ≥ Φ(−gate_z) = 20 %). A case needs ``min_run_visits`` visits: one wild value never opens one.
3. **Fast path**: a measure crosses its absolute cut-off (AWGS 2019 slowness < 1.0 m/s, chair stand
   ≥ 12 s, SPPB ≤ 9, weakness < 28 kg men / < 18 kg women; TUG ≥ 13.5 s fall risk, configurable;
   frail) at one visit — the baseline on the good side, the value past the cut-off by at least
   ``fast_guard_sem`` SEM, its change z ≥ ``fast_z``, and corroborated: the domain's other measures
   at that visit worse by a composite z ≥ ``fast_corroboration`` (a real decline moves them too; an
   unflagged gross error moves one), or the previous value already past the guard band.
4. **Frozen baseline**: when a case opens, the decline is taken to start at the maximum-likelihood
   change point (the best window of any length — a step first seen at one visit is tested
   together with the visit before it, which is not post-decline) and the baselines before it are
   frozen; every later visit of the domain updates the case against them, so a slow decline cannot
   drag the baseline down. **Severity** ``critical`` when a measure's window mean reaches the
   substantial meaningful change with a reliable z (≥ ``reliable_z``, Jacobson & Truax 1991), or
   lies past a cut-off its baseline was on the good side of (or the fast path opened it); else
   ``warning``. An open case escalates once, to ``critical``. After ``close_after`` consecutive
   visits back within measurement error (composite ≤ ``within_error_z`` and no reliable single
   change) the case is suggested for closing.

After a case is resolved the next episode starts from a stated baseline: after
``confirmed_referred`` the case's visits from its change point on (the post-decline level, so the
same decline is not raised again); after ``not_confirmed`` the frozen baseline *and* the case's
visits (they were the person's ordinary variation — leaving out the visits that raised the alarm
would bias the baseline towards the better values and bring the next false case sooner); after
``explained`` or ``recovered`` the old frozen baseline (a passing cause, or the person is back).
Episode windows are cut at the resolving action's time: visits measured before it belong to the
old episode.

Seeded by the log: a case the log says is open stays open from its opening visit even if a late
visit changes the replay (its change point is then the maximum-likelihood one at that visit), and
only events whose ids are not in the log are returned — so calling again with the log extended by
the answer returns nothing, and replicas that saw different subsets of visits name the same case
the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from processing.cases.changepoint import (
    ERROR_CORRELATION,
    MeasureChange,
    MetricBaseline,
    Series,
    WindowChange,
    change_sd,
    change_z,
    composite_z,
    metric_baseline,
    worsening,
)
from processing.cases.identity import Episode, detection_event_id, episodes, log_order
from processing.cases.measurement_error import MEASUREMENT_ERROR, MeasurementError
from processing.cases.model import Case, VisitMeasures, to_ms
from processing.decline import DECLINE_RULES
from telemetry.cases import (
    SEVERITY_RANK,
    CaseEvent,
    CaseEventKind,
    CaseState,
    Domain,
    Evidence,
    EvidenceVisit,
    ResolveReason,
    Severity,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "DEFAULT_THRESHOLDS",
    "DOMAIN_METRICS",
    "ERROR_CORRELATION",
    "FALSE_ALARM_BUDGET",
    "DetectorSettings",
    "assess",
    "change_sd",
    "change_z",
    "composite_z",
    "cutoffs",
    "merge_visits",
    "metric_baseline",
    "worsening",
]

#: The measures each domain is judged on.
DOMAIN_METRICS: dict[Domain, tuple[str, ...]] = {
    Domain.MOBILITY: ("gait_speed_mps", "sppb_total", "chair_stand_5x_s", "tug_time_s"),
    Domain.STRENGTH: ("grip_max_kg",),
    Domain.BALANCE: ("sway_mean_velocity_mm_s", "sway_ellipse95_area_mm2"),
    Domain.SELF_REPORT: ("kfrail_score", "fried_count"),
    Domain.FRAILTY_CATEGORY: ("frailty_level",),
}
MAX_EVIDENCE_VISITS = 12  # telemetry.cases.Evidence holds at most 12
_EPS = 1e-9

#: The false-alarm budget (false cases per stable person-year) each domain's threshold may spend:
#: 0.043 of the 0.05 target, the rest a margin for cohorts the thresholds were not chosen on. Most
#: goes where a miss costs most — mobility, the commonest and most predictive decline; balance and
#: the questionnaires get little (their SEMs and meaningful changes are FrailWatch choices).
FALSE_ALARM_BUDGET: dict[Domain, float] = {
    Domain.MOBILITY: 0.028,
    Domain.STRENGTH: 0.008,
    Domain.BALANCE: 0.004,
    Domain.SELF_REPORT: 0.002,
    Domain.FRAILTY_CATEGORY: 0.001,
}
#: Decision thresholds of each domain's changepoint statistic (the best window's composite z): the
#: most sensitive value on a grid whose false-alarm rate on the tuning cohorts stays within the
#: domain's budget (``python -m benchmarks decline_rates --tune``).
DEFAULT_THRESHOLDS: dict[Domain, float] = {
    Domain.MOBILITY: 2.9,
    Domain.STRENGTH: 3.0,
    Domain.BALANCE: 3.0,
    Domain.SELF_REPORT: 2.8,
    Domain.FRAILTY_CATEGORY: 3.0,
}


class DetectorSettings(BaseModel):
    """The detector's constants. Defaults were tuned on the benchmark's tuning cohorts
    (benchmarks/decline_rates.py) and reported on held-out cohorts (docs/scoring.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: dict[Domain, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS),
        description="per domain: the composite z of the best window that opens a case",
    )
    single_threshold: Annotated[float, Field(gt=0)] = Field(
        default=4.0, description="one measure's own z that opens a case (domains of several measures)"
    )
    max_window: Annotated[int, Field(ge=1)] = Field(
        default=24, description="the longest window of recent visits a split may leave"
    )
    min_run_visits: Annotated[int, Field(ge=1)] = Field(
        default=2, description="visits a case needs (one wild value never opens one alone)"
    )
    confirm_z: float = Field(
        default=1.0,
        description="what the window must still say (composite z) without its most-worsened visit",
    )
    gate_z: float = Field(
        default=0.84,
        description="the estimated change plus gate_z standard errors must reach the small meaningful change",
    )
    meaningful_fraction: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="share of the small meaningful change the gate asks for"
    )
    z_clip: Annotated[float, Field(gt=0)] = 4.0
    fast_z: Annotated[float, Field(gt=0)] = Field(
        default=3.0, description="change z a cut-off crossing needs"
    )
    fast_guard_sem: Annotated[float, Field(ge=0)] = Field(
        default=1.0, description="how far past a cut-off (in SEM) a fast-path value must be"
    )
    fast_corroboration: float = Field(
        default=1.5, description="composite z of the domain's other measures that corroborates a crossing"
    )
    reliable_z: Annotated[float, Field(gt=0)] = Field(default=1.96, description="Jacobson & Truax 1991")
    min_baseline: Annotated[int, Field(ge=1)] = 3
    baseline_window: Annotated[int, Field(ge=1)] = 20
    recent_visits: Annotated[int, Field(ge=1)] = Field(
        default=3, description="visits whose mean is 'now' for an open case's severity"
    )
    close_after: Annotated[int, Field(ge=1)] = 3
    within_error_z: float = 1.0
    tug_fall_risk_s: Annotated[float, Field(gt=0)] = Field(
        default=13.5, description="TUG fall-risk cut-off (some guidelines use 12 s)"
    )

    @field_validator("threshold")
    @classmethod
    def _every_domain(cls, value: dict[Domain, float]) -> dict[Domain, float]:
        missing = set(Domain) - set(value)
        if missing:
            raise ValueError(f"a threshold for every domain; missing: {', '.join(sorted(missing))}")
        return value


DEFAULT_SETTINGS = DetectorSettings()


# --- cut-offs ------------------------------------------------------------------------------------


def cutoffs(sex: str | None, settings: DetectorSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """Absolute cut-offs as boundaries on each metric's scale: a value is past the cut-off when it
    is below the boundary (metrics where lower is worse) or at/above it (higher is worse).

    AWGS 2019 (Chen L-K et al. J Am Med Dir Assoc 2020;21(3):300–307.e2): gait speed < 1.0 m/s,
    five chair stands ≥ 12 s, SPPB ≤ 9 (boundary 9.5 on the integer score), handgrip < 28 kg men /
    < 18 kg women (only when the sex is known). TUG ≥ 13.5 s raised fall risk (configurable).
    Frailty level frail (K-FRAIL 3–5; boundary 1.5 between pre-frail 1 and frail 2).
    """
    limits = {
        "gait_speed_mps": 1.0,
        "chair_stand_5x_s": 12.0,
        "sppb_total": 9.5,
        "tug_time_s": settings.tug_fall_risk_s,
        "frailty_level": 1.5,
    }
    if sex == "male":
        limits["grip_max_kg"] = 28.0
    elif sex == "female":
        limits["grip_max_kg"] = 18.0
    return limits


def _past_by(error: MeasurementError, limit: float, value: float) -> float:
    """How far ``value`` is past the cut-off (≥ 0 past it, < 0 on the good side)."""
    return limit - value if error.worse == "lower" else value - limit


def _is_past(error: MeasurementError, limit: float, value: float) -> bool:
    margin = _past_by(error, limit, value)
    return margin > _EPS if error.worse == "lower" else margin >= -_EPS


# --- the clinical side ----------------------------------------------------------------------------


def _meaningful_bar(metric: str, settings: DetectorSettings) -> float:
    """The small meaningful change on the working scale (log of 1 + fraction for relative rules)."""
    rule = DECLINE_RULES[metric]
    bar = rule.meaningful_change * settings.meaningful_fraction
    return math.log1p(bar) if rule.relative else bar


def _plausibly_meaningful(change: MeasureChange, settings: DetectorSettings) -> bool:
    """The estimated change plus ``gate_z`` standard errors reaches the small meaningful change."""
    return change.change + settings.gate_z * change.se >= _meaningful_bar(change.metric, settings) - _EPS


def _clinical_worsening(metric: str, baseline: MetricBaseline, mean: float) -> float:
    """Worsening of ``mean`` in DECLINE_RULES' units (fraction of the baseline if relative)."""
    rule = DECLINE_RULES[metric]
    change = mean - baseline.value
    if rule.relative:
        change = change / baseline.value if baseline.value > 0 else 0.0
    return -change if rule.worse == "lower" else change


def _severity(
    changes: Iterable[MeasureChange], limits: dict[str, float], settings: DetectorSettings
) -> tuple[Severity, str]:
    """``critical`` (and why) when a measure's window mean reaches the substantial change with a
    reliable z, or lies past a cut-off its baseline was on the good side of; else ``warning``."""
    for c in changes:
        error = MEASUREMENT_ERROR[c.metric]
        big = DECLINE_RULES[c.metric].substantial_change
        substantial = big is not None and _clinical_worsening(c.metric, c.baseline, c.mean) >= big - _EPS
        if substantial and c.z >= settings.reliable_z:
            return "critical", f"{c.metric} mean worse than baseline by the substantial change, z {c.z:.2f}"
        limit = limits.get(c.metric)
        if (
            limit is not None
            and not _is_past(error, limit, c.baseline.value)
            and _is_past(error, limit, c.mean)
        ):
            return (
                "critical",
                f"{c.metric} mean {c.mean:.4g} past the cut-off {limit:g} (baseline {c.baseline.value:.4g})",
            )
    return "warning", "below the substantial change and the cut-offs"


def _fast_path(
    domain: Domain,
    look: WindowChange,
    visit: VisitMeasures,
    earlier: Sequence[VisitMeasures],
    limits: dict[str, float],
    settings: DetectorSettings,
) -> str | None:
    """The metric whose cut-off this visit (``look``: the visit against the baselines) crossed
    decisively, if any (module docstring, step 3)."""
    for metric, c in look.measures.items():
        limit = limits.get(metric)
        value = visit.certain(metric)
        if limit is None or value is None or c.raw_z < settings.fast_z:
            continue
        error = MEASUREMENT_ERROR[metric]
        if _is_past(error, limit, c.baseline.value):
            continue  # already past it at baseline: nothing was crossed
        guard = settings.fast_guard_sem * error.sem
        if _past_by(error, limit, value) < guard - _EPS:
            continue
        others = [o for m, o in look.measures.items() if m != metric]
        corroborated = (
            bool(others) and composite_z(domain, others, settings.z_clip) >= settings.fast_corroboration
        )
        previous = next((x for v in reversed(earlier) if (x := v.certain(metric)) is not None), None)
        confirmed = previous is not None and _past_by(error, limit, previous) >= guard - _EPS
        if corroborated or confirmed:
            return metric
    return None


# --- events --------------------------------------------------------------------------------------


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _evidence(
    domain: Domain,
    rule: str,
    baselines: dict[str, MetricBaseline],
    visit: VisitMeasures,
    visits: Sequence[VisitMeasures],
    *,
    statistic: float | None,
    threshold: float | None,
    detail: str,
) -> Evidence:
    metrics = DOMAIN_METRICS[domain]
    current = {m: _round(x) for m in metrics if (x := visit.measures.get(m)) is not None}
    baseline = {m: _round(b.value) for m, b in baselines.items()}
    change = {m: _round(current[m] - baseline[m]) for m in current if m in baseline}
    shown = [
        EvidenceVisit(
            visit_id=v.visit_id,
            at=v.at,
            station_id=v.station_id,
            values={m: _round(x) for m in metrics if (x := v.measures.get(m)) is not None},
        )
        for v in visits[-MAX_EVIDENCE_VISITS:]
    ]
    uncertain = sorted(set(metrics) & visit.uncertain)
    if uncertain:
        detail += f"; not judged (uncertain): {', '.join(uncertain)}"
    return Evidence(
        rule=rule,
        statistic=None if statistic is None else _round(statistic),
        threshold=threshold,
        baseline=baseline,
        current=current,
        change=change,
        visits=shown,
        detail=detail[:512],
    )


def _z_text(look: WindowChange) -> str:
    return ", ".join(f"{m} z {c.z:+.2f}" for m, c in look.measures.items()) or "no judged measure"


def _change_text(window: WindowChange) -> str:
    return ", ".join(f"{m} {c.change:+.3g} (SE {c.se:.2g})" for m, c in window.measures.items())


@dataclass
class _EpisodeResult:
    frozen: list[VisitMeasures]  # the baseline the case was judged against (or the last baseline)
    case_visits: list[VisitMeasures]  # from the opening window on
    events: list[CaseEvent] = field(default_factory=list)


@dataclass
class _Context:
    participant: str
    domain: Domain
    episode: Episode
    case: Case | None  # the log's view of this episode's case
    seen: set[str]
    processed_at: datetime
    limits: dict[str, float]
    settings: DetectorSettings
    emit: bool


@dataclass(frozen=True)
class _Decision:
    """Why a case opens at a visit: the rule, its window, statistic and threshold."""

    rule: str
    window: WindowChange
    statistic: float
    threshold: float
    fast: str | None = None


def _decide(ctx: _Context, series: Series, visit: VisitMeasures) -> _Decision | None:
    """Whether the visit just added to ``series`` opens a case (module docstring, steps 2 and 3)."""
    settings, domain = ctx.settings, ctx.domain
    look = series.change(len(series) - 1, settings.z_clip)
    fast = _fast_path(domain, look, visit, series.visits[:-1], ctx.limits, settings)
    if fast is not None:
        return _Decision(f"cutoff:{fast}", look, look.measures[fast].raw_z, settings.fast_z, fast)
    windows = series.windows(settings.z_clip, settings.min_run_visits)
    h = settings.threshold[domain]
    passing = [
        w
        for w in windows
        if w.composite >= h - _EPS
        and any(_plausibly_meaningful(c, settings) for c in w.measures.values())
        and series.without_heaviest(w, settings.z_clip) >= settings.confirm_z - _EPS
    ]
    if passing:
        best = max(passing, key=lambda w: w.composite)
        return _Decision("changepoint", best, best.composite, h)
    if len(DOMAIN_METRICS[domain]) == 1:
        return None
    singles = [
        (c.z, w, m)
        for w in windows
        for m, c in w.measures.items()
        if c.z >= settings.single_threshold - _EPS
        and _plausibly_meaningful(c, settings)
        and series.without_heaviest(w, settings.z_clip, [m]) >= settings.confirm_z - _EPS
    ]
    if singles:
        z, w, m = max(singles, key=lambda s: s[0])
        return _Decision(f"changepoint:{m}", w, z, settings.single_threshold)
    return None


def _change_point(series: Series, settings: DetectorSettings) -> int:
    """Where the decline of a case opening at the last visit of ``series`` starts: the
    maximum-likelihood change point (the split of the best window of any size). A step first seen
    at one visit is tested with the visit before it (a case needs ``min_run_visits``), but that
    visit is not post-decline. Everything before the change point is the frozen baseline."""
    windows = series.windows(settings.z_clip, 1)
    return max(windows, key=lambda w: w.composite).split if windows else len(series) - 1


def _replay_episode(
    ctx: _Context, base: list[VisitMeasures], visits: Sequence[VisitMeasures]
) -> _EpisodeResult:
    """Replay one episode's visits (see module docstring); events only if ``ctx.emit``."""
    domain, settings = ctx.domain, ctx.settings
    case = ctx.case
    anchor = (case.at, case.visit_id or "") if case is not None and case.opened_at is not None else None
    severity: Severity | None = case.severity if case is not None else None
    state = (
        CaseState.ACKNOWLEDGED
        if case is not None and case.state is CaseState.ACKNOWLEDGED
        else CaseState.OPEN
    )
    series = Series(
        domain, DOMAIN_METRICS[domain], settings.baseline_window, settings.min_baseline, settings.max_window
    )
    series.extend_base(base)
    result = _EpisodeResult(frozen=list(series.visits), case_visits=[])
    opened = False
    frozen: dict[str, MetricBaseline] = {}
    frozen_split = 0
    streak = 0

    def emit(kind: CaseEventKind, visit: VisitMeasures, sev: Severity, evidence: Evidence, key: str) -> None:
        event_id = detection_event_id(ctx.episode.case_id, kind, key)
        if not ctx.emit or event_id in ctx.seen:
            return
        ctx.seen.add(event_id)
        result.events.append(
            CaseEvent(
                event_id=event_id,
                case_id=ctx.episode.case_id,
                participant=ctx.participant,
                domain=domain,
                event=kind,
                state=state,
                severity=sev,
                at=visit.at,
                processed_at=ctx.processed_at,
                station_id=visit.station_id,
                visit_id=visit.visit_id,
                evidence=evidence,
            )
        )

    def raise_to(new: Severity) -> Severity:
        return new if severity is None or SEVERITY_RANK[new] > SEVERITY_RANK[severity] else severity

    def freeze(split: int) -> None:
        nonlocal opened, frozen, frozen_split
        opened, frozen_split = True, split
        frozen = series.baselines(split)
        result.frozen = series.visits[:split]
        result.case_visits = series.visits[split:]

    for visit in visits:
        if not opened and anchor is not None and (visit.at, visit.visit_id) >= anchor:
            # the log says the case opened here; it stays open whatever the replay says
            if visit.visit_id == anchor[1] and series.append(visit):
                freeze(_change_point(series, settings))
                continue
            freeze(len(series))
        if not opened:
            if not series.append(visit):
                continue
            decision = _decide(ctx, series, visit)
            if decision is None:
                continue
            freeze(_change_point(series, settings))
            window = decision.window
            if decision.fast is not None:
                sev: Severity = "critical"
                why = f"{decision.fast} crossed its cut-off {ctx.limits[decision.fast]:g}"
            else:
                sev, why = _severity(window.measures.values(), ctx.limits, settings)
            severity = raise_to(sev)
            detail = (
                f"{window.visits} visit(s) vs the baseline before them: composite z {window.composite:+.2f} "
                f"({decision.rule} {decision.statistic:.2f} ≥ {decision.threshold:g}); {_z_text(window)}; "
                f"change {_change_text(window)}; {severity}: {why}"
            )
            evidence = _evidence(
                domain,
                decision.rule,
                frozen,
                visit,
                result.case_visits,
                statistic=decision.statistic,
                threshold=decision.threshold,
                detail=detail,
            )
            emit(CaseEventKind.OPENED, visit, severity, evidence, "")
            continue

        # an open case: new evidence updates it, may escalate it, may suggest closing it
        if not series.append(visit):
            continue
        result.case_visits.append(visit)
        last = len(series) - 1
        look = series.change(last, settings.z_clip, frozen)
        recent = series.change(
            max(frozen_split, len(series) - settings.recent_visits), settings.z_clip, frozen
        )
        z = look.composite
        sev, why = _severity(recent.measures.values(), ctx.limits, settings)
        if _fast_path(domain, look, visit, series.visits[:-1], ctx.limits, settings) is not None:
            sev, why = "critical", "a cut-off crossed at this visit"
        current = severity or "warning"
        detail = f"composite z {z:+.2f} vs the frozen baseline; {_z_text(look)}"
        shown = result.case_visits[-settings.recent_visits :]
        evidence = _evidence(
            domain, "update", frozen, visit, shown, statistic=z, threshold=None, detail=detail
        )
        emit(CaseEventKind.UPDATED, visit, current, evidence, visit.visit_id)
        if SEVERITY_RANK[sev] > SEVERITY_RANK[current]:
            severity = raise_to(sev)
            evidence = _evidence(
                domain,
                "escalation",
                frozen,
                visit,
                shown,
                statistic=z,
                threshold=None,
                detail=f"{sev}: {why}; {detail}",
            )
            emit(CaseEventKind.ESCALATED, visit, sev, evidence, sev)
        within = (
            bool(look.measures)
            and z <= settings.within_error_z
            and max(c.z for c in look.measures.values()) < settings.reliable_z
        )
        streak = streak + 1 if within else 0
        if streak == settings.close_after:
            evidence = _evidence(
                domain,
                "within_error",
                frozen,
                visit,
                shown,
                statistic=z,
                threshold=settings.within_error_z,
                detail=f"{streak} consecutive visits back within measurement error; {detail}",
            )
            emit(CaseEventKind.CLOSE_SUGGESTED, visit, severity or "warning", evidence, visit.visit_id)
    if not opened:
        result.frozen = list(series.visits)
    return result


# --- the entry point -----------------------------------------------------------------------------


def merge_visits(visits: Iterable[VisitMeasures]) -> list[VisitMeasures]:
    """One visit per visit id, in measured-time order (ties by visit id), whatever the input order.

    Copies of one visit (the gateway reads a visit again as more of it arrives) are merged: the
    union of their measures and uncertain flags; on a conflict the copy first in a canonical order
    (time, station, measures) wins, so the result does not depend on the order copies came in.
    """
    copies: dict[str, list[VisitMeasures]] = {}
    for v in visits:
        copies.setdefault(v.visit_id, []).append(v)
    merged = []
    for group in copies.values():
        group.sort(key=lambda v: (v.at, v.station_id, sorted(v.measures.items()), sorted(v.uncertain)))
        first = group[0]
        if len(group) == 1:
            merged.append(first)
            continue
        measures: dict[str, float] = {}
        uncertain: set[str] = set()
        for v in group:
            for name, value in v.measures.items():
                measures.setdefault(name, value)
            uncertain |= v.uncertain
        sex = next((v.sex for v in group if v.sex is not None), None)
        merged.append(
            first.model_copy(update={"measures": measures, "uncertain": frozenset(uncertain), "sex": sex})
        )
    merged.sort(key=lambda v: (v.at, v.visit_id))
    return merged


def _next_baseline(previous: _EpisodeResult, reason: ResolveReason | None) -> list[VisitMeasures]:
    """The baseline the next episode starts from (module docstring)."""
    if reason is ResolveReason.CONFIRMED_REFERRED and previous.case_visits:
        return list(previous.case_visits)
    if reason is ResolveReason.NOT_CONFIRMED:
        return [*previous.frozen, *previous.case_visits]
    return list(previous.frozen)


def assess(
    visits: Iterable[VisitMeasures],
    log: Iterable[CaseEvent],
    processed_at: datetime,
    settings: DetectorSettings | None = None,
) -> list[CaseEvent]:
    """The new case events for ONE participant: their whole visit history (any order, any station,
    duplicates by visit id allowed) and their case-event log as read back (duplicates allowed).

    Returns only events whose event ids are not in ``log``, each stamped ``processed_at``
    (millisecond precision), in domain order then visit order. Pure and deterministic otherwise.
    Raises ValueError if the visits or the log belong to more than one participant.
    """
    settings = settings or DEFAULT_SETTINGS
    history = merge_visits(visits)
    events = log_order(log)
    participants = {v.participant for v in history} | {e.participant for e in events}
    if len(participants) > 1:
        raise ValueError(f"assess takes one participant's history, got {len(participants)}")
    if not history:
        return []
    participant = history[0].participant
    from processing.cases.fold import fold  # the fold module imports this package's model only

    cases = fold(events)
    seen = {e.event_id for e in events}
    sex = next((v.sex for v in reversed(history) if v.sex is not None), None)
    limits = cutoffs(sex, settings)
    stamp = to_ms(processed_at)
    out: list[CaseEvent] = []
    for domain in DOMAIN_METRICS:
        chain = episodes(participant, domain, events)
        base: list[VisitMeasures] = []
        start: datetime | None = None
        for episode in chain:
            end = episode.resolution.at if episode.resolution is not None else None
            window = [v for v in history if (start is None or v.at > start) and (end is None or v.at <= end)]
            ctx = _Context(
                participant=participant,
                domain=domain,
                episode=episode,
                case=cases.get(episode.case_id),
                seen=seen,
                processed_at=stamp,
                limits=limits,
                settings=settings,
                emit=episode.resolution is None,
            )
            result = _replay_episode(ctx, list(base), window)
            out.extend(result.events)
            if episode.resolution is not None:
                base = _next_baseline(result, episode.resolution.reason)
                start = end
    return out
