"""How strongly a domain's recent visits say "worse than before": the changepoint statistic.

A domain's certain values in one episode form a :class:`Series` — per measure, each value's
position (the visit's place in the series, baseline visits first), its level on the working
scale (log for relative metrics) and its station. For a *split* at position s the series gives:

1. **Baseline** of each measure (:func:`winsorised_baseline`): the winsorised mean (values clipped
   to their median ± :data:`WINSOR_SEM` SEM) of the last ``window`` values before s — robust to a
   gross error, and every value counts once, so the baseline's own error is SEM/√n, accounted
   for exactly below.
2. **Change** of each measure (:class:`MeasureChange`): the worsening D of the mean of its values
   from s on against the baseline, and the standard error of D for a person whose true level did
   not change, √(SEM²·(1/m + 1/n) + τ²·Σⱼ(uⱼ − wⱼ)²) (:func:`change_sd`): m window values, n
   baseline values, τ the table's station spread, u and w the station mixes of window and
   baseline — visits at a station the baseline never saw carry two station offsets' variance,
   at the baseline's only station none. The z the tests use averages each value's worsening
   clipped to ± :data:`VALUE_CLIP_SEM` SEM (bounded influence, Huber 1964: one unflagged gross
   error in one measure cannot carry a window); the size of the change (D, for the clinical
   gate and the severity) is the plain mean.
3. **Composite** of the domain's measures (:func:`composite_z`): Σz / √(Σᵢⱼ rᵢⱼ) with the exact
   correlation rᵢⱼ of two measures' z under no change — their errors at one visit correlate ρ
   (:data:`ERROR_CORRELATION`), so rᵢⱼ = ρ·σᵢσⱼ·(mᵢⱼ/(mᵢmⱼ) + nᵢⱼ/(nᵢnⱼ)) / (SEᵢSEⱼ) with mᵢⱼ, nᵢⱼ
   the visits both measures have in window and baseline. The composite has unit variance whatever
   subset of measures each visit had.

Over the splits that leave the last m visits in the window, the largest composite is the
generalised likelihood-ratio statistic for a step of unknown size at an unknown visit from an
unknown baseline level (the changepoint model of Hawkins, Qiu & Kang 2003, J Qual Technol
35(4):355–366; for Gaussian errors of known SD, 2·log LR = Z² at the best split). Unlike a CUSUM it
needs no assumed shift size, and it never absorbs the first visits of a sustained shift into the
baseline: the split at the shift keeps gaining evidence as visits accumulate. The series keeps
running sums for the window of each recent split (and the terms of its composite's variance that
rest on the baselines alone), so a visit costs O(splits × measures).
:meth:`Series.without_heaviest` is what a window says without its most-worsened visit (the
detector asks that no single visit carries a case).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from processing.cases.measurement_error import MEASUREMENT_ERROR, MeasurementError
from processing.cases.model import VisitMeasures
from telemetry.cases import Domain

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
WINSOR_SEM = 3.0  # baseline values are clipped to their median ± 3 SEM
VALUE_CLIP_SEM = 3.0  # in the tests a window value's worsening counts at most ± 3 SEM


@dataclass(frozen=True)
class Value:
    """One certain value of one measure in an episode's series."""

    position: int  # the visit's place in the series
    level: float  # on the working scale (log for relative metrics)
    station: str


def scale(error: MeasurementError, value: float) -> float | None:
    """The scale errors are constant on: log for relative metrics (None for a non-positive value)."""
    if error.relative:
        return math.log(value) if value > 0 else None
    return value


def unscale(error: MeasurementError, level: float) -> float:
    return math.exp(level) if error.relative else level


@dataclass(frozen=True)
class MetricBaseline:
    """One metric's personal baseline: level on the working scale, its size and its stations."""

    level: float
    value: float  # the level on the metric's own scale
    n: int
    stations: dict[str, float]  # station → fraction of the baseline values
    positions: frozenset[int] = frozenset()  # which visits of the series it rests on

    def unseen_square(self, seen: dict[str, int]) -> float:
        """Σ of the squared station fractions of the baseline's stations not in ``seen``."""
        return sum(w * w for s, w in self.stations.items() if s not in seen)


