"""Decline detection per participant and domain that keeps false alarms rare: :func:`assess`.

For each domain (mobility: gait speed, SPPB, 5× chair stand, TUG; strength: grip; balance: sway
velocity and area; self-report: K-FRAIL, Fried count; frailty category: the frailty level) and each
episode of it (see :mod:`processing.cases.identity`), the participant's visits are replayed in
measured-time order (ties by visit id):

1. **Personal baseline**, per measure: the winsorised mean (values clipped to their median ± 3 SEM)
   of the last ``baseline_window`` values in the baseline — robust to a gross error, and with the
   property the CUSUM needs: each new visit's change against the mean of all earlier in-control
   values is independent of the earlier changes (Hawkins 1987, self-starting CUSUM). Missing
   measures are simply absent. Judging starts once a measure has ``min_baseline`` values.
   A visit's values join the baseline unless they are *held*: all the domain's values while the
   domain's CUSUM is above ``hold_domain`` × h, a measure's values while its own CUSUM is above
   ``hold`` × its h. Held values join later if the run dies out — so a decline building up is not
   absorbed, while ordinary noise is (holding from the first positive step biased the baseline
   towards the better values and fed false alarms). While a case is open the baseline is frozen.
2. **Standardised change** of each certain measure (values a quality check flagged as uncertain
   never count — not in the baseline, not in any statistic, so they cannot open a case, alone or
   together): z = worsening / √(SEM²·(1 + 1/n) + τ²·Σⱼ(uⱼ − wⱼ)²) — the between-day SEM of
   :mod:`processing.cases.measurement_error`, inflated for a baseline mean of n values, plus the
   station term: τ is the table's station spread, u the new visit's station and w the baseline's
   stations as fractions, so a visit at a station the baseline never saw carries the variance of
   two station offsets, one at the baseline's only station none. z ≥ 1.96 is the reliable change
   of Jacobson & Truax (1991). Relative measures (sway) are judged on the log scale. Each z is
   clipped to ±``z_clip``.
3. **Composite** of the domain's measures at this visit: Z = Σz / √(k + k(k−1)ρ) for k measures
   whose errors correlate ρ (a FrailWatch choice per domain, :data:`ERROR_CORRELATION`), so Z has
   unit variance whatever subset was measured.
4. **One-sided CUSUMs** over visits (Page 1954): S = min(h, max(0, S + Z − k)) for the composite,
   and one per measure (on its clipped z, threshold ``cusum_h_single``) so that a decline of one
   measure alone is not diluted by the others. A case opens when a CUSUM reaches its threshold
   over at least ``min_run_visits`` visits (one wild value never opens a case) *and* the mean of
   the last ``recent_visits`` visits is worse than the baseline by the small meaningful change of
   :data:`processing.decline.DECLINE_RULES` in at least one measure (beyond the noise *and*
   clinically meaningful).
5. **Fast path**: a measure crosses its absolute cut-off (AWGS 2019 slowness < 1.0 m/s, chair stand
   ≥ 12 s, SPPB ≤ 9, weakness < 28 kg men / < 18 kg women; TUG ≥ 13.5 s fall risk, configurable;
   frail) at one visit — the baseline on the good side, the value past the cut-off by at least
   ``fast_guard_sem`` SEM, its change z ≥ ``fast_z``, and corroborated (another measure worse at
   the same visit, or the previous value already past the guard band). The guard band, the change
   requirement and the corroboration keep a person who hovers around a cut-off from flapping and
   one unflagged gross error from opening a case.
6. **Severity**: ``critical`` when a measure's mean over the last ``recent_visits`` visits reaches
   the substantial meaningful change with a reliable z, or lies past a cut-off crossed from the
   good side (or the fast path opened it); else ``warning``. An open case escalates once, to
   ``critical``. Every later visit with the domain's measures updates the case; after
   ``close_after`` consecutive visits back within measurement error (Z ≤ ``within_error_z`` and no
   reliable single change) the case is suggested for closing.

After a case is resolved the next episode starts from a stated baseline: after
``confirmed_referred`` the visits of the case (the post-decline level, so the same decline is not
raised again), after ``not_confirmed``, ``explained`` or ``recovered`` the old, frozen baseline
(the case's visits were noise, a passing cause, or the person is back). Episode windows are cut at
the resolving action's time: visits measured before it belong to the old episode.

Seeded by the log: a case the log says is open stays open from its opening visit even if a late
visit changes the replay, and only events whose ids are not in the log are returned — so calling
again with the log extended by the answer returns nothing, and replicas that saw different subsets
of visits name the same case the same way.

Known floor: a sustained shift too small to lift the composite CUSUM past ``hold_domain`` × h in a
few visits (about 60 % of the substantial change in every mobility measure) is absorbed into the
baseline and never opens a case; docs/scoring.md gives the measured detection rates.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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

#: The measures each domain is judged on.
DOMAIN_METRICS: dict[Domain, tuple[str, ...]] = {
    Domain.MOBILITY: ("gait_speed_mps", "sppb_total", "chair_stand_5x_s", "tug_time_s"),
    Domain.STRENGTH: ("grip_max_kg",),
    Domain.BALANCE: ("sway_mean_velocity_mm_s", "sway_ellipse95_area_mm2"),
    Domain.SELF_REPORT: ("kfrail_score", "fried_count"),
    Domain.FRAILTY_CATEGORY: ("frailty_level",),
}
#: Correlation of the between-day errors of one domain's measures at one visit (FrailWatch choices):
#: mobility tests share the day (fatigue, pain) and the rater; both sway measures come from the same
#: stances; the two questionnaires share items (exhaustion, weight loss).
ERROR_CORRELATION: dict[Domain, float] = {
    Domain.MOBILITY: 0.3,
    Domain.STRENGTH: 0.0,
    Domain.BALANCE: 0.7,
    Domain.SELF_REPORT: 0.5,
    Domain.FRAILTY_CATEGORY: 0.0,
}
MAX_EVIDENCE_VISITS = 12  # telemetry.cases.Evidence holds at most 12
WINSOR_SEM = 3.0  # baseline values are clipped to their median ± 3 SEM
_EPS = 1e-9


class DetectorSettings(BaseModel):
    """The detector's constants. Defaults were tuned on the benchmark's tuning cohort
    (benchmarks/decline_rates.py, seed 1) and reported on a held-out cohort (docs/scoring.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cusum_k: Annotated[float, Field(ge=0)] = Field(default=0.75, description="CUSUM allowance (SD of Z)")
    cusum_h: Annotated[float, Field(gt=0)] = Field(default=1.75, description="CUSUM decision interval")
    cusum_h_single: Annotated[float, Field(gt=0)] = Field(
        default=7.0, description="decision interval of each measure's own CUSUM (domains of several measures)"
    )
    z_clip: Annotated[float, Field(gt=0)] = 4.0
    fast_z: Annotated[float, Field(gt=0)] = Field(
        default=3.0, description="change z a cut-off crossing needs"
    )
    fast_guard_sem: Annotated[float, Field(ge=0)] = Field(
        default=1.0, description="how far past a cut-off (in SEM) a fast-path value must be"
    )
    reliable_z: Annotated[float, Field(gt=0)] = Field(default=1.96, description="Jacobson & Truax 1991")
    hold: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5,
        description="a measure's values wait outside the baseline while its own CUSUM is ≥ hold × its h "
        "(all the domain's values wait while the domain's CUSUM is above hold_domain × h)",
    )
    hold_domain: Annotated[float, Field(ge=0, le=1)] = 0.75
    meaningful_fraction: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="share of the small meaningful change the run's mean change must reach"
    )
    min_baseline: Annotated[int, Field(ge=1)] = 3
    baseline_window: Annotated[int, Field(ge=1)] = 20
    recent_visits: Annotated[int, Field(ge=1)] = Field(
        default=3, description="visits whose mean is 'now' for relevance and severity"
    )
    min_run_visits: Annotated[int, Field(ge=1)] = Field(
        default=2, description="visits a CUSUM case needs (one wild value never opens one alone)"
    )
    close_after: Annotated[int, Field(ge=1)] = 3
    within_error_z: float = 1.0
    tug_fall_risk_s: Annotated[float, Field(gt=0)] = Field(
        default=13.5, description="TUG fall-risk cut-off (some guidelines use 12 s)"
    )


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


