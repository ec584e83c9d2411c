"""Kinds of decline a simulated participant can have, in clinical terms: one definition for the
device simulator (:mod:`edge.simulate.cohort`) and the decline-rates benchmark
(``benchmarks/decline_rates.py``).

A kind is the *total* worsening per metric once the decline is complete (signed, in the metric's
units) and the domain it belongs to (:class:`telemetry.cases.Domain`):

- **substantial mobility**: gait speed −0.20 m/s, SPPB −2 points, 5× chair stand +4.0 s, TUG
  +2.8 s — twice the substantial meaningful changes (Perera 2006 for gait speed and SPPB;
  :data:`processing.decline.DECLINE_RULES`).
- **moderate mobility**: −0.10 m/s, −1 point, +2.3 s, +1.4 s — *one* substantial meaningful change
  each.
- **strength only**: grip −6.5 kg — grip's substantial meaningful change, the top of Bohannon
  2019's MCID range 5.0–6.5 kg (one substantial change, as for moderate mobility).

Each decliner's change is the kind's times a factor drawn from :data:`SIZE_FACTOR`, either as a
**step** (all at once) or **gradual** (linearly over :data:`GRADUAL_DAYS`), and then stays at that
level: a decline reaches a plateau (:meth:`Decline.share`). When it starts is up to the caller (the
benchmark: 9–18 months into 42 months of follow-up; the simulator: after the participant's third
visit, so a personal baseline exists).

The simulator applies the timed parts (gait speed, chair stand, TUG, grip) and lets the SPPB follow
from them, as a station scores it; the benchmark draws the SPPB change directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from telemetry.cases import Domain

Shape = Literal["step", "gradual"]
SHAPES: tuple[Shape, ...] = ("step", "gradual")
SIZE_FACTOR = (0.8, 1.2)  # a decliner's change is the kind's times U(0.8, 1.2)
GRADUAL_DAYS = (180.0, 360.0)  # a gradual decline takes 6–12 months, U(180, 360) days


@dataclass(frozen=True)
class DeclineKind:
    """One kind: the total worsening per metric (signed, metric units) and its domain."""

    name: str
    domain: Domain
    change: Mapping[str, float]


def _kind(name: str, domain: Domain, change: dict[str, float]) -> DeclineKind:
    return DeclineKind(name, domain, MappingProxyType(change))


#: name → kind, in the benchmark's order.
DECLINE_KINDS: dict[str, DeclineKind] = {
    k.name: k
    for k in (
        _kind(
            "substantial_mobility",
            Domain.MOBILITY,
            {"gait_speed_mps": -0.20, "sppb_total": -2.0, "chair_stand_5x_s": 4.0, "tug_time_s": 2.8},
        ),
        _kind(
            "moderate_mobility",
            Domain.MOBILITY,
            {"gait_speed_mps": -0.10, "sppb_total": -1.0, "chair_stand_5x_s": 2.3, "tug_time_s": 1.4},
        ),
        _kind("strength_only", Domain.STRENGTH, {"grip_max_kg": -6.5}),
    )
}


def share_reached(day: float, onset_day: float, end_day: float) -> float:
    """Share of the decline reached on ``day``: 0 before the onset, 1 from the end on (a step has
    end = onset), linear in between."""
    if day < onset_day:
        return 0.0
    if day >= end_day:
        return 1.0
    return (day - onset_day) / (end_day - onset_day)


@dataclass(frozen=True)
class Decline:
    """One participant's decline: its kind, shape, size and timing (days from the cohort's start)."""

    kind: str
    shape: Shape
    factor: float
    onset_day: float
    end_day: float
    change: Mapping[str, float] = field(default_factory=dict)  # the kind's change × factor

    @property
    def domain(self) -> Domain:
        return DECLINE_KINDS[self.kind].domain

    def share(self, day: float) -> float:
        return share_reached(day, self.onset_day, self.end_day)

    def change_on(self, day: float) -> dict[str, float]:
        """The worsening reached on ``day``, per metric."""
        share = self.share(day)
        return {m: d * share for m, d in self.change.items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "domain": self.domain.value,
            "shape": self.shape,
            "factor": round(self.factor, 4),
            "onset_day": round(self.onset_day, 2),
            "end_day": round(self.end_day, 2),
            "change": {m: round(d, 4) for m, d in self.change.items()},
        }


def decline(kind: str, shape: Shape, factor: float, onset_day: float, days: float = 0.0) -> Decline:
    """A decline of ``kind`` scaled by ``factor``, starting on ``onset_day`` and lasting ``days``
    (0 for a step)."""
    if kind not in DECLINE_KINDS:
        raise ValueError(f"unknown decline kind {kind!r}; one of {', '.join(DECLINE_KINDS)}")
    if shape == "step" and days:
        raise ValueError("a step decline has no duration")
    change = {m: d * factor for m, d in DECLINE_KINDS[kind].change.items()}
    return Decline(kind, shape, factor, onset_day, onset_day + days, MappingProxyType(change))
