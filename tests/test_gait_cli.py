"""``frailwatch analyze gait``: CSV in, JSON or a table out; bad input is exit code 2 with one
clear line on stderr. Run as a real subprocess, like a user or a test harness would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from processing.synthetic.gait import WalkTruth, simulate_walk

TRUTH = WalkTruth(n_steps=24, turn_every_m=4.0, sensor_orientation_deg=(90.0, 10.0, 0.0))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "analyze", "gait", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def _write(path: Path, header: list[str], columns: list[np.ndarray]) -> Path:
    np.savetxt(
        path, np.column_stack(columns), delimiter=",", header=",".join(header), comments="", fmt="%.6f"
    )
    return path


@pytest.fixture(scope="module")
def walk_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    walk = simulate_walk(TRUTH, 100.0, seed=1)
    t = np.arange(walk.acc.shape[0]) / 100.0
    header = ["time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    return _write(tmp_path_factory.mktemp("gait") / "walk.csv", header, [t, walk.acc, walk.gyr])


def test_json_output_has_the_contract_fields_and_the_truth(walk_csv: Path) -> None:
    walk = simulate_walk(TRUTH, 100.0, seed=1)
    done = _run("--input", str(walk_csv), "--sensor-height-m", "0.95", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for field in (
        "cadence_spm",
        "walking_speed_mps",
        "stride_length_m",
        "stride_time_s",
        "stride_time_cv_pct",
        "step_regularity",
        "stride_regularity",
        "step_symmetry",
        "n_steps",
        "duration_s",
    ):
        assert field in result
    assert result["cadence_spm"] == pytest.approx(walk.cadence_spm, rel=0.03)
    assert result["walking_speed_mps"] == pytest.approx(walk.walking_speed_mps, rel=0.08)
    assert result["n_turns"] == 2
    assert result["pendulum_source"] == "sensor_height"


def test_table_output_and_sampling_rate_from_fs(tmp_path: Path) -> None:
    walk = simulate_walk(TRUTH, 50.0, seed=1)
    path = _write(tmp_path / "w.csv", ["acc_x", "acc_y", "acc_z"], [walk.acc])
    done = _run("--input", str(path), "--fs", "50", "--height-m", "1.7")
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(None, 1) for line in done.stdout.strip().splitlines())
    assert float(rows["cadence_spm"]) == pytest.approx(walk.cadence_spm, rel=0.03)
    assert rows["pendulum_source"].strip() == "body_height"
    assert rows["n_turns"].strip() == "—"  # no gyroscope, no turn count


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_inputs_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    walk = simulate_walk(TRUTH, 100.0, seed=1)
    t = np.arange(walk.acc.shape[0]) / 100.0
    nan_acc = walk.acc.copy()
    nan_acc[500, 1] = np.nan
    standing = np.tile([0.0, 0.0, 9.81], (3000, 1)) + np.random.default_rng(0).normal(0, 0.02, (3000, 3))
    cases = {
        "missing column": (
            _write(tmp_path / "a.csv", ["time_s", "acc_x", "acc_y"], [t, walk.acc[:, :2]]),
            "missing column(s) acc_z",
        ),
        "NaN": (
            _write(tmp_path / "b.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [t, nan_acc]),
            "not_finite",
        ),
        "too short": (
            _write(tmp_path / "c.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [t[:80], walk.acc[:80]]),
            "too_short",
        ),
        "no walking": (
            _write(
                tmp_path / "d.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [np.arange(3000) / 100.0, standing]
            ),
            "no_walking",
        ),
        "not a number": (_bad(tmp_path, "e.csv", "acc_x,acc_y,acc_z\n1,2,3\n1,x,3\n"), "line 3: acc_y"),
        "no rate": (_write(tmp_path / "f.csv", ["acc_x", "acc_y", "acc_z"], [walk.acc]), "--fs"),
        "no file": (tmp_path / "absent.csv", "cannot read"),
    }
    for name, (path, expected) in cases.items():
        done = _run("--input", str(path))
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (name, done.stderr)
        assert expected in lines[0] and str(path) in lines[0], (name, lines[0])
        assert done.stdout == ""


def test_help_does_not_import_numba() -> None:
    probe = "import sys, frailwatch.cli as c; c.build_parser(); print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