# --- baseline and standardised change -------------------------------------------------------------


def _scale(error: MeasurementError, value: float) -> float | None:
    """The scale errors are constant on: log for relative metrics (None for a non-positive value)."""
    if error.relative:
        return math.log(value) if value > 0 else None
    return value


@dataclass(frozen=True)
class MetricBaseline:
    """One metric's personal baseline: level on the working scale, its size and its stations."""

    level: float
    value: float  # the level on the metric's own scale (the median of the values)
    n: int
    stations: dict[str, float]  # station → fraction of the baseline values


def metric_baseline(metric: str, visits: Sequence[VisitMeasures], window: int) -> MetricBaseline | None:
    """The winsorised mean of the last ``window`` certain values of ``metric`` in ``visits``.

    Each value is first clipped to the values' median ± :data:`WINSOR_SEM` SEM, so one gross error
    cannot move the baseline far (robust), while the mean keeps what the CUSUM needs: the change
    of each new value against the mean of all earlier in-control values is independent of the
    previous changes (Hawkins 1987, self-starting CUSUM) — a median, or a baseline that a few
    early visits fix, gives changes that share one error and drift the CUSUM up.
    """
    error = MEASUREMENT_ERROR[metric]
    levels: list[float] = []
    stations: dict[str, float] = {}
    for v in reversed(visits):
        value = v.certain(metric)
        level = None if value is None else _scale(error, value)
        if level is not None:
            levels.append(level)
            stations[v.station_id] = stations.get(v.station_id, 0.0) + 1.0
            if len(levels) == window:
                break
    if not levels:
        return None
    middle = statistics.median(levels)
    spread = WINSOR_SEM * error.sem
    mean = sum(min(middle + spread, max(middle - spread, x)) for x in levels) / len(levels)
    value = math.exp(mean) if error.relative else mean
    n = len(levels)
    return MetricBaseline(level=mean, value=value, n=n, stations={s: k / n for s, k in stations.items()})


