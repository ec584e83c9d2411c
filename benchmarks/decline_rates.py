"""Decline rules on simulated cohorts: how often they fire for stable participants (false alarms)
and for declining ones (detection), as a function of measurement noise.

The thresholds come from the literature; the noise of a station's measurement is not known yet,
so it is a parameter: within-person SD as a multiple of the metric's small meaningful change.
Each participant has ``--visits`` visits half a year apart; a stable one has a constant true value,
a declining one loses ``2 × trend_per_year`` a year. Every visit after the first is judged against
the earlier ones with :func:`processing.decline.detect_decline`. Reported per metric, noise and
cohort: the share of visits with each rule's event and the share of participants with any event.
Usage: ``uv run python -m benchmarks decline_rates [--participants 400] [--visits 8]``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from benchmarks.common import print_table, write_result
from processing.decline import DECLINE_RULES, Observation, detect_decline

METRICS = {"gait_speed_mps": 1.0, "grip_max_kg": 25.0, "chair_stand_5x_s": 12.0}
NOISE_MULTIPLES = (0.25, 0.5, 1.0)
RULES = ("baseline_change", "trend")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
VISIT_EVERY = timedelta(days=182.625)


def simulate(
    metric: str,
    noise_multiple: float,
    declining: bool,
    participants: int,
    visits: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    rule = DECLINE_RULES[metric]
    assert rule.trend_per_year is not None
    sign = -1.0 if rule.worse == "lower" else 1.0
    per_visit = sign * 2 * rule.trend_per_year * 0.5 if declining else 0.0
    sd = noise_multiple * rule.meaningful_change
    judged = 0
    fired = dict.fromkeys(RULES, 0)
    anyone = 0
    for p in range(participants):
        values = METRICS[metric] + per_visit * np.arange(visits) + rng.normal(0.0, sd, visits)
        points = [
            Observation(at=T0 + i * VISIT_EVERY, station_id=f"s{p % 5}", value=float(v))
            for i, v in enumerate(values)
        ]
        hit = False
        for i in range(1, visits):
            events = detect_decline(metric, points[:i], points[i])
            judged += 1
            for event in events:
                if event.rule in fired:
                    fired[event.rule] += 1
            hit = hit or bool(events)
        anyone += hit
    row: dict[str, Any] = {
        "metric": metric,
        "noise_sd": f"{noise_multiple:g}x small ({sd:g})",
        "cohort": "declining" if declining else "stable",
    }
    for name, count in fired.items():
        row[f"{name}_per_visit"] = count / judged
    row["participants_with_any_event"] = anyone / participants
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks decline_rates")
    parser.add_argument("--participants", type=int, default=400)
    parser.add_argument("--visits", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = [
        simulate(metric, noise, declining, args.participants, args.visits, rng)
        for metric in METRICS
        for noise in NOISE_MULTIPLES
        for declining in (False, True)
    ]
    columns = [
        "metric",
        "noise_sd",
        "cohort",
        *(f"{r}_per_visit" for r in RULES),
        "participants_with_any_event",
    ]
    print_table(
        f"{args.participants} participants x {args.visits} half-yearly visits per row "
        "(declining: 2x the trend threshold per year)",
        rows,
        columns,
    )
    write_result(
        "decline_rates",
        {"participants": args.participants, "visits": args.visits, "seed": args.seed, "rows": rows},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
