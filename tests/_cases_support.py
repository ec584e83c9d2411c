"""Visit histories with known truth for the case tests: stable, declining, noisy, at several stations."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from processing.cases import VisitMeasures

PARTICIPANT = "ab" * 16
T0 = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
LEVELS = {
    "gait_speed_mps": 1.10,
    "sppb_total": 11.0,
    "chair_stand_5x_s": 11.0,
    "tug_time_s": 9.0,
    "grip_max_kg": 24.0,
}
# Per-metric worsening of a substantial mobility decline (2× the substantial meaningful changes).
SUBSTANTIAL = {"gait_speed_mps": -0.20, "sppb_total": -2.0, "chair_stand_5x_s": 4.0, "tug_time_s": 2.8}
NOISE = {
    "gait_speed_mps": 0.07,
    "sppb_total": 0.6,
    "chair_stand_5x_s": 1.6,
    "tug_time_s": 1.0,
    "grip_max_kg": 1.5,
}


def visit(
    n: int,
    measures: dict[str, float],
    *,
    station: str = "st-01",
    days: float | None = None,
    participant: str = PARTICIPANT,
    uncertain: Sequence[str] = (),
    sex: str | None = "female",
) -> VisitMeasures:
    return VisitMeasures(
        participant=participant,
        station_id=station,
        visit_id=f"visit-{n:04d}",
        at=T0 + timedelta(days=60 * n if days is None else days),
        sex=sex,  # type: ignore[arg-type]
        measures=measures,
        uncertain=frozenset(uncertain),
    )


def history(
    count: int,
    *,
    decline_at: int | None = None,
    drop: dict[str, float] | None = None,
    noise: float = 0.0,
    seed: int = 0,
    stations: Sequence[str] = ("st-01",),
    levels: dict[str, float] | None = None,
    participant: str = PARTICIPANT,
) -> list[VisitMeasures]:
    """``count`` visits 60 days apart; from visit ``decline_at`` on, each metric is worse by ``drop``.
    ``noise`` scales Gaussian errors of the table's size (0 = exact values)."""
    rng = random.Random(seed)
    base = dict(levels or LEVELS)
    drop = drop or {}
    out = []
    for n in range(count):
        values = {}
        for m, level in base.items():
            value = level + (drop.get(m, 0.0) if decline_at is not None and n >= decline_at else 0.0)
            value += noise * rng.gauss(0, NOISE.get(m, 0.0))
            if m == "sppb_total":
                value = float(min(12, max(0, round(value))))
            values[m] = round(max(value, 0.05), 4)
        out.append(visit(n, values, station=stations[n % len(stations)], participant=participant))
    return out
