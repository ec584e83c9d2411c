"""Decline across visits (docs/scoring.md): pure rules, no I/O.

:func:`detect_decline` compares a participant's new value of one metric with their own history
(any station, any order) and returns the events it raises:

- ``baseline_change`` (continuous metrics): the new value differs from the personal baseline —
  the median of all earlier visits — by at least the metric's meaningful change in the worse
  direction. ``warning`` from the small meaningful change, ``critical`` from the substantial one.
  Relative rules (sway area) measure the change as a fraction of the baseline.
- ``sppb_drop`` (``sppb_total``): the new SPPB is at least 1 point below the *previous* visit
  (FrailWatch design). The previous visit, not the baseline, because the baseline comparison is already
  ``baseline_change``; this rule catches a step down between consecutive visits even when the
  baseline is still high. 1 point is a substantial change (Perera 2006), so the event is ``critical``.
- ``category_worsening`` (ordinal metrics ``frailty_level``, ``awgs_level``): the new level is
  worse than the previous visit's. ``critical`` when it reaches the worst level or jumps two or
  more, else ``warning``.
- ``trend`` (continuous metrics with ``trend_per_year``): once ≥ 5 visits exist including the new
  one, the Theil–Sen slope (Sen 1968; median of pairwise slopes, :func:`theil_sen`) is
  beyond ``trend_per_year`` in the worse direction, *and* its 90 % confidence interval lies
  entirely on the worse side of zero, *and* the fitted change over the observed span is at least
  the meaningful change, *and* the new value is at least half the meaningful change worse than
  the baseline. The last three guard against noise: visits bunched in a few weeks give huge
  per-year slopes, and an early dip followed by years of plateau keeps a negative slope although
  the participant is no longer declining. ``warning`` when the fitted change reaches the
  substantial change, else ``info``.

Which observations count: only those strictly earlier than the new one (``at`` < ``new.at``), so
a redelivered observation (same ``at``) is ignored and a late-arriving old visit is judged
against what came before it — the events depend on the set of observations, never on arrival or
list order. Exact duplicates (same ``at``, station and value) count once. A change equal to a
threshold counts as reaching it (within 1e-9, so 0.90 − 0.95 in floating point is 0.05).

One table of thresholds, :data:`DECLINE_RULES`, each row with its citation; docs/scoring.md shows
it via :func:`rules_markdown`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Rule = Literal["baseline_change", "category_worsening", "sppb_drop", "trend"]
Severity = Literal["info", "warning", "critical"]

MIN_BASELINE_VISITS = 1  # one earlier visit is a baseline (Perera 2006 compares two measurements)
MIN_TREND_VISITS = 5  # including the new one (FrailWatch design)
TREND_CONFIDENCE = 0.90  # two-sided confidence of the Theil–Sen slope interval
SPPB_DROP_POINTS = 1.0
SECONDS_PER_YEAR = 365.25 * 24 * 3600
_EPS = 1e-9


class Observation(BaseModel):
    """One value of one metric at one visit."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    station_id: str
    value: Annotated[float, Field(allow_inf_nan=False)]


class DeclineEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    rule: Rule
    severity: Severity
    baseline: float | None = Field(description="median of earlier visits, or the previous visit's value")
    current: float
    change: float | None = Field(description="current − baseline; for a trend, the fitted change")
    at: AwareDatetime
    station_id: str
    detail: str


class MetricRule(BaseModel):
    """One row of the thresholds table."""

    model_config = ConfigDict(frozen=True)

    metric: str
    worse: Literal["lower", "higher"]
    meaningful_change: Annotated[float, Field(gt=0)] = Field(description="small meaningful change")
    relative: bool = Field(description="changes are fractions of the baseline, not units")
    trend_per_year: Annotated[float, Field(gt=0)] | None
    kind: Literal["continuous", "ordinal"]
    citation: str
    substantial_change: Annotated[float, Field(gt=0)] | None = None
    unit: str = ""
    levels: tuple[str, ...] = Field(default=(), description="names of the ordinal levels, best first")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.substantial_change is not None and self.substantial_change < self.meaningful_change:
            raise ValueError("substantial_change must not be below meaningful_change")
        if self.kind == "ordinal" and (not self.levels or self.trend_per_year is not None or self.relative):
            raise ValueError("an ordinal rule names its levels and has no trend or relative change")
        if self.relative and self.trend_per_year is not None:
            raise ValueError("trends are in units per year; a relative rule has none")
        return self

    def severity(self, magnitude: float) -> Severity:
        """``critical`` from the substantial change, else ``warning``."""
        big = self.substantial_change
        return "critical" if big is not None and _reaches(magnitude, big) else "warning"


