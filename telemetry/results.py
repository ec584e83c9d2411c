"""Visit results on the wire: what the gateway tells a station about one scored visit.

Once the gateway has scored a visit it publishes a :class:`VisitResult` on
``fw/v1/<station>/results`` (QoS 1) for the station where the visit took place. The station's edge
agent keeps it in its local store and shows it on the station page, where the pseudonym is
resolved to the person: the result itself carries no name or member id (architecture: "Pseudonyms only").

In order: the reference each cut-off comes from (:class:`Reference`); a measure's bands — a
yes/no cut-off (:class:`CutoffBand`) or an SPPB points band (:class:`PointsBand`); the measures
(:class:`Measure`); the four instruments with their components (:class:`SppbPart`,
:class:`AwgsPart`, :class:`KFrailPart`, :class:`FriedPart`, together :class:`Scores`); the
participant's earlier visits at any station (:class:`HistoryVisit`) and the comparison of each key
measure with them (:class:`Comparison`); the participant's open cases (:class:`OpenCase`, built
from the :mod:`telemetry.cases` types); the result (:class:`VisitResult`) and its decoder.

The wire carries machine keys and numbers, never prose: the page words them in Korean or English.
Every list is bounded and every number finite, so a station can trust the size of what it stores.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from telemetry import codec
from telemetry.cases import (
    CaseEventKind,
    CaseId,
    CaseState,
    Domain,
    Evidence,
    Severity,
    SocialPrescription,
    StaffId,
)
from telemetry.envelope import MessageId, Pseudonym, StationId, WireModel
from telemetry.errors import ContractError, Reason

MAX_RESULT_BYTES = 64 * 1024  # a full result is ~6 kB; anything near this limit is a bug upstream
MAX_MEASURES = 24
MAX_BANDS = 4
MAX_HISTORY = 12  # visits shown in the comparison and the trend chart, this one included
MAX_OPEN_CASES = 8  # at most one open case per domain (five domains), with room to grow

Finite = Annotated[float, Field(allow_inf_nan=False)]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
Unit = Annotated[str, Field(pattern=r"^[A-Za-z0-9/²%. _-]{0,16}$")]
# "bmi_kg_m2 (or weight_kg with height_cm)": the scoring code's own names for a missing input.
MissingInput = Annotated[str, Field(pattern=r"^[A-Za-z0-9_ ().,/-]{1,96}$")]

#: The measures compared across visits and drawn in the trend chart.
KeyMetric = Literal[
    "gait_speed_mps", "sppb_total", "grip_max_kg", "chair_stand_5x_s", "tug_time_s", "kfrail_score"
]
KEY_METRICS: tuple[KeyMetric, ...] = (
    "gait_speed_mps",
    "sppb_total",
    "grip_max_kg",
    "chair_stand_5x_s",
    "tug_time_s",
    "kfrail_score",
)


class Reference(StrEnum):
    """Whose cut-off a band is."""

    AWGS_2019 = "awgs_2019"  # Chen et al. 2020, J Am Med Dir Assoc 21(3):300–307
    SPPB = "sppb"  # Guralnik et al. 1994, J Gerontol 49(2):M85–M94
    FRIED_2001 = "fried_2001"  # Fried et al. 2001, J Gerontol A 56(3):M146–M156
    K_FRAIL = "k_frail"  # Morley et al. 2012; Korean version Jung et al. 2016
    TUG_FALL_RISK = "tug_fall_risk"  # Shumway-Cook et al. 2000 (13.5 s) or the deployment's choice


class CutoffBand(WireModel):
    """A yes/no cut-off: ``flagged`` when the value lies on the ``side`` of ``cutoff`` that the
    reference counts as a finding (e.g. AWGS 2019: grip *below* 28 kg is low strength in men)."""

    kind: Literal["cutoff"] = "cutoff"
    reference: Reference
    criterion: Key = Field(description="what the cut-off decides, e.g. low_muscle_strength")
    side: Literal["below", "at_most", "at_least", "above"]
    cutoff: Finite
    flagged: bool = Field(description="redundant with the value, side and cutoff; Measure checks it")


class PointsBand(WireModel):
    """An SPPB item band: the value lies between ``low`` and ``high`` (open where None) and scores
    ``points`` of ``max_points``."""

    kind: Literal["points"] = "points"
    reference: Literal[Reference.SPPB] = Reference.SPPB
    criterion: Key = Field(description="sppb_gait, sppb_chair or sppb_balance")
    points: Annotated[int, Field(ge=0, le=4)]
    max_points: Annotated[int, Field(ge=1, le=4)]
    low: Finite | None = None
    high: Finite | None = None
    course_m: Annotated[float, Field(gt=0, le=10)] | None = Field(
        default=None, description="walk course the gait bands belong to (3 or 4 m)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points > self.max_points:
            raise ValueError("points exceed max_points")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("band low is above band high")
        return self


Band = Annotated[CutoffBand | PointsBand, Field(discriminator="kind")]


def _on_flagged_side(value: float, side: str, cutoff: float) -> bool:
    return {
        "below": value < cutoff,
        "at_most": value <= cutoff,
        "at_least": value >= cutoff,
        "above": value > cutoff,
    }[side]


class Measure(WireModel):
    """One measured value of the visit, with the bands it falls in (none for context values)."""

    metric: Key
    value: Finite
    unit: Unit
    bands: Annotated[list[Band], Field(max_length=MAX_BANDS)] = Field(default_factory=list)
    uncertain: bool = Field(default=False, description="a quality check flagged this value")

    @model_validator(mode="after")
    def _flags_agree(self) -> Self:
        for band in self.bands:
            if isinstance(band, CutoffBand) and band.flagged != _on_flagged_side(
                self.value, band.side, band.cutoff
            ):
                raise ValueError(f"{self.metric}: band {band.criterion} flag disagrees with the value")
        return self


FrailtyCategory = Literal["robust", "pre_frail", "frail"]


class SppbPart(WireModel):
    """Short Physical Performance Battery, 0–12 (Guralnik 1994)."""

    total: Annotated[int, Field(ge=0, le=12)]
    balance: Annotated[int, Field(ge=0, le=4)]
    gait: Annotated[int, Field(ge=0, le=4)]
    chair: Annotated[int, Field(ge=0, le=4)]
    walk_distance_m: Annotated[float, Field(gt=0, le=10)] | None = None
    low_performance: bool = Field(description="AWGS 2019 low physical performance: total at most the cut-off")
    low_performance_cutoff: Annotated[int, Field(ge=0, le=12)]

    @model_validator(mode="after")
    def _sums(self) -> Self:
        if self.balance + self.gait + self.chair != self.total:
            raise ValueError("SPPB parts do not add up to the total")
        if self.low_performance != (self.total <= self.low_performance_cutoff):
            raise ValueError("low_performance disagrees with the total and its cut-off")
        return self


class AwgsPart(WireModel):
    """AWGS 2019 sarcopenia status and its three criteria (None = not known at this visit)."""

    status: Literal["none", "possible_sarcopenia", "sarcopenia", "severe_sarcopenia"]
    level: Annotated[int, Field(ge=0, le=3)]
    low_muscle_strength: bool | None = None
    low_physical_performance: bool | None = None
    low_muscle_mass: bool | None = None
    complete: bool
    missing: Annotated[list[MissingInput], Field(max_length=12)] = Field(default_factory=list)


class KFrailPart(WireModel):
    """K-FRAIL (FRAIL scale), 0–5, and its five items."""

    score: Annotated[int, Field(ge=0, le=5)]
    category: FrailtyCategory
    fatigue: bool
    resistance: bool
    ambulation: bool
    illness: bool
    loss_of_weight: bool

    @model_validator(mode="after")
    def _sums(self) -> Self:
        items = (self.fatigue, self.resistance, self.ambulation, self.illness, self.loss_of_weight)
        if sum(items) != self.score:
            raise ValueError("K-FRAIL items do not add up to the score")
        return self


class FriedPart(WireModel):
    """Fried phenotype, 0–5, its criteria and the person-specific cut-offs judged against."""

    count: Annotated[int, Field(ge=0, le=5)]
    category: FrailtyCategory
    weight_loss: bool
    exhaustion: bool
    low_activity: bool
    slowness: bool
    weakness: bool
    walk_15ft_s: Annotated[float, Field(gt=0, lt=1000)]
    slow_walk_cutoff_s: Annotated[float, Field(gt=0, lt=100)]
    weak_grip_cutoff_kg: Annotated[float, Field(gt=0, lt=100)]

    @model_validator(mode="after")
    def _sums(self) -> Self:
        items = (self.weight_loss, self.exhaustion, self.low_activity, self.slowness, self.weakness)
        if sum(items) != self.count:
            raise ValueError("Fried criteria do not add up to the count")
        return self


ScorePart = Literal["sppb", "awgs", "kfrail", "fried"]


class Scores(WireModel):
    """A part is None when its inputs were missing; ``missing`` says which, per part."""

    sppb: SppbPart | None = None
    awgs: AwgsPart | None = None
    kfrail: KFrailPart | None = None
    fried: FriedPart | None = None
    missing: dict[ScorePart, Annotated[list[MissingInput], Field(max_length=12)]] = Field(
        default_factory=dict
    )


class HistoryVisit(WireModel):
    """One visit of the participant, at any station, with its key measures."""

    at: AwareDatetime
    station_id: StationId
    visit_id: MessageId | None = None
    values: Annotated[dict[KeyMetric, Finite], Field(max_length=len(KEY_METRICS))] = Field(
        default_factory=dict
    )


class Comparison(WireModel):
    """A key measure of this visit against the participant's earlier visits (any station).

    ``baseline`` is the median of the earlier visits; ``verdict`` says whether the change from it
    reaches ``meaningful_change`` in the better or the worse direction.
    """

    metric: KeyMetric
    current: Finite
    earlier_visits: Annotated[int, Field(ge=0, le=10_000)]
    previous: Finite | None = None
    previous_at: AwareDatetime | None = None
    baseline: Finite | None = None
    change_from_previous: Finite | None = None
    change_from_baseline: Finite | None = None
    meaningful_change: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    worse: Literal["lower", "higher"]
    verdict: Literal["first_visit", "steady", "better", "worse"]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        first = self.earlier_visits == 0
        if first != (self.verdict == "first_visit") or first != (self.baseline is None):
            raise ValueError("a first visit has no baseline, and only a first visit")
        return self


class OpenCase(WireModel):
    """The current state of one of the participant's open cases (the fold of its events)."""

    case_id: CaseId
    domain: Domain
    state: Literal[CaseState.OPEN, CaseState.ACKNOWLEDGED]
    severity: Severity
    opened_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="processed_at of the case's latest event")
    last_event: CaseEventKind
    evidence: Evidence | None = Field(default=None, description="the latest detection's evidence")
    assignee: StaffId | None = None
    prescription: SocialPrescription | None = None
    prescribed_at: AwareDatetime | None = None
    follow_up_on: dt.date | None = None
    follow_up_set_at: AwareDatetime | None = None