def change_sd(error: MeasurementError, baseline: MetricBaseline, stations: dict[str, float], m: int) -> float:
    """SD of (mean of m new values − baseline) for a person whose true level has not changed.

    Measurement: SEM²/m for the new mean, SEM²/n for the baseline's mean of n values. Stations: τ²
    times the squared distance between the new values' station mix ``stations`` and the baseline's.
    """
    measurement = error.sem**2 * (1.0 / m + 1.0 / baseline.n)
    names = set(stations) | set(baseline.stations)
    mix = sum((stations.get(s, 0.0) - baseline.stations.get(s, 0.0)) ** 2 for s in names)
    return math.sqrt(measurement + error.station_sd**2 * mix)


def worsening(error: MeasurementError, baseline_level: float, level: float) -> float:
    """Change in the worse direction on the working scale (positive = worse)."""
    return baseline_level - level if error.worse == "lower" else level - baseline_level


def change_z(metric: str, baseline: MetricBaseline, visits: Sequence[VisitMeasures]) -> float | None:
    """Standardised worsening of the mean of ``visits``' certain values of ``metric`` vs ``baseline``."""
    error = MEASUREMENT_ERROR[metric]
    levels: list[float] = []
    stations: dict[str, float] = {}
    for v in visits:
        value = v.certain(metric)
        level = None if value is None else _scale(error, value)
        if level is not None:
            levels.append(level)
            stations[v.station_id] = stations.get(v.station_id, 0.0) + 1.0
    if not levels:
        return None
    stations = {s: n / len(levels) for s, n in stations.items()}
    sd = change_sd(error, baseline, stations, len(levels))
    return worsening(error, baseline.level, sum(levels) / len(levels)) / sd


def composite(domain: Domain, zs: Iterable[float], clip: float) -> float:
    """Σ clip(z) / √(k + k(k−1)ρ): unit variance for any k of the domain's measures."""
    values = [max(-clip, min(clip, z)) for z in zs]
    k = len(values)
    if k == 0:
        return 0.0
    rho = ERROR_CORRELATION[domain]
    return sum(values) / math.sqrt(k + k * (k - 1) * rho)