def winsorised_baseline(metric: str, values: Sequence[Value]) -> MetricBaseline | None:
    """The winsorised mean of ``values`` (each clipped to their median ± :data:`WINSOR_SEM` SEM):
    one gross error cannot move it far, and every value still counts once."""
    if not values:
        return None
    error = MEASUREMENT_ERROR[metric]
    middle = _median([v.level for v in values])
    spread = WINSOR_SEM * error.sem
    mean = sum(min(middle + spread, max(middle - spread, v.level)) for v in values) / len(values)
    n = len(values)
    stations: dict[str, float] = {}
    for v in values:
        stations[v.station] = stations.get(v.station, 0.0) + 1.0 / n
    return MetricBaseline(
        level=mean,
        value=unscale(error, mean),
        n=n,
        stations=stations,
        positions=frozenset(v.position for v in values),
    )


def _median(levels: list[float]) -> float:
    """The median (as statistics.median computes it, without its per-call overhead)."""
    ordered = sorted(levels)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def values_of(metric: str, visits: Iterable[VisitMeasures], start: int = 0) -> list[Value]:
    """The certain values of ``metric`` in ``visits``, positioned from ``start`` on."""
    error = MEASUREMENT_ERROR[metric]
    out = []
    for position, visit in enumerate(visits, start=start):
        raw = visit.certain(metric)
        level = None if raw is None else scale(error, raw)
        if level is not None:
            out.append(Value(position, level, visit.station_id))
    return out


def metric_baseline(metric: str, visits: Sequence[VisitMeasures], window: int) -> MetricBaseline | None:
    """The winsorised mean of the last ``window`` certain values of ``metric`` in ``visits``."""
    return winsorised_baseline(metric, values_of(metric, visits)[-window:])


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


@dataclass(frozen=True)
class MeasureChange:
    """One measure's change over a window of visits against a baseline."""

    metric: str
    baseline: MetricBaseline
    change: float  # worsening of the window mean on the working scale (positive = worse)
    evidence: float  # the same with each value's worsening clipped to ± VALUE_CLIP_SEM SEM
    se: float  # its standard error under no change
    mean: float  # the window mean on the metric's own scale (geometric for relative metrics)
    m: int  # window values

    @property
    def z(self) -> float:
        """The standardised change the tests use: of the clipped worsenings (bounded influence)."""
        return self.evidence / self.se

    @property
    def raw_z(self) -> float:
        """The standardised change of the plain mean (a cut-off crossing is judged on the value)."""
        return self.change / self.se


class _Sums:
    """Running sums of one measure's window values against a fixed baseline."""

    __slots__ = ("baseline", "bound", "clipped", "count", "error", "levels", "lower", "stations")

    def __init__(self, error: MeasurementError, baseline: MetricBaseline) -> None:
        self.error = error
        self.baseline = baseline
        self.bound = VALUE_CLIP_SEM * error.sem
        self.lower = error.worse == "lower"
        self.count = 0
        self.levels = 0.0
        self.clipped = 0.0
        self.stations: dict[str, int] = {}

    def add(self, value: Value) -> None:
        self.count += 1
        self.levels += value.level
        bound = self.bound
        worse = self.baseline.level - value.level if self.lower else value.level - self.baseline.level
        self.clipped += max(-bound, min(bound, worse))
        self.stations[value.station] = self.stations.get(value.station, 0) + 1

    def change(self, metric: str) -> MeasureChange:
        m = self.count
        mean = self.levels / m
        baseline, error = self.baseline, self.error
        # change_sd's station term, without building the window's mix and the union of stations
        mix = baseline.unseen_square(self.stations)
        for station, k in self.stations.items():
            mix += (k / m - baseline.stations.get(station, 0.0)) ** 2
        se = math.sqrt(error.sem**2 * (1.0 / m + 1.0 / baseline.n) + error.station_sd**2 * mix)
        return MeasureChange(
            metric=metric,
            baseline=baseline,
            change=baseline.level - mean if self.lower else mean - baseline.level,
            evidence=self.clipped / m,
            se=se,
            mean=unscale(error, mean),
            m=m,
        )


def measure_change(metric: str, baseline: MetricBaseline, window: Sequence[Value]) -> MeasureChange | None:
    """The change of ``window``'s mean against ``baseline`` (None without window values)."""
    if not window:
        return None
    sums = _Sums(MEASUREMENT_ERROR[metric], baseline)
    for v in window:
        sums.add(v)
    return sums.change(metric)


