"""Gait speed and accuracy side by side with peer libraries on the same recordings.

Usage: ``uv run python -m benchmarks gait_peers [--venvs /tmp/fw-gait-peers] [--repeat 3]
[--peers mobgap,scikit-digital-health,gaitmap] [--install-timeout 900] [--run-timeout 1200]``

Each peer is installed from PyPI into its own throwaway venv under ``--venvs`` (they pin
conflicting versions; an existing venv with the package is reused) and runs
``benchmarks/_gait_peer_worker.py`` there on the same recordings FrailWatch analyses in this
process. Recordings: synthetic lower-back walks with known truth (usual, slow frail, brisk,
asymmetric, 4 m out-and-back with turns, a tilted noisy sensor, a 2-minute walk), given to every
library in the Mobilise-D sensor frame. Times are best of ``--repeat`` after a first call;
the ratio is peer time / FrailWatch time on the same recordings. A peer that cannot be installed
or has no lower-back pipeline (gaitmap is for foot-worn sensors) is reported as such.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import best_of, print_table, write_result
from processing.gait import analyze_gait
from processing.synthetic.gait import WalkTruth, simulate_walk

WORKER = Path(__file__).with_name("_gait_peer_worker.py")
RUNNABLE = {"mobgap", "scikit-digital-health"}
NOT_APPLICABLE = {"gaitmap": "foot-worn IMU algorithms only; no lower-back (trunk) gait pipeline"}
FS_HZ = 100.0
SENSOR_HEIGHT_M = 0.95
HEIGHT_M = 1.75

WALKS = {
    "usual 36 steps": WalkTruth(n_steps=36),
    "slow frail": WalkTruth(cadence_spm=80, step_length_m=0.4, n_steps=30, stride_time_cv_pct=5.0),
    "brisk": WalkTruth(cadence_spm=120, step_length_m=0.75, n_steps=50),
    "asymmetric 20 %": WalkTruth(n_steps=40, step_asymmetry_pct=20.0),
    "4 m out-and-back": WalkTruth(n_steps=26, turn_every_m=4.0),
    "frail 4 m out-and-back": WalkTruth(
        cadence_spm=80, step_length_m=0.4, n_steps=30, turn_every_m=4.0, stride_time_cv_pct=5.0
    ),
    "tilted 20°, noisy": WalkTruth(n_steps=36, sensor_orientation_deg=(0.0, 20.0, 0.0), noise_mps2=0.2),
    "2 min walk, turns every 20 m": WalkTruth(n_steps=210, turn_every_m=20.0),
}


def recordings() -> list[dict[str, Any]]:
    out = []
    for i, (name, truth) in enumerate(WALKS.items()):
        walk = simulate_walk(truth, FS_HZ, seed=100 + i)
        out.append(
            {
                "name": name,
                # Synthetic sensor frame is x forward, y left, z up; Mobilise-D's is x up, y ML, z AP.
                "acc": walk.acc[:, [2, 1, 0]],
                "gyr": walk.gyr[:, [2, 1, 0]],
                "seconds": walk.acc.shape[0] / FS_HZ,
                "truth": {
                    "cadence_spm": walk.cadence_spm,
                    "walking_speed_mps": walk.walking_speed_mps,
                    "stride_length_m": walk.stride_length_m,
                    "n_steps": float(walk.initial_contacts_s.size),
                },
            }
        )
    return out


def _save(items: list[dict[str, Any]], path: Path) -> None:
    arrays: dict[str, Any] = {}
    for i, item in enumerate(items):
        arrays[f"acc_{i}"] = item["acc"]
        arrays[f"gyr_{i}"] = item["gyr"]
        arrays[f"meta_{i}"] = np.array([FS_HZ, SENSOR_HEIGHT_M, HEIGHT_M])
        arrays[f"name_{i}"] = np.array(item["name"])
    np.savez(path, **arrays)


def ensure_venv(peer: str, root: Path, timeout_s: float) -> tuple[Path | None, str]:
    """Python of a venv with ``peer`` installed, and its version or the reason it failed."""
    uv = shutil.which("uv")
    if uv is None:
        return None, "uv not found on PATH"
    venv = root / peer
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import importlib.metadata as m; print(m.version({peer!r}))"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode == 0:
            return python, done.stdout.strip()
    try:
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True, timeout=120)
        done = subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), peer],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"install failed: {exc}"
    if done.returncode != 0:
        return None, "install failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    version = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
    return python, version.stdout.strip()


def run_peer(
    python: Path, peer: str, data: Path, repeat: int, timeout_s: float
) -> list[dict[str, Any]] | str:
    try:
        done = subprocess.run(
            [str(python), str(WORKER), peer, str(data), str(repeat)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"
    if done.returncode != 0:
        return "worker failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def run_frailwatch(items: list[dict[str, Any]], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        start = time.perf_counter()
        result = analyze_gait(item["acc"], FS_HZ, gyr=item["gyr"], sensor_height_m=SENSOR_HEIGHT_M)
        first = time.perf_counter() - start
        call = partial(analyze_gait, item["acc"], FS_HZ, gyr=item["gyr"], sensor_height_m=SENSOR_HEIGHT_M)
        seconds = best_of(call, repeat=repeat)
        rows.append(
            {
                "name": item["name"],
                "cadence_spm": result.cadence_spm,
                "walking_speed_mps": result.walking_speed_mps,
                "stride_length_m": result.stride_length_m,
                "n_steps": float(result.n_steps),
                "first_call_s": first,
                "seconds": seconds,
            }
        )
    return rows


def summarise(
    name: str, version: str, rows: list[dict[str, Any]], items: list[dict[str, Any]]
) -> dict[str, Any]:
    truth = {item["name"]: item["truth"] for item in items}
    signal = {item["name"]: item["seconds"] for item in items}
    ok = [r for r in rows if "error" not in r]
    summary: dict[str, Any] = {"library": name, "version": version, "analysed": f"{len(ok)}/{len(items)}"}
    if not ok:
        summary["status"] = "; ".join(sorted({r.get("error", "") for r in rows}))[:120]
        return summary
    total_time = sum(r["seconds"] for r in ok)
    summary.update(
        status="ok"
        if len(ok) == len(items)
        else "failed on: " + ", ".join(r["name"] for r in rows if "error" in r),
        ms_per_recording=1e3 * total_time / len(ok),
        x_realtime=sum(signal[r["name"]] for r in ok) / total_time,
        cadence_err_pct=float(
            np.mean([abs(r["cadence_spm"] / truth[r["name"]]["cadence_spm"] - 1) * 100 for r in ok])
        ),
        speed_mae_mps=float(
            np.mean([abs(r["walking_speed_mps"] - truth[r["name"]]["walking_speed_mps"]) for r in ok])
        ),
        stride_mae_m=float(
            np.mean([abs(r["stride_length_m"] - truth[r["name"]]["stride_length_m"]) for r in ok])
        ),
    )
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks gait_peers", description=__doc__)
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "fw-gait-peers")
    parser.add_argument("--peers", default="mobgap,scikit-digital-health,gaitmap")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--install-timeout", type=float, default=900.0)
    parser.add_argument("--run-timeout", type=float, default=1200.0)
    args = parser.parse_args(argv)
    items = recordings()
    ours = run_frailwatch(items, args.repeat)
    results: dict[str, Any] = {"frailwatch": {"version": "this tree", "rows": ours}}
    summaries = [summarise("frailwatch", "this tree", ours, items)]
    our_time = {r["name"]: r["seconds"] for r in ours}
    with tempfile.TemporaryDirectory(prefix="fw-gait-peers-") as tmp:
        data = Path(tmp) / "recordings.npz"
        _save(items, data)
        for peer in [p.strip() for p in args.peers.split(",") if p.strip()]:
            if peer in NOT_APPLICABLE:
                python, version = ensure_venv(peer, args.venvs, args.install_timeout)
                reason = NOT_APPLICABLE[peer] if python else version
                summaries.append({"library": peer, "version": version if python else "", "status": reason})
                results[peer] = {"status": reason}
                continue
            if peer not in RUNNABLE:
                summaries.append({"library": peer, "status": "no adapter in _gait_peer_worker.py"})
                continue
            python, version = ensure_venv(peer, args.venvs, args.install_timeout)
            if python is None:
                summaries.append({"library": peer, "status": version})
                results[peer] = {"status": version}
                continue
            rows = run_peer(python, peer, data, args.repeat, args.run_timeout)
            if isinstance(rows, str):
                summaries.append({"library": peer, "version": version, "status": rows})
                results[peer] = {"status": rows}
                continue
            summary = summarise(peer, version, rows, items)
            ok = [r for r in rows if "error" not in r]
            if ok:
                summary["frailwatch_faster_x"] = sum(r["seconds"] for r in ok) / sum(
                    our_time[r["name"]] for r in ok
                )
            summaries.append(summary)
            results[peer] = {"version": version, "rows": rows}
    print_table(
        "Gait on the same synthetic lower-back walks (truth known): speed and accuracy",
        summaries,
        [
            "library",
            "version",
            "analysed",
            "ms_per_recording",
            "x_realtime",
            "frailwatch_faster_x",
            "cadence_err_pct",
            "speed_mae_mps",
            "stride_mae_m",
            "status",
        ],
    )
    per_recording = []
    for item in items:
        row: dict[str, Any] = {"recording": item["name"], "true_speed": item["truth"]["walking_speed_mps"]}
        for library, doc in results.items():
            match = [r for r in doc.get("rows", []) if r["name"] == item["name"] and "error" not in r]
            row[library] = match[0]["walking_speed_mps"] if match else "—"
        per_recording.append(row)
    print_table("Walking speed per recording (m/s)", per_recording, ["recording", "true_speed", *results])
    write_result(
        "gait_peers",
        {"summary": summaries, "recordings": [i["name"] for i in items], "results": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
