"""``frailwatch analyze tug``: CSV in, JSON or a table out; bad input is exit
code 2 with one clear line on stderr. Run as real subprocesses, like a user would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _analyze_support import IMU_HEADER, run_analyze, write_csv

from processing.synthetic.tug import TugTruth, simulate_tug

TUG = TugTruth(sensor_orientation_deg=(0.0, -90.0, 30.0))
HEADER = IMU_HEADER


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sts_tug")


def test_tug_json_has_total_time_and_phases(folder: Path) -> None:
    tug = simulate_tug(TUG, 100.0, seed=1)
    t = np.arange(tug.acc.shape[0]) / 100.0
    done = run_analyze(
        "tug", "--input", str(write_csv(folder / "tug.csv", HEADER, [t, tug.acc, tug.gyr])), "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for phase, true in tug.phases_s.items():
        assert result[phase] == pytest.approx(true, abs=0.3), phase


@pytest.mark.parametrize(("test", "reason"), [("tug", "no_sit_to_stand")])
def test_signal_errors_exit_2_with_their_reason(folder: Path, test: str, reason: str) -> None:
    acc = np.random.default_rng(0).normal(0.0, 0.05, (1000, 3)) + np.array([0.0, 0.0, 9.81])
    path = write_csv(folder / f"still_{test}.csv", HEADER[1:4], [acc])
    done = run_analyze(test, "--input", str(path), "--fs", "100")
    assert done.returncode == 2
    assert f": {reason}: " in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2(folder: Path) -> None:
    done = run_analyze("tug", "--input", str(folder / "nope.csv"), "--fs", "100")
    assert done.returncode == 2 and "cannot read" in done.stderr