def change_z(metric: str, baseline: MetricBaseline, visits: Sequence[VisitMeasures]) -> float | None:
    """Standardised worsening of the mean of ``visits``' certain values of ``metric`` vs ``baseline``."""
    change = measure_change(metric, baseline, values_of(metric, visits))
    return None if change is None else change.z


Pair = tuple[str, str]


def composite_z(
    domain: Domain,
    changes: Iterable[MeasureChange],
    clip: float,
    together: dict[Pair, int] | None = None,
) -> float:
    """Σ clip(z) / √(Σᵢⱼ rᵢⱼ): unit variance under no change, with the exact correlation rᵢⱼ of
    two measures' z (module docstring, step 3). ``together`` counts the window visits each pair of
    measures shares (default: every visit has both, as for one visit)."""
    items = list(changes)
    if not items:
        return 0.0
    rho = ERROR_CORRELATION[domain]
    total = sum(max(-clip, min(clip, c.z)) for c in items)
    variance = float(len(items))
    if rho:
        for i, a in enumerate(items):
            sa = MEASUREMENT_ERROR[a.metric].sem
            for b in items[i + 1 :]:
                sb = MEASUREMENT_ERROR[b.metric].sem
                shared = min(a.m, b.m) if together is None else together.get((a.metric, b.metric), 0)
                window = shared / (a.m * b.m)
                base = len(a.baseline.positions & b.baseline.positions) / (a.baseline.n * b.baseline.n)
                variance += 2 * rho * sa * sb * (window + base) / (a.se * b.se)
    return total / math.sqrt(variance)


@dataclass(frozen=True)
class WindowChange:
    """What the visits from ``split`` on say about a domain against the baselines before it."""

    split: int
    visits: int  # visits in the window (each with some certain value of the domain)
    measures: dict[str, MeasureChange]
    composite: float


class _Window:
    """The running sums of the window that starts at one split, and the terms of its composite's
    variance that depend on the baselines only (they never change as visits are added)."""

    __slots__ = ("baselines", "pairs", "split", "sums", "together", "visits")

    def __init__(self, domain: Domain, split: int, baselines: dict[str, MetricBaseline]) -> None:
        self.split = split
        self.baselines = baselines
        self.sums = {m: _Sums(MEASUREMENT_ERROR[m], b) for m, b in baselines.items()}
        self.together: dict[Pair, int] = {}
        self.visits = 0
        # per pair of measures: 2ρ·σᵢσⱼ and the baselines' share nᵢⱼ/(nᵢnⱼ) (composite_z)
        rho = ERROR_CORRELATION[domain]
        self.pairs: list[tuple[str, str, float, float]] = []
        if rho:
            names = list(baselines)
            for i, a in enumerate(names):
                ba, sa = baselines[a], MEASUREMENT_ERROR[a].sem
                for b in names[i + 1 :]:
                    bb, sb = baselines[b], MEASUREMENT_ERROR[b].sem
                    base = len(ba.positions & bb.positions) / (ba.n * bb.n)
                    self.pairs.append((a, b, 2 * rho * sa * sb, base))

    def add(self, values: dict[str, Value]) -> None:
        self.visits += 1
        judged = [m for m in self.sums if m in values]
        for m in judged:
            self.sums[m].add(values[m])
        for i, a in enumerate(judged):
            for b in judged[i + 1 :]:
                self.together[(a, b)] = self.together.get((a, b), 0) + 1

    def change(self, clip: float) -> WindowChange:
        measures = {m: s.change(m) for m, s in self.sums.items() if s.count}
        return WindowChange(
            split=self.split, visits=self.visits, measures=measures, composite=self._composite(measures, clip)
        )

    def _composite(self, measures: dict[str, MeasureChange], clip: float) -> float:
        """:func:`composite_z` of ``measures`` with this window's precomputed pair terms."""
        if not measures:
            return 0.0
        total = sum(max(-clip, min(clip, c.z)) for c in measures.values())
        variance = float(len(measures))
        for a, b, coef, base in self.pairs:
            ca, cb = measures.get(a), measures.get(b)
            if ca is not None and cb is not None:
                window = self.together.get((a, b), 0) / (ca.m * cb.m)
                variance += coef * (window + base) / (ca.se * cb.se)
        return total / math.sqrt(variance)


