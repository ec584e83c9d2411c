"""``frailwatch analyze balance``: CSV in, JSON or a table out; bad input is exit code 2 with one
clear line on stderr. The contract is checked through the real entry point in a subprocess, like
a user or a test harness would; the many bad-input cases run the same handler in-process (each
fresh interpreter pays Numba's cache load, seconds on a loaded CI box)."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _analyze_support import run_analyze, write_csv

from processing.balance import cli
from processing.synthetic.balance import SwayTruth, simulate_sway

FS = 100.0
TRUTH = SwayTruth(duration_s=20.0)
JSON_KEYS = (
    "path_length_mm",
    "mean_velocity_mm_s",
    "ellipse95_area_mm2",
    "rms_mm",
    "rms_ap_mm",
    "rms_ml_mm",
    "mean_freq_hz",
    "f50_hz",
    "f95_hz",
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_analyze("balance", *args)


def _run_here(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The handler `frailwatch analyze balance` dispatches to, with the same argument parser."""
    parser = argparse.ArgumentParser(prog="frailwatch analyze")
    cli.register(parser.add_subparsers(dest="analysis", required=True))
    parsed = parser.parse_args(["balance", *args])
    code = parsed.handler(parsed)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.fixture(scope="module")
def cop_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cop = simulate_sway(TRUTH, FS, seed=1).cop_mm
    t = np.arange(cop.shape[0]) / FS
    return write_csv(tmp_path_factory.mktemp("balance") / "cop.csv", ["time_s", "cop_x", "cop_y"], [t, cop])


def test_json_has_the_contract_keys_and_the_truth(cop_csv: Path) -> None:
    sway = simulate_sway(TRUTH, FS, seed=1)
    done = _run("--input", str(cop_csv), "--fs", "100", "--condition", "eyes_closed", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in JSON_KEYS:
        assert isinstance(result[key], float), key
    assert result["condition"] == "eyes_closed"
    assert result["n_samples"] == sway.n_samples
    assert result["rms_ap_mm"] == pytest.approx(TRUTH.rms_ap_mm, rel=0.01)
    assert result["rms_ml_mm"] == pytest.approx(TRUTH.rms_ml_mm, rel=0.01)
    assert result["mean_velocity_mm_s"] == pytest.approx(sway.mean_velocity_mm_s, rel=0.02)


def test_rate_from_time_column_and_a_table_by_default(
    cop_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _run_here(capsys, "--input", str(cop_csv))
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    assert float(rows["fs_hz"]) == pytest.approx(FS, rel=1e-3)
    assert float(rows["rms_ap_mm"]) == pytest.approx(TRUTH.rms_ap_mm, rel=0.01)
    assert rows["condition"] == "—"


def test_lowpass_zero_analyses_the_raw_trace(cop_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = _run_here(capsys, "--input", str(cop_csv), "--lowpass-hz", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lowpass_hz"] is None


@pytest.mark.parametrize(
    ("header", "body", "args", "expected"),
    [
        ("cop_x,cop_z", "1,2\n", ("--fs", "100"), "missing column(s) cop_y"),
        ("cop_x,cop_y", "1,2\n1,oops\n", ("--fs", "100"), "line 3: cop_y is not a number ('oops')"),
        ("cop_x,cop_y", "1,2\n3,4\n", (), "no --fs given and no time_s column"),
        ("cop_x,cop_y", "1,2\n" * 300, ("--fs", "100"), "too_short"),
        ("cop_x,cop_y", "1,2\n" * 1000, ("--fs", "100"), "no_sway"),
        ("cop_x,cop_y", "nan,2\n" * 1000, ("--fs", "100"), "not_finite"),
        ("cop_x,cop_y", "1,2\n" * 1000, ("--fs", "5"), "bad_sampling_rate"),
    ],
)
def test_bad_input_exits_2_with_one_stderr_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
    body: str,
    args: tuple[str, ...],
    expected: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{body}")
    done = _run_here(capsys, "--input", str(path), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0] and str(path) in lines[0]


def test_missing_or_binary_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = _run_here(capsys, "--input", str(tmp_path / "absent.csv"), "--fs", "100")
    assert done.returncode == 2 and "cannot read" in done.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 50)
    done = _run_here(capsys, "--input", str(binary), "--fs", "100")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_bad_input_through_the_real_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`frailwatch analyze balance` as wired by processing/cli.py (in-process: the subprocess
    test above already pays one interpreter start)."""
    from frailwatch.cli import main

    path = tmp_path / "short.csv"
    path.write_text("cop_x,cop_y\n" + "1,2\n3,4\n" * 100)
    assert main(["analyze", "balance", "--input", str(path), "--fs", "100"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [f"error: {path}: too_short: 200 samples = 2.00 s, need 5 s"]
