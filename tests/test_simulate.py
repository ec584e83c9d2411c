"""The cohort simulator: reproducible, plausible, every device kind valid, CLI publishes as devices."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from edge.intake import to_message
from edge.simulate import KINDS, Cohort
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
    assert len(lines) == len(visits) * len(KINDS)
    assert {line.split("/")[2] for line in lines} == set(KINDS)


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
    assert len(messages) == 3 * len(KINDS)
    assert {m.station_id for m in messages} == {"gj-01", "gj-02"} or len(
        {m.station_id for m in messages}
    ) >= 1