# --- one visit, one set of visits -----------------------------------------------------------------


@dataclass
class _Look:
    """What one visit says about a domain against a baseline."""

    baselines: dict[str, MetricBaseline]
    z: dict[str, float]  # metrics with a certain value and a baseline of ≥ min_baseline visits
    has_values: bool  # any certain value of the domain at all

    def composite(self, domain: Domain, settings: DetectorSettings) -> float:
        return composite(domain, self.z.values(), settings.z_clip)


def _baselines(
    domain: Domain, base: Sequence[VisitMeasures], settings: DetectorSettings
) -> dict[str, MetricBaseline]:
    out = {}
    for metric in DOMAIN_METRICS[domain]:
        b = metric_baseline(metric, base, settings.baseline_window)
        if b is not None and b.n >= settings.min_baseline:
            out[metric] = b
    return out


def _look(domain: Domain, baselines: dict[str, MetricBaseline], visit: VisitMeasures) -> _Look:
    z = {}
    has_values = False
    for metric in DOMAIN_METRICS[domain]:
        if visit.certain(metric) is None:
            continue
        has_values = True
        if metric in baselines:
            value = change_z(metric, baselines[metric], [visit])
            if value is not None:
                z[metric] = value
    return _Look(baselines, z, has_values)


def _mean(metric: str, visits: Sequence[VisitMeasures]) -> float | None:
    """Mean of the certain values on the metric's working scale, back on its own scale: arithmetic,
    or geometric for relative metrics (whose baseline is geometric too — an arithmetic mean of
    log-normal sway values would read ~8 % worse than the baseline with no change at all)."""
    error = MEASUREMENT_ERROR[metric]
    levels = [
        lv for v in visits if (x := v.certain(metric)) is not None and (lv := _scale(error, x)) is not None
    ]
    if not levels:
        return None
    mean = sum(levels) / len(levels)
    return math.exp(mean) if error.relative else mean


def _clinical_worsening(metric: str, baseline: MetricBaseline, mean: float) -> float:
    """Worsening of ``mean`` in DECLINE_RULES' units (fraction of the baseline if relative)."""
    rule = DECLINE_RULES[metric]
    change = mean - baseline.value
    if rule.relative:
        change = change / baseline.value if baseline.value > 0 else 0.0
    return -change if rule.worse == "lower" else change


def _meaningful(
    baselines: dict[str, MetricBaseline], visits: Sequence[VisitMeasures], settings: DetectorSettings
) -> bool:
    """Some measure's mean over ``visits`` is worse than its baseline by the small meaningful change
    (times ``meaningful_fraction``)."""
    for metric, baseline in baselines.items():
        mean = _mean(metric, visits)
        bar = DECLINE_RULES[metric].meaningful_change * settings.meaningful_fraction
        if mean is not None and _clinical_worsening(metric, baseline, mean) >= bar - _EPS:
            return True
    return False


def _severity(
    baselines: dict[str, MetricBaseline],
    visits: Sequence[VisitMeasures],
    limits: dict[str, float],
    settings: DetectorSettings,
) -> tuple[Severity, str]:
    """``critical`` (and why) when a measure's mean over ``visits`` reaches the substantial change with
    a reliable z, or lies past a cut-off its baseline was on the good side of; else ``warning``."""
    for metric, baseline in baselines.items():
        mean = _mean(metric, visits)
        if mean is None:
            continue
        error = MEASUREMENT_ERROR[metric]
        rule = DECLINE_RULES[metric]
        big = rule.substantial_change
        if big is not None and _clinical_worsening(metric, baseline, mean) >= big - _EPS:
            z = change_z(metric, baseline, visits)
            if z is not None and z >= settings.reliable_z:
                return "critical", f"{metric} mean worse than baseline by the substantial change, z {z:.2f}"
        limit = limits.get(metric)
        if limit is not None and not _is_past(error, limit, baseline.value) and _is_past(error, limit, mean):
            return (
                "critical",
                f"{metric} mean {mean:.4g} past the cut-off {limit:g} (baseline {baseline.value:.4g})",
            )
    return "warning", "below the substantial change and the cut-offs"


