"""Accuracy of the chair-stand and TUG analyses against synthetic recordings with known truth.

Usage: ``uv run python -m benchmarks sts_tug_accuracy [--seeds N] [--noise S ...] [--kinds K ...]``

A grid of simulated participants (normal, slow/frail, fast, very slow), each with a sensor mounted in a
random orientation, at 50, 100 and 200 Hz, with accelerometer white noise (default 0.02 and
0.1 m/s²), analysed with and without the gyroscope. Reports per event kind the mean (bias) and
largest absolute error in seconds, and whether all are within the issue's 0.3 s. Synthetic
truth checks the signal processing, not the model of movement: there is no real recording with
a reference here.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from benchmarks.common import print_table, write_result
from processing.errors import SignalError
from processing.sts import analyze_sts
from processing.synthetic.sts import StsTruth, simulate_sts
from processing.synthetic.tug import TugTruth, simulate_tug
from processing.tug import analyze_tug

TOLERANCE_S = 0.3
STS_KINDS = {
    "normal": StsTruth(),
    "slow": StsTruth(rise_s=2.6, sit_s=2.8, stand_pause_s=0.8, sit_pause_s=0.6, flexion_deg=45.0),
    "fast": StsTruth(rise_s=0.8, sit_s=0.9, stand_pause_s=0.0, sit_pause_s=0.0, rise_height_m=0.45),
    "very slow": StsTruth(rise_s=4.5, sit_s=4.8, stand_pause_s=1.0, sit_pause_s=1.0, rise_height_m=0.3),
}
DEFAULT_KINDS = ["normal", "slow", "fast"]  # "very slow" is a stress case, run with --kinds
TUG_KINDS = {
    "normal": TugTruth(),
    "slow": TugTruth(
        cadence_spm=70.0, step_length_m=0.3, rise_s=2.8, sit_s=3.0, turn_steps=7, final_turn_s=4.0
    ),
    "fast": TugTruth(
        cadence_spm=125.0, step_length_m=0.75, rise_s=0.9, sit_s=1.0, pause_s=0.0, sit_overlap_s=1.0
    ),
    "very slow": TugTruth(
        cadence_spm=45.0,
        step_length_m=0.25,
        rise_s=4.5,
        sit_s=4.8,
        turn_steps=8,
        final_turn_s=6.0,
        pause_s=1.0,
    ),
}


def _grid(
    seeds: int, noises: list[float], kinds: list[str] | None = None
) -> list[tuple[str, float, float, int, tuple[float, float, float]]]:
    rng = np.random.default_rng(2026)
    cells = []
    for kind in kinds or DEFAULT_KINDS:
        for fs in (50.0, 100.0, 200.0):
            for noise in noises:
                for seed in range(seeds):
                    orientation = (
                        float(rng.uniform(0, 360)),
                        float(rng.uniform(-90, 90)),
                        float(rng.uniform(0, 360)),
                    )
                    cells.append((kind, fs, noise, seed, orientation))
    return cells


def _sts_errors(
    cell: tuple[str, float, float, int, tuple[float, float, float]], gyro: bool
) -> dict[str, Any]:
    kind, fs, noise, seed, orientation = cell
    truth = STS_KINDS[kind].model_copy(update={"sensor_orientation_deg": orientation, "noise_mps2": noise})
    sts = simulate_sts(truth, fs, seed)
    try:
        r = analyze_sts(sts.acc, sts.gyr if gyro else None, fs)
    except SignalError as exc:
        return {"failed": exc.reason}
    if r.n_reps != sts.n_reps:
        return {"failed": f"n_reps {r.n_reps} != {sts.n_reps}"}
    ends = np.array(r.rep_end_s)[: sts.sit_end_s.size]
    return {
        "rep_start": np.array(r.rep_start_s) - sts.rise_start_s,
        "standing": np.array(r.stand_s) - sts.rise_end_s,
        "seated": ends - sts.sit_end_s,
        "rep_duration": np.array(r.rep_durations_s) - sts.rep_durations_s,
    }


def _tug_errors(
    cell: tuple[str, float, float, int, tuple[float, float, float]], gyro: bool
) -> dict[str, Any]:
    kind, fs, noise, seed, orientation = cell
    truth = TUG_KINDS[kind].model_copy(update={"sensor_orientation_deg": orientation, "noise_mps2": noise})
    tug = simulate_tug(truth, fs, seed)
    try:
        r = analyze_tug(tug.acc, tug.gyr if gyro else None, fs).model_dump()
    except SignalError as exc:
        return {"failed": exc.reason}
    return {p: np.array([r[p] - v]) for p, v in tug.phases_s.items() if r[p] is not None}


def _summarise(test: str, gyro: bool, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    failed = [r["failed"] for r in results if "failed" in r]
    kinds = sorted({k for r in results for k in r if k != "failed"}, key=list(results[0]).index)
    rows = []
    for kind in kinds:
        errors = np.concatenate([r[kind] for r in results if kind in r])
        rows.append(
            {
                "test": test,
                "gyroscope": gyro,
                "quantity": kind,
                "n": int(errors.size),
                "bias_s": float(errors.mean()),
                "mae_s": float(np.abs(errors).mean()),
                "max_abs_s": float(np.abs(errors).max()),
                "within_0_3_s": bool(np.abs(errors).max() < TOLERANCE_S),
                "recordings_failed": len(failed),
            }
        )
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sts_tug_accuracy", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="recordings per (kind, rate, noise) cell")
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=[0.02, 0.1],
        help="accelerometer white noise levels, m/s² (a body-worn MEMS sensor is ~0.01–0.03 at 100 Hz)",
    )
    parser.add_argument("--kinds", nargs="+", choices=list(STS_KINDS), default=DEFAULT_KINDS)
    args = parser.parse_args(argv)
    cells = _grid(args.seeds, args.noise, args.kinds)
    rows: list[dict[str, Any]] = []
    for gyro in (True, False):
        rows += _summarise("sts", gyro, [_sts_errors(c, gyro) for c in cells])
        rows += _summarise("tug", gyro, [_tug_errors(c, gyro) for c in cells])
    columns = [
        "test",
        "gyroscope",
        "quantity",
        "n",
        "bias_s",
        "mae_s",
        "max_abs_s",
        "within_0_3_s",
        "recordings_failed",
    ]
    title = (
        f"STS/TUG vs synthetic truth ({len(cells)} recordings per test and sensor set, noise {args.noise})"
    )
    print_table(title, rows, columns)
    if args.kinds != DEFAULT_KINDS:
        name = "sts_tug_accuracy_kinds"
    else:
        name = "sts_tug_accuracy" if args.noise == [0.02, 0.1] else "sts_tug_accuracy_noise"
    payload = {
        "noise_mps2": args.noise,
        "kinds": args.kinds,
        "recordings_per_row_group": len(cells),
        "rows": rows,
    }
    write_result(name, payload)
    return 0 if all(r["within_0_3_s"] and r["recordings_failed"] == 0 for r in rows) else 1