PERERA_2006 = (
    "Perera S, Mody SH, Woodman RC, Studenski SA. Meaningful change and responsiveness in common "
    "physical performance measures in older adults. J Am Geriatr Soc 2006;54(5):743–749"
)
TREND_CHOICE = "Trend: FrailWatch choice — the small meaningful change accumulated within one year."

_ROWS = (
    MetricRule(
        metric="gait_speed_mps",
        worse="lower",
        meaningful_change=0.05,
        substantial_change=0.10,
        relative=False,
        trend_per_year=0.05,
        kind="continuous",
        unit="m/s",
        citation=f"{PERERA_2006}: 0.05 m/s small, 0.10 m/s substantial. {TREND_CHOICE}",
    ),
    MetricRule(
        metric="sppb_total",
        worse="lower",
        meaningful_change=0.5,
        substantial_change=1.0,
        relative=False,
        trend_per_year=0.5,
        kind="continuous",
        unit="points",
        citation=f"{PERERA_2006}: 0.5 point small, 1 point substantial. {TREND_CHOICE} "
        "sppb_drop: ≥ 1 point below the previous visit (FrailWatch design).",
    ),
    MetricRule(
        metric="grip_max_kg",
        worse="lower",
        meaningful_change=5.0,
        substantial_change=6.5,
        relative=False,
        trend_per_year=5.0,
        kind="continuous",
        unit="kg",
        citation="Bohannon RW. Minimal clinically important difference for grip strength: a systematic "
        "review. J Phys Ther Sci 2019;31(1):75–78: MCID estimates 5.0–6.5 kg "
        "(FrailWatch design: about 5 kg); "
        f"5.0 small, 6.5 substantial. {TREND_CHOICE}",
    ),
    MetricRule(
        metric="chair_stand_5x_s",
        worse="higher",
        meaningful_change=1.7,
        substantial_change=2.3,
        relative=False,
        trend_per_year=1.7,
        kind="continuous",
        unit="s",
        citation="Jones SE et al. The five-repetition sit-to-stand test as a functional outcome measure "
        "in COPD. Thorax 2013;68(11):1015–1020: MCID 1.7 s (small); Meretta BM et al. The five times "
        "sit to stand test: responsiveness to change. J Vestib Res 2006;16(4–5):233–243: 2.3 s "
        f"(substantial). Not from community-dwelling older adults: FrailWatch choice. {TREND_CHOICE}",
    ),
    MetricRule(
        metric="tug_time_s",
        worse="higher",
        meaningful_change=0.8,
        substantial_change=1.4,
        relative=False,
        trend_per_year=0.8,
        kind="continuous",
        unit="s",
        citation="Wright AA et al. A comparison of 3 methodological approaches to defining major clinically "
        "important improvement of 4 performance measures in patients with hip osteoarthritis. J Orthop "
        "Sports Phys Ther 2011;41(5):319–327: major clinically important improvement 0.8, 1.2 or 1.4 s by "
        "method; 0.8 small, 1.4 substantial. Hip-OA "
        f"population: FrailWatch choice. {TREND_CHOICE}",
    ),
    MetricRule(
        metric="sway_ellipse95_area_mm2",
        worse="higher",
        meaningful_change=0.5,
        substantial_change=1.0,
        relative=True,
        trend_per_year=None,
        kind="continuous",
        unit="fraction of baseline",
        citation="FrailWatch choice: no published meaningful change for the 95 % ellipse area in older "
        "adults; the area is right-skewed and less reliable between days than mean velocity (Lin D, "
        "Seol H, Nussbaum MA, Madigan ML. Reliability of COP-based postural sway measures and age-related "
        "differences. Gait Posture 2008;28(2):337–342), so "
        "+50 % of the baseline is small, doubling substantial; no trend rule.",
    ),
    MetricRule(
        metric="sway_mean_velocity_mm_s",
        worse="higher",
        meaningful_change=0.3,
        substantial_change=0.6,
        relative=True,
        trend_per_year=None,
        kind="continuous",
        unit="fraction of baseline",
        citation="FrailWatch choice: no published meaningful change for centre-of-pressure mean velocity "
        "in older adults; it is the most reliable sway measure between days (Lin 2008; Riemann BL, "
        "Piersol K. Aging Clin Exp Res 2017;29(5):1045–1048: SEM 16–24 % of the mean), so +30 % of the "
        "baseline is small, +60 % substantial; no trend rule.",
    ),
    MetricRule(
        metric="kfrail_score",
        worse="higher",
        meaningful_change=1.0,
        substantial_change=2.0,
        relative=False,
        trend_per_year=None,
        kind="continuous",
        unit="items",
        citation="FrailWatch choice: each FRAIL item is one deficit (Morley JE et al. J Nutr Health Aging "
        "2012;16(7):601–608; K-FRAIL: Jung H-W et al. Korean J Intern Med 2016;31(3):594–600); one more "
        "item is the smallest change, two substantial; no trend rule on a 0–5 count.",
    ),
    MetricRule(
        metric="fried_count",
        worse="higher",
        meaningful_change=1.0,
        substantial_change=2.0,
        relative=False,
        trend_per_year=None,
        kind="continuous",
        unit="criteria",
        citation="FrailWatch choice, as for K-FRAIL: each Fried phenotype criterion is one deficit (Fried LP "
        "et al. J Gerontol A 2001;56(3):M146–M156); one more criterion is the smallest change, two "
        "substantial; no trend rule on a 0–5 count.",
    ),
    MetricRule(
        metric="frailty_level",
        worse="higher",
        meaningful_change=1.0,
        relative=False,
        trend_per_year=None,
        kind="ordinal",
        levels=("robust", "pre_frail", "frail"),
        citation="Category worsening robust → pre-frail → frail (FRAIL/K-FRAIL: Morley 2012, Jung 2016; "
        "Fried LP et al. J Gerontol A 2001;56(3):M146–M156) vs the previous visit.",
    ),
    MetricRule(
        metric="awgs_level",
        worse="higher",
        meaningful_change=1.0,
        relative=False,
        trend_per_year=None,
        kind="ordinal",
        levels=("none", "possible_sarcopenia", "sarcopenia", "severe_sarcopenia"),
        citation="AWGS 2019 status worsening (Chen L-K et al. J Am Med Dir Assoc 2020;21(3):300–307.e2) "
        "vs the previous visit.",
    ),
)
DECLINE_RULES: dict[str, MetricRule] = {row.metric: row for row in _ROWS}