def _fast_path(
    look: _Look,
    visit: VisitMeasures,
    earlier: Sequence[VisitMeasures],
    limits: dict[str, float],
    settings: DetectorSettings,
) -> str | None:
    """The metric whose cut-off this visit crossed decisively, if any.

    Decisively: the baseline on the good side, this value past the cut-off by the guard band and
    with a change z ≥ ``fast_z``, *and* corroborated — another of the domain's measures at this
    visit is worse too (z ≥ 1), or the previous value of this measure was already past the
    cut-off by the guard band. One unflagged gross error (a grip not squeezed, a walk interrupted)
    is then not enough.
    """
    for metric, z in look.z.items():
        limit = limits.get(metric)
        value = visit.certain(metric)
        if limit is None or value is None or z < settings.fast_z:
            continue
        error = MEASUREMENT_ERROR[metric]
        if _is_past(error, limit, look.baselines[metric].value):
            continue  # already past it at baseline: nothing was crossed
        guard = settings.fast_guard_sem * error.sem
        if _past_by(error, limit, value) < guard - _EPS:
            continue
        others = any(other >= 1.0 for m, other in look.z.items() if m != metric)
        previous = next((x for v in reversed(earlier) if (x := v.certain(metric)) is not None), None)
        confirmed = previous is not None and _past_by(error, limit, previous) >= guard - _EPS
        if others or confirmed:
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


def _z_text(look: _Look) -> str:
    return ", ".join(f"{m} z {z:+.2f}" for m, z in look.z.items()) or "no judged measure"


