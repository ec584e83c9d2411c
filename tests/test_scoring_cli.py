"""``frailwatch score``: a visit's JSON in, the four instruments out; bad input is exit code 2 with
one clear line on stderr. Two cases run as a real subprocess, like a user would; the rest call the
same ``main`` in-process (each ``frailwatch`` start costs ~2 s of imports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from frailwatch.cli import main

VISIT: dict[str, Any] = {
    "sex": "male",
    "height_cm": 170.0,
    "weight_kg": 60.0,
    "asmi_kg_m2": 6.6,
    "grip_max_kg": 26.0,
    "gait_speed_mps": 0.8,
    "walk_distance_m": 4.0,
    "walk_time_s": 5.0,
    "chair_stand_5x_s": 12.5,
    "side_by_side_s": 10.0,
    "semi_tandem_s": 10.0,
    "tandem_s": 10.0,
    "fatigue": True,
    "resistance": False,
    "ambulation": False,
    "illness_count": 5,
    "weight_loss_pct_year": 6.0,
    "weight_loss_kg_year": 4.0,
    "exhaustion_days_per_week": 1,
    "activity_kcal_week": 900.0,
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "score", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["score", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, content: str, name: str = "visit.json") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_json_output(tmp_path: Path) -> None:
    done = _run("--input", str(_write(tmp_path, json.dumps(VISIT))), "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert scores["sppb"] == {"total": 10, "balance": 4, "gait": 3, "chair": 3, "walk_distance_m": 4.0}
    assert (scores["awgs"]["status"], scores["awgs"]["level"]) == ("severe_sarcopenia", 3)
    assert (scores["kfrail"]["score"], scores["kfrail"]["category"]) == (3, "frail")
    assert (scores["fried"]["count"], scores["fried"]["category"]) == (2, "pre_frail")  # weight loss, weak
    assert scores["missing"] == {}


def test_table_output_names_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    partial = {k: VISIT[k] for k in ("sex", "grip_max_kg", "chair_stand_5x_s")}
    code, out, err = _main(capsys, "--input", str(_write(tmp_path, json.dumps(partial))))
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == {"SPPB", "AWGS", "K-FRAIL", "Fried"}
    assert "possible_sarcopenia" in lines["AWGS"] and "asmi_kg_m2" in lines["AWGS"]
    assert "—" in lines["SPPB"] and "side_by_side_s" in lines["SPPB"]
    assert "fatigue" in lines["K-FRAIL"]


def test_empty_visit_is_valid_and_scores_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(capsys, "--input", str(_write(tmp_path, "{}")), "--json")
    assert code == 0, err
    scores = json.loads(out)
    assert [scores[k] for k in ("sppb", "awgs", "kfrail", "fried")] == [None, None, None, None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected one JSON object"),
        ('{"grip_max_kg": -3}', "grip_max_kg: Input should be greater than or equal to 0"),
        ('{"sex": "x", "tandem_s": "long"}', "sex: Input should be 'male' or 'female' (and 1 more)"),
        ('{"grip_kg": 20}', "grip_kg: Extra inputs are not permitted"),
        ('{"walk_time_s": NaN}', "walk_time_s"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = _write(tmp_path, content)
    code, out, err = _main(capsys, "--input", str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {path}: ")
    assert message in err


def test_missing_file_is_exit_2_in_a_real_process(tmp_path: Path) -> None:
    done = _run("--input", str(tmp_path / "absent.json"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cannot read" in done.stderr and done.stderr.count("\n") == 1


def test_score_is_a_top_level_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "score" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("tug_s", "cutoff", "raised"),
    [(13.4, None, False), (13.5, None, True), (12.5, None, False), (12.5, "12", True), (11.9, "12", False)],
)
def test_tug_fall_risk_at_the_configured_cut_off(
    tmp_path: Path, tug_s: float, cutoff: str | None, raised: bool
) -> None:
    """13.5 s by default (Shumway-Cook 2000), 12 s when the programme follows CDC STEADI; the
    boundary itself is raised risk (≥)."""
    visit = _write(tmp_path, json.dumps({**VISIT, "tug_time_s": tug_s}))
    done = _run("--input", str(visit), "--json", *(("--tug-fall-risk-s", cutoff) if cutoff else ()))
    assert done.returncode == 0, done.stderr
    tug = json.loads(done.stdout)["tug"]
    assert tug == {"tug_time_s": tug_s, "cutoff_s": float(cutoff or 13.5), "raised": raised}
    table = _run("--input", str(visit), *(("--tug-fall-risk-s", cutoff) if cutoff else ()))
    (line,) = [x for x in table.stdout.splitlines() if x.startswith("TUG")]
    assert ("no raised" not in line) == raised and f"cut-off {float(cutoff or 13.5):g} s" in line


@pytest.mark.parametrize("cutoff", ["4", "31", "soon"])
def test_an_implausible_tug_cut_off_is_refused_with_one_line(tmp_path: Path, cutoff: str) -> None:
    done = _run("--input", str(_write(tmp_path, json.dumps(VISIT))), "--tug-fall-risk-s", cutoff)
    assert done.returncode == 2 and done.stdout == ""
    assert "--tug-fall-risk-s" in done.stderr and ("5–30 s" in done.stderr or "not a number" in done.stderr)


def test_a_visit_without_tug_has_no_fall_risk_judgement(tmp_path: Path) -> None:
    done = _run("--input", str(_write(tmp_path, json.dumps(VISIT))), "--json")
    assert json.loads(done.stdout)["tug"] is None