class UnknownMetric(ValueError):
    """A metric with no row in :data:`DECLINE_RULES`."""


def detect_decline(metric: str, history: Sequence[Observation], new: Observation) -> list[DeclineEvent]:
    """Events for ``new`` given the participant's ``history`` of ``metric`` (see module docstring).

    Raises :class:`UnknownMetric` for a metric without a rule. Returns events in a fixed order
    (baseline_change, sppb_drop, category_worsening, trend).
    """
    rule = DECLINE_RULES.get(metric)
    if rule is None:
        raise UnknownMetric(f"no decline rule for metric {metric!r}; known: {', '.join(DECLINE_RULES)}")
    earlier = _earlier(history, new.at)
    if len(earlier) < MIN_BASELINE_VISITS:
        return []
    if rule.kind == "ordinal":
        return _opt(_category_worsening(rule, earlier, new))
    events = _opt(_baseline_change(rule, earlier, new))
    if metric == "sppb_total":
        events += _opt(_sppb_drop(rule, earlier, new))
    if rule.trend_per_year is not None:
        events += _opt(_trend(rule, earlier, new))
    return events


def _opt(event: DeclineEvent | None) -> list[DeclineEvent]:
    return [] if event is None else [event]


def _earlier(history: Sequence[Observation], at: datetime) -> list[Observation]:
    """Distinct observations strictly before ``at``, oldest first, ties in a fixed order."""
    distinct = {(o.at, o.station_id, o.value): o for o in history if o.at < at}
    return [distinct[key] for key in sorted(distinct, key=lambda k: (k[0], k[1], k[2]))]


def _reaches(magnitude: float, threshold: float) -> bool:
    return magnitude >= threshold - _EPS * max(1.0, abs(threshold))