@dataclass
class _EpisodeResult:
    frozen: list[VisitMeasures]  # the baseline the case was judged against (or the last baseline)
    case_visits: list[VisitMeasures]  # from the opening visit on
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
    result = _EpisodeResult(frozen=base, case_visits=[])
    pending: list[VisitMeasures] = []  # values not (yet) in the baseline: the current runs
    cusum = 0.0
    per_metric = dict.fromkeys(DOMAIN_METRICS[domain], 0.0)
    several = len(DOMAIN_METRICS[domain]) > 1
    opened = False
    frozen_baselines: dict[str, MetricBaseline] = {}
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

    for visit in visits:
        if not opened and anchor is not None and (visit.at, visit.visit_id) >= anchor:
            opened = True  # the log says the case opened here; it stays open whatever the replay says
            result.frozen = list(base)
            frozen_baselines = _baselines(domain, base, settings)
            if visit.visit_id == anchor[1]:
                result.case_visits.append(visit)
                continue
        if not opened:
            baselines = _baselines(domain, base, settings)
            look = _look(domain, baselines, visit)
            if not look.has_values:
                continue
            z = look.composite(domain, settings)
            statistic = max(0.0, cusum + z - settings.cusum_k) if look.z else cusum
            singles = {
                m: max(0.0, per_metric[m] + max(-settings.z_clip, min(settings.z_clip, x)) - settings.cusum_k)
                for m, x in look.z.items()
            }
            candidate = [*pending, visit]
            recent = candidate[-settings.recent_visits :]
            confirmed = len(candidate) >= settings.min_run_visits
            alarm = confirmed and statistic >= settings.cusum_h - _EPS
            single = max(singles, key=lambda m: singles[m]) if singles and several else None
            single_alarm = (
                confirmed and single is not None and singles[single] >= settings.cusum_h_single - _EPS
            )
            fast = _fast_path(look, visit, [*base, *pending], ctx.limits, settings)
            if fast is None and not ((alarm or single_alarm) and _meaningful(baselines, recent, settings)):
                cusum = min(statistic, settings.cusum_h)
                per_metric.update({m: min(x, settings.cusum_h_single) for m, x in singles.items()})
                held = {m for m, x in per_metric.items() if x >= settings.hold * settings.cusum_h_single}
                if cusum > settings.hold_domain * settings.cusum_h:  # the domain's run: all its values wait
                    held = set(per_metric)
                pending = _absorb(candidate, held, base)
                continue
            opened = True
            result.frozen = list(base)
            frozen_baselines = baselines
            result.case_visits.append(visit)
            if fast is not None:
                sev: Severity = "critical"
                why = f"{fast} crossed its cut-off {ctx.limits[fast]:g}"
                rule, stat, threshold = f"cutoff:{fast}", look.z[fast], settings.fast_z
            elif alarm:
                sev, why = _severity(baselines, recent, ctx.limits, settings)
                rule, stat, threshold = "cusum", statistic, settings.cusum_h
            else:
                assert single is not None
                sev, why = _severity(baselines, recent, ctx.limits, settings)
                rule, stat, threshold = f"cusum:{single}", singles[single], settings.cusum_h_single
            severity = raise_to(sev)
            detail = (
                f"composite z {z:+.2f} at this visit, CUSUM {statistic:.2f} (h {settings.cusum_h:g}), "
                f"largest single-measure CUSUM {max(singles.values(), default=0.0):.2f} "
                f"(h {settings.cusum_h_single:g}) over {len(candidate)} visit(s); {_z_text(look)}; "
                f"{severity}: {why}"
            )
            evidence = _evidence(
                domain, rule, baselines, visit, candidate, statistic=stat, threshold=threshold, detail=detail
            )
            emit(CaseEventKind.OPENED, visit, severity, evidence, "")
            continue

        # an open case: new evidence updates it, may escalate it, may suggest closing it
        look = _look(domain, frozen_baselines, visit)
        if not look.has_values:
            continue
        result.case_visits.append(visit)
        z = look.composite(domain, settings)
        recent = result.case_visits[-settings.recent_visits :]
        sev, why = _severity(frozen_baselines, recent, ctx.limits, settings)
        if _fast_path(look, visit, result.case_visits[:-1], ctx.limits, settings) is not None:
            sev, why = "critical", "a cut-off crossed at this visit"
        current = severity or "warning"
        detail = f"composite z {z:+.2f} vs the frozen baseline; {_z_text(look)}"
        if anchor is None or visit.visit_id != anchor[1]:
            evidence = _evidence(
                domain, "update", frozen_baselines, visit, recent, statistic=z, threshold=None, detail=detail
            )
            emit(CaseEventKind.UPDATED, visit, current, evidence, visit.visit_id)
        if SEVERITY_RANK[sev] > SEVERITY_RANK[current]:
            severity = raise_to(sev)
            evidence = _evidence(
                domain,
                "escalation",
                frozen_baselines,
                visit,
                recent,
                statistic=z,
                threshold=None,
                detail=f"{sev}: {why}; {detail}",
            )
            emit(CaseEventKind.ESCALATED, visit, sev, evidence, sev)
        within = bool(look.z) and z <= settings.within_error_z and max(look.z.values()) < settings.reliable_z
        streak = streak + 1 if within else 0
        if streak == settings.close_after:
            evidence = _evidence(
                domain,
                "within_error",
                frozen_baselines,
                visit,
                recent,
                statistic=z,
                threshold=settings.within_error_z,
                detail=f"{streak} consecutive visits back within measurement error; {detail}",
            )
            emit(CaseEventKind.CLOSE_SUGGESTED, visit, severity or "warning", evidence, visit.visit_id)
    if not opened:
        result.frozen = list(base)
    return result


def _absorb(pending: list[VisitMeasures], held: set[str], base: list[VisitMeasures]) -> list[VisitMeasures]:
    """Move the pending values of every measure not ``held`` into the baseline (kept in measured
    order); return what stays pending."""
    keep = []
    for visit in pending:
        held_values = {m: x for m, x in visit.measures.items() if m in held}
        if len(held_values) < len(visit.measures):
            clean = {m: x for m, x in visit.measures.items() if m not in held}
            base.append(visit if not held_values else visit.model_copy(update={"measures": clean}))
        if held_values:
            keep.append(visit.model_copy(update={"measures": held_values}))
    base.sort(key=lambda v: (v.at, v.visit_id))
    return keep


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
    if reason is ResolveReason.CONFIRMED_REFERRED and previous.case_visits:
        return list(previous.case_visits)
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
