"""Acceptance: FrailWatch gait on real lower-back walks with an independent reference.

Usage: ``uv run python -m benchmarks gait_accuracy [--venvs /tmp/fw-gait-peers] [--margin-s 0]``

Data: the Mobilise-D laboratory example recordings shipped in mobgap's source distribution
(3 participants — 2 healthy adults, 1 with multiple sclerosis — each a short straight walk, Test5,
twice, and a simulated daily-living course with turns, Test11; McDermott lower-back sensor,
100 Hz; reference walking bouts from the INDIP multi-sensor system; Micó-Amigo et al. 2023, J
NeuroEng Rehabil 20:78, and Küderle et al., mobgap). The data are not copied into this
repository: the benchmark downloads the sdist with pip and reads it with mobgap's own loader
(in a throwaway venv), then analyses each reference walking bout (the reference start/end,
widened by ``--margin-s``) with :func:`processing.gait.analyze_gait` given the measured sensor
height, and compares cadence, walking speed and stride length with the reference bout values.
These recordings were reserved for acceptance: nothing was tuned on them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import print_table, write_result
from benchmarks.gait_peers import ensure_venv
from processing.errors import SignalError
from processing.gait import analyze_gait

EXTRACT = Path(__file__).with_name("_mobilised_extract.py")
TARGETS = {"cadence_err_pct": 4.0, "speed_mae_mps": 0.08, "stride_mae_m": 0.10}


def _download_sdist(version: str, into: Path) -> Path:
    uv = shutil.which("uv") or "uv"
    pip = [uv, "run", "-q", "--no-project", "--with", "pip", "python", "-m", "pip"]
    fetch = ["download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(into), f"mobgap=={version}"]
    subprocess.run([*pip, *fetch], check=True, timeout=600)
    archive = next(into.glob("mobgap-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return next(into.glob("mobgap-*/example_data"))


def evaluate(npz: Path, margin_s: float) -> list[dict[str, Any]]:
    data = np.load(npz)
    index = json.loads(str(data["index"]))
    rows = []
    for i, meta in enumerate(index):
        imu, wbs = data[f"imu_{i}"], data[f"wb_{i}"]
        fs = meta["fs_hz"]
        trial = f"{meta['cohort']}-{meta['participant_id']} {meta['test']} {meta['trial']}"
        for start, end, cadence, speed, stride, n_strides in wbs:
            lo = max(0, int(start - margin_s * fs))
            hi = min(imu.shape[0], int(end + margin_s * fs) + 1)
            row: dict[str, Any] = {
                "trial": trial,
                "bout_s": (end - start) / fs,
                "ref_strides": int(n_strides),
                "ref_cadence": cadence,
                "ref_speed": speed,
                "ref_stride": stride,
            }
            try:
                got = analyze_gait(
                    imu[lo:hi, :3], fs, gyr=imu[lo:hi, 3:], sensor_height_m=meta["sensor_height_m"]
                )
            except SignalError as exc:
                row["error"] = exc.reason
                rows.append(row)
                continue
            row.update(cadence=got.cadence_spm, speed=got.walking_speed_mps, stride=got.stride_length_m)
            rows.append(row)
    return rows


def summary(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    ok = [
        r
        for r in rows
        if "error" not in r and np.isfinite([r["ref_cadence"], r["ref_speed"], r["ref_stride"]]).all()
    ]
    out: dict[str, Any] = {"set": label, "bouts": len(rows), "analysed": len(ok)}
    if ok:
        out["cadence_err_pct"] = float(np.mean([abs(r["cadence"] / r["ref_cadence"] - 1) * 100 for r in ok]))
        out["speed_mae_mps"] = float(np.mean([abs(r["speed"] - r["ref_speed"]) for r in ok]))
        out["stride_mae_m"] = float(np.mean([abs(r["stride"] - r["ref_stride"]) for r in ok]))
        out["speed_bias_mps"] = float(np.mean([r["speed"] - r["ref_speed"] for r in ok]))
        out["meets_targets"] = all(out[k] <= v for k, v in TARGETS.items())
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks gait_accuracy", description=__doc__)
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "fw-gait-peers")
    parser.add_argument("--margin-s", type=float, default=0.0, help="widen each reference bout by this much")
    args = parser.parse_args(argv)
    python, version = ensure_venv("mobgap", args.venvs, 900.0)
    if python is None:
        print(f"mobgap cannot be installed ({version}): no reference data, no acceptance", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fw-mobilised-") as tmp:
        example = _download_sdist(version, Path(tmp))
        npz = Path(tmp) / "mobilised.npz"
        subprocess.run([str(python), str(EXTRACT), str(example), str(npz)], check=True, timeout=900)
        rows = evaluate(npz, args.margin_s)
    print_table(
        "Per reference walking bout (INDIP reference vs FrailWatch)",
        rows,
        [
            "trial",
            "bout_s",
            "ref_strides",
            "ref_cadence",
            "cadence",
            "ref_speed",
            "speed",
            "ref_stride",
            "stride",
            "error",
        ],
    )
    summaries = [
        summary(rows, "all bouts"),
        summary([r for r in rows if "Test5" in r["trial"]], "Test5 straight walks"),
        summary([r for r in rows if "Test11" in r["trial"]], "Test11 daily-living course"),
    ]
    print_table(
        f"Mobilise-D lab examples (mobgap {version} sdist); targets: cadence ≤ 4 %, speed ≤ 0.08 m/s, "
        "stride ≤ 0.10 m",
        summaries,
        [
            "set",
            "bouts",
            "analysed",
            "cadence_err_pct",
            "speed_mae_mps",
            "stride_mae_m",
            "speed_bias_mps",
            "meets_targets",
        ],
    )
    source = f"mobgap {version} sdist example_data (lab)"
    write_result(
        "gait_accuracy", {"data": source, "margin_s": args.margin_s, "summary": summaries, "bouts": rows}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
