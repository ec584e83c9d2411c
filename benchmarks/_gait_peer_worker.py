"""Runs inside a peer library's throwaway venv (started by benchmarks/gait_peers.py): analyse
each recording with the peer, time it, print one JSON document. Imports nothing from FrailWatch.

Usage: python _gait_peer_worker.py PEER RECORDINGS.npz REPEAT
The npz holds, per recording i: ``acc_i`` (n, 3) m/s² and ``gyr_i`` (n, 3) deg/s in the
Mobilise-D sensor frame (x vertical up, y medio-lateral, z anterior-posterior), ``meta_i``
= [fs_hz, sensor_height_m, height_m] and ``name_i``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

GRAVITY = 9.80665
warnings.filterwarnings("ignore")


def _mobgap(acc: np.ndarray, gyr: np.ndarray, fs: float, sensor_h: float, height: float) -> dict[str, float]:
    import pandas as pd
    from mobgap.data import GaitDatasetFromData
    from mobgap.pipeline import MobilisedPipelineHealthy

    frame = pd.DataFrame(
        np.column_stack([acc, gyr]), columns=["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    )
    key = ("recording",)
    dataset = GaitDatasetFromData(
        {key: {"LowerBack": frame}},
        fs,
        {key: {"height_m": height, "sensor_height_m": sensor_h, "cohort": "HA"}},
        {key: {"measurement_condition": "laboratory"}},
        index_cols=["name"],
    )
    pipeline = MobilisedPipelineHealthy().safe_run(dataset[0])
    wb = pipeline.per_wb_parameters_
    if wb is None or len(wb) == 0:
        raise RuntimeError("no walking bout found")
    weight = wb["duration_s"].to_numpy(dtype=float)
    return {
        "cadence_spm": float(np.average(wb["cadence_spm"], weights=weight)),
        "walking_speed_mps": float(np.average(wb["walking_speed_mps"], weights=weight)),
        "stride_length_m": float(np.average(wb["stride_length_m"], weights=weight)),
        "n_steps": float(wb["n_raw_initial_contacts"].sum()),
    }


def _skdh(acc: np.ndarray, gyr: np.ndarray, fs: float, sensor_h: float, height: float) -> dict[str, float]:
    import skdh

    t = 1.7e9 + np.arange(acc.shape[0]) / fs
    # Bouts of 3 s and more (the default 8 s would drop the short indoor walks).
    result = skdh.gait.GaitLumbar(min_bout_time=3.0).predict(
        time=t, accel=acc / GRAVITY, gyro=np.deg2rad(gyr), fs=fs, leg_length=sensor_h, v_axis=0, ap_axis=2
    )
    if len(result["cadence"]) == 0:
        raise RuntimeError("no walking bout found")
    return {
        "cadence_spm": float(np.nanmean(result["cadence"])),
        "walking_speed_mps": float(np.nanmean(result["gait speed"])),
        "stride_length_m": float(np.nanmean(result["stride length"])),
        "n_steps": float(len(result["IC Timestamp"])),
    }


PEERS: dict[str, Callable[..., dict[str, float]]] = {"mobgap": _mobgap, "scikit-digital-health": _skdh}


def main(peer: str, path: str, repeat: int) -> int:
    analyse = PEERS[peer]
    data = np.load(path)
    count = sum(1 for key in data.files if key.startswith("acc_"))
    out: list[dict[str, Any]] = []
    for i in range(count):
        acc, gyr = data[f"acc_{i}"], data[f"gyr_{i}"]
        fs, sensor_h, height = (float(v) for v in data[f"meta_{i}"])
        row: dict[str, Any] = {"name": str(data[f"name_{i}"])}
        try:
            start = time.perf_counter()
            row.update(analyse(acc, gyr, fs, sensor_h, height))
            row["first_call_s"] = time.perf_counter() - start
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                analyse(acc, gyr, fs, sensor_h, height)
                best = min(best, time.perf_counter() - start)
            row["seconds"] = best
        except Exception as exc:  # a peer failing on one recording is a result, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        out.append(row)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