def _worse_by(rule: MetricRule, change: float) -> float:
    """The change as an amount of worsening (positive = worse)."""
    return -change if rule.worse == "lower" else change


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _event(
    rule: MetricRule,
    kind: Rule,
    severity: Severity,
    baseline: float | None,
    new: Observation,
    change: float | None,
    detail: str,
) -> DeclineEvent:
    return DeclineEvent(
        metric=rule.metric,
        rule=kind,
        severity=severity,
        baseline=baseline,
        current=new.value,
        change=change,
        at=new.at,
        station_id=new.station_id,
        detail=detail,
    )


def baseline_of(earlier: Sequence[Observation]) -> float:
    """The personal baseline: median of earlier visits (FrailWatch design)."""
    return float(statistics.median(o.value for o in earlier))


def _scaled_worsening(rule: MetricRule, baseline: float, value: float) -> float | None:
    """Worsening in the rule's units (fraction of baseline if relative); None if undefined."""
    change = value - baseline
    if rule.relative:
        if baseline <= 0:
            return None  # no proportion of a zero baseline
        change /= baseline
    return _worse_by(rule, change)


def _baseline_change(
    rule: MetricRule, earlier: Sequence[Observation], new: Observation
) -> DeclineEvent | None:
    baseline = baseline_of(earlier)
    worsening = _scaled_worsening(rule, baseline, new.value)
    if worsening is None or not _reaches(worsening, rule.meaningful_change):
        return None
    severity = rule.severity(worsening)
    size = "substantial" if severity == "critical" else "small"
    amount = f"{worsening:.0%}" if rule.relative else f"{_fmt(worsening)} {rule.unit}"
    detail = (
        f"{rule.metric} {_fmt(new.value)} vs baseline {_fmt(baseline)} (median of {len(earlier)} earlier "
        f"visit(s)): worse by {amount}, beyond the {size} meaningful change"
    )
    return _event(rule, "baseline_change", severity, baseline, new, new.value - baseline, detail)


def _sppb_drop(rule: MetricRule, earlier: Sequence[Observation], new: Observation) -> DeclineEvent | None:
    previous = earlier[-1].value
    drop = previous - new.value
    if not _reaches(drop, SPPB_DROP_POINTS):
        return None
    detail = f"SPPB {_fmt(new.value)} vs {_fmt(previous)} at the previous visit: down {_fmt(drop)} point(s)"
    return _event(rule, "sppb_drop", rule.severity(drop), previous, new, new.value - previous, detail)


def _level_name(rule: MetricRule, value: float) -> str:
    index = int(value)
    return rule.levels[index] if index == value and 0 <= index < len(rule.levels) else _fmt(value)


def _category_worsening(
    rule: MetricRule, earlier: Sequence[Observation], new: Observation
) -> DeclineEvent | None:
    previous = earlier[-1].value
    steps = _worse_by(rule, new.value - previous)
    if not _reaches(steps, rule.meaningful_change):
        return None
    worst = len(rule.levels) - 1 if rule.worse == "higher" else 0
    severity: Severity = "critical" if new.value == worst or steps >= 2 else "warning"
    detail = (
        f"{rule.metric} worsened from {_level_name(rule, previous)} at the previous visit "
        f"to {_level_name(rule, new.value)}"
    )
    return _event(rule, "category_worsening", severity, previous, new, new.value - previous, detail)


