"""The cohort simulator: reproducible, plausible, every device kind valid, CLI publishes as devices."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from edge.intake import to_message
from edge.simulate import KINDS, Cohort, Truth
from edge.simulate.publish import stream
from frailwatch.services import Mosquitto
from telemetry.errors import ContractError

KEY = b"simulation-test-key-0123456789"


def test_same_seed_same_cohort_other_seed_differs() -> None:
    one, two, other = (
        Cohort(participants=30, seed=3),
        Cohort(participants=30, seed=3),
        Cohort(participants=30, seed=4),
    )
    assert one.participants == two.participants
    assert one.participants != other.participants


def test_cohort_is_plausible_and_has_decliners_and_roamers() -> None:
    cohort = Cohort(participants=400, decline_fraction=0.25, roam_fraction=0.3, seed=11)
    people = cohort.participants
    ages = [2026 - p.birth_year for p in people]
    assert min(ages) >= 65 and max(ages) <= 90
    assert {p.sex for p in people} == {"female", "male"}
    men = [p.grip_kg for p in people if p.sex == "male"]
    women = [p.grip_kg for p in people if p.sex == "female"]
    assert sum(men) / len(men) > sum(women) / len(women) + 5
    assert 0.9 < sum(p.gait_speed_mps for p in people) / len(people) < 1.3
    assert 0.15 < sum(p.declining for p in people) / len(people) < 0.35
    roamer = next(p for p in people if p.roams)
    assert len({station for q, _, station, _ in cohort.visits() if q == roamer}) > 1


def test_decliners_lose_gait_speed_within_the_stated_range_per_visit() -> None:
    cohort = Cohort(participants=100, days=120, visit_every_days=30, decline_fraction=0.5, seed=5)
    truths: dict[str, list] = {}
    for visit in cohort.visits():
        truth = cohort.truth(*visit)
        truths.setdefault(truth.member_id, []).append(truth)
    for member, series in truths.items():
        speeds = [t.gait_speed_mps for t in sorted(series, key=lambda t: t.visit)]
        steps = [a - b for a, b in itertools.pairwise(speeds)]
        if series[0].declining:
            assert all(0.049 <= s <= 0.151 or speeds[-1] == 0.3 for s in steps), member
        else:
            assert all(s == 0 for s in steps), member


def test_every_device_kind_passes_the_edge_and_malformed_ones_are_refused() -> None:
    cohort = Cohort(participants=6, seed=2)
    kinds, good, refused = set(), 0, 0
    for _, message, broken in stream(cohort, malformed_share=0.1, seed=2):
        raw = json.dumps(message.document).encode()
        try:
            contract, _ = to_message(message.topic, raw, message.station_id, KEY)
        except ContractError:
            assert broken
            refused += 1
            continue
        assert not broken
        kinds.add(contract.device_kind)
        good += 1
    assert kinds == set(KINDS)
    assert refused > 0 and good > 0


def _recording_messages(cohort: Cohort) -> list[tuple[Truth, dict[str, Any]]]:
    """(truth, {kind: contract payload with a recording}) per visit, through the edge intake."""
    out = []
    for visit in cohort.visits():
        truth, messages = cohort.messages(*visit)
        payloads = {}
        for message in messages:
            contract, _ = to_message(message.topic, json.dumps(message.document).encode(), "gj-01", KEY)
            if getattr(contract.payload, "recording", None) is not None:
                payloads[contract.device_kind.value] = contract.payload
                assert len(json.dumps(message.document)) < 150_000, "a realistic size, not megabytes"
        out.append((truth, payloads))
    return out


def test_recordings_follow_each_participants_trajectory_and_pass_the_edge() -> None:
    cohort = Cohort(
        participants=2, days=90, visit_every_days=30, decline_fraction=1.0, seed=8, recordings=True
    )
    person = cohort.participants[0]
    mine = [(t, p) for t, p in _recording_messages(cohort) if t.member_id == person.member_id]
    assert len(mine) == 3
    seen: list[dict[str, Any]] = []
    for truth, payloads in mine:
        assert set(payloads) == {"gait", "balance", "sit_to_stand", "tug"}
        gait, balance, rec = payloads["gait"], payloads["balance"], truth.recordings
        assert rec is not None
        # Lower-back IMU, 100 Hz, ~30 s; the walk's straight speed is the visit's gait speed.
        assert gait.recording.channels == ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
        assert gait.recording.fs_hz == 100.0 and 28 <= gait.recording.duration_s <= 33
        assert rec["gait"]["straight_speed_mps"] == truth.gait_speed_mps
        assert rec["gait"]["n_samples"] == gait.recording.n_samples
        assert gait.sensor_height_m == rec["gait"]["sensor_height_m"]
        # Centre of pressure, 30 s side-by-side: a second balance reading beside the SPPB hold.
        assert balance.recording.channels == ("cop_x", "cop_y") and balance.recording.duration_s == 30.0
        assert balance.stance == "side_by_side" and balance.hold_time_s == 30.0
        assert rec["sit_to_stand"]["n_reps"] == 5
        assert abs(rec["sit_to_stand"]["five_rep_time_s"] - truth.five_rep_s) < 0.15 * truth.five_rep_s
        assert abs(rec["tug"]["total_time_s"] - truth.tug_s) < 0.25 * truth.tug_s
        seen.append(rec)
    # A decliner walks slower, with a lower cadence, and sways more at every visit.
    walking = [r["gait"]["walking_speed_mps"] for r in seen]
    assert walking[0] > walking[1] > walking[2]
    assert seen[0]["gait"]["cadence_spm"] > seen[2]["gait"]["cadence_spm"]
    areas = [r["balance"]["ellipse95_area_mm2"] for r in seen]
    assert areas[0] < areas[1] < areas[2]


def test_readings_are_the_same_with_or_without_recordings() -> None:
    """Load tests send readings only; those readings (and their ids) are the ones a recording run
    sends, because the recordings draw from their own random stream."""
    plain = Cohort(participants=3, seed=4)
    rich = Cohort(participants=3, seed=4, recordings=True)
    for visit_plain, visit_rich in zip(plain.visits(), rich.visits(), strict=True):
        truth_plain, messages_plain = plain.messages(*visit_plain)
        truth_rich, messages_rich = rich.messages(*visit_rich)
        assert truth_plain.recordings is None and truth_rich.recordings is not None
        stripped = [
            {
                **m.document,
                "payload": {
                    k: v
                    for k, v in m.document["payload"].items()
                    if k not in ("recording", "sensor_height_m")
                },
            }
            for m in messages_rich
            if "recording" not in m.document["payload"]
            or m.document["payload"].get("stance") != "side_by_side"
        ]
        assert stripped == [m.document for m in messages_plain]
        assert len(messages_rich) == len(messages_plain) + 1


def test_recording_truth_is_what_the_gait_and_balance_analyses_find() -> None:
    """The truth file is an oracle for the gateway: the landed analyses recover it."""
    import numpy as np

    from processing.balance import analyze_balance
    from processing.gait import analyze_gait

    cohort = Cohort(
        participants=3, days=60, visit_every_days=30, decline_fraction=0.5, seed=12, recordings=True
    )
    for truth, payloads in _recording_messages(cohort):
        gait, balance, rec = payloads["gait"], payloads["balance"], truth.recordings
        assert rec is not None
        imu = gait.recording.as_array().astype(np.float64)
        found = analyze_gait(imu[:, :3], 100.0, gyr=imu[:, 3:], sensor_height_m=gait.sensor_height_m)
        assert abs(found.cadence_spm - rec["gait"]["cadence_spm"]) < 1.0
        assert abs(found.walking_speed_mps - rec["gait"]["walking_speed_mps"]) < 0.05
        assert found.n_turns == rec["gait"]["n_turns"]
        sway = analyze_balance(balance.recording.as_array().astype(np.float64), 100.0)
        assert abs(sway.ellipse95_area_mm2 / rec["balance"]["ellipse95_area_mm2"] - 1) < 0.02
        assert abs(sway.mean_velocity_mm_s / rec["balance"]["mean_velocity_mm_s"] - 1) < 0.05


def test_cli_publishes_as_devices_with_a_truth_file(mosquitto: Mosquitto, tmp_path: Path) -> None:
    received = tmp_path / "received.txt"
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            mosquitto.host,
            "-p",
            str(mosquitto.port),
            "-t",
            "fwdev/v1/#",
            "-q",
            "1",
            "-v",
        ],
        stdout=received.open("wb"),
    )
    try:
        import time

        time.sleep(0.5)  # mosquitto_sub has no readiness signal; a fresh broker subscribes fast
        truth = tmp_path / "truth.jsonl"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "frailwatch.cli",
                "simulate",
                "--participants",
                "4",
                "--stations",
                "gj-01",
                "--days",
                "40",
                "--visit-every",
                "20",
                "--broker",
                f"gj-01={mosquitto.host}:{mosquitto.port}",
                "--truth",
                str(truth),
            ],
            env={**os.environ},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
    finally:
        sub.terminate()
        sub.wait(5)
    lines = received.read_text().splitlines()
    visits = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(visits) == 8
    # Recordings are on by default: one more (30 s centre-of-pressure) balance reading per visit.
    assert len(lines) == len(visits) * Cohort(participants=1, recordings=True).messages_per_visit
    assert {line.split("/")[2] for line in lines} == set(KINDS)
    assert all(set(v["recordings"]) == {"gait", "balance", "sit_to_stand", "tug"} for v in visits)
    gait = [json.loads(line.split(" ", 1)[1]) for line in lines if line.split("/")[2] == "gait"]
    assert all(g["payload"]["recording"]["fs_hz"] == 100.0 for g in gait)


def test_cli_publishes_contract_messages_straight_to_central(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Load-test mode: pseudonymised, contract-valid messages on the central topics, no raw ids."""
    import time

    from telemetry import decode

    received = tmp_path / "central.txt"
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", mosquitto.host, "-p", str(mosquitto.port), "-t", "fw/v1/#", "-q", "1"],
        stdout=received.open("wb"),
    )
    try:
        time.sleep(0.5)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "frailwatch.cli",
                "simulate",
                "--participants",
                "3",
                "--stations",
                "gj-01,gj-02",
                "--days",
                "20",
                "--visit-every",
                "20",
                "--central",
                f"{mosquitto.host}:{mosquitto.port}",
                "--rate",
                "500",
                "--no-recordings",
            ],
            env={**os.environ, "FRAILWATCH_EDGE_PSEUDONYM_KEY": KEY.decode()},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
    finally:
        sub.terminate()
        sub.wait(5)
    blob = received.read_bytes()
    cohort = Cohort(participants=3, stations=["gj-01", "gj-02"], days=20, visit_every_days=20, seed=1)
    for p in cohort.participants:
        for raw in (p.member_id, p.resident_number, p.name, p.phone):
            assert raw.encode() not in blob
    # Recordings hold no newlines (base64), so the stream splits into one JSON message per line.
    messages = [decode(line) for line in blob.splitlines() if line]
    assert len(messages) == 3 * cohort.messages_per_visit
    assert {m.station_id for m in messages} == {"gj-01", "gj-02"} or len(
        {m.station_id for m in messages}
    ) >= 1


def test_cli_refuses_an_unusable_recording_rate_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "simulate", "--recording-hz", "5", "--participants", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["--recording-hz 5.0 is outside 10–1000 Hz"]
