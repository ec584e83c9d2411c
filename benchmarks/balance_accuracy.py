"""Balance accuracy against synthetic truth: how close analyze_balance gets to known sway.

Usage: ``uv run python -m benchmarks balance_accuracy [--seeds 10]``

Traces come from :mod:`processing.synthetic.balance` (band-limited sway scaled to exact RMS per
axis, uncorrelated axes, continuous-curve mean speed from the analytic derivative) for every
frailty profile × eyes condition × sampling rate × measurement noise × duration. The table
shows, per rate/noise/filter setting, the median and worst relative error of RMS (AP, ML), 95 %
ellipse area and mean velocity; a second table shows how much the frequency measures (MFREQ,
f50, f95) scatter between seeds of the same truth as the trace gets shorter. No real
force-plate recordings are used (the session network is loopback only): this measures the
signal processing, not agreement with another laboratory's software.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np

from benchmarks.common import print_table, write_result
from processing.balance import analyze_balance
from processing.synthetic.balance import SwayTruth, simulate_sway

LEVELS = ("robust", "pre_frail", "frail")
EYES = ("open", "closed")
SETTINGS = [  # (fs_hz, noise_mm, lowpass_hz)
    (50.0, 0.0, 5.0),
    (100.0, 0.0, 5.0),
    (100.0, 0.0, None),
    (100.0, 0.1, 5.0),
    (1000.0, 0.0, 5.0),
    (1000.0, 0.1, 5.0),
    (1000.0, 0.1, None),
]
DURATIONS = (10.0, 30.0, 60.0)


def _errors(seeds: int) -> list[dict[str, Any]]:
    rows = []
    for fs, noise, lowpass in SETTINGS:
        errs: dict[str, list[float]] = {"rms_ap": [], "rms_ml": [], "area": [], "velocity": []}
        for level, eyes, duration, seed in itertools.product(LEVELS, EYES, DURATIONS, range(seeds)):
            truth = SwayTruth.profile(level, eyes, duration_s=duration, noise_mm=noise)  # type: ignore[arg-type]
            sway = simulate_sway(truth, fs, seed)
            r = analyze_balance(sway.cop_mm, fs, lowpass_hz=lowpass)
            errs["rms_ap"].append(r.rms_ap_mm / truth.rms_ap_mm - 1.0)
            errs["rms_ml"].append(r.rms_ml_mm / truth.rms_ml_mm - 1.0)
            errs["area"].append(r.ellipse95_area_mm2 / sway.ellipse95_area_mm2 - 1.0)
            errs["velocity"].append(r.mean_velocity_mm_s / sway.mean_velocity_mm_s - 1.0)
        row: dict[str, Any] = {"fs_hz": fs, "noise_mm": noise, "lowpass_hz": lowpass or "none"}
        for name, values in errs.items():
            pct = 100.0 * np.abs(values)
            row[f"{name}_median_pct"] = float(np.median(pct))
            row[f"{name}_max_pct"] = float(pct.max())
        row["n"] = len(errs["area"])
        rows.append(row)
    return rows


def _frequency_scatter(seeds: int) -> list[dict[str, Any]]:
    rows = []
    for duration in DURATIONS:
        truth = SwayTruth.profile("pre_frail", "open", duration_s=duration)
        results = [analyze_balance(simulate_sway(truth, 100.0, seed).cop_mm, 100.0) for seed in range(seeds)]
        row: dict[str, Any] = {"duration_s": duration, "dominant_freq_hz": truth.dominant_freq_hz}
        for name in ("mean_freq_hz", "f50_hz", "f95_hz"):
            values = np.array([getattr(r, name) for r in results], dtype=float)
            row[f"{name}_mean"] = float(np.nanmean(values))
            row[f"{name}_cv_pct"] = float(100.0 * np.nanstd(values) / np.nanmean(values))
        rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks balance_accuracy", description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="traces per truth setting")
    args = parser.parse_args(argv)
    errors = _errors(args.seeds)
    columns = ["fs_hz", "noise_mm", "lowpass_hz", "n"] + [
        f"{m}_{s}_pct" for m in ("rms_ap", "rms_ml", "area", "velocity") for s in ("median", "max")
    ]
    print_table("Balance vs synthetic truth: |relative error| %", errors, columns)
    scatter = _frequency_scatter(args.seeds)
    freq_columns = ["duration_s", "dominant_freq_hz"] + [
        f"{m}_{s}" for m in ("mean_freq_hz", "f50_hz", "f95_hz") for s in ("mean", "cv_pct")
    ]
    print_table("Frequency measures: scatter between seeds of one truth (100 Hz)", scatter, freq_columns)
    write_result("balance_accuracy", {"errors": errors, "frequency_scatter": scatter, "seeds": args.seeds})
    return 0
