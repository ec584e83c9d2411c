"""``frailwatch analyze gait``: CSV in, JSON or a table out; bad input is exit code 2 with one
clear line on stderr. Run as a real subprocess, like a user or a test harness would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _analyze_support import run_analyze, write_csv

from processing.synthetic.gait import WalkTruth, simulate_walk

TRUTH = WalkTruth(n_steps=24, turn_every_m=4.0, sensor_orientation_deg=(90.0, 10.0, 0.0))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_analyze("gait", *args)


@pytest.fixture(scope="module")
def walk_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    walk = simulate_walk(TRUTH, 100.0, seed=1)
    t = np.arange(walk.acc.shape[0]) / 100.0
    header = ["time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    return write_csv(tmp_path_factory.mktemp("gait") / "walk.csv", header, [t, walk.acc, walk.gyr])


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
    path = write_csv(tmp_path / "w.csv", ["acc_x", "acc_y", "acc_z"], [walk.acc])
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
            write_csv(tmp_path / "a.csv", ["time_s", "acc_x", "acc_y"], [t, walk.acc[:, :2]]),
            "missing column(s) acc_z",
        ),
        "NaN": (
            write_csv(tmp_path / "b.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [t, nan_acc]),
            "not_finite",
        ),
        "too short": (
            write_csv(tmp_path / "c.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [t[:80], walk.acc[:80]]),
            "too_short",
        ),
        "no walking": (
            write_csv(
                tmp_path / "d.csv", ["time_s", "acc_x", "acc_y", "acc_z"], [np.arange(3000) / 100.0, standing]
            ),
            "no_walking",
        ),
        "not a number": (_bad(tmp_path, "e.csv", "acc_x,acc_y,acc_z\n1,2,3\n1,x,3\n"), "line 3: acc_y"),
        "no rate": (write_csv(tmp_path / "f.csv", ["acc_x", "acc_y", "acc_z"], [walk.acc]), "--fs"),
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


def test_batch_mode_prints_one_json_line_per_recording_and_exit_2_if_any_failed(
    walk_csv: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "day"
    folder.mkdir()
    (folder / "a.csv").write_text(walk_csv.read_text())
    (folder / "b.csv").write_text(walk_csv.read_text())
    (folder / "notes.txt").write_text("not a recording")
    bad = _bad(tmp_path, "bad.csv", "acc_x,acc_y\n1,2\n")
    done = _run("--input", str(folder), str(bad), "--sensor-height-m", "0.95")
    assert done.returncode == 2, done.stderr
    lines = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert [Path(line["input"]).name for line in lines] == ["a.csv", "b.csv", "bad.csv"]
    assert lines[0]["ok"] and lines[1]["ok"] and not lines[2]["ok"]
    assert lines[0]["result"] == lines[1]["result"]
    assert "uncertain" in lines[0]["result"] and "walking_share" in lines[0]["result"]
    assert lines[2]["error"].startswith("missing column(s) acc_z")
    single = json.loads(_run("--input", str(walk_csv), "--sensor-height-m", "0.95", "--json").stdout)
    assert single == lines[0]["result"]
    ok = _run("--input", str(folder))
    assert ok.returncode == 0 and len(ok.stdout.strip().splitlines()) == 2


def test_without_a_build_the_jit_is_used_and_nothing_is_built(tmp_path: Path) -> None:
    probe = (
        "import sys; from processing.compiled import prefer_ahead_of_time as p; "
        "print(p(build=False)); from processing.gait import _kernels; print('numba' in sys.modules)"
    )
    env = {**os.environ, "FRAILWATCH_AOT": "1", "FRAILWATCH_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
    assert list(tmp_path.iterdir()) == []


AOT_PROBE = """
import json, sys
import numpy as np
from processing.compiled import prefer_ahead_of_time
aot = prefer_ahead_of_time() if sys.argv[1] == "aot" else False
from processing.balance import analyze_balance
from processing.gait import analyze_gait
from processing.sts import analyze_sts
from processing.tug import analyze_tug
from processing.synthetic.balance import SwayTruth, synthesize_sway
from processing.synthetic.gait import WalkTruth, simulate_walk
from processing.synthetic.sts import StsTruth, synthesize_sts
from processing.synthetic.tug import TugTruth, synthesize_tug
truth = WalkTruth(n_steps=30, turn_every_m=5.0, sensor_orientation_deg=(30, 70, 0))
walk = simulate_walk(truth, 128.0, seed=4)
acc, gyr = synthesize_sts(StsTruth(), 100.0, seed=2)
tacc, tgyr = synthesize_tug(TugTruth(), 100.0, seed=2)
out = {
    "gait": analyze_gait(walk.acc, 128.0, gyr=walk.gyr).model_dump(mode="json"),
    "gait_no_gyro": analyze_gait(walk.acc, 128.0, sensor_height_m=1.0).model_dump(mode="json"),
    "balance": analyze_balance(synthesize_sway(SwayTruth(), 100.0, seed=3), 100.0).model_dump(mode="json"),
    "sts": analyze_sts(acc, gyr, 100.0).model_dump(mode="json"),
    "tug": analyze_tug(tacc, tgyr, 100.0).model_dump(mode="json"),
}
print(json.dumps({"aot": aot, "numba": "numba" in sys.modules, "results": out}))
"""


@pytest.mark.skipif(
    not os.environ.get("FW_SLOW"), reason="builds the kernels ahead of time (~1 min); FW_SLOW=1"
)
def test_ahead_of_time_build_gives_the_jit_results_without_numba(tmp_path: Path, walk_csv: Path) -> None:
    env = {**os.environ, "FRAILWATCH_AOT": "1", "FRAILWATCH_CACHE_DIR": str(tmp_path)}

    def probe(mode: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", AOT_PROBE, mode], capture_output=True, text=True, timeout=900, env=env
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    aot, jit = probe("aot"), probe("jit")
    assert aot["aot"] is True and aot["numba"] is False
    assert jit["aot"] is False and jit["numba"] is True
    assert aot["results"] == jit["results"]
    done = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "analyze", "gait", "--input", str(walk_csv), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0 and "cadence_spm" in json.loads(done.stdout)
    assert "compiling" not in done.stderr  # the build from the probe was reused
