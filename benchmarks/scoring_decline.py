"""Scoring and decline rules per gateway message: score_visit, detect_decline by history length,
and the import cost that made Theil–Sen pure Python.

Each gateway message that completes a visit calls ``score_visit`` once and ``detect_decline`` once
per affected metric, with that participant's history. This measures one call of each (best of 5,
looped) for histories of 4 to 400 visits, and the time a fresh interpreter needs to import
``processing.decline`` vs ``scipy.stats`` (median of 3 subprocesses). Usage:
``uv run python -m benchmarks scoring_decline``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import best_of, print_table, write_result
from processing.decline import Observation, detect_decline
from processing.scoring import VisitInputs, score_visit

FULL_VISIT = VisitInputs(
    sex="female",
    height_cm=152.0,
    weight_kg=48.0,
    asmi_kg_m2=5.2,
    grip_max_kg=15.5,
    gait_speed_mps=0.72,
    walk_distance_m=4.0,
    walk_time_s=6.5,
    chair_stand_5x_s=14.1,
    side_by_side_s=10.0,
    semi_tandem_s=10.0,
    tandem_s=2.1,
    fatigue=True,
    resistance=True,
    ambulation=False,
    illness_count=3,
    weight_loss_pct_year=2.0,
    exhaustion_days_per_week=4,
    activity_kcal_week=150.0,
)


def _history(n: int) -> tuple[list[Observation], Observation]:
    """A participant declining 0.1 m/s a year, visited monthly (the trend path runs)."""
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    points = [
        Observation(at=t0 + timedelta(days=30 * i), station_id=f"st-{i % 4}", value=1.2 - 0.1 * i * 30 / 365)
        for i in range(n + 1)
    ]
    return points[:-1], points[-1]


def _import_s(module: str) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _decline_row(n: int) -> dict[str, Any]:
    history, new = _history(n)

    def call() -> list[Any]:
        return detect_decline("gait_speed_mps", history, new)

    return {
        "call": "detect_decline gait_speed_mps",
        "history": n,
        "events": ",".join(e.rule for e in call()),
        "us_per_call": best_of(call) * 1e6,
    }


def main(argv: list[str]) -> int:
    scored = best_of(lambda: score_visit(FULL_VISIT))
    rows: list[dict[str, Any]] = [
        {"call": "score_visit (full visit)", "history": "-", "us_per_call": scored * 1e6}
    ]
    rows += [_decline_row(n) for n in (4, 20, 100, 400)]
    print_table("per call (best of 5)", rows, ["call", "history", "events", "us_per_call"])
    modules = ("processing.decline", "processing.scoring", "scipy.stats")
    imports = [{"module": m, "fresh_import_s": _import_s(m)} for m in modules]
    title = "import in a fresh interpreter (median of 3, includes interpreter start)"
    print_table(title, imports, ["module", "fresh_import_s"])
    write_result("scoring_decline", {"calls": rows, "imports": imports})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
