"""``frailwatch analyze sts``: CSV in, JSON or a table out; bad input is exit
code 2 with one clear line on stderr. Run as real subprocesses, like a user would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _analyze_support import IMU_HEADER, run_analyze, write_csv

from processing.synthetic.sts import StsTruth, simulate_sts

STS = StsTruth(n_reps=5, ends_standing=True, sensor_orientation_deg=(90.0, 10.0, 0.0))
HEADER = IMU_HEADER


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sts_tug")


def test_sts_json_has_the_contract_keys_and_the_truth(folder: Path) -> None:
    sts = simulate_sts(STS, 100.0, seed=1)
    t = np.arange(sts.acc.shape[0]) / 100.0
    done = run_analyze(
        "sts", "--input", str(write_csv(folder / "sts.csv", HEADER, [t, sts.acc, sts.gyr])), "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("n_reps", "five_rep_time_s", "rep_durations_s", "count_30s", "mean_rep_time_s", "duration_s"):
        assert key in result
    assert result["n_reps"] == 5
    assert result["five_rep_time_s"] == pytest.approx(sts.five_rep_time_s, abs=0.3)
    assert len(result["rep_durations_s"]) == 5


def test_sts_table_with_fs_and_no_gyroscope(folder: Path) -> None:
    sts = simulate_sts(STS, 50.0, seed=1)
    done = run_analyze(
        "sts", "--input", str(write_csv(folder / "sts50.csv", HEADER[1:4], [sts.acc])), "--fs", "50"
    )
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(None, 1) for line in done.stdout.strip().splitlines())
    assert rows["n_reps"].strip() == "5"
    assert rows["activity_source"].strip() == "accelerometer"


@pytest.mark.parametrize(
    ("test", "text", "message"),
    [
        ("sts", "acc_x,acc_y\n1,2\n", "missing column(s) acc_z"),
        ("tug", "acc_x,acc_y,acc_z\n0,0,9.81\n", "no --fs given"),
        ("sts", "time_s,acc_x,acc_y,acc_z\n0,0,0,abc\n", "line 2: acc_z is not a number"),
        ("tug", "acc_x,acc_y,acc_z,gyr_x\n0,0,9.81,0\n", "gyroscope needs all of"),
    ],
)
def test_bad_files_exit_2_with_one_line(folder: Path, test: str, text: str, message: str) -> None:
    path = folder / f"bad_{abs(hash(text))}.csv"
    path.write_text(text)
    done = (
        run_analyze(test, "--input", str(path), "--fs", "100")
        if "no --fs" not in message
        else run_analyze(test, "--input", str(path))
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("test", "reason"), [("sts", "no_repetitions")])
def test_signal_errors_exit_2_with_their_reason(folder: Path, test: str, reason: str) -> None:
    acc = np.random.default_rng(0).normal(0.0, 0.05, (1000, 3)) + np.array([0.0, 0.0, 9.81])
    path = write_csv(folder / f"still_{test}.csv", HEADER[1:4], [acc])
    done = run_analyze(test, "--input", str(path), "--fs", "100")
    assert done.returncode == 2
    assert f": {reason}: " in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