class VisitResult(WireModel):
    """One scored visit for the station that served it (gateway → station, QoS 1)."""

    message_type: Literal["visit_result"] = "visit_result"
    schema_version: Literal[1] = 1
    participant: Pseudonym
    station_id: StationId = Field(description="the station the visit took place at; the topic's station")
    visit_id: MessageId | None = Field(default=None, description="None: the visit is the UTC day's readings")
    visit_date: dt.date = Field(description="UTC day of the visit (the gateway's visit window)")
    at: AwareDatetime = Field(description="the visit's latest input the scores include")
    processed_at: AwareDatetime = Field(
        description="when the gateway built this result; newer replaces older"
    )
    sex: Literal["male", "female"] | None = None
    measures: Annotated[list[Measure], Field(max_length=MAX_MEASURES)] = Field(default_factory=list)
    scores: Scores = Field(default_factory=Scores)
    history: Annotated[list[HistoryVisit], Field(max_length=MAX_HISTORY)] = Field(
        default_factory=list, description="this visit and earlier ones at any station, oldest first"
    )
    comparisons: Annotated[list[Comparison], Field(max_length=len(KEY_METRICS))] = Field(default_factory=list)
    open_cases: Annotated[list[OpenCase], Field(max_length=MAX_OPEN_CASES)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.at.astimezone(dt.UTC).date() != self.visit_date:
            raise ValueError("at is not on visit_date (UTC)")
        if len({m.metric for m in self.measures}) != len(self.measures):
            raise ValueError("a metric appears twice in measures")
        if len({c.metric for c in self.comparisons}) != len(self.comparisons):
            raise ValueError("a metric appears twice in comparisons")
        if len({c.case_id for c in self.open_cases}) != len(self.open_cases):
            raise ValueError("a case appears twice in open_cases")
        if [h.at for h in self.history] != sorted(h.at for h in self.history):
            raise ValueError("history is not oldest first")
        return self

    @property
    def visit_ref(self) -> str:
        """The station's key for this visit: the visit id, or the UTC day for visits without one."""
        return visit_ref(self.visit_id, self.visit_date)


def visit_ref(visit_id: str | None, visit_date: dt.date) -> str:
    """``visit_id``, or ``day-YYYY-MM-DD`` (a visit id never starts with "day-" and a date)."""
    return visit_id if visit_id is not None else f"day-{visit_date.isoformat()}"


def decode_result(data: bytes | bytearray | memoryview | str, station_id: str | None = None) -> VisitResult:
    """Wire bytes as a :class:`VisitResult`; :class:`ContractError` for anything else.

    ``station_id``: the station whose results topic it came on; a result for another station is
    refused (``topic_mismatch``) so a misrouted result is never shown under the wrong station.
    """
    size = len(data.encode() if isinstance(data, str) else bytes(data))
    if size > MAX_RESULT_BYTES:
        raise ContractError(Reason.OVERSIZE, f"{size} bytes exceeds the result limit of {MAX_RESULT_BYTES}")
    result = codec.decode_as(VisitResult, data)
    if station_id is not None and result.station_id != station_id:
        raise ContractError(
            Reason.TOPIC_MISMATCH,
            f"result for station {result.station_id!r} arrived on station {station_id!r}'s topic",
            "station_id",
        )
    return result