def _trend(rule: MetricRule, earlier: Sequence[Observation], new: Observation) -> DeclineEvent | None:
    assert rule.trend_per_year is not None
    points = [*earlier, new]
    if len(points) < MIN_TREND_VISITS:
        return None
    t0 = points[0].at
    years = [(o.at - t0).total_seconds() / SECONDS_PER_YEAR for o in points]
    span = years[-1]
    if span <= 0:
        return None
    baseline = baseline_of(earlier)
    if not _reaches(_worse_by(rule, new.value - baseline), rule.meaningful_change / 2):
        return None  # not currently below the baseline: an old dip, not an ongoing decline

    fit = theil_sen(years, [o.value for o in points], TREND_CONFIDENCE)
    if fit is None:
        return None
    slope, low, high = fit
    if not (math.isfinite(low) and math.isfinite(high)):
        return None  # no confidence interval, so no evidence of a trend
    worse_rate = _worse_by(rule, slope)
    ci_worse = high < 0 if rule.worse == "lower" else low > 0
    fitted = slope * span
    if not (ci_worse and _reaches(worse_rate, rule.trend_per_year)):
        return None
    if not _reaches(_worse_by(rule, fitted), rule.meaningful_change):
        return None
    big = rule.substantial_change
    severity: Severity = "warning" if big is not None and _reaches(abs(fitted), big) else "info"
    detail = (
        f"{rule.metric} Theil–Sen slope {_fmt(slope)} {rule.unit}/year over {len(points)} visits in "
        f"{span:.2g} years ({int(TREND_CONFIDENCE * 100)} % CI {_fmt(low)} to {_fmt(high)}), fitted change "
        f"{_fmt(fitted)} {rule.unit}; threshold {_fmt(rule.trend_per_year)} {rule.unit}/year"
    )
    return _event(rule, "trend", severity, baseline, new, fitted, detail)


def theil_sen(x: Sequence[float], y: Sequence[float], confidence: float) -> tuple[float, float, float] | None:
    """Theil–Sen slope with Sen's confidence interval: (slope, low, high), or None without two
    distinct x; low and high are NaN when ties leave no interval.

    The median of the slopes of all pairs with distinct x (Theil 1950; Sen 1968), and the interval
    from the normal approximation to Kendall's S with the tie correction of Sen (1968) eq. 2.6 —
    the same computation, index for index, as ``scipy.stats.theilslopes`` (tests compare the two).
    NumPy rather than SciPy on purpose: importing ``scipy.stats`` costs seconds in a fresh gateway
    process (benchmarks/scoring_decline); the pairs are vectorised because home wearables can give
    a participant hundreds of gait-speed values. NumPy is imported here, not at module level, so the
    tables of this module (which the pure case detector reads) cost no NumPy import.
    """
    import numpy as np

    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx, dy = xs[None, :] - xs[:, None], ys[None, :] - ys[:, None]
    later = dx > 0
    slopes = np.sort(dy[later] / dx[later])
    if slopes.size == 0:
        return None
    n, nt = ys.size, slopes.size
    sigma_sq = (n * (n - 1) * (2 * n + 5) - _tie_term(xs) - _tie_term(ys)) / 18.0
    z = statistics.NormalDist().inv_cdf(min(confidence, 1.0 - confidence) / 2.0)  # negative
    slope = float(np.median(slopes))
    if sigma_sq < 0:  # ties everywhere (e.g. a constant series): no interval, as SciPy gives NaN
        return slope, math.nan, math.nan
    sigma = math.sqrt(sigma_sq)
    upper = min(round((nt - z * sigma) / 2.0), nt - 1)  # round half to even, as numpy
    lower = max(round((nt + z * sigma) / 2.0) - 1, 0)
    return slope, float(slopes[lower]), float(slopes[upper])


def _tie_term(values: npt.NDArray[np.float64]) -> int:
    """Σ k(k−1)(2k+5) over groups of k equal values (Sen 1968 eq. 2.6)."""
    import numpy as np

    counts = np.unique(values, return_counts=True)[1]
    return int(sum(int(k) * (int(k) - 1) * (2 * int(k) + 5) for k in counts if k > 1))


def rules_markdown() -> str:
    """The thresholds table as Markdown (docs/scoring.md embeds it; a test keeps them equal)."""
    lines = [
        "| metric | worse | small change | substantial | relative | trend / year | kind | basis |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in DECLINE_RULES.values():
        trend = "—" if r.trend_per_year is None else f"{r.trend_per_year:g} {r.unit}/year"
        kind = r.kind if r.kind == "continuous" else f"ordinal ({' → '.join(r.levels)})"
        relative = "yes" if r.relative else "no"
        small, big = _amount(r, r.meaningful_change), _amount(r, r.substantial_change)
        lines.append(
            f"| `{r.metric}` | {r.worse} | {small} | {big} | {relative} | {trend} | {kind} | {r.citation} |"
        )
    return "\n".join(lines) + "\n"


def _amount(rule: MetricRule, value: float | None) -> str:
    if value is None:
        return "—"
    if rule.kind == "ordinal":
        return f"{value:g} level"
    return f"{value:+.0%} of baseline" if rule.relative else f"{value:g} {rule.unit}"