class Series:
    """One domain's certain values in an episode, visit by visit: the baselines of each split (a
    split's baseline never changes as visits are added) and the running window from each of the
    last ``max_window`` splits inside the episode.

    Baseline visits come first (:meth:`extend_base`); windows start only at episode visits."""

    def __init__(
        self, domain: Domain, metrics: Sequence[str], window: int, min_baseline: int, max_window: int
    ) -> None:
        self.domain = domain
        self.metrics = tuple(metrics)
        self.window = window
        self.min_baseline = min_baseline
        self.max_window = max_window
        self.visits: list[VisitMeasures] = []
        self.values: dict[str, list[Value]] = {m: [] for m in self.metrics}
        self.episode_start = 0
        self._baselines: dict[tuple[str, int], MetricBaseline | None] = {}
        self._windows: list[_Window] = []

    def __len__(self) -> int:
        return len(self.visits)

    def _record(self, visit: VisitMeasures) -> dict[str, Value] | None:
        position = len(self.visits)
        values = {}
        for metric in self.metrics:
            for value in values_of(metric, [visit], start=position):
                values[metric] = value
                self.values[metric].append(value)
        if not values:
            return None
        self.visits.append(visit)
        return values

    def extend_base(self, visits: Iterable[VisitMeasures]) -> None:
        """Add the baseline the episode starts from (no window starts in it)."""
        for visit in visits:
            self._record(visit)
        self.episode_start = len(self.visits)

    def append(self, visit: VisitMeasures) -> bool:
        """Add an episode visit if it has a certain value of the domain; say whether it had one."""
        split = len(self.visits)
        values = self._record(visit)
        if values is None:
            return False
        self._windows.append(_Window(self.domain, split, self.baselines(split)))
        self._windows = self._windows[-self.max_window :]
        for w in self._windows:
            w.add(values)
        return True

    def baseline(self, metric: str, split: int) -> MetricBaseline | None:
        """The baseline of ``metric`` from the values before ``split`` (None below ``min_baseline``)."""
        key = (metric, split)
        if key not in self._baselines:
            values = self.values[metric]
            end = bisect.bisect_left(values, split, key=lambda v: v.position)
            b = winsorised_baseline(metric, values[max(0, end - self.window) : end])
            self._baselines[key] = b if b is not None and b.n >= self.min_baseline else None
        return self._baselines[key]

    def baselines(self, split: int) -> dict[str, MetricBaseline]:
        return {m: b for m in self.metrics if (b := self.baseline(m, split)) is not None}

    def windows(self, clip: float, min_visits: int) -> list[WindowChange]:
        """The windows of at least ``min_visits`` visits ending at the last visit, longest first."""
        out = []
        for w in self._windows:
            if w.visits >= min_visits and w.sums:
                change = w.change(clip)
                if change.measures:
                    out.append(change)
        return out

    def change(
        self,
        split: int,
        clip: float,
        baselines: dict[str, MetricBaseline] | None = None,
        without: int | None = None,
    ) -> WindowChange:
        """The visits from ``split`` to the last (leaving out position ``without``) against the
        baselines before ``split`` (or against ``baselines``, e.g. a case's frozen one), afresh."""
        window = _Window(self.domain, split, self.baselines(split) if baselines is None else baselines)
        for position in range(split, len(self.visits)):
            if position != without:
                window.add(self.at(position))
        return window.change(clip)

    def without_heaviest(
        self, window: WindowChange, clip: float, metrics: Sequence[str] | None = None
    ) -> float:
        """The composite of ``window`` (of ``metrics``) without the visit that alone says "worse"
        most strongly: what the rest of the window says. Minus infinity for a one-visit window."""
        if window.visits < 2:
            return -math.inf
        baselines = {m: window.measures[m].baseline for m in metrics or window.measures}

        def alone(position: int) -> float:
            values = self.at(position)
            changes = [
                c
                for m, b in baselines.items()
                if m in values and (c := measure_change(m, b, [values[m]])) is not None
            ]
            return composite_z(self.domain, changes, clip) if changes else -math.inf

        heaviest = max(range(window.split, len(self.visits)), key=alone)
        return self.change(window.split, clip, baselines, without=heaviest).composite

    def at(self, position: int) -> dict[str, Value]:
        """The values of the visit at ``position``."""
        return {m: v for m in self.metrics for v in self._at(m, position)}

    def _at(self, metric: str, position: int) -> list[Value]:
        values = self.values[metric]
        i = bisect.bisect_left(values, position, key=lambda v: v.position)
        return [values[i]] if i < len(values) and values[i].position == position else []
